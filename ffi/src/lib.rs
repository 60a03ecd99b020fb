//! The stable C ABI of sandbox: `libsandbox.so.<major>` and `libsandbox.a`,
//! described by `include/sandbox.h` (generated from this crate by cbindgen;
//! `tests/header.rs` fails when the committed header drifts).
//!
//! Rules every function here keeps (see `../shared/STYLE.md`):
//! - names `sbx_<object>_<verb>`, opaque handles, one NULL-safe `_free` each;
//! - fallible calls return `sbx_status_t` and take `sbx_error_t **err` last;
//! - every body runs inside `error::guard`, so no panic crosses into C;
//! - every pointer is checked for NULL and named in the error;
//! - paths, argv and environment are bytes; buffers are pointer + length;
//! - no signal handlers, no SIGCHLD: processes are waited on through pidfds.

pub mod config;
pub mod error;
pub mod process;
mod ptr;
pub mod result;
pub mod sandbox;
pub mod system;

use std::ffi::{CStr, c_char};

/// "MAJOR.MINOR.PATCH" from Cargo.toml, NUL-terminated.
const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(v) => v,
    Err(_) => panic!("the crate version holds a NUL"),
};

/// A decimal version component, at compile time.
const fn component(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0u32;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version components are decimal");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// `MAJOR * 1000000 + MINOR * 1000 + PATCH`, the same formula as the
/// header's `SBX_VERSION_NUMBER`.
pub const VERSION_NUMBER: u32 = component(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000
    + component(env!("CARGO_PKG_VERSION_MINOR")) * 1_000
    + component(env!("CARGO_PKG_VERSION_PATCH"));

/// The library's version, "MAJOR.MINOR.PATCH" (static storage). Compare with
/// `SBX_VERSION_STRING` to see whether the program runs against the library
/// it was built with.
#[unsafe(no_mangle)]
pub extern "C" fn sbx_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The library's version as `MAJOR * 1000000 + MINOR * 1000 + PATCH`, for
/// run-time checks against `SBX_VERSION_NUMBER`.
#[unsafe(no_mangle)]
pub extern "C" fn sbx_version_number() -> u32 {
    VERSION_NUMBER
}
