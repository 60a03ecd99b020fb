//! The parent side of a spawn: prepare everything as plain data, clone,
//! write the id maps, release the child, and turn its failure frame (if
//! any) into a rich error.

use super::SpawnError;
use super::child::{ChildPlan, child_main};
use super::sync::{FAILURE_FRAME_LEN, FailureFrame};
use crate::config::{DEFAULT_PATH, RootFs, SandboxConfig};
use crate::error::Stage;
use crate::mount::MountPlan;
use crate::sys;
use crate::userns::IdMapPlan;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bytes of stack for the child and, separately, for the workload clone.
const STACK_LEN: usize = 256 * 1024;
/// One page at the bottom of each stack, never mapped readable.
const GUARD_LEN: usize = 4096;

/// Where one standard stream of the workload comes from or goes to.
#[derive(Debug)]
pub enum StdioSpec {
    Inherit,
    Null,
    Piped,
    Fd(OwnedFd),
}

/// What the parent holds after a successful spawn.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub lifeline: OwnedFd,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    pub idmap: IdMapPlan,
    pub cgroup: Option<crate::cgroup::SandboxCgroup>,
    pub limits: crate::cgroup::LimitsReport,
    pub cpu_time_limit: Option<std::time::Duration>,
}

/// Ends of one stdio stream: what the child gets, and what the parent keeps.
struct StreamEnds {
    child: OwnedFd,
    parent: Option<OwnedFd>,
}

fn io_err(what: &'static str) -> impl Fn(nix::errno::Errno) -> SpawnError {
    move |e| SpawnError::Prepare { what, errno: e as i32 }
}

fn stream(spec: StdioSpec, fd: RawFd, for_child_read: bool) -> Result<StreamEnds, SpawnError> {
    match spec {
        StdioSpec::Inherit => match nix::unistd::dup(unsafe_borrow(fd)) {
            Ok(dup) => Ok(StreamEnds { child: dup, parent: None }),
            // A host with that stream closed (a daemon): give /dev/null.
            Err(nix::errno::Errno::EBADF) => stream(StdioSpec::Null, fd, for_child_read),
            Err(e) => Err(io_err("duplicating an inherited stdio fd")(e)),
        },
        StdioSpec::Null => {
            let f =
                std::fs::OpenOptions::new().read(true).write(true).open("/dev/null").map_err(|e| {
                    SpawnError::Prepare { what: "opening /dev/null", errno: e.raw_os_error().unwrap_or(0) }
                })?;
            Ok(StreamEnds { child: f.into(), parent: None })
        }
        StdioSpec::Piped => {
            let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io_err("creating a pipe"))?;
            Ok(if for_child_read {
                StreamEnds { child: r, parent: Some(w) }
            } else {
                StreamEnds { child: w, parent: Some(r) }
            })
        }
        StdioSpec::Fd(fd) => Ok(StreamEnds { child: fd, parent: None }),
    }
}

/// Borrows one of the process's standard fds for `dup`.
fn unsafe_borrow(fd: RawFd) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: fds 0..=2 are the process's own standard streams and outlive
    // the call; `dup` of a closed one fails cleanly with EBADF.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

