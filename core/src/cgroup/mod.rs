//! Resource limits: one cgroup per sandbox where the caller may create one,
//! rlimits where it may not, and an honest report of which did what.
//!
//! The plan is made before the clone (`plan`): for each limit, the best
//! mechanism this host offers the caller — a cgroup v2 controller, a v1
//! controller, an rlimit — or none. `strict` turns "no cgroup" into an error
//! before anything starts. The per-sandbox cgroups (`SandboxCgroup`) are
//! created and configured before the clone, the child is attached before it
//! is released (so before any workload code runs), and they are read and
//! removed when the sandbox has ended.
//!
//! Only cgroups this library creates are ever written: a parent directory
//! (`sandbox`, created by root, or one an administrator delegated, e.g.
//! `sandbox-1000`) and `sbx-<pid>-<n>` children below it. Stale children of
//! a supervisor that died are swept by the next run and by `sandbox gc`.

mod v1;
mod v2;

use crate::config::{Limits, SandboxConfig};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// How one limit was enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement {
    CgroupV2,
    CgroupV1,
    Rlimit,
    NotEnforced,
}

impl Enforcement {
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::CgroupV2 => "cgroup-v2",
            Enforcement::CgroupV1 => "cgroup-v1",
            Enforcement::Rlimit => "rlimit",
            Enforcement::NotEnforced => "not-enforced",
        }
    }
}

/// Per limit that was asked for, how it was enforced (absent: not asked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LimitsReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Enforcement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<Enforcement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<Enforcement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_weight: Option<Enforcement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_time: Option<Enforcement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nofile: Option<Enforcement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fsize: Option<Enforcement>,
}

/// What the cgroups measured, read once the sandbox has ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupStats {
    pub oom_killed: bool,
    pub memory_peak: Option<u64>,
    pub pids_peak: Option<u64>,
    /// User and system CPU time, in microseconds.
    pub cpu_usec: Option<(u64, u64)>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CgroupError {
    #[error("limits.{limit}: no writable cgroup with the {controller} controller, and strict limits are on; {hint}")]
    NoCgroup { limit: &'static str, controller: &'static str, hint: String },
    #[error("cgroup step failed while {what} {path}: {source}; {hint}")]
    Io { what: &'static str, path: PathBuf, source: std::io::Error, hint: &'static str },
}

impl CgroupError {
    pub fn errno(&self) -> Option<i32> {
        match self {
            CgroupError::Io { source, .. } => source.raw_os_error(),
            CgroupError::NoCgroup { .. } => None,
        }
    }

    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            CgroupError::Io { path, .. } => Some(path),
            CgroupError::NoCgroup { .. } => None,
        }
    }

    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            CgroupError::NoCgroup { .. } => crate::ErrorKind::Unsupported,
            CgroupError::Io { source, .. } => crate::error::kind_of_errno(source.raw_os_error().unwrap_or(0)),
        }
    }
}

/// The controllers a cgroup-backed limit needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controller {
    Memory,
    Pids,
    Cpu,
}

impl Controller {
    fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Cpu => "cpu",
        }
    }
}

/// An rlimit for the workload: resource, soft, hard.
pub(crate) type Rlimit = (libc::c_int, u64, u64);

/// Everything decided before the clone.
pub(crate) struct Plan {
    pub report: LimitsReport,
    pub rlimits: Vec<Rlimit>,
    v2: Option<v2::Target>,
    v1: Option<v1::Target>,
}

/// Where the parent directories live: the config's, `SANDBOX_CGROUP_PARENT`,
/// or the default for this caller (`sandbox` for root, `sandbox-<uid>`).
fn parent_name(limits: &Limits) -> (PathBuf, bool) {
    if let Some(p) = &limits.cgroup_parent {
        return (p.clone(), false);
    }
    if let Some(p) = std::env::var_os("SANDBOX_CGROUP_PARENT").filter(|p| !p.is_empty()) {
        return (PathBuf::from(p), false);
    }
    let uid = nix::unistd::geteuid();
    if uid.is_root() { (PathBuf::from("sandbox"), true) } else { (PathBuf::from(format!("sandbox-{uid}")), false) }
}

/// What an administrator runs once to give `uid` v1 limits (or a parent).
pub(crate) fn delegation_hint() -> String {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return "the cgroup hierarchies are not mounted or not writable; mount them or set SANDBOX_CGROUP_PARENT"
            .into();
    }
    format!(
        "delegate a cgroup once, as root: for c in memory pids cpu cpuacct; do mkdir -p /sys/fs/cgroup/$c/sandbox-{uid} && chown {uid} /sys/fs/cgroup/$c/sandbox-{uid}; done (on a cgroup v2 host: a systemd Delegate=yes unit, or SANDBOX_CGROUP_PARENT), or drop strict limits"
    )
}

