//! Runs a `MountPlan` in the child, between clone and exec: syscalls only,
//! no allocation. Every target is resolved with `RESOLVE_IN_ROOT` below the
//! new root, so symlinks in a rootfs cannot point a mount at the host.

use super::plan::{MountPlan, Op, RootOp, Step};
use crate::sys::{self, Errno, SysResult};
use std::os::fd::RawFd;

/// Which part of the mount setup failed, and for which op.
#[derive(Debug, Clone, Copy)]
pub struct MountFailure {
    pub what: MountStep,
    pub errno: Errno,
    /// Index into `MountPlan::ops`, or `u32::MAX` for root-level steps.
    pub index: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum MountStep {
    Private = 1,
    OpenSource = 2,
    NewRoot = 3,
    Attach = 4,
    MakeTarget = 5,
    Mount = 6,
    Symlink = 7,
    RootReadOnly = 8,
    PivotRoot = 9,
    TargetIsRoot = 10,
}

impl MountStep {
    pub fn from_u32(v: u32) -> Option<MountStep> {
        use MountStep::*;
        [Private, OpenSource, NewRoot, Attach, MakeTarget, Mount, Symlink, RootReadOnly, PivotRoot, TargetIsRoot]
            .into_iter()
            .find(|s| *s as u32 == v)
    }

    pub fn describe(self) -> &'static str {
        match self {
            MountStep::Private => "making mount propagation private",
            MountStep::OpenSource => "opening the mount source",
            MountStep::NewRoot => "creating the new root",
            MountStep::Attach => "attaching the new root",
            MountStep::MakeTarget => "creating the mount point",
            MountStep::Mount => "mounting",
            MountStep::Symlink => "creating a symlink",
            MountStep::RootReadOnly => "making the root read-only",
            MountStep::PivotRoot => "pivot_root into the new root",
            MountStep::TargetIsRoot => "checking the mount point (it resolves to / itself: a symlink in the rootfs?)",
        }
    }
}

const ROOT: u32 = u32::MAX;

fn fail(what: MountStep, index: u32) -> impl Fn(Errno) -> MountFailure {
    move |errno| MountFailure { what, errno, index }
}

/// Phase one, with the caller's host credentials: make propagation private
/// and clone every mount source (and a directory root), so that later
/// steps can run as the sandbox's own root.
pub fn open_sources(plan: &mut MountPlan) -> Result<(), MountFailure> {
    sys::make_mounts_private().map_err(fail(MountStep::Private, ROOT))?;
    clone_sources(plan)?;
    if let RootOp::Dir(_) = plan.root {
        plan.root_fd = new_root(&plan.root).map_err(fail(MountStep::NewRoot, ROOT))?;
        // Device nodes or setuid files in a rootfs must not work inside.
        sys::mount_setattr(plan.root_fd, true, sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV)
            .map_err(fail(MountStep::NewRoot, ROOT))?;
    }
    Ok(())
}

/// Phase two, as the sandbox's root: create a tmpfs root (owned by an id
/// mapped inside), attach it, run every op, and pivot into it.
pub fn assemble(plan: &mut MountPlan) -> Result<(), MountFailure> {
    if let RootOp::Tmpfs = plan.root {
        plan.root_fd = new_root(&plan.root).map_err(fail(MountStep::NewRoot, ROOT))?;
    }
    let root = plan.root_fd;
    sys::move_mount_to_path(root, &plan.attach_at).map_err(fail(MountStep::Attach, ROOT))?;
    let root_id = sys::inode_of(root).map_err(fail(MountStep::NewRoot, ROOT))?;
    for (i, op) in plan.ops.iter().enumerate() {
        let source = plan.source_fds.get(i).copied().unwrap_or(-1);
        run_op(root, root_id, op, source, i as u32)?;
    }
    if plan.root_readonly {
        sys::mount_setattr(root, false, sys::MOUNT_ATTR_RDONLY).map_err(fail(MountStep::RootReadOnly, ROOT))?;
    }
    sys::fchdir(root).map_err(fail(MountStep::PivotRoot, ROOT))?;
    sys::close(root);
    sys::pivot_root_here().map_err(fail(MountStep::PivotRoot, ROOT))
}

