//! Reading what C passes: every pointer checked for NULL, strings taken as
//! bytes (Linux paths, argv and environment need not be UTF-8), UTF-8
//! demanded only where the value really is text.
//!
//! Every function here is `unsafe` for one shared reason: it dereferences a
//! pointer the C caller promises is NULL or valid for the call, as the header
//! documents. Each checks NULL and reports it by the argument's name.

use crate::error::Failure;
use std::ffi::{CStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A NUL-terminated string as bytes.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string live for `'a`.
pub(crate) unsafe fn bytes_of<'a>(p: *const c_char, what: &str) -> Result<&'a [u8], Failure> {
    if p.is_null() {
        return Err(Failure::argument(what, "is NULL", "pass a NUL-terminated string"));
    }
    // SAFETY: non-NULL (checked) and NUL-terminated, as the caller guarantees.
    Ok(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// A NUL-terminated string that must be UTF-8 text.
///
/// # Safety
/// As [`bytes_of`].
pub(crate) unsafe fn text_of<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_of(p, what) }?;
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::argument(
            what,
            &format!("is not valid UTF-8 (bad byte at offset {})", e.valid_up_to()),
            "pass UTF-8 text",
        )
    })
}

/// A path (any bytes but NUL).
///
/// # Safety
/// As [`bytes_of`].
pub(crate) unsafe fn path_of(p: *const c_char, what: &str) -> Result<PathBuf, Failure> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_of(p, what) }?;
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

/// A buffer given as pointer and length; NULL is fine when `len` is 0.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes live for `'a`.
pub(crate) unsafe fn buffer_of<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::argument(what, &format!("is NULL with length {len}"), "pass the data, or a length of 0"));
    }
    if len > isize::MAX as usize {
        return Err(Failure::argument(what, &format!("length {len} is too large"), "pass the real length"));
    }
    // SAFETY: non-NULL (checked), `len` readable bytes as the caller guarantees.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A NULL-terminated argv array, as bytes.
///
/// # Safety
/// `argv` is NULL or a NULL-terminated array of NUL-terminated strings.
pub(crate) unsafe fn argv_of(argv: *const *const c_char) -> Result<Vec<Vec<u8>>, Failure> {
    if argv.is_null() {
        return Err(Failure::argument("argv", "is NULL", "pass a NULL-terminated array with the program as argv[0]"));
    }
    let mut out = Vec::new();
    for i in 0.. {
        // SAFETY: the array is NULL-terminated, so every index up to and
        // including the terminator is readable.
        let arg = unsafe { *argv.add(i) };
        if arg.is_null() {
            break;
        }
        // SAFETY: a non-NULL entry is a NUL-terminated string.
        out.push(unsafe { CStr::from_ptr(arg) }.to_bytes().to_vec());
    }
    match out.first() {
        None => return Err(Failure::argument("argv", "is empty", "pass the program as argv[0]")),
        Some(program) if program.is_empty() => {
            return Err(Failure::argument("argv[0]", "is an empty string", "pass the program to run"));
        }
        Some(_) => {}
    }
    Ok(out)
}

/// A handle for reading.
///
/// # Safety
/// `p` is NULL or a live handle of type `T` not mutated during `'a`.
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: NULL or live, as the caller guarantees.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::argument(what, "is NULL", "pass a handle from its _new function"))
}

/// A handle for changing.
///
/// # Safety
/// `p` is NULL or a live handle of type `T` not used elsewhere during `'a`.
pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: NULL or live and unaliased, as the caller guarantees.
    unsafe { p.as_mut() }.ok_or_else(|| Failure::argument(what, "is NULL", "pass a handle from its _new function"))
}

/// Where a new handle goes: checked and set to NULL first, so a failing call
/// leaves NULL behind.
///
/// # Safety
/// `out` is NULL or writable storage for one pointer.
pub(crate) unsafe fn out_slot<'a, T>(out: *mut *mut T, what: &str) -> Result<&'a mut *mut T, Failure> {
    // SAFETY: NULL or writable, as the caller guarantees.
    let slot = unsafe { out.as_mut() }
        .ok_or_else(|| Failure::argument(what, "is NULL", "pass the address of a pointer to receive the result"))?;
    *slot = std::ptr::null_mut();
    Ok(slot)
}

/// Hands a new object to C.
pub(crate) fn give<T>(slot: &mut *mut T, value: T) {
    *slot = Box::into_raw(Box::new(value));
}

/// Frees a handle given by [`give`]. NULL is ignored.
///
/// # Safety
/// `p` is NULL or came from [`give`] with the same `T` and is freed once.
pub(crate) unsafe fn free<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: from Box::into_raw in `give`, freed once (caller's promise).
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Fills a caller's versioned out-struct: only as much of it as the caller
/// declared in `struct_size` (rounded down to whole 8-byte fields) is
/// written, so a program built against an older, smaller struct keeps
/// working with a newer library; `struct_size` is set to the bytes filled,
/// so a program built against a newer, larger struct sees what an older
/// library left alone. The structs have no padding (explicit `reserved`
/// fields), so no uninitialized byte reaches the caller.
///
/// # Safety
/// `out` is NULL or points to a writable struct whose first field is the
/// `u32 struct_size` the caller set, valid for that many bytes.
pub(crate) unsafe fn fill_versioned<T>(
    out: *mut T,
    mut value: T,
    what: &str,
    size_field: fn(&mut T) -> &mut u32,
) -> Result<(), Failure> {
    /// `struct_size` and `reserved`, then the first 8-byte field.
    const MIN: usize = 16;
    if out.is_null() {
        return Err(Failure::argument(what, "is NULL", "pass the address of a struct to fill"));
    }
    // SAFETY: non-NULL; the first field is a u32 the caller set.
    let declared = unsafe { *(out as *const u32) } as usize;
    if declared < MIN {
        return Err(Failure::argument(
            what,
            &format!("struct_size is {declared}"),
            "set struct_size = sizeof the struct before the call",
        ));
    }
    let n = declared.min(std::mem::size_of::<T>()) / 8 * 8;
    *size_field(&mut value) = n as u32;
    // SAFETY: `out` is writable for `declared` >= n bytes; the source is a
    // whole T without padding.
    unsafe { std::ptr::copy_nonoverlapping((&value as *const T).cast::<u8>(), out.cast::<u8>(), n) };
    Ok(())
}