impl Plan {
    /// Decides, per limit, how it will be enforced. Touches nothing but
    /// the parents' directories (created only when they are ours).
    pub fn new(config: &SandboxConfig) -> Result<Plan, CgroupError> {
        let limits = &config.limits;
        let wanted: Vec<Controller> = [
            (limits.memory.is_some(), Controller::Memory),
            (limits.pids.is_some(), Controller::Pids),
            (limits.cpus.is_some() || limits.cpu_weight.is_some(), Controller::Cpu),
        ]
        .into_iter()
        .filter_map(|(on, c)| on.then_some(c))
        .collect();
        let mut plan = Plan { report: LimitsReport::default(), rlimits: Vec::new(), v2: None, v1: None };
        // A rootless caller's cgroup files belong to its own uid — which the
        // workload runs as. A workload that can reach cgroupfs could raise
        // its own limits there, so such a run gets no cgroup: rlimits (which
        // it cannot raise) or nothing, and the report says so.
        let owned_by_workload = !nix::unistd::geteuid().is_root() && workload_may_reach_cgroupfs(config);
        if !wanted.is_empty() && !owned_by_workload {
            let (parent, ours) = parent_name(limits);
            plan.v2 = v2::Target::find(&parent, ours);
            let missing: Vec<Controller> =
                wanted.iter().copied().filter(|c| !plan.v2.as_ref().is_some_and(|t| t.has(*c))).collect();
            if !missing.is_empty() {
                plan.v1 = v1::Target::find(&parent, ours, &missing);
            }
        }
        let hint = if owned_by_workload {
            "a rootless workload that can reach cgroupfs (shared mount namespace, CAP_SYS_ADMIN, or a bind of \
             /sys/fs/cgroup) could rewrite its own cgroup, so none is used; keep the mount namespace and drop those"
                .to_string()
        } else {
            delegation_hint()
        };
        plan.decide(limits, pids_rlimit_holds(config), &hint)?;
        // With kept capabilities the workload runs in an inner user
        // namespace, where RLIMIT_NPROC counts its tasks alone: init is not
        // one of them there.
        let inner_userns = !config.cap_add.is_empty() && config.namespaces.mount;
        if inner_userns {
            for r in plan.rlimits.iter_mut().filter(|r| r.0 == libc::RLIMIT_NPROC as libc::c_int) {
                (r.1, r.2) = (r.1 - 1, r.2 - 1);
            }
        }
        Ok(plan)
    }

    fn backend_for(&self, c: Controller) -> Option<Enforcement> {
        if self.v2.as_ref().is_some_and(|t| t.has(c)) {
            Some(Enforcement::CgroupV2)
        } else if self.v1.as_ref().is_some_and(|t| t.has(c)) {
            Some(Enforcement::CgroupV1)
        } else {
            None
        }
    }

