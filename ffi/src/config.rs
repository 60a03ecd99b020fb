//! `sbx_config_t`: the C front door to `SandboxConfig`, one setter per
//! builder method, plus what belongs to a C caller's runs rather than to the
//! sandbox (streams, stdin bytes, byte-string environment).

use crate::error::{Failure, guard, sbx_error_t, sbx_status_t};
use crate::ptr;
use sandbox_core::config::{Mount, parse_size};
use sandbox_core::{IdMapping, Network, RootFs, SandboxConfig};
use std::ffi::c_char;
use std::os::fd::RawFd;
use std::time::Duration;

/// The user namespace: always new (it is what makes the sandbox rootless);
/// turning it off is refused.
pub const SBX_NS_USER: u32 = 0;
/// The mount namespace (and with it the private root filesystem).
pub const SBX_NS_MOUNT: u32 = 1;
/// The pid namespace (the sandbox's init is pid 1).
pub const SBX_NS_PID: u32 = 2;
/// The IPC namespace.
pub const SBX_NS_IPC: u32 = 3;
/// The UTS namespace (own hostname).
pub const SBX_NS_UTS: u32 = 4;
/// The network namespace (only `lo`).
pub const SBX_NS_NET: u32 = 5;
/// The cgroup namespace.
pub const SBX_NS_CGROUP: u32 = 6;

/// Id mapping: rootless single id, or a private unprivileged range for root.
pub const SBX_ID_MAP_AUTO: u32 = 0;
/// Id mapping: the caller's subordinate ranges via newuidmap/newgidmap.
pub const SBX_ID_MAP_SUBORDINATE: u32 = 1;
/// Id mapping: sandbox root is real host root (root callers only).
pub const SBX_ID_MAP_HOST_ROOT: u32 = 2;

/// Network: a new namespace with only `lo` (the default).
pub const SBX_NETWORK_NONE: u32 = 0;
/// Network: the host's network namespace.
pub const SBX_NETWORK_HOST: u32 = 1;

/// Stream: what the call does by default (`sbx_run`: stdin from /dev/null
/// or the stdin bytes, stdout and stderr captured; `sbx_sandbox_spawn`:
/// inherit all three).
pub const SBX_STDIO_DEFAULT: u32 = 0;
/// Stream: the caller's own stream.
pub const SBX_STDIO_INHERIT: u32 = 1;
/// Stream: /dev/null.
pub const SBX_STDIO_NULL: u32 = 2;
/// Stream: a pipe (captured by `sbx_run`; an fd of the process for spawn).
pub const SBX_STDIO_PIPE: u32 = 3;
/// Stream: a file descriptor of the caller, duplicated at each run.
pub const SBX_STDIO_FD: u32 = 4;

/// `sbx_config_set_output_limit`: keep all captured output.
pub const SBX_OUTPUT_UNLIMITED: u64 = u64::MAX;

/// Where one standard stream of the workload goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StdioMode {
    Default,
    Inherit,
    Null,
    Pipe,
    Fd(RawFd),
}

/// A sandbox configuration being built. Not thread-safe: one thread at a
/// time may change it; it can be freed as soon as a sandbox or run was made
/// from it.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone)]
pub struct sbx_config_t {
    pub(crate) config: SandboxConfig,
    /// Variables as bytes, applied on top of `config.env`.
    pub(crate) env: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) stdio: [StdioMode; 3],
    pub(crate) stdin_bytes: Option<Vec<u8>>,
}

impl sbx_config_t {
    fn new(config: SandboxConfig) -> sbx_config_t {
        sbx_config_t { config, env: Vec::new(), stdio: [StdioMode::Default; 3], stdin_bytes: None }
    }
}

/// Runs `change` on the config behind `cfg`.
///
/// # Safety
/// `cfg` is NULL or a live config used by no other thread; `err` as `guard`.
unsafe fn with_config(
    cfg: *mut sbx_config_t,
    err: *mut *mut sbx_error_t,
    change: impl FnOnce(&mut sbx_config_t) -> Result<(), Failure>,
) -> sbx_status_t {
    // SAFETY: forwarded contract.
    unsafe { guard(err, || change(ptr::handle_mut(cfg, "cfg")?)) }
}