/// Spawns the sandbox for `argv` and returns once the workload has exec'd
/// (or the setup failed).
pub fn spawn(
    config: &SandboxConfig,
    argv: &[Vec<u8>],
    extra_env: &[(Vec<u8>, Vec<u8>)],
    stdio: [StdioSpec; 3],
    started: Instant,
) -> Result<Spawned, crate::Error> {
    let env = merged_env(config, extra_env);
    let exec_paths = resolve_program(config, argv, &env)?;
    let idmap = IdMapPlan::for_config(config)?;
    // Limits are decided (and strict ones refused) before anything is made;
    // the cgroups exist before the clone and are gone again on any error.
    let limits = crate::cgroup::Plan::new(config)?;
    let mut cgroup = limits.create(&config.limits)?;
    let [sin, sout, serr] = stdio;
    let stdin = stream(sin, 0, true)?;
    let stdout = stream(sout, 1, false)?;
    let stderr = stream(serr, 2, false)?;
    let (setup_r, setup_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io_err("creating the setup pipe"))?;
    let (life_parent, life_child) = nix::sys::socket::socketpair(
        nix::sys::socket::AddressFamily::Unix,
        nix::sys::socket::SockType::SeqPacket,
        None,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
    )
    .map_err(io_err("creating the lifeline socket"))?;

    let mut plan = child_plan(config, argv, &env, exec_paths, &idmap)?;
    plan.rlimits = limits.rlimits.clone();
    // In a cgroup, the cgroup namespace is made after the move into it, so
    // its root is the sandbox's own cgroup and no host path shows inside.
    let late_cgroupns = cgroup.is_some() && config.namespaces.cgroup;
    plan.unshare_cgroup_ns = late_cgroupns;
    plan.fds = [
        stdin.child.as_raw_fd(),
        stdout.child.as_raw_fd(),
        stderr.child.as_raw_fd(),
        setup_w.as_raw_fd(),
        life_child.as_raw_fd(),
    ];
    // [guard | child stack | guard | workload stack]: an overflow faults
    // instead of running into the other stack.
    let stack = sys::map_stack(2 * STACK_LEN).map_err(io_err("mapping the child stack"))?;
    // SAFETY: both guards are page-aligned pages at the bottom of each half
    // of the mapping just made; stacks grow down towards them.
    unsafe {
        sys::guard(stack, GUARD_LEN).map_err(io_err("guarding the child stack"))?;
        sys::guard(stack.add(STACK_LEN), GUARD_LEN).map_err(io_err("guarding the child stack"))?;
    }
    // SAFETY: the workload stack is the upper half of the same mapping; the
    // child uses its own copy of it.
    plan.workload_stack = unsafe { stack.add(STACK_LEN) };
    plan.workload_stack_len = STACK_LEN;

    let mut pidfd: i32 = -1;
    let old_mask = sys::block_all_signals().map_err(io_err("blocking signals around clone"))?;
    // SAFETY: `stack` is a live mapping of 2*STACK_LEN bytes until unmapped
    // below; the child gets a private copy of it and of `plan`; `child_main`
    // runs only async-signal-safe code and exits without returning here.
    let cloned = unsafe {
        sys::clone_with_stack(
            child_main,
            stack,
            STACK_LEN,
            (namespace_flags(config) & if late_cgroupns { !libc::CLONE_NEWCGROUP } else { !0 }) | libc::CLONE_PIDFD,
            (&mut plan as *mut ChildPlan).cast(),
            &mut pidfd,
        )
    };
    sys::restore_signal_mask(&old_mask);
    // SAFETY: the mapping came from map_stack and the parent no longer uses it.
    unsafe { sys::unmap_stack(stack, 2 * STACK_LEN) };
    let pid = cloned.map_err(|e| SpawnError::from_clone(e as i32))?;
    // SAFETY: CLONE_PIDFD stored a fresh pidfd that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    drop((setup_w, life_child, stdin.child, stdout.child, stderr.child));

    // Into the cgroups before the child is released: no code of the
    // workload runs outside them.
    let attached = cgroup.as_mut().map_or(Ok(()), |cg| cg.attach(pid)).map_err(crate::Error::from);
    let release = attached.and_then(|_| idmap.write(pid).map_err(crate::Error::from)).and_then(|_| {
        sys::write_all(life_parent.as_raw_fd(), b"G")
            .map_err(|e| SpawnError::Prepare { what: "releasing the child", errno: e as i32 }.into())
    });
    let deadline = Some(started + setup_limit(config));
    let outcome = release.and_then(|_| read_setup_result(&setup_r, &plan, deadline));
    if let Err(e) = outcome {
        let _ = sys::pidfd_send_signal(pidfd.as_raw_fd(), libc::SIGKILL);
        let _ = sys::waitid_pidfd(pidfd.as_raw_fd(), false);
        return Err(e);
    }
    Ok(Spawned {
        pid,
        pidfd,
        lifeline: life_parent,
        stdin: stdin.parent,
        stdout: stdout.parent,
        stderr: stderr.parent,
        idmap,
        cgroup,
        limits: limits.report,
        cpu_time_limit: config.limits.cpu_time,
    })
}