    fn decide(&mut self, limits: &Limits, pids_rlimit_holds: bool, hint: &str) -> Result<(), CgroupError> {
        let strict = |limit: &'static str, c: Controller| -> Result<(), CgroupError> {
            if limits.strict {
                return Err(CgroupError::NoCgroup { limit, controller: c.name(), hint: hint.to_string() });
            }
            Ok(())
        };
        if let Some(bytes) = limits.memory {
            self.report.memory = Some(match self.backend_for(Controller::Memory) {
                Some(e) => e,
                None => {
                    strict("memory", Controller::Memory)?;
                    self.rlimits.push((libc::RLIMIT_AS as libc::c_int, bytes, bytes));
                    Enforcement::Rlimit
                }
            });
        }
        if let Some(n) = limits.pids {
            self.report.pids = Some(match self.backend_for(Controller::Pids) {
                Some(e) => e,
                None => {
                    strict("pids", Controller::Pids)?;
                    if pids_rlimit_holds {
                        // Counted per user namespace and uid (ucounts, Linux
                        // 5.14+): only this sandbox's own tasks count, never
                        // the caller's other processes. Init is one of them.
                        self.rlimits.push((libc::RLIMIT_NPROC as libc::c_int, n + 1, n + 1));
                        Enforcement::Rlimit
                    } else {
                        Enforcement::NotEnforced
                    }
                }
            });
        }
        if limits.cpus.is_some() {
            self.report.cpus = Some(
                self.backend_for(Controller::Cpu)
                    .map_or_else(|| strict("cpus", Controller::Cpu).map(|_| Enforcement::NotEnforced), Ok)?,
            );
        }
        if limits.cpu_weight.is_some() {
            self.report.cpu_weight = Some(
                self.backend_for(Controller::Cpu)
                    .map_or_else(|| strict("cpu_weight", Controller::Cpu).map(|_| Enforcement::NotEnforced), Ok)?,
            );
        }
        if let Some(t) = limits.cpu_time {
            // SIGXCPU at the limit, SIGKILL a second later for a process
            // that ignores it. Whole seconds: the kernel's granularity.
            let secs = t.as_secs_f64().ceil().max(1.0) as u64;
            self.rlimits.push((libc::RLIMIT_CPU as libc::c_int, secs, secs + 1));
            self.report.cpu_time = Some(Enforcement::Rlimit);
        }
        if let Some(n) = limits.nofile {
            self.rlimits.push((libc::RLIMIT_NOFILE as libc::c_int, n, n));
            self.report.nofile = Some(Enforcement::Rlimit);
        }
        if let Some(n) = limits.fsize {
            self.rlimits.push((libc::RLIMIT_FSIZE as libc::c_int, n, n));
            self.report.fsize = Some(Enforcement::Rlimit);
        }
        Ok(())
    }

    /// Whether a cgroup will be made for this run.
    pub fn uses_cgroups(&self) -> bool {
        self.v2.is_some() || self.v1.is_some()
    }

    /// Creates and configures this run's cgroups (nothing when none is
    /// needed). Sweeps stale ones of dead supervisors first.
    pub fn create(&self, limits: &Limits) -> Result<Option<SandboxCgroup>, CgroupError> {
        if !self.uses_cgroups() {
            return Ok(None);
        }
        static SEQ: AtomicU64 = AtomicU64::new(0);
        // pid and start time name the supervisor (a reused pid has another
        // start time); the sequence number tells its runs apart. Creation
        // fails on an existing name: a cgroup is never taken over.
        let name = format!(
            "sbx-{}-{}-{}",
            std::process::id(),
            start_time(std::process::id() as i32).unwrap_or(0),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let v2 = match &self.v2 {
            Some(t) => Some(t.create(&name, limits)?),
            None => None,
        };
        let v1 = match &self.v1 {
            Some(t) => match t.create(&name, limits) {
                Ok(g) => Some(g),
                Err(e) => {
                    if let Some(g) = v2 {
                        g.remove();
                    }
                    return Err(e);
                }
            },
            None => None,
        };
        Ok(Some(SandboxCgroup { v2, v1 }))
    }
}

/// The cgroups of one running sandbox. Dropping it kills what is left in
/// them and removes them.
#[derive(Debug)]
pub struct SandboxCgroup {
    v2: Option<v2::Group>,
    v1: Option<v1::Group>,
}

