//! cgroup v1, through `cgroups-rs`: one directory per controller (memory,
//! pids, cpu, and cpuacct for accounting) under a parent the caller owns.

use super::{CgroupError, CgroupStats, Controller, is_stale, remove_dir};
use crate::config::Limits;
use cgroups_rs::CgroupPid;
use cgroups_rs::fs::cgroup::Cgroup;
use cgroups_rs::fs::cpu::CpuController;
use cgroups_rs::fs::cpuacct::CpuAcctController;
use cgroups_rs::fs::hierarchies::V1;
use cgroups_rs::fs::memory::MemController;
use cgroups_rs::fs::pid::PidController;
use cgroups_rs::fs::{Controllers, MaxValue};
use std::path::{Path, PathBuf};

/// CFS period for `cpus` quotas (the kernel's default, 100 ms).
const CFS_PERIOD_US: u64 = 100_000;

/// The usable v1 controllers under the caller's parent.
pub(super) struct Target {
    parent: PathBuf,
    /// (controller name, mount point) of each usable controller.
    usable: Vec<(&'static str, PathBuf)>,
}

/// The v1 mounts, read from /proc/self/mountinfo once per process: they do
/// not move under a running program, and parsing them is most of a plan's
/// cost.
fn hierarchy() -> V1 {
    static V1_MOUNTS: std::sync::OnceLock<V1> = std::sync::OnceLock::new();
    V1_MOUNTS.get_or_init(V1::new).clone()
}

fn controller_key(name: &str) -> Controllers {
    match name {
        "memory" => Controllers::Mem,
        "pids" => Controllers::Pids,
        "cpu" => Controllers::Cpu,
        _ => Controllers::CpuAcct,
    }
}

/// Whether `dir` may hold our cgroups: it exists and is writable, or it is
/// our own default parent and can be made.
fn usable_parent(dir: &Path, ours: bool) -> bool {
    let usable = nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
        || ours && !dir.exists() && std::fs::create_dir(dir).is_ok();
    usable && super::is_cgroupfs(dir)
}

impl Target {
    /// The v1 controllers among `wanted` (plus cpuacct, for accounting) that
    /// are mounted and have a usable parent.
    pub fn find(parent: &Path, ours: bool, wanted: &[Controller]) -> Option<Target> {
        let hier = hierarchy();
        let names = wanted.iter().map(|c| c.name()).chain(["cpuacct"]);
        let usable: Vec<(&'static str, PathBuf)> = names
            .filter_map(|name| {
                let (mount, _) = hier.get_mount_point(controller_key(name))?;
                usable_parent(&mount.join(parent), ours).then_some((name, mount))
            })
            .collect();
        let enforcing = usable.iter().any(|(n, _)| *n != "cpuacct");
        enforcing.then(|| Target { parent: parent.to_path_buf(), usable })
    }

    pub fn has(&self, c: Controller) -> bool {
        self.usable.iter().any(|(n, _)| *n == c.name())
    }

    /// Makes `<parent>/<name>` in each usable controller and writes the limits.
    pub fn create(&self, name: &str, limits: &Limits) -> Result<Group, CgroupError> {
        if super::first_use_of(&self.parent, "v1") {
            for (_, mount) in &self.usable {
                sweep_dir(&mount.join(&self.parent));
            }
        }
        let rel = self.parent.join(name);
        let controllers: Vec<String> = self.usable.iter().map(|(n, _)| n.to_string()).collect();
        let paths: Vec<PathBuf> = self.usable.iter().map(|(_, m)| m.join(&rel)).collect();
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |e: cgroups_rs::fs::error::Error| CgroupError::Io {
                what,
                path,
                source: std::io::Error::other(e.to_string()),
                hint: "check that the parent cgroup is writable by this user",
            }
        };
        // Made here, one by one, failing on an existing directory: cgroups-rs
        // would adopt one (create_dir_all) and the kill sweep would then
        // reach whatever lives in it.
        for (i, p) in paths.iter().enumerate() {
            if let Err(source) = std::fs::create_dir(p) {
                paths[..i].iter().for_each(|made| {
                    remove_dir(made);
                });
                return Err(CgroupError::Io {
                    what: "creating",
                    path: p.clone(),
                    source,
                    hint: "check that the parent cgroup is writable by this user",
                });
            }
        }
        let group = match Cgroup::new_with_specified_controllers(Box::new(hierarchy()), &rel, Some(controllers)) {
            Ok(cg) => Group { cg, paths, limits_memory: limits.memory.is_some() },
            Err(e) => {
                paths.iter().for_each(|p| {
                    remove_dir(p);
                });
                return Err(io("configuring", &rel)(e));
            }
        };
        if let Err(e) = group.configure(limits) {
            group.remove();
            return Err(e);
        }
        Ok(group)
    }
}

/// One sandbox's v1 cgroups.
#[derive(Debug)]
pub(super) struct Group {
    cg: Cgroup,
    paths: Vec<PathBuf>,
    limits_memory: bool,
}

impl Group {
    fn configure(&self, limits: &Limits) -> Result<(), CgroupError> {
        let fail = |what: &'static str| {
            let path = self.paths[0].clone();
            move |e: cgroups_rs::fs::error::Error| CgroupError::Io {
                what,
                path,
                source: std::io::Error::other(e.to_string()),
                hint: "the kernel refused the value",
            }
        };
        if let (Some(bytes), Some(mem)) = (limits.memory, self.cg.controller_of::<MemController>()) {
            let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
            mem.set_limit(bytes).map_err(fail("setting memory.limit_in_bytes in"))?;
            // Swap off: memory+swap capped at the same value. Absent without
            // swap accounting (then there is no swap to turn off).
            let _ = mem.set_memswap_limit(bytes);
        }
        if let (Some(n), Some(pids)) = (limits.pids, self.cg.controller_of::<PidController>()) {
            // Init is one of the tasks.
            let max = i64::try_from(n.saturating_add(1)).unwrap_or(i64::MAX);
            pids.set_pid_max(MaxValue::Value(max)).map_err(fail("setting pids.max in"))?;
        }
        if let Some(cpu) = self.cg.controller_of::<CpuController>() {
            if let Some(cpus) = limits.cpus {
                let quota = ((cpus * CFS_PERIOD_US as f64).round() as i64).max(1000);
                cpu.set_cfs_quota_and_period(Some(quota), Some(CFS_PERIOD_US))
                    .map_err(fail("setting cpu.cfs_quota_us in"))?;
            }
            if let Some(w) = limits.cpu_weight {
                cpu.set_shares(weight_to_shares(w)).map_err(fail("setting cpu.shares in"))?;
            }
        }
        Ok(())
    }