/// How long building the sandbox may take before it counts as hung (a dead
/// network filesystem under a bind source, say): the run's timeout plus 5 s,
/// at most 30 s. The timeout itself applies to the workload, from its exec.
fn setup_limit(config: &SandboxConfig) -> std::time::Duration {
    const MAX: std::time::Duration = std::time::Duration::from_secs(30);
    config.timeout.map_or(MAX, |t| t.saturating_add(std::time::Duration::from_secs(5)).min(MAX))
}

/// Reads the setup pipe to EOF (exec happened) or a failure frame, for at
/// most the run's timeout: a setup that hangs (say, on a dead network
/// filesystem) must not hang the caller.
fn read_setup_result(setup_r: &OwnedFd, plan: &ChildPlan, deadline: Option<Instant>) -> Result<(), crate::Error> {
    let mut buf = [0u8; FAILURE_FRAME_LEN];
    let mut got = 0;
    while got < FAILURE_FRAME_LEN {
        let wait_ms = deadline
            .map_or(-1, |d| d.saturating_duration_since(Instant::now()).as_millis().min(i32::MAX as u128) as i32);
        let mut p = [libc::pollfd { fd: setup_r.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        match sys::poll(&mut p, wait_ms) {
            Ok(0) => return Err(SpawnError::SetupTimeout.into()),
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(SpawnError::Prepare { what: "polling the setup pipe", errno: e as i32 }.into()),
        }
        if p[0].revents == 0 {
            continue;
        }
        match sys::read(setup_r.as_raw_fd(), &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => {
                return Err(SpawnError::Prepare { what: "reading the setup pipe", errno: e as i32 }.into());
            }
        }
    }
    if got == 0 {
        return Ok(());
    }
    let frame = FailureFrame::decode(&buf[..got]).unwrap_or(FailureFrame { step: 0, errno: 0, index: 0 });
    Err(SpawnError::from_frame(frame, plan).into())
}

/// Whether the workload runs in an inner user + mount namespace: when it
/// keeps capabilities and there are sandbox mounts to lock against them.
fn inner_userns(config: &SandboxConfig) -> bool {
    !config.cap_add.is_empty() && config.namespaces.mount
}

/// The namespaces the workload itself unshares in inner mode: those whose
/// capabilities it should have (network, hostname, IPC) must belong to its
/// own user namespace.
fn inner_flags(config: &SandboxConfig) -> i32 {
    if !inner_userns(config) {
        return 0;
    }
    let ns = &config.namespaces;
    [(ns.ipc, libc::CLONE_NEWIPC), (ns.uts, libc::CLONE_NEWUTS), (config.wants_net_namespace(), libc::CLONE_NEWNET)]
        .into_iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, flag)| acc | flag)
}

fn namespace_flags(config: &SandboxConfig) -> i32 {
    let ns = &config.namespaces;
    let mut flags = libc::CLONE_NEWUSER;
    for (on, flag) in [
        (ns.mount, libc::CLONE_NEWNS),
        (ns.pid, libc::CLONE_NEWPID),
        (ns.ipc, libc::CLONE_NEWIPC),
        (ns.uts, libc::CLONE_NEWUTS),
        (config.wants_net_namespace(), libc::CLONE_NEWNET),
        (ns.cgroup, libc::CLONE_NEWCGROUP),
    ] {
        if on {
            flags |= flag;
        }
    }
    flags & !inner_flags(config)
}

/// Init enforces the timeout this much later than the supervising handle
/// does: the handle's clock starts once the exec is confirmed, a little after
/// init's, and a waiting caller should see its own deadline fire first. Init's
/// timer is the backstop for a handle nobody is waiting on.
const INIT_TIMEOUT_SLACK_MS: u64 = 50;

/// The workload's environment: the config's, then the command's, PATH
/// defaulted. Nothing of the host's. Bytes: a command's variables need not
/// be UTF-8 (the C and Python doors pass them through as given).
fn merged_env(config: &SandboxConfig, extra: &[(Vec<u8>, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let own = config.env.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()));
    let mut env: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for (k, v) in own.chain(extra.iter().cloned()) {
        env.retain(|(ek, _)| *ek != k);
        env.push((k, v));
    }
    if !env.iter().any(|(k, _)| k == b"PATH") {
        env.insert(0, (b"PATH".to_vec(), DEFAULT_PATH.into()));
    }
    if !env.iter().any(|(k, _)| k == b"HOME") {
        env.push((b"HOME".to_vec(), if config.uid == 0 { b"/root".to_vec() } else { b"/".to_vec() }));
    }
    env
}