impl SandboxCgroup {
    /// Moves `pid` (the sandbox's init, before it runs anything of the
    /// workload) into every cgroup of the run.
    pub(crate) fn attach(&mut self, pid: i32) -> Result<(), CgroupError> {
        if let Some(g) = &self.v1 {
            g.attach(pid)?;
        }
        if let Some(g) = &self.v2 {
            match g.attach(pid) {
                Ok(()) => {}
                // A v2 cgroup that enforces nothing (membership only) is
                // dropped when the caller may not move processes into it
                // (it needs write access to the common ancestor).
                Err(_) if !g.enforces_anything() => {
                    if let Some(g) = self.v2.take() {
                        g.remove();
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Kills every process left in the cgroups: `cgroup.kill` on v2, a
    /// SIGKILL sweep of `cgroup.procs` on v1. Reaches processes that left
    /// the pid namespace's reach (`--share pid`).
    pub(crate) fn kill_all(&self) {
        if let Some(g) = &self.v2 {
            g.kill();
        }
        if let Some(g) = &self.v1 {
            g.kill();
        }
    }

    /// What the cgroups measured. Call once the sandbox has ended.
    pub(crate) fn stats(&self) -> CgroupStats {
        let mut s = CgroupStats::default();
        if let Some(g) = &self.v1 {
            g.read_stats(&mut s);
        }
        if let Some(g) = &self.v2 {
            g.read_stats(&mut s);
        }
        s
    }

    /// The v2 cgroup's path, if the run has one.
    pub fn v2_path(&self) -> Option<&std::path::Path> {
        self.v2.as_ref().map(|g| g.path())
    }

    /// The v1 cgroup directories of the run.
    pub fn v1_paths(&self) -> Vec<PathBuf> {
        self.v1.as_ref().map(|g| g.paths()).unwrap_or_default()
    }
}

impl Drop for SandboxCgroup {
    fn drop(&mut self) {
        self.kill_all();
        if let Some(g) = self.v2.take() {
            g.remove();
        }
        if let Some(g) = self.v1.take() {
            g.remove();
        }
    }
}

/// Removes stale `sbx-<pid>-<n>` cgroups under this caller's parents whose
/// supervisor is gone and which hold no process; returns how many. What
/// `sandbox gc` runs; each run also sweeps before creating its own.
pub fn gc(config: &SandboxConfig) -> Result<usize, crate::config::ConfigError> {
    config.limits.validate_parent()?;
    let (parent, _) = parent_name(&config.limits);
    Ok(v2::sweep(&parent) + v1::sweep(&parent))
}

/// Whether the workload could mount or reach a cgroup filesystem: it shares
/// the host's mount namespace, keeps CAP_SYS_ADMIN (it could mount one), or
/// has a bind of something at or above /sys/fs/cgroup.
fn workload_may_reach_cgroupfs(config: &SandboxConfig) -> bool {
    const CAP_SYS_ADMIN: u64 = 1 << 21;
    let sys_admin = crate::caps::mask(&config.cap_add).is_ok_and(|m| m & CAP_SYS_ADMIN != 0);
    let binds_cgroupfs = config.mounts.iter().any(|m| match m {
        crate::config::Mount::Bind { source, .. } => {
            let cg = std::path::Path::new("/sys/fs/cgroup");
            cg.starts_with(source) || source.starts_with(cg)
        }
        crate::config::Mount::Tmpfs { .. } => false,
    });
    !config.namespaces.mount || sys_admin || binds_cgroupfs
}

/// RLIMIT_NPROC counts per uid: a workload that may switch among several
/// mapped uids (CAP_SETUID with a range of ids) escapes it.
fn pids_rlimit_holds(config: &SandboxConfig) -> bool {
    const CAP_SETUID: u64 = 1 << 7;
    let setuid = crate::caps::mask(&config.cap_add).is_ok_and(|m| m & CAP_SETUID != 0);
    let many_ids = nix::unistd::geteuid().is_root() || config.id_mapping != crate::IdMapping::Auto;
    !(setuid && many_ids)
}

/// A process's start time (clock ticks since boot), from /proc/<pid>/stat.
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()
}

/// Whether `dir` is on a cgroup filesystem (v1 or v2): a parent elsewhere
/// would be an ordinary directory, where "limits" enforce nothing.
fn is_cgroupfs(dir: &std::path::Path) -> bool {
    use nix::sys::statfs::{CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, statfs};
    statfs(dir).is_ok_and(|s| s.filesystem_type() == CGROUP_SUPER_MAGIC || s.filesystem_type() == CGROUP2_SUPER_MAGIC)
}

/// True the first time this process uses `parent` (per hierarchy): stale
/// cgroups are swept then, not on every run (a sweep lists every child).
fn first_use_of(parent: &std::path::Path, hierarchy: &str) -> bool {
    static SEEN: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let key = (parent.to_path_buf(), hierarchy.to_string());
    if seen.contains(&key) {
        return false;
    }
    seen.push(key);
    true
}

/// Whether a sandbox cgroup directory name (`sbx-<pid>-<start>-<n>`)
/// belongs to a supervisor that is gone: no process with that pid, or one
/// that started at another time (the pid was reused).
fn is_stale(name: &str) -> bool {
    let mut parts = name.strip_prefix("sbx-").map(|rest| rest.split('-')).into_iter().flatten();
    let (Some(Ok(pid)), Some(Ok(started))) = (parts.next().map(str::parse::<i32>), parts.next().map(str::parse::<u64>))
    else {
        return false;
    };
    if pid == std::process::id() as i32 {
        return false;
    }
    start_time(pid).is_none_or(|t| t != started)
}

/// Removes a cgroup directory, children first (a workload's sub-cgroups),
/// retrying briefly while the kernel finishes tearing down its last tasks
/// (EBUSY).
fn remove_dir(path: &std::path::Path) -> bool {
    if let Ok(entries) = std::fs::read_dir(path) {
        for child in entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
            remove_dir(&child.path());
        }
    }
    for _ in 0..200 {
        match std::fs::remove_dir(path) {
            Ok(()) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Err(_) => return false,
        }
    }
    false
}
