//! Status codes, the error object, and the one panic boundary every
//! `extern "C"` body goes through.
//!
//! A failing call returns a non-zero `sbx_status_t` and, when the caller
//! passed a place for it, a heap `sbx_error_t` with the code, the errno, the
//! stage and a message that names the argument or path and the fix. There is
//! no thread-local "last error": the error travels with the call, so hosts
//! with thread pools and green threads cannot read someone else's.

use sandbox_core::ErrorKind;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Result of every fallible call. `SBX_OK` is 0; the other values are
/// grouped (1–9 the caller's input, 10–19 what the host lacks, 20–29 the run,
/// 30–39 not-yet-done, 99 a bug) and never reused for another meaning.
#[allow(non_camel_case_types)]
pub type sbx_status_t = i32;

/// Success.
pub const SBX_OK: sbx_status_t = 0;
/// A NULL pointer, an out-of-range value or malformed bytes were passed.
pub const SBX_E_INVALID_ARGUMENT: sbx_status_t = 1;
/// The configuration is wrong (bad path, field or size); nothing was started.
pub const SBX_E_INVALID_CONFIG: sbx_status_t = 2;
/// The kernel or the user lacks a feature the sandbox needs.
pub const SBX_E_UNSUPPORTED: sbx_status_t = 10;
/// The kernel refused a step for lack of permission.
pub const SBX_E_PERMISSION: sbx_status_t = 11;
/// A file, directory, program or named item was not found.
pub const SBX_E_NOT_FOUND: sbx_status_t = 12;
/// Setting up the sandbox failed for another reason.
pub const SBX_E_SETUP: sbx_status_t = 20;
/// Talking to the running sandbox failed.
pub const SBX_E_IO: sbx_status_t = 21;
/// A wait's time limit passed and the sandbox still runs (not a failure of
/// the sandbox: wait again, or kill it).
pub const SBX_E_TIMEOUT: sbx_status_t = 30;
/// A bug in libsandbox (a Rust panic, caught at the boundary).
pub const SBX_E_INTERNAL: sbx_status_t = 99;

/// What went wrong in one call. Owned by the caller; free it with
/// `sbx_error_free`.
#[allow(non_camel_case_types)]
pub struct sbx_error_t {
    code: sbx_status_t,
    errno: i32,
    stage: CString,
    message: CString,
    path: Option<CString>,
}

/// An error on its way to the caller.
#[derive(Debug)]
pub(crate) struct Failure {
    code: sbx_status_t,
    errno: i32,
    stage: &'static str,
    message: String,
    path: Option<Vec<u8>>,
}

impl Failure {
    /// A bad argument: `what` names it, `fix` says what to pass instead.
    pub(crate) fn argument(what: &str, problem: &str, fix: &str) -> Failure {
        Failure::new(SBX_E_INVALID_ARGUMENT, "validate", format!("{what}: {problem}; {fix}"))
    }

    /// A wrong configuration value: `what` names the field.
    pub(crate) fn config(what: &str, problem: &str, fix: &str) -> Failure {
        Failure::new(SBX_E_INVALID_CONFIG, "validate", format!("{what}: {problem}; {fix}"))
    }

    pub(crate) fn new(code: sbx_status_t, stage: &'static str, message: String) -> Failure {
        Failure { code, errno: 0, stage, message, path: None }
    }

    /// The same failure, carrying the errno behind it.
    pub(crate) fn with_errno(mut self, errno: i32) -> Failure {
        self.errno = errno;
        self
    }

    fn panic(payload: Box<dyn std::any::Any + Send>) -> Failure {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Failure::new(
            SBX_E_INTERNAL,
            "internal",
            format!("internal error in libsandbox: {what}; please report this bug"),
        )
    }

    fn into_error(self) -> sbx_error_t {
        sbx_error_t {
            code: self.code,
            errno: self.errno,
            stage: c_string(self.stage.as_bytes().to_vec()),
            message: c_string(self.message.into_bytes()),
            path: self.path.map(c_string),
        }
    }
}

impl From<sandbox_core::Error> for Failure {
    fn from(e: sandbox_core::Error) -> Failure {
        use std::os::unix::ffi::OsStrExt;
        Failure {
            code: status_of(e.kind()),
            errno: e.errno().unwrap_or(0),
            stage: e.stage().as_str(),
            message: e.to_string(),
            path: e.path().map(|p| p.as_os_str().as_bytes().to_vec()),
        }
    }
}

/// The C code of a core error kind (the table in docs/errors.md).
pub(crate) fn status_of(kind: ErrorKind) -> sbx_status_t {
    match kind {
        ErrorKind::InvalidConfig => SBX_E_INVALID_CONFIG,
        ErrorKind::Unsupported => SBX_E_UNSUPPORTED,
        ErrorKind::PermissionDenied => SBX_E_PERMISSION,
        ErrorKind::NotFound => SBX_E_NOT_FOUND,
        ErrorKind::Io => SBX_E_IO,
        _ => SBX_E_SETUP,
    }
}

/// A C string from bytes that may hold a NUL (cut there: C cannot see past it).
pub(crate) fn c_string(mut bytes: Vec<u8>) -> CString {
    if let Some(nul) = bytes.iter().position(|b| *b == 0) {
        bytes.truncate(nul);
    }
    CString::new(bytes).unwrap_or_default()
}

