//! How a run ended, as the engine measured it. `sandbox/_result.py` turns
//! it into the subprocess-shaped `CompletedRun`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use sandbox_core::{Enforcement, LimitsReport, Outcome};

/// One finished run: exit or signal, timeout, times, peak memory, and how
/// each requested limit was enforced.
#[pyclass(frozen, name = "Outcome", module = "sandbox._sandbox")]
pub struct PyOutcome {
    /// Exit code, when the workload exited.
    #[pyo3(get)]
    exit_code: Option<i32>,
    /// Signal number, when the workload (or the whole sandbox) was killed.
    #[pyo3(get)]
    signal: Option<i32>,
    /// The sandbox's own timeout killed it.
    #[pyo3(get)]
    timed_out: bool,
    /// Seconds from the workload's exec to the end of the sandbox.
    #[pyo3(get)]
    wall_time: f64,
    /// User CPU seconds of every process in the sandbox.
    #[pyo3(get)]
    user_time: f64,
    /// System CPU seconds of every process in the sandbox.
    #[pyo3(get)]
    system_time: f64,
    /// Peak resident set of the largest process (bytes, from wait4).
    #[pyo3(get)]
    peak_rss_bytes: u64,
    /// The OOM killer killed a process at the memory limit (from the
    /// cgroup's memory events).
    #[pyo3(get)]
    oom_killed: bool,
    /// A process used up its CPU-time limit.
    #[pyo3(get)]
    cpu_time_exceeded: bool,
    /// Peak memory of the whole sandbox, from its cgroup (bytes).
    #[pyo3(get)]
    memory_peak_bytes: Option<u64>,
    /// Peak number of tasks, from the pids cgroup.
    #[pyo3(get)]
    pids_peak: Option<u64>,
    /// (limit, mechanism) for each limit asked for, in the config's order.
    limits: Vec<(&'static str, &'static str)>,
}

/// The requested limits and how each was enforced ("cgroup-v2", ...).
fn report_pairs(r: &LimitsReport) -> Vec<(&'static str, &'static str)> {
    let all: [(&'static str, Option<Enforcement>); 7] = [
        ("memory", r.memory),
        ("pids", r.pids),
        ("cpus", r.cpus),
        ("cpu_weight", r.cpu_weight),
        ("cpu_time", r.cpu_time),
        ("nofile", r.nofile),
        ("fsize", r.fsize),
    ];
    all.into_iter().filter_map(|(name, e)| e.map(|e| (name, e.as_str()))).collect()
}

impl From<&Outcome> for PyOutcome {
    fn from(o: &Outcome) -> PyOutcome {
        PyOutcome {
            exit_code: o.exit_code,
            signal: o.signal,
            timed_out: o.timed_out,
            wall_time: o.wall_time.as_secs_f64(),
            user_time: o.cpu_time.user.as_secs_f64(),
            system_time: o.cpu_time.system.as_secs_f64(),
            peak_rss_bytes: o.peak_rss_bytes,
            oom_killed: o.oom_killed,
            cpu_time_exceeded: o.cpu_time_exceeded,
            memory_peak_bytes: o.memory_peak_bytes,
            pids_peak: o.pids_peak,
            limits: report_pairs(&o.limits),
        }
    }
}

#[pymethods]
impl PyOutcome {
    /// How each requested limit was enforced, e.g. `{"memory": "cgroup-v1",
    /// "cpu_time": "rlimit"}` (a new dict at each call).
    #[getter]
    fn limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, how) in &self.limits {
            dict.set_item(name, how)?;
        }
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        let opt = |v: Option<i32>| v.map_or("None".to_string(), |v| v.to_string());
        format!(
            "Outcome(exit_code={}, signal={}, timed_out={}, wall_time={:.6})",
            opt(self.exit_code),
            opt(self.signal),
            if self.timed_out { "True" } else { "False" },
            self.wall_time
        )
    }
}
