//! `sbx_result_t`: what happened in a run, and `sbx_usage_t`, what it used.

use crate::error::{guard, guard_value, sbx_error_t, sbx_status_t};
use crate::ptr;
use sandbox_core::{Outcome, Output};
use std::ffi::{CString, c_char};
use std::sync::OnceLock;

/// What a run used. A versioned out-struct: set `struct_size =
/// sizeof(sbx_usage_t)` before `sbx_result_usage`; fields a newer library
/// adds are appended, and an older caller's smaller struct is filled only as
/// far as it reaches.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct sbx_usage_t {
    /// Set by the caller to `sizeof(sbx_usage_t)`; set by the library to
    /// the bytes it filled.
    pub struct_size: u32,
    /// Zero; keeps the layout free of padding.
    pub reserved: u32,
    /// From the workload's exec to the sandbox's end, in microseconds.
    pub wall_time_us: u64,
    /// User CPU time of every process in the sandbox, in microseconds.
    pub cpu_user_us: u64,
    /// System CPU time of every process in the sandbox, in microseconds.
    pub cpu_system_us: u64,
    /// Peak resident memory of the largest process, in bytes.
    pub peak_memory_bytes: u64,
    /// Peak memory of the whole sandbox from its cgroup, in bytes, or
    /// `SBX_UNKNOWN` without a memory cgroup.
    pub cgroup_memory_peak_bytes: u64,
    /// Peak number of tasks from the pids cgroup, or `SBX_UNKNOWN`.
    pub pids_peak: u64,
}

/// A usage field the run could not measure.
pub const SBX_UNKNOWN: u64 = u64::MAX;

/// `sbx_result_limit`: the memory limit.
pub const SBX_LIMIT_MEMORY: u32 = 1;
/// `sbx_result_limit`: the pids limit.
pub const SBX_LIMIT_PIDS: u32 = 2;
/// `sbx_result_limit`: the CPU bandwidth (`cpus`) limit.
pub const SBX_LIMIT_CPUS: u32 = 3;
/// `sbx_result_limit`: the CPU weight.
pub const SBX_LIMIT_CPU_WEIGHT: u32 = 4;
/// `sbx_result_limit`: the CPU-time limit.
pub const SBX_LIMIT_CPU_TIME: u32 = 5;
/// `sbx_result_limit`: the open-files limit.
pub const SBX_LIMIT_NOFILE: u32 = 6;
/// `sbx_result_limit`: the file-size limit.
pub const SBX_LIMIT_FSIZE: u32 = 7;

/// The limit was not asked for (or `which` is unknown).
pub const SBX_ENFORCED_NOT_SET: i32 = 0;
/// Enforced by a cgroup v2 controller.
pub const SBX_ENFORCED_CGROUP_V2: i32 = 1;
/// Enforced by a cgroup v1 controller.
pub const SBX_ENFORCED_CGROUP_V1: i32 = 2;
/// Enforced by an rlimit.
pub const SBX_ENFORCED_RLIMIT: i32 = 3;
/// Asked for but not enforced (no cgroup; the config was not strict).
pub const SBX_ENFORCED_NOT_ENFORCED: i32 = 4;

/// The result of a run: how it ended, what it used, what it printed.
/// Immutable: may be read from many threads at once.
#[allow(non_camel_case_types)]
pub struct sbx_result_t {
    outcome: Outcome,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    json: OnceLock<CString>,
}

impl sbx_result_t {
    pub(crate) fn from_output(output: Output) -> sbx_result_t {
        sbx_result_t { outcome: output.outcome, stdout: output.stdout, stderr: output.stderr, json: OnceLock::new() }
    }

    pub(crate) fn from_outcome(outcome: Outcome) -> sbx_result_t {
        sbx_result_t::from_output(Output { outcome, ..Output::default() })
    }
}

