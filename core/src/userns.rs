//! User-namespace id maps: decided in the parent as data, written by the
//! parent once the child exists.
//!
//! Rootless callers get a single-id map (their uid seen as `uid` inside), or
//! their subordinate ranges through newuidmap/newgidmap. Root callers get a
//! private range of unprivileged host ids per sandbox (like isolate's box
//! uids), held by a lock file for the sandbox's lifetime, so sandbox root is
//! never host root unless `IdMapping::HostRoot` asks for it.

use crate::config::{IdMapping, SandboxConfig};
use crate::error::{ErrorKind, kind_of_errno};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// First host id handed to root callers' sandboxes; each gets `RANGE` ids.
/// 0x70000000 is above systemd's container range (0x80000–0x6FFFFFFF) and
/// the slots stop below its foreign-id range (0x7FFE0000) and below 2^31,
/// which some tools still read as negative.
pub const ROOT_RANGE_BASE: u32 = 0x7000_0000;
pub const RANGE: u32 = 65536;
const ROOT_SLOTS: u32 = (0x7FFE_0000 - ROOT_RANGE_BASE) / RANGE;
const SLOT_DIR: &str = "/run/sandbox/idmap";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdMapError {
    #[error("uid/gid {id} is not mapped inside the sandbox ({why}); {fix}")]
    Unmapped { id: u32, why: &'static str, fix: &'static str },
    #[error(
        "no subordinate {kind} range for user '{user}' in /etc/sub{kind}; add one, e.g. `usermod --add-sub{kind}s 100000-165535 {user}`, or drop the subordinate id mapping"
    )]
    NoSubordinateRange { kind: &'static str, user: String },
    #[error(
        "{tool} is not installed; install the 'uidmap' package (apt-get install uidmap) or drop the subordinate id mapping"
    )]
    HelperMissing { tool: &'static str },
    #[error("{tool} failed ({status}): {stderr}")]
    HelperFailed { tool: &'static str, status: String, stderr: String },
    #[error("writing {path}: {source}; user namespaces may be restricted (check `sandbox check`)")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("no free id range for a root-owned sandbox under {SLOT_DIR} ({source}); too many sandboxes at once?")]
    NoSlot { source: std::io::Error },
}

impl IdMapError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            IdMapError::Unmapped { .. } => ErrorKind::InvalidConfig,
            IdMapError::NoSubordinateRange { .. } | IdMapError::HelperMissing { .. } => ErrorKind::Unsupported,
            IdMapError::Write { source, .. } => source.raw_os_error().map_or(ErrorKind::Setup, kind_of_errno),
            _ => ErrorKind::Setup,
        }
    }

    pub fn errno(&self) -> Option<i32> {
        match self {
            IdMapError::Write { source, .. } | IdMapError::NoSlot { source } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// One line of a map: `inside outside count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// The id maps of one sandbox, decided before the clone.
#[derive(Debug)]
pub struct IdMapPlan {
    pub uid: Vec<Extent>,
    pub gid: Vec<Extent>,
    /// Written through newuidmap/newgidmap (subordinate ranges).
    pub via_helpers: bool,
    /// The kernel requires `setgroups` denied for an unprivileged gid map.
    pub deny_setgroups: bool,
    /// Held while the sandbox lives: reserves a root caller's id range.
    _slot: Option<File>,
}

impl IdMapPlan {
    /// Decides the maps for `config` and the calling user.
    pub fn for_config(config: &SandboxConfig) -> Result<IdMapPlan, IdMapError> {
        let euid = nix::unistd::geteuid().as_raw();
        let egid = nix::unistd::getegid().as_raw();
        let plan = match (config.id_mapping, euid == 0) {
            (IdMapping::HostRoot, _) => IdMapPlan::ranges(0, None),
            (IdMapping::Subordinate, _) => IdMapPlan::subordinate(euid, egid)?,
            (IdMapping::Auto, true) => {
                let (slot, file) = reserve_root_slot()?;
                if !config.namespaces.pid {
                    // Without a pid namespace processes can outlive the
                    // sandbox: never hand their ids to another one.
                    taint_slot(slot).map_err(|source| IdMapError::NoSlot { source })?;
                }
                IdMapPlan::ranges(ROOT_RANGE_BASE + slot * RANGE, Some(file))
            }
            (IdMapping::Auto, false) => IdMapPlan {
                uid: vec![Extent { inside: config.uid, outside: euid, count: 1 }],
                gid: vec![Extent { inside: config.gid, outside: egid, count: 1 }],
                via_helpers: false,
                deny_setgroups: true,
                _slot: None,
            },
        };
        plan.check_mapped(config.uid, config.gid)?;
        Ok(plan)
    }

    fn ranges(base: u32, slot: Option<File>) -> IdMapPlan {
        let count = if base == 0 { u32::MAX } else { RANGE };
        let ext = vec![Extent { inside: 0, outside: base, count }];
        IdMapPlan { uid: ext.clone(), gid: ext, via_helpers: false, deny_setgroups: false, _slot: slot }
    }

    fn subordinate(euid: u32, egid: u32) -> Result<IdMapPlan, IdMapError> {
        let user = name_of("/etc/passwd", euid);
        let group = name_of("/etc/group", egid);
        let name = user.clone().unwrap_or_else(|| euid.to_string());
        let (us, uc) = subordinate_range("/etc/subuid", user.as_deref(), euid)
            .ok_or(IdMapError::NoSubordinateRange { kind: "uid", user: name.clone() })?;
        let (gs, gc) = subordinate_range("/etc/subgid", user.as_deref().or(group.as_deref()), euid)
            .or_else(|| subordinate_range("/etc/subgid", group.as_deref(), egid))
            .ok_or(IdMapError::NoSubordinateRange { kind: "gid", user: name })?;
        if euid == 0 {
            // Root's own range only: sandbox root must never be host root
            // unless `HostRoot` says so.
            return Ok(IdMapPlan {
                uid: vec![Extent { inside: 0, outside: us, count: uc }],
                gid: vec![Extent { inside: 0, outside: gs, count: gc }],
                via_helpers: false,
                deny_setgroups: false,
                _slot: None,
            });
        }
        Ok(IdMapPlan {
            uid: vec![
                Extent { inside: 0, outside: euid, count: 1 },
                Extent { inside: 1, outside: us, count: uc.min(RANGE - 1) },
            ],
            gid: vec![
                Extent { inside: 0, outside: egid, count: 1 },
                Extent { inside: 1, outside: gs, count: gc.min(RANGE - 1) },
            ],
            via_helpers: true,
            deny_setgroups: false,
            _slot: None,
        })
    }

    fn check_mapped(&self, uid: u32, gid: u32) -> Result<(), IdMapError> {
        let covers = |m: &[Extent], id: u32| m.iter().any(|e| id >= e.inside && id - e.inside < e.count);
        let fix = "pick an id the mapping covers, or use the subordinate id mapping";
        if !covers(&self.uid, uid) {
            return Err(IdMapError::Unmapped { id: uid, why: "uid outside the map", fix });
        }
        if !covers(&self.gid, gid) {
            return Err(IdMapError::Unmapped { id: gid, why: "gid outside the map", fix });
        }
        Ok(())
    }

    /// Whether uid 0 exists inside: then init runs as that root.
    pub fn maps_inside_root(&self) -> bool {
        self.uid.iter().any(|e| e.inside == 0) && self.gid.iter().any(|e| e.inside == 0)
    }

    /// May the child call setgroups (to drop the caller's supplementary groups)?
    pub fn setgroups_allowed(&self) -> bool {
        !self.deny_setgroups
    }

    /// Writes the maps for the (blocked) child `pid`.
    pub fn write(&self, pid: i32) -> Result<(), IdMapError> {
        if self.via_helpers {
            run_helper("newuidmap", pid, &self.uid)?;
            return run_helper("newgidmap", pid, &self.gid);
        }
        if self.deny_setgroups {
            write_proc(pid, "setgroups", "deny")?;
        }
        write_proc(pid, "uid_map", &render(&self.uid))?;
        write_proc(pid, "gid_map", &render(&self.gid))
    }
}

fn render(map: &[Extent]) -> String {
    map.iter().map(|e| format!("{} {} {}\n", e.inside, e.outside, e.count)).collect()
}

fn write_proc(pid: i32, file: &str, content: &str) -> Result<(), IdMapError> {
    let path = PathBuf::from(format!("/proc/{pid}/{file}"));
    std::fs::write(&path, content).map_err(|source| IdMapError::Write { path, source })
}

fn run_helper(tool: &'static str, pid: i32, map: &[Extent]) -> Result<(), IdMapError> {
    let mut cmd = Command::new(tool);
    cmd.arg(pid.to_string());
    for e in map {
        cmd.args([e.inside.to_string(), e.outside.to_string(), e.count.to_string()]);
    }
    let out = cmd.output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => IdMapError::HelperMissing { tool },
        _ => IdMapError::HelperFailed { tool, status: e.to_string(), stderr: String::new() },
    })?;
    if !out.status.success() {
        return Err(IdMapError::HelperFailed {
            tool,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// The name of `id` in an /etc/passwd-style file. Read directly rather than
/// through NSS, as shadow's newuidmap matches /etc/subuid names against the
/// local files, and so a static CLI needs no NSS modules.
pub(crate) fn name_of(file: &str, id: u32) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let id = id.to_string();
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let (name, _, num) = (f.next()?, f.next()?, f.next()?);
        (num == id).then(|| name.to_string())
    })
}

/// The first `start:count` line of `file` for `name` or numeric `id`.
pub(crate) fn subordinate_range(file: &str, name: Option<&str>, id: u32) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(file).ok()?;
    let id = id.to_string();
    text.lines().find_map(|line| {
        let mut f = line.trim().split(':');
        let (who, start, count) = (f.next()?, f.next()?, f.next()?);
        if who != id && Some(who) != name {
            return None;
        }
        Some((start.parse().ok()?, count.parse::<u32>().ok()?.min(RANGE)))
    })
}

