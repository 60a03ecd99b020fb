//! `sandbox`: a thin command-line client of the library. Flag names follow
//! `docker run` where the idea is the same.

use clap::{Args, Parser, Subcommand, ValueEnum};
use sandbox_core::config::parse_size;
use sandbox_core::{IdMapping, Mount, Network, RootFs, Sandbox, SandboxConfig};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// Exit status when the sandbox itself could not be set up.
const SETUP_FAILED: u8 = 125;

#[derive(Parser)]
#[command(name = "sandbox", version, about = "Run a command in a rootless Linux sandbox")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a command in a new sandbox (default: read-only view of the host's /usr, /etc, ...).
    Run(Box<RunArgs>),
    /// Report what this kernel and user can do, feature by feature.
    Check {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove stale sandbox cgroups left by supervisors that died.
    Gc {
        /// Parent of the sandbox cgroups (default: SANDBOX_CGROUP_PARENT, `sandbox` or `sandbox-<uid>`).
        #[arg(long, value_name = "DIR")]
        cgroup_parent: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum NetworkArg {
    None,
    Host,
}

#[derive(Clone, Copy, ValueEnum)]
enum IdMapArg {
    Auto,
    Subordinate,
    HostRoot,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum NsArg {
    Mount,
    Pid,
    Ipc,
    Uts,
    Net,
    Cgroup,
}

#[derive(Args)]
struct RunArgs {
    /// Bind mount `SRC:DST[:ro]` (repeatable).
    #[arg(short = 'v', long = "volume", value_name = "SRC:DST[:ro]")]
    volumes: Vec<String>,
    /// Mount a fresh tmpfs at DST[:size=64m[,mode=1777]] (repeatable).
    #[arg(long, value_name = "DST[:size=N]")]
    tmpfs: Vec<String>,
    /// Set an environment variable K=V (repeatable; the host's is never passed on).
    #[arg(short = 'e', long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// Working directory inside the sandbox.
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    workdir: Option<PathBuf>,
    /// `UID[:GID]` inside the sandbox.
    #[arg(short = 'u', long = "user", value_name = "UID[:GID]")]
    user: Option<String>,
    #[arg(long)]
    hostname: Option<String>,
    /// Make the root filesystem read-only (the host view always is).
    #[arg(long)]
    read_only: bool,
    /// Use DIR as the root filesystem instead of the host view.
    #[arg(long, value_name = "DIR")]
    rootfs: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "none")]
    network: NetworkArg,
    /// Kill the whole sandbox after this long (e.g. 2s, 500ms, 1m).
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
    /// How ids map to the host.
    #[arg(long = "id-map", value_enum, default_value = "auto")]
    id_map: IdMapArg,
    /// Share this namespace with the host instead of a new one (repeatable).
    #[arg(long = "share", value_enum, value_name = "NS")]
    share: Vec<NsArg>,
    /// Let the workload keep a capability inside its user namespace (e.g. CHOWN, ALL; repeatable).
    #[arg(long = "cap-add", value_name = "CAP")]
    cap_add: Vec<String>,
    /// Memory limit (e.g. 256m): hard, swap off where the cgroup allows.
    #[arg(short = 'm', long, value_name = "SIZE")]
    memory: Option<String>,
    /// Maximum number of tasks (processes and threads).
    #[arg(long = "pids-limit", value_name = "N")]
    pids_limit: Option<u64>,
    /// CPU bandwidth as a number of CPUs (e.g. 0.5).
    #[arg(long, value_name = "CPUS")]
    cpus: Option<f64>,
    /// Relative CPU weight, 1 to 10000 (default 100).
    #[arg(long = "cpu-weight", value_name = "W")]
    cpu_weight: Option<u64>,
    /// CPU time per process (e.g. 2s); reported as cpu_time_exceeded.
    #[arg(long = "cpu-time", value_name = "DURATION")]
    cpu_time: Option<String>,
    /// Resource limit nofile=N or fsize=SIZE (repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    ulimit: Vec<String>,
    /// Fail instead of starting when a cgroup limit cannot be enforced by a cgroup.
    #[arg(long = "strict-limits")]
    strict_limits: bool,
    /// Parent of the sandbox cgroups, relative to each hierarchy's root.
    #[arg(long = "cgroup-parent", value_name = "DIR")]
    cgroup_parent: Option<PathBuf>,
    /// Write the outcome as JSON to FILE ('-' for stdout).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
    command: Vec<OsString>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let _ = e.print();
            // Usage errors are setup failures (125), as in `docker run`.
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(SETUP_FAILED),
            };
        }
    };
    match cli.command {
        Cmd::Run(args) => run(*args),
        Cmd::Check { json } => {
            let report = sandbox_core::probe::check();
            if json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print!("{}", report.render_table());
            }
            ExitCode::SUCCESS
        }
        Cmd::Gc { cgroup_parent } => {
            let mut config = SandboxConfig::default();
            config.limits.cgroup_parent = cgroup_parent;
            match sandbox_core::cgroup::gc(&config) {
                Ok(removed) => {
                    println!("removed {removed} stale sandbox cgroup(s)");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("sandbox: {msg}");
    ExitCode::from(SETUP_FAILED)
}

fn run(args: RunArgs) -> ExitCode {
    if let Some(flag) = args.command[0].to_str().filter(|a| a.starts_with('-')) {
        return fail(format!(
            "run: unknown option '{flag}'; see `sandbox run --help` (the command goes after the options)"
        ));
    }
    let config = match config_from_args(&args) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let sandbox = match Sandbox::from_config(config) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    catch_signals();
    let mut cmd = sandbox.command(&args.command[0]);
    cmd.args(&args.command[1..]);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            use sandbox_core::process::SpawnError;
            let code = match &e {
                sandbox_core::Error::Spawn(SpawnError::Exec { errno: libc::ENOENT, .. }) => 127,
                sandbox_core::Error::Spawn(SpawnError::Exec { .. }) => 126,
                sandbox_core::Error::Config(sandbox_core::config::ConfigError::CommandNotFound { .. }) => 127,
                _ => SETUP_FAILED,
            };
            eprintln!("sandbox: {e}");
            if let Some(path) = &args.report {
                let report = serde_json::json!({ "error": {
                    "kind": format!("{:?}", e.kind()),
                    "stage": e.stage().as_str(),
                    "errno": e.errno(),
                    "path": e.path(),
                    "message": e.to_string(),
                    "exit_status": code,
                }});
                if let Err(msg) = write_report(path, &report) {
                    eprintln!("sandbox: {msg}");
                }
            }
            return ExitCode::from(code);
        }
    };
    forward_signals_to(&child);
    let outcome = match child.wait() {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    if let Some(path) = &args.report
        && let Err(msg) = write_report(path, &outcome)
    {
        return fail(msg);
    }
    if outcome.timed_out {
        eprintln!("sandbox: timed out after {}", args.timeout.as_deref().unwrap_or("?"));
    }
    ExitCode::from(outcome.shell_status().clamp(0, 255) as u8)
}

/// Writes `value` as pretty JSON to `path` ('-' for stdout).
fn write_report(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), String> {
    let json = serde_json::to_string_pretty(value).map_err(|e| format!("--report: {e}"))?;
    if path.as_os_str() == "-" {
        println!("{json}");
        return Ok(());
    }
    std::fs::write(path, json + "\n").map_err(|e| format!("--report {}: {e}", path.display()))
}

fn config_from_args(a: &RunArgs) -> Result<SandboxConfig, String> {
    let mut c = SandboxConfig::default();
    if let Some(dir) = &a.rootfs {
        c.rootfs = RootFs::Dir(dir.clone());
    }
    c.read_only = a.read_only;
    for v in &a.volumes {
        c.mounts.push(parse_volume(v)?);
    }
    for t in &a.tmpfs {
        c.mounts.push(parse_tmpfs(t)?);
    }
    for e in &a.env {
        let (k, v) = e.split_once('=').ok_or_else(|| format!("--env: '{e}' is not K=V; write e.g. -e FOO=bar"))?;
        c.env.retain(|(ek, _)| ek != k);
        c.env.push((k.to_string(), v.to_string()));
    }
    if let Some(w) = &a.workdir {
        c.cwd = w.clone();
    }
    if let Some(u) = &a.user {
        let (uid, gid) = parse_user(u)?;
        c.uid = uid;
        c.gid = gid;
    }
    if let Some(h) = &a.hostname {
        c.hostname = h.clone();
    }
    c.network = match a.network {
        NetworkArg::None => Network::None,
        NetworkArg::Host => Network::Host,
    };
    c.id_mapping = match a.id_map {
        IdMapArg::Auto => IdMapping::Auto,
        IdMapArg::Subordinate => IdMapping::Subordinate,
        IdMapArg::HostRoot => IdMapping::HostRoot,
    };
    for ns in &a.share {
        let flag = match ns {
            NsArg::Mount => &mut c.namespaces.mount,
            NsArg::Pid => &mut c.namespaces.pid,
            NsArg::Ipc => &mut c.namespaces.ipc,
            NsArg::Uts => &mut c.namespaces.uts,
            NsArg::Net => &mut c.namespaces.net,
            NsArg::Cgroup => &mut c.namespaces.cgroup,
        };
        *flag = false;
    }
    c.cap_add = a.cap_add.clone();
    if let Some(t) = &a.timeout {
        c.timeout = Some(parse_duration(t)?);
    }
    limits_from_args(a, &mut c.limits)?;
    Ok(c)
}

fn limits_from_args(a: &RunArgs, l: &mut sandbox_core::Limits) -> Result<(), String> {
    if let Some(m) = &a.memory {
        l.memory = Some(sandbox_core::config::parse_size("--memory", m).map_err(|e| e.to_string())?);
    }
    l.pids = a.pids_limit;
    l.cpus = a.cpus;
    l.cpu_weight = a.cpu_weight;
    if let Some(t) = &a.cpu_time {
        l.cpu_time = Some(parse_duration(t).map_err(|e| e.replace("--timeout", "--cpu-time"))?);
    }
    for u in &a.ulimit {
        let bad = || format!("--ulimit: '{u}' is not NAME=VALUE; write nofile=64 or fsize=10m");
        let (name, value) = u.split_once('=').ok_or_else(bad)?;
        match name {
            "nofile" => l.nofile = Some(value.parse().map_err(|_| bad())?),
            "fsize" => {
                l.fsize = Some(sandbox_core::config::parse_size("--ulimit fsize", value).map_err(|e| e.to_string())?);
            }
            other => {
                return Err(format!(
                    "--ulimit: '{other}' is not supported; use nofile or fsize (memory, pids and CPU have their own flags)"
                ));
            }
        }
    }
    l.strict = a.strict_limits;
    l.cgroup_parent = a.cgroup_parent.clone();
    Ok(())
}

fn parse_volume(v: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = v.split(':').collect();
    let bad = || format!("--volume: '{v}' is not SRC:DST[:ro|rw]; write e.g. -v /data:/data:ro");
    let (src, dst, readonly) = match parts.as_slice() {
        [s, d] => (s, d, false),
        [s, d, "ro"] => (s, d, true),
        [s, d, "rw"] => (s, d, false),
        _ => return Err(bad()),
    };
    if src.is_empty() || dst.is_empty() {
        return Err(bad());
    }
    Ok(Mount::Bind { source: PathBuf::from(src), target: PathBuf::from(dst), readonly })
}

fn parse_tmpfs(t: &str) -> Result<Mount, String> {
    let (dst, opts) = t.split_once(':').unwrap_or((t, ""));
    let (mut size, mut mode) = (None, None);
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        match opt.split_once('=') {
            Some(("size", s)) => size = Some(parse_size("--tmpfs size", s).map_err(|e| e.to_string())?),
            Some(("mode", m)) => {
                mode = Some(
                    u32::from_str_radix(m, 8)
                        .map_err(|_| format!("--tmpfs mode: '{m}' is not an octal mode like 1777"))?,
                )
            }
            _ => {
                return Err(format!("--tmpfs: unknown option '{opt}'; use size=64m or mode=1777"));
            }
        }
    }
    Ok(Mount::Tmpfs { target: PathBuf::from(dst), size, mode })
}