/// Clones every bind source before the new root is attached anywhere, so a
/// source under the attach point still names the host's file.
fn clone_sources(plan: &mut MountPlan) -> Result<(), MountFailure> {
    let flags = sys::OPEN_TREE_CLONE | sys::OPEN_TREE_CLOEXEC | sys::AT_RECURSIVE;
    for (i, op) in plan.ops.iter().enumerate() {
        let Op::Bind { source, attrs, .. } = op else { continue };
        let attrs = *attrs;
        let fd = sys::open_tree(libc::AT_FDCWD, source, flags).map_err(fail(MountStep::OpenSource, i as u32))?;
        sys::mount_setattr(fd, true, attrs).map_err(fail(MountStep::Mount, i as u32))?;
        if let Some(slot) = plan.source_fds.get_mut(i) {
            *slot = fd;
        }
    }
    Ok(())
}

fn new_root(root: &RootOp) -> SysResult<RawFd> {
    match root {
        RootOp::Tmpfs => {
            let fs = sys::fsopen(c"tmpfs")?;
            let r = sys::fsconfig_string(fs, c"mode", c"0755")
                .and_then(|_| sys::fsconfig_string(fs, c"size", c"1m"))
                .and_then(|_| sys::fsconfig_create(fs))
                .and_then(|_| sys::fsmount(fs, sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV));
            sys::close(fs);
            r
        }
        RootOp::Dir(dir) => {
            sys::open_tree(libc::AT_FDCWD, dir, sys::OPEN_TREE_CLONE | sys::OPEN_TREE_CLOEXEC | sys::AT_RECURSIVE)
        }
    }
}

/// Opens a mount target below the root; one that resolves to the root
/// itself (a rootfs symlink like `proc -> /`) would hide the whole root.
fn open_target(
    root: RawFd,
    root_id: (u64, u64),
    target: &std::ffi::CStr,
    flags: i32,
    index: u32,
) -> Result<RawFd, MountFailure> {
    let t = sys::open_in_root(root, target, flags, 0).map_err(fail(MountStep::MakeTarget, index))?;
    if sys::inode_of(t) == Ok(root_id) {
        sys::close(t);
        return Err(fail(MountStep::TargetIsRoot, index)(Errno::ELOOP));
    }
    Ok(t)
}