/// Reserves one of the root ranges with an exclusive flock on its slot file.
fn reserve_root_slot() -> Result<(u32, File), IdMapError> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    slot_dir_is_private().map_err(|source| IdMapError::NoSlot { source })?;
    let start = NEXT.fetch_add(1, Ordering::Relaxed).wrapping_add(std::process::id());
    if let Some(found) = try_slots(start)? {
        return Ok(found);
    }
    // Every slot is busy or tainted: free the tainted ones nobody uses any
    // more, then look once more.
    reclaim_tainted_slots();
    try_slots(start)?.ok_or(IdMapError::NoSlot { source: std::io::Error::from_raw_os_error(libc::EAGAIN) })
}

fn try_slots(start: u32) -> Result<Option<(u32, File)>, IdMapError> {
    for i in 0..ROOT_SLOTS {
        let slot = start.wrapping_add(i) % ROOT_SLOTS;
        if std::fs::symlink_metadata(tainted_path(slot)).is_ok() {
            continue;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(format!("{SLOT_DIR}/{slot}.lock"))
            .map_err(|source| IdMapError::NoSlot { source })?;
        // SAFETY: flock on an fd we own, non-blocking.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(Some((slot, file)));
        }
    }
    Ok(None)
}

/// Removes the taint of every slot whose ids no live process holds (found
/// by one scan of /proc). Runs by itself when no untainted slot is free;
/// public for a garbage-collecting caller (`sandbox gc`).
pub fn reclaim_tainted_slots() {
    let mut live = std::collections::HashSet::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
            if status.lines().any(|l| l.starts_with("State:\tZ")) {
                continue; // a zombie can no longer act with its ids
            }
            let Some(uids) = status.lines().find(|l| l.starts_with("Uid:")) else { continue };
            for uid in uids.split_whitespace().skip(1).filter_map(|u| u.parse::<u32>().ok()) {
                if (ROOT_RANGE_BASE..ROOT_RANGE_BASE + ROOT_SLOTS * RANGE).contains(&uid) {
                    live.insert((uid - ROOT_RANGE_BASE) / RANGE);
                }
            }
        }
    }
    for slot in (0..ROOT_SLOTS).filter(|s| !live.contains(s)) {
        let _ = std::fs::remove_file(tainted_path(slot));
    }
}

fn tainted_path(slot: u32) -> String {
    format!("{SLOT_DIR}/{slot}.tainted")
}

/// Marks a slot as not to be reused while any process may still hold its
/// ids (see `reclaim_tainted_slots`).
fn taint_slot(slot: u32) -> std::io::Result<()> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(tainted_path(slot))
        .map(drop)
}

/// Makes sure the slot directory is root's alone (0700, not a symlink), so
/// no other user can hold a slot's lock and starve root's sandboxes.
fn slot_dir_is_private() -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    static CHECKED: std::sync::OnceLock<Result<(), i32>> = std::sync::OnceLock::new();
    let r = CHECKED.get_or_init(|| {
        let dir = std::path::Path::new(SLOT_DIR);
        let _ = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
        let meta = dir.symlink_metadata().map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        if !meta.is_dir() || meta.uid() != 0 {
            return Err(libc::EPERM);
        }
        if meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        }
        Ok(())
    });
    r.map_err(std::io::Error::from_raw_os_error)
}
