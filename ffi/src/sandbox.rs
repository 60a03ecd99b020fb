//! `sbx_sandbox_t` (a validated configuration, shareable across threads),
//! `sbx_run` (one-shot) and `sbx_sandbox_spawn` (a running process).

use crate::config::{StdioMode, sbx_config_t};
use crate::error::{Failure, SBX_E_INVALID_CONFIG, guard, sbx_error_t, sbx_status_t};
use crate::process::sbx_process_t;
use crate::ptr;
use crate::result::sbx_result_t;
use sandbox_core::{Command, Sandbox, Stdio};
use std::ffi::{OsStr, c_char};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

/// A validated sandbox configuration. Immutable: any number of threads may
/// spawn from one `sbx_sandbox_t` at once.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct sbx_sandbox_t {
    sandbox: Sandbox,
    env: Vec<(Vec<u8>, Vec<u8>)>,
    stdio: [StdioMode; 3],
    stdin_bytes: Option<Vec<u8>>,
}

impl sbx_sandbox_t {
    /// Validates `cfg`: paths exist, sizes and names are sane, nothing started.
    fn from_config(cfg: &sbx_config_t) -> Result<sbx_sandbox_t, Failure> {
        Ok(sbx_sandbox_t {
            sandbox: Sandbox::from_config(cfg.config.clone())?,
            env: cfg.env.clone(),
            stdio: cfg.stdio,
            stdin_bytes: cfg.stdin_bytes.clone(),
        })
    }

    /// A command for `argv` with this sandbox's streams and environment.
    fn command(&self, argv: &[Vec<u8>]) -> Result<Command, Failure> {
        let mut cmd = self.sandbox.command(OsStr::from_bytes(&argv[0]));
        cmd.args(argv[1..].iter().map(|a| OsStr::from_bytes(a)));
        for (k, v) in &self.env {
            cmd.env(OsStr::from_bytes(k), OsStr::from_bytes(v));
        }
        for (stream, mode) in self.stdio.iter().enumerate() {
            let Some(stdio) = stdio_of(stream, *mode)? else { continue };
            match stream {
                0 => cmd.stdin(stdio),
                1 => cmd.stdout(stdio),
                _ => cmd.stderr(stdio),
            };
        }
        Ok(cmd)
    }
}

/// The core `Stdio` for a mode; `None` leaves the call's default.
fn stdio_of(stream: usize, mode: StdioMode) -> Result<Option<Stdio>, Failure> {
    Ok(Some(match mode {
        StdioMode::Default => return Ok(None),
        StdioMode::Inherit => Stdio::Inherit,
        StdioMode::Null => Stdio::Null,
        StdioMode::Pipe => Stdio::Piped,
        StdioMode::Fd(fd) => Stdio::Fd(duplicate(stream, fd)?),
    }))
}

/// A private duplicate of the caller's `fd`, so the caller keeps its own.
fn duplicate(stream: usize, fd: i32) -> Result<OwnedFd, Failure> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on any integer is safe; a closed fd
    // gives EBADF, reported below.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if dup < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Failure::config(
            &format!("stdio[{stream}]"),
            &format!("fd {fd} cannot be used: {e}"),
            "pass an open file descriptor with SBX_STDIO_FD",
        )
        .with_errno(e.raw_os_error().unwrap_or(0)));
    }
    // SAFETY: `dup` is a new descriptor owned by nobody else.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(dup) })
}

/// Validates `cfg` into a sandbox that can spawn many processes; the config
/// may be freed or changed afterwards. Free the sandbox with
/// `sbx_sandbox_free`.
///
/// Errors: `SBX_E_INVALID_CONFIG` (the message names the field and the fix),
/// `SBX_E_NOT_FOUND`, `SBX_E_PERMISSION`, `SBX_E_UNSUPPORTED`.
///
/// # Safety
/// `cfg` is a live config not changed during the call; `out` is writable;
/// `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_sandbox_new(
    cfg: *const sbx_config_t,
    out: *mut *mut sbx_sandbox_t,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            let slot = ptr::out_slot(out, "out")?;
            let cfg = ptr::handle(cfg, "cfg")?;
            ptr::give(slot, sbx_sandbox_t::from_config(cfg)?);
            Ok(())
        })
    }
}

