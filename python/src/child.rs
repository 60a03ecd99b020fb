//! A running sandbox seen from Python: waits in short slices with the GIL
//! released, checking for signals between slices, so other threads run
//! and Ctrl-C is noticed within one slice.

use crate::errors::{config_error, to_py};
use crate::outcome::PyOutcome;
use pyo3::prelude::*;
use sandbox_core::{Child, Outcome, Stdio};
use std::os::fd::{BorrowedFd, IntoRawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Longest uninterrupted wait: the bound on how late Ctrl-C is noticed.
const SLICE: Duration = Duration::from_millis(50);

/// subprocess.PIPE and subprocess.DEVNULL, which the Python half passes on.
const PIPE: i32 = -1;
const DEVNULL: i32 = -3;

/// One standard stream as the Python half gives it.
pub enum StdioArg {
    Inherit,
    Null,
    Piped,
    Fd(std::os::fd::OwnedFd),
}

impl StdioArg {
    /// `fd` is duplicated while the caller still holds it open (the GIL is
    /// held: the Python object that owns it cannot be closed meanwhile).
    pub fn parse(py: Python<'_>, name: &str, spec: Option<i32>) -> PyResult<StdioArg> {
        match spec {
            None => Ok(StdioArg::Inherit),
            Some(PIPE) => Ok(StdioArg::Piped),
            Some(DEVNULL) => Ok(StdioArg::Null),
            Some(fd) if fd >= 0 => {
                // SAFETY: the caller passed an open fd it keeps open for the
                // whole call; it is only borrowed to be duplicated.
                let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
                borrowed.try_clone_to_owned().map(StdioArg::Fd).map_err(|e| {
                    config_error(py, format!("{name}: fd {fd} cannot be used ({e}); give an open file or fd"))
                })
            }
            Some(other) => Err(config_error(
                py,
                format!("{name}: {other} is not a stream; use None, PIPE, DEVNULL, a file or an fd"),
            )),
        }
    }

    pub fn into_stdio(self) -> Stdio {
        match self {
            StdioArg::Inherit => Stdio::Inherit,
            StdioArg::Null => Stdio::Null,
            StdioArg::Piped => Stdio::Piped,
            StdioArg::Fd(fd) => Stdio::Fd(fd),
        }
    }
}

/// The engine's handle while the sandbox runs; only its outcome once it
/// has ended, so an ended `Process` kept by Python holds no fd (pidfd,
/// lifeline, id-map slot lock) and no lock.
enum State {
    Running(Box<Child>),
    Ended(Outcome),
}

/// A running sandbox. Dropping it kills the whole sandbox.
#[pyclass(frozen, name = "Child", module = "sandbox._sandbox")]
pub struct PyChild {
    pid: u32,
    /// Host-side ends of piped streams, until the Python half takes them.
    /// Stdin is taken here, so nothing in the engine ever closes it behind
    /// the caller's back: only the Python half does.
    pipes: Mutex<[Option<std::fs::File>; 3]>,
    state: Mutex<State>,
}

impl PyChild {
    pub fn new(mut child: Child) -> PyChild {
        let pipes = [child.stdin.take(), child.stdout.take(), child.stderr.take()];
        PyChild { pid: child.id(), pipes: Mutex::new(pipes), state: Mutex::new(State::Running(Box::new(child))) }
    }

    /// The lock is only ever taken with the GIL released, so a thread
    /// waiting here never blocks the interpreter; a panic while holding it
    /// cannot leave the state half-updated, so a poisoned lock is usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One slice of waiting, GIL released. Once the outcome is known the
    /// engine's handle is dropped (it has ended: nothing to kill), which
    /// closes every fd it held.
    fn wait_slice(&self, py: Python<'_>, slice: Duration) -> PyResult<Option<PyOutcome>> {
        let done = py.detach(|| {
            let mut state = self.lock();
            let outcome = match &mut *state {
                State::Ended(o) => return Ok(Some(PyOutcome::from(&*o))),
                State::Running(child) => child.wait_timeout(slice)?,
            };
            Ok(outcome.map(|o| {
                let py_outcome = PyOutcome::from(&o);
                *state = State::Ended(o);
                py_outcome
            }))
        });
        done.map_err(|e| to_py(py, &e))
    }
}

/// When a wait of `timeout` seconds ends: `None` for no limit (None,
/// infinity, or a time too far away to represent, as subprocess waits
/// forever for those); an error for NaN and negative values.
fn deadline_of(py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(t) if t >= 0.0 => Ok(Duration::try_from_secs_f64(t).ok().and_then(|d| Instant::now().checked_add(d))),
        Some(t) => Err(config_error(py, format!("timeout: {t:?} is not a number of seconds >= 0"))),
    }
}

/// Highest signal number Linux has (SIGRTMAX).
const SIGNAL_MAX: i32 = 64;

#[pymethods]
impl PyChild {
    /// Host pid of the sandbox's init (pid 1 inside).
    #[getter]
    fn pid(&self) -> u32 {
        self.pid
    }

    /// Hands the piped ends to Python as raw fds (stdin, stdout, stderr;
    /// None where not piped). The caller owns them from now on.
    fn take_pipes(&self) -> (Option<i32>, Option<i32>, Option<i32>) {
        let mut pipes = self.pipes.lock().unwrap_or_else(|p| p.into_inner());
        let [a, b, c] = std::mem::take(&mut *pipes).map(|f| f.map(IntoRawFd::into_raw_fd));
        (a, b, c)
    }

    /// Waits for the end, at most `timeout` seconds (None: no limit).
    /// Returns None when the time is up. The sandbox's own timeout is
    /// enforced meanwhile; Ctrl-C raises KeyboardInterrupt within a slice
    /// and leaves the sandbox running for the caller to kill.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<PyOutcome>> {
        let until = deadline_of(py, timeout)?;
        loop {
            let left = until.map(|u| u.saturating_duration_since(Instant::now()));
            let slice = left.map_or(SLICE, |l| l.min(SLICE));
            if let Some(outcome) = self.wait_slice(py, slice)? {
                return Ok(Some(outcome));
            }
            if left.is_some_and(|l| l <= slice) {
                return Ok(None);
            }
            py.check_signals()?;
        }
    }

    /// The outcome if the sandbox has ended, without blocking. Also
    /// enforces the sandbox's timeout.
    fn poll(&self, py: Python<'_>) -> PyResult<Option<PyOutcome>> {
        self.wait_slice(py, Duration::ZERO)
    }

    /// Kills every process of the sandbox (a no-op once it has ended).
    fn kill(&self, py: Python<'_>) -> PyResult<()> {
        let done = py.detach(|| match &mut *self.lock() {
            State::Running(child) => child.kill(),
            State::Ended(_) => Ok(()),
        });
        done.map_err(|e| to_py(py, &e))
    }

    /// Sends `signal` to the sandbox's init, which forwards SIGTERM,
    /// SIGINT, SIGHUP, SIGQUIT, SIGUSR1/2 and SIGWINCH to the workload.
    /// A no-op once the sandbox has ended.
    fn send_signal(&self, py: Python<'_>, signal: i64) -> PyResult<()> {
        let Some(sig) = i32::try_from(signal).ok().filter(|s| (0..=SIGNAL_MAX).contains(s)) else {
            return Err(config_error(py, format!("signal: {signal} is not a signal number; use 1 to {SIGNAL_MAX}")));
        };
        let done = py.detach(|| match &*self.lock() {
            State::Running(child) => child.signal(sig),
            State::Ended(_) => Ok(()),
        });
        done.map_err(|e| to_py(py, &e))
    }
}
