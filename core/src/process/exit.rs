//! What happened: the outcome of a run, serializable for `--report`.

use serde::Serialize;
use std::time::Duration;

/// CPU time of the sandbox's processes (all of them, reaped by init).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CpuTime {
    #[serde(serialize_with = "secs")]
    pub user: Duration,
    #[serde(serialize_with = "secs")]
    pub system: Duration,
}

impl CpuTime {
    pub fn total(&self) -> Duration {
        self.user + self.system
    }
}

/// How a run ended and what it used.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    /// Exit code, when the workload exited normally.
    pub exit_code: Option<i32>,
    /// Signal number, when the workload (or the sandbox) was killed.
    pub signal: Option<i32>,
    pub signal_name: Option<String>,
    /// The wall-clock timeout killed the whole sandbox.
    pub timed_out: bool,
    /// From the workload's exec to the end of the sandbox (setup excluded,
    /// as the timeout excludes it).
    #[serde(serialize_with = "secs")]
    pub wall_time: Duration,
    pub cpu_time: CpuTime,
    /// Peak resident set of the largest process, from wait4 (bytes).
    pub peak_rss_bytes: u64,
    /// Captured output was cut at the output limit.
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// The kernel's OOM killer killed a process of the sandbox at its memory
    /// limit (from the cgroup's memory events, not guessed from a signal).
    pub oom_killed: bool,
    /// A process used up its CPU-time limit (SIGXCPU, or SIGKILL past it).
    pub cpu_time_exceeded: bool,
    /// Peak memory of the whole sandbox, from its cgroup (bytes).
    pub memory_peak_bytes: Option<u64>,
    /// Peak number of tasks (init included), from the pids cgroup where the
    /// kernel keeps it.
    pub pids_peak: Option<u64>,
    /// How each requested limit was enforced.
    pub limits: crate::cgroup::LimitsReport,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// Shell-style status: the exit code, 128+N for signal N, 124 for a timeout.
    pub fn shell_status(&self) -> i32 {
        if self.timed_out {
            124
        } else if let Some(c) = self.exit_code {
            c
        } else {
            128 + self.signal.unwrap_or(0)
        }
    }

    pub(crate) fn set_wait_status(&mut self, status: i32) {
        if libc::WIFEXITED(status) {
            self.exit_code = Some(libc::WEXITSTATUS(status));
        } else if libc::WIFSIGNALED(status) {
            self.set_signal(libc::WTERMSIG(status));
        }
    }

    pub(crate) fn set_signal(&mut self, sig: i32) {
        self.signal = Some(sig);
        self.signal_name = nix::sys::signal::Signal::try_from(sig).ok().map(|s| s.as_str().to_string());
    }

    /// Folds in what the cgroups measured: their CPU time and memory peak
    /// cover every process of the sandbox.
    pub(crate) fn add_cgroup_stats(&mut self, s: &crate::cgroup::CgroupStats) {
        self.oom_killed = s.oom_killed;
        self.memory_peak_bytes = s.memory_peak;
        self.pids_peak = s.pids_peak;
        if let Some((user, system)) = s.cpu_usec {
            self.cpu_time = CpuTime { user: Duration::from_micros(user), system: Duration::from_micros(system) };
        }
    }

    /// Whether the CPU-time limit ended the run: the workload died of
    /// SIGXCPU, or of SIGKILL (the hard limit) having used the limit.
    pub(crate) fn note_cpu_time_limit(&mut self, limit: Option<Duration>) {
        let Some(limit) = limit else { return };
        let whole = Duration::from_secs(limit.as_secs_f64().ceil().max(1.0) as u64);
        // The signal alone proves nothing (a workload can `kill -XCPU $$`):
        // the CPU time used must reach the limit too — within 5 %, because
        // rusage's user/system split is sampled while the kernel's RLIMIT_CPU
        // check uses the exact runtime (999.98 ms against 1 s was seen).
        self.cpu_time_exceeded = matches!(self.signal, Some(libc::SIGXCPU | libc::SIGKILL))
            && !self.timed_out
            && !self.oom_killed
            && self.cpu_time.total() >= whole.mul_f64(0.95);
    }

    pub(crate) fn set_rusage(&mut self, r: &libc::rusage) {
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32).saturating_mul(1000));
        self.cpu_time = CpuTime { user: tv(r.ru_utime), system: tv(r.ru_stime) };
        self.peak_rss_bytes = (r.ru_maxrss as u64) * 1024;
    }
}

/// The outcome plus captured output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub outcome: Outcome,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_status_follows_docker() {
        let mut o = Outcome::default();
        o.set_wait_status(3 << 8);
        assert_eq!((o.exit_code, o.shell_status()), (Some(3), 3));
        let mut o = Outcome::default();
        o.set_wait_status(libc::SIGKILL);
        assert_eq!((o.signal, o.shell_status()), (Some(9), 137));
        assert_eq!(o.signal_name.as_deref(), Some("SIGKILL"));
        let o = Outcome { timed_out: true, signal: Some(9), ..Outcome::default() };
        assert_eq!(o.shell_status(), 124);
    }
}