/// Frees a sandbox. Processes spawned from it are not affected. NULL is
/// ignored.
///
/// # Safety
/// `sandbox` is NULL or a live sandbox no other thread uses, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_sandbox_free(sandbox: *mut sbx_sandbox_t) {
    // SAFETY: as documented.
    unsafe { ptr::free(sandbox) }
}

/// Starts `argv` (a NULL-terminated array; `argv[0]` is looked up in the
/// sandbox's PATH unless it has a '/') and returns once it has exec'd.
/// Streams default to inherited; set `SBX_STDIO_PIPE` to get fds from
/// `sbx_process_stdio_fd`. Free the process with `sbx_process_free`, which
/// kills the sandbox if it still runs.
///
/// Thread-safe: many threads may spawn from one sandbox at once.
///
/// # Safety
/// `sandbox` is a live sandbox; `argv` is a NULL-terminated array of
/// NUL-terminated strings; `out` is writable; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_sandbox_spawn(
    sandbox: *const sbx_sandbox_t,
    argv: *const *const c_char,
    out: *mut *mut sbx_process_t,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            let slot = ptr::out_slot(out, "out")?;
            let sandbox = ptr::handle(sandbox, "sandbox")?;
            let argv = ptr::argv_of(argv)?;
            if sandbox.stdin_bytes.is_some() {
                return Err(Failure::new(
                    SBX_E_INVALID_CONFIG,
                    "validate",
                    "stdin bytes: only sbx_run feeds them; for a spawned process set stdin to SBX_STDIO_PIPE \
                     and write to sbx_process_stdio_fd(process, 0)"
                        .into(),
                ));
            }
            let child = sandbox.command(&argv)?.spawn()?;
            ptr::give(slot, sbx_process_t::new(child));
            Ok(())
        })
    }
}

/// Runs `argv` to the end in a sandbox made from `cfg`: stdin from the
/// stdin bytes (or /dev/null), stdout and stderr captured up to the output
/// limit unless the config routes them elsewhere, the timeout enforced. A
/// workload that fails, is killed or times out is still `SBX_OK`: the
/// result says what happened. Free the result with `sbx_result_free`.
///
/// Thread-safe for distinct or unchanging configs.
///
/// # Example
/// ```c
/// sbx_config_t *cfg = NULL; sbx_result_t *res = NULL; sbx_error_t *err = NULL;
/// const char *argv[] = {"echo", "hi", NULL};
/// if (sbx_config_new(&cfg, &err) != SBX_OK || sbx_run(cfg, argv, &res, &err) != SBX_OK)
///     fprintf(stderr, "sandbox: %s\n", sbx_error_message(err));
/// ```
///
/// # Safety
/// `cfg` is a live config not changed during the call; `argv` is a
/// NULL-terminated array of NUL-terminated strings; `out` is writable; `err`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_run(
    cfg: *const sbx_config_t,
    argv: *const *const c_char,
    out: *mut *mut sbx_result_t,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            let slot = ptr::out_slot(out, "out")?;
            let cfg = ptr::handle(cfg, "cfg")?;
            let argv = ptr::argv_of(argv)?;
            let sandbox = sbx_sandbox_t::from_config(cfg)?;
            if sandbox.stdin_bytes.is_some() && !matches!(sandbox.stdio[0], StdioMode::Default | StdioMode::Pipe) {
                return Err(Failure::config(
                    "stdin bytes",
                    "they are set, but stdin is not a pipe, so they would be dropped",
                    "set stdin to SBX_STDIO_DEFAULT or SBX_STDIO_PIPE, or drop the bytes",
                ));
            }
            let mut cmd = sandbox.command(&argv)?;
            if let Some(input) = &sandbox.stdin_bytes {
                cmd.input(input.clone());
            }
            ptr::give(slot, sbx_result_t::from_output(cmd.output()?));
            Ok(())
        })
    }
}