/// The candidate paths for argv[0], as execvp would try them; fails early
/// when the program certainly does not exist in the sandbox.
fn resolve_program(
    config: &SandboxConfig,
    argv: &[Vec<u8>],
    env: &[(Vec<u8>, Vec<u8>)],
) -> Result<Vec<CString>, crate::Error> {
    let program = argv.first().ok_or(crate::config::ConfigError::EmptyCommand)?;
    let nul = |field: &str| crate::config::ConfigError::NulByte { field: field.into() };
    if program.is_empty() {
        return Err(crate::config::ConfigError::EmptyCommand.into());
    }
    if program.contains(&b'/') {
        return Ok(vec![CString::new(program.clone()).map_err(|_| nul("command"))?]);
    }
    let path = env.iter().find(|(k, _)| k == b"PATH").map(|(_, v)| v.as_slice()).unwrap_or(DEFAULT_PATH.as_bytes());
    let candidates: Vec<PathBuf> = path
        .split(|b| *b == b':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(std::ffi::OsStr::from_bytes(d)).join(std::ffi::OsStr::from_bytes(program)))
        .collect();
    let known: Vec<Option<bool>> = candidates.iter().map(|c| exists_in_sandbox(config, c)).collect();
    if !known.is_empty() && known.iter().all(|k| *k == Some(false)) {
        return Err(crate::config::ConfigError::CommandNotFound {
            program: String::from_utf8_lossy(program).into_owned(),
            path: String::from_utf8_lossy(path).into_owned(),
        }
        .into());
    }
    candidates
        .into_iter()
        .map(|c| CString::new(c.into_os_string().into_encoded_bytes()).map_err(|_| nul("command").into()))
        .collect()
}

/// Whether `path` (a path inside the sandbox) names an existing file, as far
/// as the parent can tell without entering it; `None` when it cannot.
fn exists_in_sandbox(config: &SandboxConfig, path: &Path) -> Option<bool> {
    use crate::config::Mount;
    if !config.namespaces.mount {
        return Some(path.exists());
    }
    for m in config.mounts.iter().rev() {
        match m {
            Mount::Bind { source, target, .. } => {
                if let Ok(rest) = path.strip_prefix(target) {
                    return Some(source.join(rest).exists());
                }
            }
            Mount::Tmpfs { target, .. } => {
                if path.starts_with(target) {
                    return None;
                }
            }
        }
    }
    match &config.rootfs {
        RootFs::HostView => {
            let top = path.components().nth(1)?;
            let top = Path::new("/").join(top);
            if crate::mount::plan::HOST_VIEW_DIRS.iter().any(|d| Path::new(d) == top) {
                Some(path.exists())
            } else {
                None
            }
        }
        // With binds, a rootfs symlink may lead into one (bin -> usr/bin with
        // /usr bound): only a rootfs without binds can be judged from here.
        RootFs::Dir(_) if !config.mounts.is_empty() => None,
        RootFs::Dir(dir) => {
            // Resolve as the child will: inside the rootfs, symlinks and all.
            let root = std::fs::File::open(dir).ok()?;
            let inside = CString::new(path.strip_prefix("/").ok()?.as_os_str().as_bytes()).ok()?;
            match sys::open_in_root(root.as_raw_fd(), &inside, libc::O_PATH, 0) {
                Ok(fd) => {
                    sys::close(fd);
                    Some(true)
                }
                Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::ENOTDIR) => Some(false),
                Err(_) => None,
            }
        }
    }
}