fn run_op(root: RawFd, root_id: (u64, u64), op: &Op, source: RawFd, index: u32) -> Result<(), MountFailure> {
    match op {
        Op::Bind { target, mkdirs, file, .. } => {
            make_target(root, mkdirs, *file).map_err(fail(MountStep::MakeTarget, index))?;
            let t = open_target(root, root_id, target, libc::O_PATH, index)?;
            let r = sys::move_mount_fd(source, t).map_err(fail(MountStep::Mount, index));
            sys::close(t);
            sys::close(source);
            r
        }
        Op::Fs { fstype, target, mkdirs, options, attrs } => {
            make_target(root, mkdirs, false).map_err(fail(MountStep::MakeTarget, index))?;
            let t = open_target(root, root_id, target, libc::O_PATH | libc::O_DIRECTORY, index)?;
            let r = fresh_fs(fstype, options, *attrs).and_then(|m| attach(m, t)).map_err(fail(MountStep::Mount, index));
            sys::close(t);
            r
        }
        Op::ReadOnly { target } => {
            let Some(t) = open_existing(root, target, index)? else { return Ok(()) };
            let r = sys::open_tree(
                t,
                c"",
                sys::OPEN_TREE_CLONE | sys::OPEN_TREE_CLOEXEC | sys::AT_RECURSIVE | libc::AT_EMPTY_PATH as u32,
            )
            .and_then(|clone| match sys::mount_setattr(clone, true, LOCKED_DOWN) {
                Ok(()) => attach(clone, t),
                Err(e) => {
                    sys::close(clone);
                    Err(e)
                }
            })
            .map_err(fail(MountStep::Mount, index));
            sys::close(t);
            r
        }
        Op::Mask { target } => {
            let Some(t) = open_existing(root, target, index)? else { return Ok(()) };
            let r = if sys::inode_is_dir(t) {
                fresh_fs(c"tmpfs", &[], LOCKED_DOWN)
            } else {
                // A clone of the sandbox's own (read-only) /dev/null bind.
                sys::open_in_root(root, c"dev/null", libc::O_PATH, 0).and_then(|null| {
                    let r = sys::open_tree(
                        null,
                        c"",
                        sys::OPEN_TREE_CLONE | sys::OPEN_TREE_CLOEXEC | libc::AT_EMPTY_PATH as u32,
                    );
                    sys::close(null);
                    r
                })
            }
            .and_then(|m| attach(m, t))
            .map_err(fail(MountStep::Mount, index));
            sys::close(t);
            r
        }
        Op::Symlink { parent, name, target } => {
            let p = sys::open_in_root(root, parent, libc::O_PATH | libc::O_DIRECTORY, 0)
                .map_err(fail(MountStep::Symlink, index))?;
            let r = match sys::symlinkat(target, p, name) {
                Ok(()) | Err(Errno::EEXIST) => Ok(()),
                Err(e) => Err(fail(MountStep::Symlink, index)(e)),
            };
            sys::close(p);
            r
        }
    }
}

/// Read-only, no setuid, no devices, no exec: for masks and kernel knobs.
const LOCKED_DOWN: u64 =
    sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV | sys::MOUNT_ATTR_NOEXEC;

/// Moves the detached mount `m` onto `target` and closes `m`.
fn attach(m: RawFd, target: RawFd) -> SysResult<()> {
    let r = sys::move_mount_fd(m, target);
    sys::close(m);
    r
}

/// Opens a target that must already exist (a /proc entry); `None` when
/// this kernel has no such path.
fn open_existing(root: RawFd, target: &std::ffi::CStr, index: u32) -> Result<Option<RawFd>, MountFailure> {
    match sys::open_in_root(root, target, libc::O_PATH | libc::O_NOFOLLOW, 0) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(fail(MountStep::MakeTarget, index)(e)),
    }
}

fn fresh_fs(
    fstype: &std::ffi::CStr,
    options: &[(std::ffi::CString, std::ffi::CString)],
    attrs: u64,
) -> SysResult<RawFd> {
    let fs = sys::fsopen(fstype)?;
    let mut r = Ok(());
    for (k, v) in options {
        r = r.and_then(|_| sys::fsconfig_string(fs, k, v));
    }
    let r = r.and_then(|_| sys::fsconfig_create(fs)).and_then(|_| sys::fsmount(fs, attrs));
    sys::close(fs);
    r
}

/// Creates each missing component below the root; the last is a file for
/// file binds. Existing entries are fine.
fn make_target(root: RawFd, mkdirs: &[Step], file: bool) -> SysResult<()> {
    let last = mkdirs.len().saturating_sub(1);
    for (i, step) in mkdirs.iter().enumerate() {
        let parent = sys::open_in_root(root, &step.parent, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        let r = if file && i == last {
            match sys::open_in_root(parent, &step.name, libc::O_CREAT | libc::O_WRONLY | libc::O_NOCTTY, 0o644) {
                Ok(fd) => {
                    sys::close(fd);
                    Ok(())
                }
                // A read-only rootfs still has the file when it exists.
                Err(Errno::EROFS) | Err(Errno::EISDIR) | Err(Errno::EACCES) => Ok(()),
                Err(e) => Err(e),
            }
        } else {
            match sys::mkdirat(parent, &step.name, 0o755) {
                Ok(()) | Err(Errno::EEXIST) => Ok(()),
                Err(e) => Err(e),
            }
        };
        sys::close(parent);
        r?;
    }
    Ok(())
}