/// Reads one field of a result; `fallback` for NULL.
///
/// # Safety
/// `res` is NULL or a live result.
unsafe fn field<T>(res: *const sbx_result_t, fallback: T, get: impl FnOnce(&sbx_result_t) -> T) -> T {
    // SAFETY: NULL or a live result, as the caller guarantees.
    guard_value(None, || unsafe { res.as_ref() }.map(get)).unwrap_or(fallback)
}

/// The workload's exit code, or -1 when it was killed by a signal (or
/// `res` is NULL).
///
/// # Safety
/// `res` is NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_exit_code(res: *const sbx_result_t) -> i32 {
    // SAFETY: as documented.
    unsafe { field(res, -1, |r| r.outcome.exit_code.unwrap_or(-1)) }
}

/// The signal that killed the workload (SIGKILL after a timeout), or 0.
///
/// # Safety
/// `res` is NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_signal(res: *const sbx_result_t) -> i32 {
    // SAFETY: as documented.
    unsafe { field(res, 0, |r| r.outcome.signal.unwrap_or(0)) }
}

/// Shell-style status: the exit code, 128+N for signal N, 124 after a
/// timeout (as `sandbox run` exits).
///
/// # Safety
/// `res` is NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_status(res: *const sbx_result_t) -> i32 {
    // SAFETY: as documented.
    unsafe { field(res, -1, |r| r.outcome.shell_status()) }
}

/// Whether the sandbox's timeout killed it.
///
/// # Safety
/// `res` is NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_timed_out(res: *const sbx_result_t) -> bool {
    // SAFETY: as documented.
    unsafe { field(res, false, |r| r.outcome.timed_out) }
}

/// Whether the kernel's OOM killer killed a process of the sandbox at its
/// memory limit (read from the cgroup's memory events, not guessed).
///
/// # Safety
/// `res` is NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_oom_killed(res: *const sbx_result_t) -> bool {
    // SAFETY: as documented.
    unsafe { field(res, false, |r| r.outcome.oom_killed) }
}

/// Whether a process used up its CPU-time limit.
///
/// # Safety
/// `res` is NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_cpu_time_exceeded(res: *const sbx_result_t) -> bool {
    // SAFETY: as documented.
    unsafe { field(res, false, |r| r.outcome.cpu_time_exceeded) }
}

/// How the limit `which` (`SBX_LIMIT_*`) was enforced: one of
/// `SBX_ENFORCED_*` (`SBX_ENFORCED_NOT_SET` when it was not asked for).
///
/// # Safety
/// `res` is NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_limit(res: *const sbx_result_t, which: u32) -> i32 {
    use sandbox_core::Enforcement;
    // SAFETY: as documented.
    unsafe {
        field(res, SBX_ENFORCED_NOT_SET, |r| {
            let l = &r.outcome.limits;
            let e = match which {
                SBX_LIMIT_MEMORY => l.memory,
                SBX_LIMIT_PIDS => l.pids,
                SBX_LIMIT_CPUS => l.cpus,
                SBX_LIMIT_CPU_WEIGHT => l.cpu_weight,
                SBX_LIMIT_CPU_TIME => l.cpu_time,
                SBX_LIMIT_NOFILE => l.nofile,
                SBX_LIMIT_FSIZE => l.fsize,
                _ => None,
            };
            match e {
                None => SBX_ENFORCED_NOT_SET,
                Some(Enforcement::CgroupV2) => SBX_ENFORCED_CGROUP_V2,
                Some(Enforcement::CgroupV1) => SBX_ENFORCED_CGROUP_V1,
                Some(Enforcement::Rlimit) => SBX_ENFORCED_RLIMIT,
                Some(Enforcement::NotEnforced) => SBX_ENFORCED_NOT_ENFORCED,
            }
        })
    }
}