fn parse_user(u: &str) -> Result<(u32, u32), String> {
    let num = |s: &str| {
        s.parse::<u32>().map_err(|_| format!("--user: '{s}' is not a numeric id; write UID[:GID], e.g. -u 1000:1000"))
    };
    match u.split_once(':') {
        Some((a, b)) => Ok((num(a)?, num(b)?)),
        None => {
            let id = num(u)?;
            Ok((id, id))
        }
    }
}

/// `2s`, `500ms`, `1.5s`, `2m`, `1h`, or plain seconds.
fn parse_duration(t: &str) -> Result<Duration, String> {
    let bad = || format!("--timeout: '{t}' is not a duration; write e.g. 2s, 500ms or 1m");
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// pidfd of the running sandbox's init, read by the signal handler.
static SANDBOX_PIDFD: AtomicI32 = AtomicI32::new(-1);
/// A signal that arrived before the sandbox existed, forwarded once it does.
static PENDING_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: libc::c_int) {
    let fd = SANDBOX_PIDFD.load(Ordering::SeqCst);
    if fd < 0 {
        PENDING_SIGNAL.store(sig, Ordering::SeqCst);
        return;
    }
    // SAFETY: pidfd_send_signal is async-signal-safe; the fd stays open for
    // the life of `main`.
    unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd, sig, 0usize, 0u32) };
}

