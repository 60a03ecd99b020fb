//! cgroup v2, on whichever mount the unified hierarchy has (`/sys/fs/cgroup`
//! on a pure v2 host, `/sys/fs/cgroup/unified` on a hybrid one).
//!
//! Written against the files directly rather than through `cgroups-rs`,
//! whose v2 support assumes the mount at `/sys/fs/cgroup` and enables
//! controllers in the hierarchy root's `cgroup.subtree_control` — a cgroup
//! this library does not own and must not write. Here only our own parent
//! (`sandbox`, made by root) ever gets controllers enabled.
//!
//! Even without controllers (this hybrid host's v2 has only hugetlb) the
//! v2 cgroup gives membership, `cgroup.kill` and `cgroup.events`: the whole
//! sandbox is killed by the kernel in one write, wherever its processes went.

use super::{CgroupError, CgroupStats, Controller, is_stale, remove_dir};
use crate::config::Limits;
use std::path::{Path, PathBuf};

/// The caller's v2 parent and the controllers its children can use.
pub(super) struct Target {
    parent: PathBuf,
    controllers: Vec<String>,
}

/// Where the cgroup2 filesystem is mounted, from /proc/self/mountinfo.
fn mount_point() -> Option<PathBuf> {
    static MOUNT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    MOUNT.get_or_init(find_mount_point).clone()
}

fn find_mount_point() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        left.split_whitespace().nth(4).map(PathBuf::from)
    })
}

fn io(what: &'static str, path: &Path, hint: &'static str) -> impl FnOnce(std::io::Error) -> CgroupError {
    let path = path.to_path_buf();
    move |source| CgroupError::Io { what, path, source, hint }
}

impl Target {
    /// The caller's v2 parent: writable, or ours to make (root's `sandbox`).
    /// For our own parent, every controller it is offered is enabled for
    /// its children.
    pub fn find(parent: &Path, ours: bool) -> Option<Target> {
        let dir = mount_point()?.join(parent);
        let writable = nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_ok();
        if !(writable || ours && std::fs::create_dir(&dir).is_ok()) || !super::is_cgroupfs(&dir) {
            return None;
        }
        if ours {
            enable_offered_controllers(&dir);
        }
        let enabled = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
        Some(Target { parent: dir, controllers: enabled.split_whitespace().map(str::to_string).collect() })
    }

    pub fn has(&self, c: Controller) -> bool {
        self.controllers.iter().any(|n| n == c.name())
    }

    pub fn create(&self, name: &str, limits: &Limits) -> Result<Group, CgroupError> {
        if super::first_use_of(&self.parent, "v2") {
            sweep_dir(&self.parent);
        }
        let path = self.parent.join(name);
        std::fs::create_dir(&path).map_err(io("creating", &path, "check that the parent cgroup is writable"))?;
        let group = Group { path, enforces: false };
        match group.configure(self, limits) {
            Ok(enforces) => Ok(Group { enforces, ..group }),
            Err(e) => {
                group.remove();
                Err(e)
            }
        }
    }
}

/// Enables in our own parent's `cgroup.subtree_control` the controllers we
/// use that it is offered. Best effort: a parent with processes of its own
/// cannot enable any (the no-internal-process rule), and then limits fall
/// back to v1 or rlimits.
fn enable_offered_controllers(dir: &Path) {
    let offered = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    for c in offered.split_whitespace().filter(|c| ["memory", "pids", "cpu"].contains(c)) {
        let _ = std::fs::write(dir.join("cgroup.subtree_control"), format!("+{c}"));
    }
}

/// One sandbox's v2 cgroup.
#[derive(Debug)]
pub(super) struct Group {
    path: PathBuf,
    /// Whether it enforces a limit (else it is there for kill and events).
    enforces: bool,
}

impl Group {
    /// Writes the limits whose controllers the parent enables; returns
    /// whether any was written.
    fn configure(&self, target: &Target, limits: &Limits) -> Result<bool, CgroupError> {
        let mut enforces = false;
        let mut write = |file: &str, value: String| -> Result<(), CgroupError> {
            enforces = true;
            let path = self.path.join(file);
            std::fs::write(&path, value).map_err(io("writing", &path, "the kernel refused the value"))
        };
        if let (Some(bytes), true) = (limits.memory, target.has(Controller::Memory)) {
            write("memory.max", bytes.to_string())?;
            if self.path.join("memory.swap.max").exists() {
                write("memory.swap.max", "0".into())?;
            }
        }
        if let (Some(n), true) = (limits.pids, target.has(Controller::Pids)) {
            write("pids.max", n.saturating_add(1).to_string())?;
        }
        if target.has(Controller::Cpu) {
            if let Some(cpus) = limits.cpus {
                let quota = ((cpus * 100_000.0).round() as u64).max(1000);
                write("cpu.max", format!("{quota} 100000"))?;
            }
            if let Some(w) = limits.cpu_weight {
                write("cpu.weight", w.clamp(1, 10000).to_string())?;
            }
        }
        Ok(enforces)
    }

    pub fn enforces_anything(&self) -> bool {
        self.enforces
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        let procs = self.path.join("cgroup.procs");
        std::fs::write(&procs, pid.to_string()).map_err(io(
            "moving the sandbox into",
            &procs,
            "the caller needs write access to the cgroup and to the common ancestor of its own cgroup",
        ))
    }

    /// Kills every process in the cgroup in one write, then waits (briefly)
    /// for the kernel to report it empty.
    pub fn kill(&self) {
        if !self.populated() {
            return;
        }
        let _ = std::fs::write(self.path.join("cgroup.kill"), "1");
        for _ in 0..400 {
            if !self.populated() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    fn populated(&self) -> bool {
        std::fs::read_to_string(self.path.join("cgroup.events"))
            .map(|e| e.lines().any(|l| l == "populated 1"))
            .unwrap_or(false)
    }

    pub fn read_stats(&self, s: &mut CgroupStats) {
        let read = |file: &str| std::fs::read_to_string(self.path.join(file)).ok();
        let field = |text: &str, key: &str| {
            text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse::<u64>().ok())
        };
        if let Some(peak) = read("memory.peak").and_then(|p| p.trim().parse().ok()) {
            s.memory_peak = Some(peak);
        }
        if let Some(events) = read("memory.events") {
            s.oom_killed |= field(&events, "oom_kill").is_some_and(|n| n > 0);
        }
        if let Some(peak) = read("pids.peak").and_then(|p| p.trim().parse().ok()) {
            s.pids_peak = Some(peak);
        }
        if s.cpu_usec.is_none()
            && let Some(stat) = read("cpu.stat")
            && let (Some(user), Some(system)) = (field(&stat, "user_usec"), field(&stat, "system_usec"))
        {
            s.cpu_usec = Some((user, system));
        }
    }

    pub fn remove(self) {
        remove_dir(&self.path);
    }
}

fn sweep_dir(parent: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else { return 0 };
    entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_stale))
        .filter(|e| std::fs::read_to_string(e.path().join("cgroup.events")).is_ok_and(|ev| ev.contains("populated 0")))
        .filter(|e| remove_dir(&e.path()))
        .count()
}

/// `sandbox gc` for v2.
pub(super) fn sweep(parent: &Path) -> usize {
    mount_point().map_or(0, |m| sweep_dir(&m.join(parent)))
}
