//! `sbx_process_t`: a running sandbox started by `sbx_sandbox_spawn`.

use crate::error::{Failure, SBX_E_TIMEOUT, guard, guard_value, sbx_error_t, sbx_status_t};
use crate::ptr;
use crate::result::sbx_result_t;
use sandbox_core::Child;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// A running (or ended) sandbox. Not thread-safe: use it from one thread at
/// a time. To stop it from another thread while one waits, send SIGKILL
/// through its pidfd (`sbx_process_pidfd`); the wait then returns.
#[allow(non_camel_case_types)]
pub struct sbx_process_t {
    child: Child,
}

impl sbx_process_t {
    pub(crate) fn new(child: Child) -> sbx_process_t {
        sbx_process_t { child }
    }
}

/// Host pid of the sandbox's init (pid 1 inside); -1 for NULL.
///
/// # Safety
/// `process` is NULL or a live process.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_process_pid(process: *const sbx_process_t) -> i32 {
    // SAFETY: as documented.
    guard_value(-1, || unsafe { process.as_ref() }.map_or(-1, |p| p.child.id() as i32))
}

/// The pidfd of the sandbox's init, for poll loops; owned by the process
/// (do not close it); -1 for NULL. It becomes readable when the sandbox
/// has ended.
///
/// # Safety
/// `process` is NULL or a live process.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_process_pidfd(process: *const sbx_process_t) -> i32 {
    // SAFETY: as documented.
    guard_value(-1, || unsafe { process.as_ref() }.map_or(-1, |p| p.child.pidfd().as_raw_fd()))
}

/// The caller's end of the workload's stream `stream` (0: write to its
/// stdin; 1, 2: read its stdout, stderr) when that stream is
/// `SBX_STDIO_PIPE`; -1 otherwise. Owned by the process: do not close it
/// (use `sbx_process_close_stdin` for stdin). Read the pipes while the
/// workload runs, or it blocks once a pipe is full.
///
/// # Safety
/// `process` is NULL or a live process.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_process_stdio_fd(process: *const sbx_process_t, stream: i32) -> i32 {
    guard_value(-1, || {
        // SAFETY: as documented.
        let Some(p) = (unsafe { process.as_ref() }) else { return -1 };
        let file = match stream {
            0 => p.child.stdin.as_ref(),
            1 => p.child.stdout.as_ref(),
            2 => p.child.stderr.as_ref(),
            _ => None,
        };
        file.map_or(-1, |f| f.as_raw_fd())
    })
}

/// Closes the workload's stdin pipe, so it reads end-of-file.
///
/// # Safety
/// `process` is a live process used by no other thread; `err` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_process_close_stdin(
    process: *mut sbx_process_t,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            drop(ptr::handle_mut(process, "process")?.child.stdin.take());
            Ok(())
        })
    }
}

/// Waits for the sandbox to end, at most `timeout_ms` milliseconds (a
/// negative value waits as long as it takes; 0 only checks). On `SBX_OK`
/// `*out` holds the result (without captured output: the pipes belong to
/// the caller); when the time passes first it returns `SBX_E_TIMEOUT` and
/// the sandbox keeps running. The sandbox's own timeout is enforced
/// meanwhile. Waiting forever closes the stdin pipe first, so a workload
/// that reads stdin cannot wait forever too. May be called again after it
/// returned a result: it returns the same result.
///
/// # Safety
/// `process` is a live process used by no other thread; `out` is writable;
/// `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_process_wait(
    process: *mut sbx_process_t,
    timeout_ms: i64,
    out: *mut *mut sbx_result_t,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            let slot = ptr::out_slot(out, "out")?;
            let child = &mut ptr::handle_mut(process, "process")?.child;
            let outcome = if timeout_ms < 0 {
                child.wait()?
            } else {
                child.wait_timeout(Duration::from_millis(timeout_ms as u64))?.ok_or_else(|| {
                    Failure::new(
                        SBX_E_TIMEOUT,
                        "wait",
                        format!("the sandbox still runs after {timeout_ms} ms; wait again, or kill it"),
                    )
                })?
            };
            ptr::give(slot, sbx_result_t::from_outcome(outcome));
            Ok(())
        })
    }
}

/// Kills the whole sandbox (every process in it) and lets `sbx_process_wait`
/// report it; does nothing if it already ended.
///
/// # Safety
/// `process` is a live process used by no other thread; `err` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_process_kill(process: *mut sbx_process_t, err: *mut *mut sbx_error_t) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            ptr::handle_mut(process, "process")?.child.kill()?;
            Ok(())
        })
    }
}

/// Sends signal `sig` to the sandbox's init, which forwards SIGTERM,
/// SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH to the workload.
///
/// # Safety
/// `process` is a live process; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_process_signal(
    process: *const sbx_process_t,
    sig: i32,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            if !(1..=64).contains(&sig) {
                return Err(Failure::argument("sig", &format!("{sig} is not a signal"), "pass 1 to 64, e.g. SIGTERM"));
            }
            ptr::handle(process, "process")?.child.signal(sig)?;
            Ok(())
        })
    }
}

/// Frees a process. If the sandbox still runs it is killed and reaped
/// first, so nothing outlives the handle. NULL is ignored.
///
/// # Safety
/// `process` is NULL or a live process no other thread uses, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_process_free(process: *mut sbx_process_t) {
    // SAFETY: as documented.
    guard_value((), || unsafe { ptr::free(process) })
}