/// Creates a configuration with the defaults: every namespace, the host
/// view as root, no network, no timeout, 64 MiB of captured output per
/// stream. Free it with `sbx_config_free`.
///
/// # Safety
/// `out` is writable storage for one pointer; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_new(out: *mut *mut sbx_config_t, err: *mut *mut sbx_error_t) -> sbx_status_t {
    // SAFETY: the caller's pointers are as documented.
    unsafe {
        guard(err, || {
            ptr::give(ptr::out_slot(out, "out")?, sbx_config_t::new(SandboxConfig::default()));
            Ok(())
        })
    }
}

/// Creates a configuration from its JSON form (the serde form of the Rust
/// `SandboxConfig`: fields omitted take their defaults, unknown fields are
/// refused). `json` is `len` bytes of UTF-8, not necessarily NUL-terminated.
///
/// # Safety
/// `json` points to `len` readable bytes; `out` is writable; `err` is NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_from_json(
    json: *const c_char,
    len: usize,
    out: *mut *mut sbx_config_t,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: the caller's pointers are as documented.
    unsafe {
        guard(err, || {
            let slot = ptr::out_slot(out, "out")?;
            let bytes = ptr::buffer_of(json.cast(), len, "json")?;
            let config: SandboxConfig = serde_json::from_slice(bytes).map_err(|e| {
                Failure::config("json", &e.to_string(), "pass a JSON object with the fields of SandboxConfig")
            })?;
            ptr::give(slot, sbx_config_t::new(config));
            Ok(())
        })
    }
}

/// Frees a configuration. NULL is ignored.
///
/// # Safety
/// `cfg` is NULL or a live config, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_free(cfg: *mut sbx_config_t) {
    // SAFETY: as documented.
    unsafe { ptr::free(cfg) }
}

/// Turns one namespace (`SBX_NS_*`) on or off.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_namespace(
    cfg: *mut sbx_config_t,
    namespace: u32,
    on: bool,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            let ns = &mut c.config.namespaces;
            let field = match namespace {
                SBX_NS_USER if on => return Ok(()),
                SBX_NS_USER => {
                    return Err(Failure::config(
                        "namespace",
                        "the user namespace cannot be turned off",
                        "it is what makes the sandbox rootless; turn off others instead",
                    ));
                }
                SBX_NS_MOUNT => &mut ns.mount,
                SBX_NS_PID => &mut ns.pid,
                SBX_NS_IPC => &mut ns.ipc,
                SBX_NS_UTS => &mut ns.uts,
                SBX_NS_NET => &mut ns.net,
                SBX_NS_CGROUP => &mut ns.cgroup,
                other => {
                    return Err(Failure::argument(
                        "namespace",
                        &format!("{other} is not a namespace"),
                        "pass one of SBX_NS_MOUNT, SBX_NS_PID, SBX_NS_IPC, SBX_NS_UTS, SBX_NS_NET, SBX_NS_CGROUP",
                    ));
                }
            };
            *field = on;
            Ok(())
        })
    }
}

/// Uses the directory `dir` (bytes) as the root filesystem, writable unless
/// `sbx_config_set_read_only` is set. Checked when the sandbox is made.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `dir` is a NUL-terminated
/// string; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_rootfs(
    cfg: *mut sbx_config_t,
    dir: *const c_char,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.config.rootfs = RootFs::Dir(ptr::path_of(dir, "dir")?);
            Ok(())
        })
    }
}

/// Uses the host view as root (the default): read-only binds of /usr, /bin,
/// /sbin, /lib*, /etc, with a private /tmp, /proc and minimal /dev.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_host_view(cfg: *mut sbx_config_t, err: *mut *mut sbx_error_t) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.config.rootfs = RootFs::HostView;
            Ok(())
        })
    }
}

/// Makes the root filesystem read-only (the host view always is).
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_read_only(
    cfg: *mut sbx_config_t,
    on: bool,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe { set_flag(cfg, err, on, |c| &mut c.read_only) }
}

/// Adds a bind mount of the host path `source` at `target` inside (both
/// bytes; `target` absolute), read-only when `read_only`. Mounts apply in
/// the order added; sources are checked when the sandbox is made.
///
/// # Safety
/// `cfg` is a live config used by no other thread; the strings are
/// NUL-terminated; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_add_bind(
    cfg: *mut sbx_config_t,
    source: *const c_char,
    target: *const c_char,
    read_only: bool,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            let (source, target) = (ptr::path_of(source, "source")?, ptr::path_of(target, "target")?);
            c.config.mounts.push(Mount::Bind { source, target, readonly: read_only });
            Ok(())
        })
    }
}