    pub fn attach(&self, pid: i32) -> Result<(), CgroupError> {
        self.cg.add_task_by_tgid(CgroupPid::from(pid as u64)).map_err(|e| CgroupError::Io {
            what: "moving the sandbox into",
            path: self.paths[0].clone(),
            source: std::io::Error::other(e.to_string()),
            hint: "the caller must own the sandbox's process and be able to write the cgroup",
        })
    }

    /// SIGKILLs every process left, until the cgroup is empty (v1 has no
    /// cgroup.kill). Bounded: a process that keeps forking is killed with
    /// its children on the next pass.
    pub fn kill(&self) {
        for _ in 0..100 {
            let procs = self.cg.procs();
            if procs.is_empty() {
                return;
            }
            for p in procs {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.pid as i32), nix::sys::signal::SIGKILL);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Reads the few files the outcome needs (cgroups-rs's `memory_stat()`
    /// and `cpuacct()` read every file of the controller: ~40 opens a run).
    pub fn read_stats(&self, s: &mut CgroupStats) {
        use cgroups_rs::fs::Controller as _;
        let read = |dir: &Path, file: &str| std::fs::read_to_string(dir.join(file)).ok();
        let number = |text: Option<String>| text.and_then(|t| t.trim().parse::<u64>().ok());
        if let Some(mem) = self.cg.controller_of::<MemController>() {
            s.memory_peak = number(read(mem.path(), "memory.max_usage_in_bytes"));
            let oom_kills = read(mem.path(), "memory.oom_control")
                .and_then(|t| t.lines().find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse::<u64>().ok()));
            s.oom_killed |= self.limits_memory && oom_kills.is_some_and(|n| n > 0);
        }
        if let Some(pids) = self.cg.controller_of::<PidController>() {
            s.pids_peak = number(read(pids.path(), "pids.peak"));
        }
        if let Some(acct) = self.cg.controller_of::<CpuAcctController>()
            && let (Some(user), Some(sys)) =
                (number(read(acct.path(), "cpuacct.usage_user")), number(read(acct.path(), "cpuacct.usage_sys")))
        {
            s.cpu_usec = Some((user / 1000, sys / 1000));
        }
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.paths.clone()
    }

    pub fn remove(self) {
        for p in &self.paths {
            remove_dir(p);
        }
    }
}

/// cgroup v2 weight (1..=10000, default 100) to v1 shares (2..=262144,
/// default 1024), the mapping runc and crun use in reverse.
fn weight_to_shares(weight: u64) -> u64 {
    (2 + (weight.clamp(1, 10000) - 1) * 262142 / 9999).clamp(2, 262144)
}

/// Removes stale sandbox cgroups in one controller's parent.
fn sweep_dir(parent: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else { return 0 };
    entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_stale))
        .filter(|e| std::fs::read_to_string(e.path().join("cgroup.procs")).is_ok_and(|p| p.trim().is_empty()))
        .filter(|e| remove_dir(&e.path()))
        .count()
}

/// `sandbox gc` for v1: every controller's parent.
pub(super) fn sweep(parent: &Path) -> usize {
    let hier = hierarchy();
    ["memory", "pids", "cpu", "cpuacct"]
        .iter()
        .filter_map(|n| hier.get_mount_point(controller_key(n)))
        .map(|(mount, _)| sweep_dir(&mount.join(parent)))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::weight_to_shares;

    #[test]
    fn weights_map_onto_shares_like_runc() {
        assert_eq!(weight_to_shares(1), 2);
        assert_eq!(weight_to_shares(10000), 262144);
        assert!((1000..1100).contains(&weight_to_shares(40)));
    }
}
