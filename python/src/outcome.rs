//! How a run ended, as the engine measured it. `sandbox/_result.py` turns
//! it into the subprocess-shaped `CompletedRun`.

use pyo3::prelude::*;
use sandbox_core::Outcome;

/// One finished run: exit or signal, timeout, times and peak memory.
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
        }
    }
}

#[pymethods]
impl PyOutcome {
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