/// Adds a fresh tmpfs at `target` (absolute, bytes). `size_bytes` 0 means
/// the kernel's default (half of RAM); `mode` 0 means 01777.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `target` is
/// NUL-terminated; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_add_tmpfs(
    cfg: *mut sbx_config_t,
    target: *const c_char,
    size_bytes: u64,
    mode: u32,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            let target = ptr::path_of(target, "target")?;
            if mode > 0o7777 {
                return Err(Failure::config("mode", &format!("{mode:o} is not a file mode"), "pass 0 or up to 07777"));
            }
            let size = (size_bytes != 0).then_some(size_bytes);
            c.config.mounts.push(Mount::Tmpfs { target, size, mode: (mode != 0).then_some(mode) });
            Ok(())
        })
    }
}

/// Sets the variable `key` to `value` (both bytes, need not be UTF-8) in
/// the workload's environment, which starts empty but for PATH and HOME.
///
/// # Safety
/// `cfg` is a live config used by no other thread; the strings are
/// NUL-terminated; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_env(
    cfg: *mut sbx_config_t,
    key: *const c_char,
    value: *const c_char,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            let key = ptr::bytes_of(key, "key")?.to_vec();
            let value = ptr::bytes_of(value, "value")?.to_vec();
            if key.is_empty() || key.contains(&b'=') {
                return Err(Failure::config(
                    "env",
                    &format!("'{}' is not a variable name", String::from_utf8_lossy(&key)),
                    "names must be non-empty and contain no '='",
                ));
            }
            c.env.retain(|(k, _)| *k != key);
            c.env.push((key, value));
            Ok(())
        })
    }
}

/// Sets the working directory inside (absolute, bytes).
///
/// # Safety
/// `cfg` is a live config used by no other thread; `dir` is NUL-terminated;
/// `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_cwd(
    cfg: *mut sbx_config_t,
    dir: *const c_char,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.config.cwd = ptr::path_of(dir, "dir")?;
            Ok(())
        })
    }
}

/// Sets the hostname inside (UTF-8, 1 to 64 bytes).
///
/// # Safety
/// `cfg` is a live config used by no other thread; `name` is
/// NUL-terminated; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_hostname(
    cfg: *mut sbx_config_t,
    name: *const c_char,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            let name = ptr::text_of(name, "hostname")?;
            if name.is_empty() || name.len() > 64 || name.contains('/') {
                return Err(Failure::config(
                    "hostname",
                    &format!("{} bytes, or a '/', is not a hostname", name.len()),
                    "use 1 to 64 bytes without '/'",
                ));
            }
            c.config.hostname = name.to_string();
            Ok(())
        })
    }
}

/// Sets the uid and gid the workload runs as inside the sandbox (not
/// 4294967295, which is `(uid_t)-1`; checked when the sandbox is made).
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_user(
    cfg: *mut sbx_config_t,
    uid: u32,
    gid: u32,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            (c.config.uid, c.config.gid) = (uid, gid);
            Ok(())
        })
    }
}

/// Chooses how ids map to the host (`SBX_ID_MAP_*`).
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_id_mapping(
    cfg: *mut sbx_config_t,
    mapping: u32,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.config.id_mapping = match mapping {
                SBX_ID_MAP_AUTO => IdMapping::Auto,
                SBX_ID_MAP_SUBORDINATE => IdMapping::Subordinate,
                SBX_ID_MAP_HOST_ROOT => IdMapping::HostRoot,
                other => {
                    return Err(Failure::argument(
                        "mapping",
                        &format!("{other} is not an id mapping"),
                        "pass SBX_ID_MAP_AUTO, SBX_ID_MAP_SUBORDINATE or SBX_ID_MAP_HOST_ROOT",
                    ));
                }
            };
            Ok(())
        })
    }
}

/// Chooses the network (`SBX_NETWORK_NONE` or `SBX_NETWORK_HOST`).
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_network(
    cfg: *mut sbx_config_t,
    network: u32,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.config.network = match network {
                SBX_NETWORK_NONE => Network::None,
                SBX_NETWORK_HOST => Network::Host,
                other => {
                    return Err(Failure::argument(
                        "network",
                        &format!("{other} is not a network mode"),
                        "pass SBX_NETWORK_NONE or SBX_NETWORK_HOST",
                    ));
                }
            };
            Ok(())
        })
    }
}

