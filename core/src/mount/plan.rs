//! The mount plan: plain data built and checked in the parent, walked by the
//! child without allocating (bubblewrap's `SetupOp` list, as data).

use crate::config::{Mount, RootFs, SandboxConfig};
use crate::sys::{MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Host directories the default host view binds read-only, when present.
pub const HOST_VIEW_DIRS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc"];
/// /proc paths made read-only inside (relative to the new root).
pub const PROC_READ_ONLY: &[&str] = &["proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"];
/// /proc paths hidden inside.
pub const PROC_MASKED: &[&str] = &[
    "proc/acpi",
    "proc/asound",
    "proc/kcore",
    "proc/keys",
    "proc/latency_stats",
    "proc/timer_list",
    "proc/timer_stats",
    "proc/sched_debug",
    "proc/scsi",
];
/// Device nodes bound from the host into the minimal /dev.
pub const DEV_NODES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// How the new root starts out.
#[derive(Debug)]
pub enum RootOp {
    /// A fresh tmpfs holding only mount points (host view).
    Tmpfs,
    /// A recursive bind of a host directory.
    Dir(CString),
}

/// A directory (or, for the last one of a file target, a file) to create,
/// as `parent` (relative to the new root) and `name`.
#[derive(Debug, Clone)]
pub struct Step {
    pub parent: CString,
    pub name: CString,
}

#[derive(Debug)]
pub enum Op {
    /// Bind `source` (a host path, opened before the root is attached) onto
    /// `target`, with `attrs` applied to the whole bound tree.
    Bind { source: CString, target: CString, mkdirs: Vec<Step>, file: bool, attrs: u64 },
    /// Mount a fresh filesystem of `fstype` with string options.
    Fs { fstype: CString, target: CString, mkdirs: Vec<Step>, options: Vec<(CString, CString)>, attrs: u64 },
    /// Create a symlink `parent/name -> target`.
    Symlink { parent: CString, name: CString, target: CString },
    /// Bind an existing path onto itself read-only (e.g. /proc/sys); skipped
    /// when the kernel has no such path.
    ReadOnly { target: CString },
    /// Hide an existing file under the sandbox's own /dev/null or an
    /// existing directory under an empty read-only tmpfs; skipped when absent.
    Mask { target: CString },
}

impl Op {
    /// What this step does, for error messages.
    pub fn describe(&self) -> String {
        let s = |c: &CString| c.to_string_lossy().into_owned();
        match self {
            Op::Bind { source, target, .. } => format!("bind {} -> /{}", s(source), s(target)),
            Op::Fs { fstype, target, .. } => format!("mount {} on /{}", s(fstype), s(target)),
            Op::Symlink { parent, name, target } => format!("symlink /{}/{} -> {}", s(parent), s(name), s(target)),
            Op::ReadOnly { target } => format!("read-only /{}", s(target)),
            Op::Mask { target } => format!("mask /{}", s(target)),
        }
    }
}

/// Everything the child needs to build the new root and pivot into it.
#[derive(Debug)]
pub struct MountPlan {
    pub root: RootOp,
    /// A host directory the new root is attached on before `pivot_root`.
    pub attach_at: CString,
    pub ops: Vec<Op>,
    /// Host fds of bind sources, filled by the child (one slot per op).
    pub source_fds: Vec<i32>,
    pub root_readonly: bool,
    /// The new root's mount fd, set by the child.
    pub root_fd: i32,
}

const BIND_RO: u64 = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

impl MountPlan {
    /// Builds the plan for `config`; `fresh_proc` is false when the pid
    /// namespace is off (the host's /proc is bound instead).
    pub fn build(config: &SandboxConfig) -> MountPlan {
        let mut ops = Vec::new();
        let (root, root_readonly) = match &config.rootfs {
            RootFs::HostView => {
                host_view_ops(&mut ops);
                (RootOp::Tmpfs, true)
            }
            RootFs::Dir(dir) => (RootOp::Dir(cstr(dir.as_os_str().as_bytes())), config.read_only),
        };
        // /dev first: masking /proc files reuses the sandbox's /dev/null.
        dev_ops(&mut ops);
        proc_op(&mut ops, config.namespaces.pid);
        if matches!(config.rootfs, RootFs::HostView) {
            ops.push(tmpfs("tmp", "1777", None));
        }
        for m in &config.mounts {
            ops.push(user_mount(m));
        }
        let attach_at =
            ["/tmp", "/mnt", "/run", "/var/tmp", "/"].into_iter().find(|p| Path::new(p).is_dir()).unwrap_or("/");
        let source_fds = vec![-1; ops.len()];
        MountPlan { root, attach_at: cstr(attach_at.as_bytes()), ops, source_fds, root_readonly, root_fd: -1 }
    }
}

fn host_view_ops(ops: &mut Vec<Op>) {
    for dir in HOST_VIEW_DIRS {
        let path = Path::new(dir);
        let Ok(meta) = path.symlink_metadata() else {
            continue;
        };
        let rel = &dir[1..];
        if meta.file_type().is_symlink() {
            // Merged-/usr hosts: /bin -> usr/bin stays a symlink inside.
            if let Ok(target) = std::fs::read_link(path) {
                ops.push(Op::Symlink {
                    parent: cstr(b"."),
                    name: cstr(rel.as_bytes()),
                    target: cstr(target.as_os_str().as_bytes()),
                });
            }
        } else if meta.is_dir() {
            ops.push(bind(dir.as_bytes(), Path::new(dir), false, BIND_RO));
        }
    }
}

fn proc_op(ops: &mut Vec<Op>, fresh: bool) {
    let attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if fresh {
        ops.push(Op::Fs {
            fstype: cstr(b"proc"),
            target: cstr(b"proc"),
            mkdirs: steps(Path::new("/proc")),
            options: Vec::new(),
            attrs,
        });
    } else {
        ops.push(bind(b"/proc", Path::new("/proc"), false, attrs));
    }
    // The OCI runtime spec's defaults (as Docker and Podman apply them):
    // kernel knobs read-only, information leaks masked.
    for path in PROC_READ_ONLY {
        ops.push(Op::ReadOnly { target: cstr(path.as_bytes()) });
    }
    for path in PROC_MASKED {
        ops.push(Op::Mask { target: cstr(path.as_bytes()) });
    }
}

fn dev_ops(ops: &mut Vec<Op>) {
    ops.push(Op::Fs {
        fstype: cstr(b"tmpfs"),
        target: cstr(b"dev"),
        mkdirs: steps(Path::new("/dev")),
        options: vec![(cstr(b"mode"), cstr(b"0755")), (cstr(b"size"), cstr(b"64k"))],
        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
    });
    for node in DEV_NODES {
        let host = format!("/dev/{node}");
        if Path::new(&host).exists() {
            // Read-only: the node still opens for writing (it is a device),
            // but nobody inside can chmod/chown the host's node.
            ops.push(bind(
                host.as_bytes(),
                Path::new(&host),
                true,
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
            ));
        }
    }
    ops.push(Op::Fs {
        fstype: cstr(b"devpts"),
        target: cstr(b"dev/pts"),
        mkdirs: steps(Path::new("/dev/pts")),
        options: vec![(cstr(b"ptmxmode"), cstr(b"0666")), (cstr(b"mode"), cstr(b"0620"))],
        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
    });
    // 64 MiB, as Docker's default /dev/shm.
    ops.push(tmpfs("dev/shm", "1777", Some(64 << 20)));
    for (name, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        ops.push(Op::Symlink { parent: cstr(b"dev"), name: cstr(name.as_bytes()), target: cstr(target.as_bytes()) });
    }
}

fn tmpfs(rel: &str, mode: &str, size: Option<u64>) -> Op {
    let mut options = vec![(cstr(b"mode"), cstr(mode.as_bytes()))];
    if let Some(size) = size {
        options.push((cstr(b"size"), cstr(size.to_string().as_bytes())));
    }
    Op::Fs {
        fstype: cstr(b"tmpfs"),
        target: cstr(rel.as_bytes()),
        mkdirs: steps(&Path::new("/").join(rel)),
        options,
        attrs: MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
    }
}

fn user_mount(m: &Mount) -> Op {
    match m {
        Mount::Bind { source, target, readonly } => {
            let file = !source.is_dir();
            let attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | if *readonly { MOUNT_ATTR_RDONLY } else { 0 };
            bind(source.as_os_str().as_bytes(), target, file, attrs)
        }
        Mount::Tmpfs { target, size, mode } => {
            let mode = format!("{:o}", mode.unwrap_or(0o1777));
            tmpfs(&relative(target).to_string_lossy(), &mode, *size)
        }
    }
}

fn bind(source: &[u8], target: &Path, file: bool, attrs: u64) -> Op {
    Op::Bind {
        source: cstr(source),
        target: cstr(relative(target).as_os_str().as_bytes()),
        mkdirs: steps(target),
        file,
        attrs,
    }
}

/// `/a/b/c` -> `a/b/c` (targets are validated absolute and free of `..`).
fn relative(target: &Path) -> PathBuf {
    target.components().filter(|c| matches!(c, Component::Normal(_))).collect()
}

/// The create steps for every component of `target` (for a file target
/// the child creates the last one with O_CREAT instead of mkdir).
fn steps(target: &Path) -> Vec<Step> {
    let mut parent = PathBuf::from(".");
    let mut out = Vec::new();
    for comp in target.components() {
        if let Component::Normal(name) = comp {
            out.push(Step { parent: cstr(parent.as_os_str().as_bytes()), name: cstr(name.as_bytes()) });
            parent.push(name);
        }
    }
    out
}

/// Paths were checked for NUL bytes at validation; a NUL here is a bug.
fn cstr(bytes: &[u8]) -> CString {
    CString::new(bytes).unwrap_or_else(|_| CString::from(c"."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_view_plan_has_private_tmp_proc_and_dev_but_no_home() {
        let plan = MountPlan::build(&SandboxConfig::default());
        let described: Vec<String> = plan.ops.iter().map(Op::describe).collect();
        assert!(described.iter().any(|d| d == "mount tmpfs on /tmp"), "{described:?}");
        assert!(described.iter().any(|d| d == "mount proc on /proc"), "{described:?}");
        assert!(described.iter().any(|d| d == "bind /dev/null -> /dev/null"), "{described:?}");
        assert!(!described.iter().any(|d| d.contains("/home") || d.contains("/root")), "{described:?}");
        assert!(plan.root_readonly);
        assert_eq!(plan.source_fds.len(), plan.ops.len());
    }

    #[test]
    fn steps_walk_every_component() {
        let s = steps(Path::new("/a/b/c"));
        let pairs: Vec<(String, String)> = s
            .iter()
            .map(|s| (s.parent.to_string_lossy().into_owned(), s.name.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(pairs, [(".".into(), "a".into()), ("./a".into(), "b".into()), ("./a/b".into(), "c".into())]);
    }

    #[test]
    fn user_binds_are_nosuid_and_ro_when_asked() {
        let m = Mount::Bind { source: "/usr".into(), target: "/data".into(), readonly: true };
        let Op::Bind { attrs, target, .. } = user_mount(&m) else { panic!("not a bind") };
        assert_eq!(attrs & MOUNT_ATTR_RDONLY, MOUNT_ATTR_RDONLY);
        assert_eq!(attrs & MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSUID);
        assert_eq!(target.to_str().unwrap(), "data");
    }
}