fn child_plan(
    config: &SandboxConfig,
    argv: &[Vec<u8>],
    env: &[(Vec<u8>, Vec<u8>)],
    exec_paths: Vec<CString>,
    idmap: &IdMapPlan,
) -> Result<ChildPlan, crate::Error> {
    let nul = |field: &str| crate::Error::from(crate::config::ConfigError::NulByte { field: field.into() });
    let mut strings = Vec::with_capacity(argv.len() + env.len());
    for a in argv {
        strings.push(CString::new(a.clone()).map_err(|_| nul("args"))?);
    }
    for (k, v) in env {
        if k.is_empty() || k.contains(&b'=') {
            return Err(crate::config::ConfigError::Invalid {
                field: "env".into(),
                value: String::from_utf8_lossy(k).into_owned(),
                fix: "variable names must be non-empty and contain no '='; write KEY=VALUE".into(),
            }
            .into());
        }
        strings.push(CString::new([k.as_slice(), b"=", v].concat()).map_err(|_| nul("env"))?);
    }
    let mut ptrs: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
    let mut envp = ptrs.split_off(argv.len());
    ptrs.push(std::ptr::null());
    envp.push(std::ptr::null());
    Ok(ChildPlan {
        mount: config.namespaces.mount.then(|| MountPlan::build(config)),
        hostname: config
            .namespaces
            .uts
            .then(|| CString::new(config.hostname.clone()))
            .transpose()
            .map_err(|_| nul("hostname"))?,
        loopback: config.wants_net_namespace(),
        pid_namespace: config.namespaces.pid,
        timeout_ms: config
            .timeout
            .map(|t| (t.as_millis().min(u64::MAX as u128) as u64).saturating_add(INIT_TIMEOUT_SLACK_MS)),
        setgroups: idmap.setgroups_allowed(),
        init_as_root: idmap.maps_inside_root(),
        uid: config.uid,
        gid: config.gid,
        last_cap: last_capability(),
        keep_caps: crate::caps::mask(&config.cap_add)?,
        cwd: CString::new(config.cwd.as_os_str().as_bytes()).map_err(|_| nul("cwd"))?,
        exec_paths,
        argv: ptrs,
        envp,
        _strings: strings,
        fds: [-1; 5],
        host_args: host_arg_areas(),
        nested_userns: config.nested_userns,
        inner_userns: inner_userns(config),
        inner_unshare: inner_flags(config),
        inner_uid_map: identity_map(&idmap.uid),
        inner_gid_map: identity_map(&idmap.gid),
        inner_sync: [-1; 2],
        workload_stack: std::ptr::null_mut(),
        workload_stack_len: 0,
        signal_fd: -1,
        rlimits: Vec::new(),
        unshare_cgroup_ns: false,
    })
}

/// A map of every id the sandbox's namespace has onto itself, for the
/// workload's inner namespace.
fn identity_map(extents: &[crate::userns::Extent]) -> CString {
    let text: String = extents.iter().map(|e| format!("{} {} {}\n", e.inside, e.inside, e.count)).collect();
    CString::new(text).unwrap_or_default()
}

/// `[start, end)` of this process's argv and environ strings, from
/// /proc/self/stat (fields 48–51); they do not move for the process's life.
fn host_arg_areas() -> [(usize, usize); 2] {
    static AREAS: std::sync::OnceLock<[(usize, usize); 2]> = std::sync::OnceLock::new();
    *AREAS.get_or_init(|| {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the ")" that closes comm start at field 3.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<usize> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
        let at = |n: usize| f.get(n - 3).copied().unwrap_or(0);
        [(at(48), at(49)), (at(50), at(51))]
    })
}

/// The highest capability number this kernel knows.
fn last_capability() -> u32 {
    static LAST: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(63)
    })
}

/// Stage of a raw child step, for errors.
pub(crate) fn stage_of_step(step: u32) -> Stage {
    use super::sync::step::*;
    match step {
        WAIT_PARENT => Stage::Idmap,
        HOSTNAME => Stage::Hostname,
        LOOPBACK => Stage::Network,
        INIT_IDS | SETGROUPS | SETGID | SETUID => Stage::Credentials,
        CAPS | NO_NEW_PRIVS | NESTED_USERNS | KEYRING | INNER_USERNS => Stage::Capabilities,
        EXEC | CWD | CLOSE_FDS | SETSID | SIGNALS | FORK | FDS => Stage::Exec,
        s if s >= MOUNT_BASE => Stage::Mount,
        _ => Stage::Clone,
    }
}
