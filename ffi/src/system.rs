//! `sbx_check_system`: what this kernel and user can do, measured by the
//! same probe as `sandbox check`.

use crate::error::{Failure, SBX_E_NOT_FOUND, c_string, guard, guard_value, sbx_error_t, sbx_status_t};
use crate::ptr;
use sandbox_core::probe::{self, Status};
use std::ffi::{CString, c_char};

/// Feature status: works.
pub const SBX_FEATURE_OK: i32 = 0;
/// Feature status: missing or partial, with a fallback or optional.
pub const SBX_FEATURE_WARN: i32 = 1;
/// Feature status: missing; sandboxes that need it fail.
pub const SBX_FEATURE_MISSING: i32 = 2;

/// One feature of the host. A versioned out-struct: set `struct_size =
/// sizeof(sbx_feature_t)` before the call. The strings belong to the report
/// and live until it is freed.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sbx_feature_t {
    /// Set by the caller to `sizeof(sbx_feature_t)`; set by the library to
    /// the bytes it filled.
    pub struct_size: u32,
    /// `SBX_FEATURE_OK`, `SBX_FEATURE_WARN` or `SBX_FEATURE_MISSING`.
    pub status: i32,
    /// Stable key: "kernel", "root", "user_namespaces", "mount_namespace",
    /// "overlay", "namespaces", "subordinate_ids", "cgroups", "seccomp",
    /// "landlock".
    pub name: *const c_char,
    /// A machine-readable value (kernel release, Landlock ABI, …) or NULL.
    pub value: *const c_char,
    /// What was measured, for a human.
    pub detail: *const c_char,
    /// What to run or change when it is not ok, or NULL.
    pub fix: *const c_char,
    /// 1 when it is usable (for "root": when the caller is root), else 0.
    pub available: u32,
    /// Zero; keeps the layout free of padding.
    pub reserved: u32,
}

/// One feature with its strings kept alive.
struct Entry {
    name: CString,
    status: i32,
    available: bool,
    value: Option<CString>,
    detail: CString,
    fix: Option<CString>,
}

/// The probe's findings. Immutable: may be read from many threads at once.
#[allow(non_camel_case_types)]
pub struct sbx_system_report_t {
    entries: Vec<Entry>,
    json: CString,
}

impl Entry {
    fn view(&self) -> sbx_feature_t {
        let opt = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        sbx_feature_t {
            struct_size: 0,
            status: self.status,
            name: self.name.as_ptr(),
            value: opt(&self.value),
            detail: self.detail.as_ptr(),
            fix: opt(&self.fix),
            available: self.available.into(),
            reserved: 0,
        }
    }
}

fn report() -> sbx_system_report_t {
    let r = probe::check();
    let text = |s: &str| c_string(s.as_bytes().to_vec());
    let entries = r
        .features
        .iter()
        .map(|f| Entry {
            name: text(&f.name),
            status: match f.status {
                Status::Ok => SBX_FEATURE_OK,
                Status::Warn => SBX_FEATURE_WARN,
                Status::Missing => SBX_FEATURE_MISSING,
            },
            available: f.available,
            value: f.value.as_deref().map(text),
            detail: text(&f.detail),
            fix: f.fix.as_deref().map(text),
        })
        .collect();
    sbx_system_report_t { entries, json: c_string(serde_json::to_vec(&r).unwrap_or_default()) }
}

/// Probes the kernel and the calling user (user, mount and other
/// namespaces, overlayfs in a user namespace, subordinate ids, cgroups,
/// seccomp, Landlock) with short-lived child processes; changes nothing on
/// the host. Takes a few milliseconds. Free the report with
/// `sbx_system_report_free`. Thread-safe.
///
/// # Safety
/// `out` is writable; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_check_system(
    out: *mut *mut sbx_system_report_t,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            ptr::give(ptr::out_slot(out, "out")?, report());
            Ok(())
        })
    }
}

/// How many features the report holds (0 for NULL).
///
/// # Safety
/// `report` is NULL or a live report.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_system_report_count(report: *const sbx_system_report_t) -> usize {
    // SAFETY: as documented.
    guard_value(0, || unsafe { report.as_ref() }.map_or(0, |r| r.entries.len()))
}

/// Fills `*feature` with feature number `index` (0 to count - 1).
///
/// # Safety
/// `report` is a live report; `feature` points to a writable struct of
/// `feature->struct_size` bytes; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_system_report_get(
    report: *const sbx_system_report_t,
    index: usize,
    feature: *mut sbx_feature_t,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            let r = ptr::handle(report, "report")?;
            let entry = r.entries.get(index).ok_or_else(|| {
                Failure::argument(
                    "index",
                    &format!("{index} is past the last feature"),
                    &format!("pass 0 to {}", r.entries.len().saturating_sub(1)),
                )
            })?;
            ptr::fill_versioned(feature, entry.view(), "feature", |f| &mut f.struct_size)
        })
    }
}

/// Fills `*feature` with the feature called `name` ("user_namespaces",
/// "overlay", …); `SBX_E_NOT_FOUND` when this version has no such feature.
///
/// # Safety
/// `report` is a live report; `name` is NUL-terminated; `feature` as in
/// `sbx_system_report_get`; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_system_report_find(
    report: *const sbx_system_report_t,
    name: *const c_char,
    feature: *mut sbx_feature_t,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            let r = ptr::handle(report, "report")?;
            let name = ptr::bytes_of(name, "name")?;
            let entry = r.entries.iter().find(|e| e.name.as_bytes() == name).ok_or_else(|| {
                let known: Vec<_> = r.entries.iter().map(|e| e.name.to_string_lossy()).collect();
                Failure::new(
                    SBX_E_NOT_FOUND,
                    "system",
                    format!(
                        "name: no feature '{}'; known features: {}",
                        String::from_utf8_lossy(name),
                        known.join(", ")
                    ),
                )
            })?;
            ptr::fill_versioned(feature, entry.view(), "feature", |f| &mut f.struct_size)
        })
    }
}

/// The report as JSON, the document `sandbox check --json` prints.
/// NUL-terminated; valid until the report is freed; "" for NULL.
///
/// # Safety
/// `report` is NULL or a live report.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_system_report_json(report: *const sbx_system_report_t) -> *const c_char {
    // SAFETY: as documented.
    guard_value(c"".as_ptr(), || unsafe { report.as_ref() }.map_or(c"".as_ptr(), |r| r.json.as_ptr()))
}

/// Frees a report. NULL is ignored.
///
/// # Safety
/// `report` is NULL or a live report no other thread uses, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_system_report_free(report: *mut sbx_system_report_t) {
    // SAFETY: as documented.
    unsafe { ptr::free(report) }
}