/// Runs `body`, turning an `Err` or a panic into a status and an error
/// object stored through `err` (when not NULL).
///
/// # Safety
/// `err` is NULL or points to writable storage for one pointer.
pub(crate) unsafe fn guard(err: *mut *mut sbx_error_t, body: impl FnOnce() -> Result<(), Failure>) -> sbx_status_t {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return SBX_OK,
        Ok(Err(f)) => f,
        Err(payload) => Failure::panic(payload),
    };
    let code = failure.code;
    if !err.is_null() {
        // SAFETY: the caller guarantees `err` is NULL (checked) or writable.
        unsafe { *err = Box::into_raw(Box::new(failure.into_error())) };
    }
    code
}

/// Runs an infallible accessor; a panic (a bug) yields `fallback`.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Static C strings for NULL handles and absent values.
const EMPTY: &CStr = c"";

/// Frees an error. NULL is ignored, like `free(NULL)`.
///
/// # Safety
/// `err` is NULL or an error from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_error_free(err: *mut sbx_error_t) {
    if !err.is_null() {
        // SAFETY: `err` came from Box::into_raw in `guard` and is freed once.
        drop(unsafe { Box::from_raw(err) });
    }
}

/// The error's status code (one of `SBX_E_*`); `SBX_OK` for NULL.
///
/// # Safety
/// `err` is NULL or a live error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_error_code(err: *const sbx_error_t) -> sbx_status_t {
    // SAFETY: NULL or a live error, as documented.
    unsafe { err.as_ref() }.map_or(SBX_OK, |e| e.code)
}

/// The errno behind the failure, or 0 when there was none.
///
/// # Safety
/// `err` is NULL or a live error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_error_errno(err: *const sbx_error_t) -> i32 {
    // SAFETY: NULL or a live error, as documented.
    unsafe { err.as_ref() }.map_or(0, |e| e.errno)
}

/// The step that failed: "validate", "prepare", "clone", "userns", "idmap",
/// "cgroup", "mount", "network", "hostname", "credentials", "capabilities", "exec",
/// "wait", "system" or "internal". Never NULL; valid until the error is freed.
///
/// # Safety
/// `err` is NULL or a live error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_error_stage(err: *const sbx_error_t) -> *const c_char {
    // SAFETY: NULL or a live error, as documented.
    unsafe { err.as_ref() }.map_or(EMPTY.as_ptr(), |e| e.stage.as_ptr())
}

/// The message: lowercase, naming the argument or path and the fix. Never
/// NULL ("" for a NULL error); valid until the error is freed.
///
/// # Safety
/// `err` is NULL or a live error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_error_message(err: *const sbx_error_t) -> *const c_char {
    // SAFETY: NULL or a live error, as documented.
    unsafe { err.as_ref() }.map_or(EMPTY.as_ptr(), |e| e.message.as_ptr())
}

/// The path involved, as bytes, or NULL when none; valid until the error is
/// freed.
///
/// # Safety
/// `err` is NULL or a live error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_error_path(err: *const sbx_error_t) -> *const c_char {
    // SAFETY: NULL or a live error, as documented.
    unsafe { err.as_ref() }.and_then(|e| e.path.as_ref()).map_or(std::ptr::null(), |p| p.as_ptr())
}

/// The name of a status code ("SBX_OK", "SBX_E_INVALID_CONFIG", …), or
/// "SBX_E_UNKNOWN" for a value this version does not know. Static storage.
#[unsafe(no_mangle)]
pub extern "C" fn sbx_status_name(status: sbx_status_t) -> *const c_char {
    let name: &'static CStr = match status {
        SBX_OK => c"SBX_OK",
        SBX_E_INVALID_ARGUMENT => c"SBX_E_INVALID_ARGUMENT",
        SBX_E_INVALID_CONFIG => c"SBX_E_INVALID_CONFIG",
        SBX_E_UNSUPPORTED => c"SBX_E_UNSUPPORTED",
        SBX_E_PERMISSION => c"SBX_E_PERMISSION",
        SBX_E_NOT_FOUND => c"SBX_E_NOT_FOUND",
        SBX_E_SETUP => c"SBX_E_SETUP",
        SBX_E_IO => c"SBX_E_IO",
        SBX_E_TIMEOUT => c"SBX_E_TIMEOUT",
        SBX_E_INTERNAL => c"SBX_E_INTERNAL",
        _ => c"SBX_E_UNKNOWN",
    };
    name.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_not_an_unwind_into_c() {
        let mut err: *mut sbx_error_t = std::ptr::null_mut();
        // SAFETY: `err` is a valid place for one pointer.
        let status = unsafe { guard(&mut err, || panic!("boom")) };
        assert_eq!(status, SBX_E_INTERNAL);
        // SAFETY: `guard` stored a live error.
        let message = unsafe { std::ffi::CStr::from_ptr(sbx_error_message(err)) }.to_string_lossy().into_owned();
        assert_eq!(message, "internal error in libsandbox: boom; please report this bug");
        // SAFETY: as above.
        assert_eq!(unsafe { sbx_error_code(err) }, SBX_E_INTERNAL);
        // SAFETY: freed once.
        unsafe { sbx_error_free(err) };
        assert_eq!(guard_value(7, || panic!("boom")), 7);
    }
}