/// Fills `*usage` (set its `struct_size` first).
///
/// # Safety
/// `res` is a live result; `usage` points to a writable struct of
/// `usage->struct_size` bytes; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_usage(
    res: *const sbx_result_t,
    usage: *mut sbx_usage_t,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            let o = &ptr::handle(res, "res")?.outcome;
            let micros = |d: std::time::Duration| d.as_micros().min(u64::MAX as u128) as u64;
            let value = sbx_usage_t {
                struct_size: 0,
                reserved: 0,
                wall_time_us: micros(o.wall_time),
                cpu_user_us: micros(o.cpu_time.user),
                cpu_system_us: micros(o.cpu_time.system),
                peak_memory_bytes: o.peak_rss_bytes,
                cgroup_memory_peak_bytes: o.memory_peak_bytes.unwrap_or(SBX_UNKNOWN),
                pids_peak: o.pids_peak.unwrap_or(SBX_UNKNOWN),
            };
            ptr::fill_versioned(usage, value, "usage", |u| &mut u.struct_size)
        })
    }
}

/// What an empty capture points at: C forbids even `memcpy(dst, p, 0)` with
/// the dangling pointer an empty Rust vector has.
static EMPTY: [u8; 1] = [0];

/// Borrows captured bytes; `len` gets their count.
///
/// # Safety
/// `len` is NULL or writable.
unsafe fn captured(bytes: Option<&[u8]>, len: *mut usize) -> *const u8 {
    let bytes = bytes.unwrap_or(&[]);
    if !len.is_null() {
        // SAFETY: non-NULL and writable, as the caller guarantees.
        unsafe { *len = bytes.len() };
    }
    if bytes.is_empty() { EMPTY.as_ptr() } else { bytes.as_ptr() }
}

/// The captured stdout: a pointer to `*len` bytes (not NUL-terminated; may
/// hold any bytes), valid until the result is freed; never NULL, and valid
/// to pass to `memcpy` even when `*len` is 0. Empty when stdout was not
/// captured. `len` may be NULL.
///
/// # Safety
/// `res` is NULL or a live result; `len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_stdout(res: *const sbx_result_t, len: *mut usize) -> *const u8 {
    // SAFETY: as documented; the bytes live as long as the result.
    guard_value(std::ptr::null(), || unsafe { captured(res.as_ref().map(|r| r.stdout.as_slice()), len) })
}

/// The captured stderr, as `sbx_result_stdout`.
///
/// # Safety
/// `res` is NULL or a live result; `len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_stderr(res: *const sbx_result_t, len: *mut usize) -> *const u8 {
    // SAFETY: as documented; the bytes live as long as the result.
    guard_value(std::ptr::null(), || unsafe { captured(res.as_ref().map(|r| r.stderr.as_slice()), len) })
}

/// Whether captured stdout was cut at the output limit.
///
/// # Safety
/// `res` is NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_stdout_truncated(res: *const sbx_result_t) -> bool {
    // SAFETY: as documented.
    unsafe { field(res, false, |r| r.outcome.stdout_truncated) }
}

/// Whether captured stderr was cut at the output limit.
///
/// # Safety
/// `res` is NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_stderr_truncated(res: *const sbx_result_t) -> bool {
    // SAFETY: as documented.
    unsafe { field(res, false, |r| r.outcome.stderr_truncated) }
}

/// The outcome as JSON, the same document `sandbox run --report` writes
/// (fields may be added in later versions). NUL-terminated; valid until the
/// result is freed; "" for NULL.
///
/// # Safety
/// `res` is NULL or a live result.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_json(res: *const sbx_result_t) -> *const c_char {
    // SAFETY: as documented.
    unsafe {
        field(res, c"".as_ptr(), |r| {
            r.json.get_or_init(|| crate::error::c_string(serde_json::to_vec(&r.outcome).unwrap_or_default())).as_ptr()
        })
    }
}

/// Frees a result. NULL is ignored.
///
/// # Safety
/// `res` is NULL or a live result no other thread uses, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_result_free(res: *mut sbx_result_t) {
    // SAFETY: as documented.
    unsafe { ptr::free(res) }
}