/// Catches SIGINT/SIGTERM/SIGHUP/SIGQUIT for forwarding to the sandbox's
/// init, which passes them on to the workload. A handler, not a thread:
/// nothing to start on every run. (The library resets every disposition in
/// the sandbox, so this handler never runs there.)
fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        // SAFETY: the handler only touches atomics and makes one syscall.
        unsafe { libc::signal(sig, forward_signal as *const () as libc::sighandler_t) };
    }
}

fn forward_signals_to(child: &sandbox_core::Child) {
    use std::os::fd::AsRawFd;
    SANDBOX_PIDFD.store(child.pidfd().as_raw_fd(), Ordering::SeqCst);
    let early = PENDING_SIGNAL.swap(0, Ordering::SeqCst);
    if early != 0 {
        forward_signal(early);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_volumes_tmpfs_users_and_durations() {
        assert!(matches!(parse_volume("/a:/b:ro"), Ok(Mount::Bind { readonly: true, .. })));
        assert!(parse_volume("/a").unwrap_err().contains("SRC:DST"));
        assert!(matches!(parse_tmpfs("/t:size=64m"), Ok(Mount::Tmpfs { size: Some(67108864), .. })));
        assert!(parse_tmpfs("/t:size=lots").unwrap_err().contains("--tmpfs size"));
        assert_eq!(parse_user("1000:100").unwrap(), (1000, 100));
        assert!(parse_user("bob").unwrap_err().contains("--user"));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("soon").unwrap_err().contains("--timeout"));
    }
}