/// Kills the whole sandbox `timeout_ms` milliseconds after the workload
/// starts (0: no timeout). The result then reports `timed_out`.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_timeout_ms(
    cfg: *mut sbx_config_t,
    timeout_ms: u64,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.config.timeout = (timeout_ms != 0).then(|| Duration::from_millis(timeout_ms));
            Ok(())
        })
    }
}

/// Keeps at most `bytes` of each captured stream (the rest is read and
/// dropped, and the result says it was truncated); `SBX_OUTPUT_UNLIMITED`
/// keeps everything. The default is 64 MiB.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_output_limit(
    cfg: *mut sbx_config_t,
    bytes: u64,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.config.output_limit = (bytes != SBX_OUTPUT_UNLIMITED).then_some(bytes);
            Ok(())
        })
    }
}

/// Lets the workload keep one capability inside its user namespace (names
/// as `docker run --cap-add`: "CHOWN", "CAP_NET_RAW", "ALL").
///
/// # Safety
/// `cfg` is a live config used by no other thread; `name` is
/// NUL-terminated; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_add_capability(
    cfg: *mut sbx_config_t,
    name: *const c_char,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            let name = ptr::text_of(name, "capability")?.to_string();
            sandbox_core::caps::mask(std::slice::from_ref(&name)).map_err(sandbox_core::Error::from)?;
            c.config.cap_add.push(name);
            Ok(())
        })
    }
}

/// Lets the workload create user namespaces of its own (off by default).
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_nested_userns(
    cfg: *mut sbx_config_t,
    on: bool,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe { set_flag(cfg, err, on, |c| &mut c.nested_userns) }
}

/// Sets one on/off field of the configuration.
///
/// # Safety
/// As `with_config`.
unsafe fn set_flag(
    cfg: *mut sbx_config_t,
    err: *mut *mut sbx_error_t,
    on: bool,
    field: impl FnOnce(&mut SandboxConfig) -> &mut bool,
) -> sbx_status_t {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(cfg, err, |c| {
            *field(&mut c.config) = on;
            Ok(())
        })
    }
}

/// Sets one numeric limit (0 clears it).
///
/// # Safety
/// As `with_config`.
unsafe fn set_limit(
    cfg: *mut sbx_config_t,
    err: *mut *mut sbx_error_t,
    value: u64,
    field: impl FnOnce(&mut sandbox_core::Limits) -> &mut Option<u64>,
) -> sbx_status_t {
    // SAFETY: forwarded contract.
    unsafe {
        with_config(cfg, err, |c| {
            *field(&mut c.config.limits) = (value != 0).then_some(value);
            Ok(())
        })
    }
}

/// Limits memory to `bytes` (hard; swap off where the cgroup allows); 0
/// removes the limit. Enforced by a cgroup where the caller has one, else
/// by RLIMIT_AS; `sbx_result_limit` tells which.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_memory_limit(
    cfg: *mut sbx_config_t,
    bytes: u64,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe { set_limit(cfg, err, bytes, |l| &mut l.memory) }
}

/// Limits the sandbox to `n` tasks (processes and threads) besides its
/// init; 0 removes the limit. A cgroup, else RLIMIT_NPROC (counted per user
/// namespace: only the sandbox's own tasks).
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_pids_limit(
    cfg: *mut sbx_config_t,
    n: u64,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe { set_limit(cfg, err, n, |l| &mut l.pids) }
}

/// Limits CPU bandwidth to `cpus` CPUs (0.5 = half of one); 0 removes the
/// limit. cgroup only.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_cpus(
    cfg: *mut sbx_config_t,
    cpus: f64,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.config.limits.cpus = (cpus != 0.0).then_some(cpus);
            Ok(())
        })
    }
}

/// Sets the relative CPU weight, 1 to 10000 (default 100); 0 removes it.
/// cgroup only.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_cpu_weight(
    cfg: *mut sbx_config_t,
    weight: u64,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe { set_limit(cfg, err, weight, |l| &mut l.cpu_weight) }
}

/// Limits CPU time per process to `ms` milliseconds, rounded up to whole
/// seconds (RLIMIT_CPU); 0 removes it. The result then reports
/// `sbx_result_cpu_time_exceeded`.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_cpu_time_ms(
    cfg: *mut sbx_config_t,
    ms: u64,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.config.limits.cpu_time = (ms != 0).then(|| Duration::from_millis(ms));
            Ok(())
        })
    }
}

/// Limits open files per process (RLIMIT_NOFILE); 0 removes the limit.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_nofile_limit(
    cfg: *mut sbx_config_t,
    n: u64,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe { set_limit(cfg, err, n, |l| &mut l.nofile) }
}

/// Limits the size of files a process writes (RLIMIT_FSIZE); 0 removes
/// the limit.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_fsize_limit(
    cfg: *mut sbx_config_t,
    bytes: u64,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe { set_limit(cfg, err, bytes, |l| &mut l.fsize) }
}

/// With `on`, a run whose memory, pids or CPU limit cannot be enforced by a
/// cgroup fails with `SBX_E_UNSUPPORTED` before it starts (the message says
/// how to delegate one) instead of falling back.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_strict_limits(
    cfg: *mut sbx_config_t,
    on: bool,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe { set_flag(cfg, err, on, |c| &mut c.limits.strict) }
}

/// Sets the parent of the sandbox cgroups, relative to each cgroup
/// hierarchy's root (e.g. "sandbox-1000", delegated by an administrator);
/// NULL restores the default (`SANDBOX_CGROUP_PARENT`, `sandbox` for root,
/// `sandbox-<uid>`).
///
/// # Safety
/// `cfg` is a live config used by no other thread; `dir` is NULL or
/// NUL-terminated; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_cgroup_parent(
    cfg: *mut sbx_config_t,
    dir: *const c_char,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.config.limits.cgroup_parent = if dir.is_null() { None } else { Some(ptr::path_of(dir, "dir")?) };
            Ok(())
        })
    }
}

/// Chooses where standard stream `stream` (0, 1 or 2) goes: `SBX_STDIO_*`.
/// With `SBX_STDIO_FD`, `fd` is the caller's descriptor; each run gets a
/// duplicate and the caller keeps (and closes) the original. `fd` is
/// ignored otherwise.
///
/// # Safety
/// `cfg` is a live config used by no other thread; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_stdio(
    cfg: *mut sbx_config_t,
    stream: i32,
    mode: u32,
    fd: i32,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            let slot = usize::try_from(stream).ok().and_then(|s| c.stdio.get_mut(s)).ok_or_else(|| {
                Failure::argument("stream", &format!("{stream} is not a standard stream"), "pass 0, 1 or 2")
            })?;
            *slot = match mode {
                SBX_STDIO_DEFAULT => StdioMode::Default,
                SBX_STDIO_INHERIT => StdioMode::Inherit,
                SBX_STDIO_NULL => StdioMode::Null,
                SBX_STDIO_PIPE => StdioMode::Pipe,
                SBX_STDIO_FD if fd >= 0 => StdioMode::Fd(fd),
                SBX_STDIO_FD => {
                    return Err(Failure::argument("fd", &format!("{fd} is not a descriptor"), "pass an open fd"));
                }
                other => {
                    return Err(Failure::argument(
                        "mode",
                        &format!("{other} is not a stream mode"),
                        "pass one of SBX_STDIO_DEFAULT, _INHERIT, _NULL, _PIPE, _FD",
                    ));
                }
            };
            Ok(())
        })
    }
}

/// Bytes `sbx_run` writes to the workload's stdin (copied; `data` may be
/// NULL when `len` is 0, which gives an empty stdin).
///
/// # Safety
/// `cfg` is a live config used by no other thread; `data` points to `len`
/// readable bytes; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_config_set_stdin_bytes(
    cfg: *mut sbx_config_t,
    data: *const u8,
    len: usize,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        with_config(cfg, err, |c| {
            c.stdin_bytes = Some(ptr::buffer_of(data, len, "data")?.to_vec());
            Ok(())
        })
    }
}

/// Parses a size such as "64m", "1.5G" or "4096" (k, m, g, t suffixes,
/// powers of 1024) into bytes, as the CLI and the JSON form read them.
///
/// # Safety
/// `text` is NUL-terminated; `out` is writable; `err` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sbx_parse_size(
    text: *const c_char,
    out: *mut u64,
    err: *mut *mut sbx_error_t,
) -> sbx_status_t {
    // SAFETY: as documented.
    unsafe {
        guard(err, || {
            let text = ptr::text_of(text, "text")?;
            let out =
                out.as_mut().ok_or_else(|| Failure::argument("out", "is NULL", "pass the address of a uint64_t"))?;
            *out = parse_size("size", text).map_err(sandbox_core::Error::from)?;
            Ok(())
        })
    }
}
