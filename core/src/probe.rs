//! What this kernel and user can do: measured, not guessed.
//!
//! [`check`] reads the relevant sysctls and `/proc` files and, for what only
//! an attempt can tell (user namespaces under a seccomp or LSM policy,
//! mounts and overlayfs inside a user namespace), clones short-lived children
//! that try it. Nothing on the host changes: the children's mounts die with
//! their mount namespace, and no cgroup is created or written.
//!
//! The probe children follow the engine's rule for a multi-threaded host:
//! every string is prepared before the clone, and the child runs only raw
//! syscalls (no allocation, no locks) before `_exit`.

use crate::sys::{self, Errno};
use serde::Serialize;
use std::ffi::{CStr, c_int, c_void};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Oldest kernel with everything the engine uses (`mount_setattr` is 5.12;
/// `open_tree`/`move_mount`/`fsopen` 5.2, `openat2` 5.6).
pub const MIN_KERNEL: (u32, u32) = (5, 12);

/// How a feature stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Works.
    Ok,
    /// Missing or partial, but the engine has a fallback or it is optional.
    Warn,
    /// Missing, and sandboxes that need it fail.
    Missing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Missing => "missing",
        }
    }
}

/// Everything [`check`] found, one entry per feature.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub features: Vec<Feature>,
}

/// One thing the host can or cannot do.
#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    /// Stable key: `kernel`, `root`, `user_namespaces`, `mount_namespace`,
    /// `overlay`, `namespaces`, `subordinate_ids`, `cgroups`, `seccomp`,
    /// `landlock`.
    pub name: String,
    pub status: Status,
    /// Whether the feature is usable (for `root`: whether the caller is root).
    pub available: bool,
    /// A machine-readable value where there is one: the kernel release, the
    /// Landlock ABI, the cgroup versions (`v1+v2`), `true`/`false` for root,
    /// the seccomp actions.
    pub value: Option<String>,
    /// What was measured, for a human.
    pub detail: String,
    /// What to run or change when it is not ok.
    pub fix: Option<String>,
}

impl Feature {
    fn new(name: &str, status: Status, detail: String) -> Feature {
        Feature { name: name.to_string(), status, available: status == Status::Ok, value: None, detail, fix: None }
    }

    fn value(mut self, value: impl Into<String>) -> Feature {
        self.value = Some(value.into());
        self
    }

    fn fix(mut self, fix: Option<String>) -> Feature {
        self.fix = fix;
        self
    }
}

/// Probes this kernel and the calling user. Takes a few milliseconds; safe to
/// call from any thread of a multi-threaded host.
pub fn check() -> Report {
    let userns = user_namespaces();
    let userns_ok = userns.available;
    let (mountns, overlay) = mount_and_overlay(userns_ok);
    Report {
        features: vec![
            kernel(),
            root(),
            userns,
            mountns,
            overlay,
            namespaces(userns_ok),
            subordinate_ids(),
            cgroups(),
            seccomp(),
            landlock(),
        ],
    }
}

impl Report {
    /// The feature called `name`.
    pub fn get(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// Whether a rootless sandbox with the default namespaces can start:
    /// kernel, user and mount namespaces and the other namespaces all ok.
    pub fn all_ok_for_rootless(&self) -> bool {
        ["kernel", "user_namespaces", "mount_namespace", "namespaces"]
            .iter()
            .all(|n| self.get(n).is_some_and(|f| f.status == Status::Ok))
    }

    /// One line per feature (`name  status  detail`), plus an indented
    /// `fix:` line where there is one.
    pub fn render_table(&self) -> String {
        let width = self.features.iter().map(|f| f.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for f in &self.features {
            out.push_str(&format!("{:width$}  {:7}  {}\n", f.name, f.status.as_str(), f.detail));
            if let Some(fix) = &f.fix {
                out.push_str(&format!("{:width$}  {:7}  fix: {fix}\n", "", ""));
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// kernel

fn kernel() -> Feature {
    let release = read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default();
    let version = parse_version(&release);
    let absent: Vec<&str> = new_syscalls().into_iter().filter(|(_, present)| !present).map(|(name, _)| name).collect();
    let new_enough = version.is_some_and(|v| v >= MIN_KERNEL);
    let (min_major, min_minor) = MIN_KERNEL;
    let mut detail = match version {
        Some(_) if new_enough => format!("{release} (>= {min_major}.{min_minor})"),
        Some(_) => format!("{release} (older than {min_major}.{min_minor})"),
        None => format!("{release:?} (version not understood)"),
    };
    if absent.is_empty() {
        detail.push_str("; open_tree, move_mount, fsopen, fsmount, mount_setattr, openat2 present");
    } else {
        detail.push_str(&format!("; ENOSYS from {}", absent.join(", ")));
    }
    let (status, fix) = if new_enough && absent.is_empty() {
        (Status::Ok, None)
    } else if !new_enough {
        (Status::Missing, Some(format!("upgrade to Linux {min_major}.{min_minor} or newer")))
    } else {
        (
            Status::Missing,
            Some(
                "a seccomp filter of the surrounding container hides these syscalls; \
                 run with a profile that allows them"
                    .to_string(),
            ),
        )
    };
    Feature::new("kernel", status, detail).value(release).fix(fix)
}

fn parse_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Which of the engine's newer syscalls the kernel knows (anything but
/// ENOSYS means it does).
fn new_syscalls() -> Vec<(&'static str, bool)> {
    let present = |nr: libc::c_long, args: [libc::c_long; 4]| {
        // SAFETY: every fd argument is -1 and every pointer NULL (sizes 0),
        // so the kernel rejects the call (EBADF/EFAULT/EINVAL/EPERM) before
        // touching memory or creating anything; only ENOSYS is looked at.
        let r = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], 0 as libc::c_long) };
        if r >= 0 {
            sys::close(r as RawFd);
            return true;
        }
        Errno::last() != Errno::ENOSYS
    };
    vec![
        ("open_tree", present(libc::SYS_open_tree, [-1, 0, 0, 0])),
        ("move_mount", present(libc::SYS_move_mount, [-1, 0, -1, 0])),
        ("fsopen", present(libc::SYS_fsopen, [0, 0, 0, 0])),
        ("fsmount", present(libc::SYS_fsmount, [-1, 0, 0, 0])),
        ("mount_setattr", present(libc::SYS_mount_setattr, [-1, 0, 0, 0])),
        ("openat2", present(libc::SYS_openat2, [-1, 0, 0, 0])),
    ]
}

// ---------------------------------------------------------------------------
// root and capabilities

const CAP_NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

fn cap_name(bit: u32) -> String {
    CAP_NAMES.get(bit as usize).map_or_else(|| format!("cap_{bit}"), |n| format!("cap_{n}"))
}

fn root() -> Feature {
    let euid = nix::unistd::geteuid().as_raw();
    let status = proc_status();
    let eff = status.get("CapEff").and_then(|v| u64::from_str_radix(v, 16).ok()).unwrap_or(0);
    let last = read_trimmed("/proc/sys/kernel/cap_last_cap").and_then(|s| s.parse::<u32>().ok()).unwrap_or(40).min(63);
    let all: Vec<u32> = (0..=last).collect();
    let held: Vec<u32> = all.iter().copied().filter(|b| eff & (1 << b) != 0).collect();
    let caps = if held.is_empty() {
        "no effective capabilities".to_string()
    } else if held.len() == all.len() {
        format!("all {} effective capabilities", all.len())
    } else if held.len() * 2 > all.len() {
        let lacking: Vec<String> = all.iter().filter(|b| !held.contains(b)).map(|&b| cap_name(b)).collect();
        format!("{} of {} effective capabilities, without {}", held.len(), all.len(), lacking.join(", "))
    } else {
        let names: Vec<String> = held.iter().map(|&b| cap_name(b)).collect();
        format!("effective capabilities: {}", names.join(", "))
    };
    let identity = read_trimmed("/proc/self/uid_map")
        .is_some_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"]);
    let who = if euid == 0 && identity {
        "euid 0 (root)".to_string()
    } else if euid == 0 {
        "euid 0 (root of a user namespace, not of the host)".to_string()
    } else {
        format!("euid {euid}")
    };
    let mut f = Feature::new("root", Status::Ok, format!("{who}; {caps} (CapEff {eff:016x})")).value(if euid == 0 {
        "true"
    } else {
        "false"
    });
    f.available = euid == 0;
    f
}

// ---------------------------------------------------------------------------
// user, mount and other namespaces, overlayfs

struct UsernsSysctls {
    max: Option<u64>,
    unprivileged_clone: Option<u64>,
    apparmor_restrict: Option<u64>,
}

impl UsernsSysctls {
    fn read() -> UsernsSysctls {
        let num = |p: &str| read_trimmed(p).and_then(|s| s.parse().ok());
        UsernsSysctls {
            max: num("/proc/sys/user/max_user_namespaces"),
            unprivileged_clone: num("/proc/sys/kernel/unprivileged_userns_clone"),
            apparmor_restrict: num("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
        }
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.max {
            Some(n) => parts.push(format!("max_user_namespaces={n}")),
            None => parts.push("no /proc/sys/user/max_user_namespaces".to_string()),
        }
        if let Some(n) = self.unprivileged_clone {
            parts.push(format!("unprivileged_userns_clone={n}"));
        }
        if let Some(n) = self.apparmor_restrict {
            parts.push(format!("apparmor_restrict_unprivileged_userns={n}"));
        }
        parts.join(", ")
    }

    /// The sysctl changes that would lift a refusal for this caller.
    fn fixes(&self, unprivileged: bool) -> Vec<String> {
        let mut v = Vec::new();
        if self.max == Some(0) {
            v.push("sysctl -w user.max_user_namespaces=15000".to_string());
        }
        if unprivileged && self.unprivileged_clone == Some(0) {
            v.push("sysctl -w kernel.unprivileged_userns_clone=1".to_string());
        }
        if unprivileged && self.apparmor_restrict == Some(1) {
            v.push("sysctl -w kernel.apparmor_restrict_unprivileged_userns=0".to_string());
        }
        v
    }
}

fn unprivileged() -> bool {
    !nix::unistd::geteuid().is_root()
}

fn user_namespaces() -> Feature {
    let sysctls = UsernsSysctls::read();
    let attempt = attempt(libc::CLONE_NEWUSER, Task::Exit);
    let tried = match attempt {
        Ok(()) => "clone(CLONE_NEWUSER) works".to_string(),
        Err(e) => format!("clone(CLONE_NEWUSER) failed: {e}"),
    };
    let detail = format!("{tried}; {}", sysctls.describe());
    if attempt.is_ok() {
        return Feature::new("user_namespaces", Status::Ok, detail);
    }
    let mut fixes = sysctls.fixes(unprivileged());
    if fixes.is_empty() {
        fixes.push(match attempt {
            Err(Failure { errno: Errno::ENOSPC, .. }) => "the user namespace limit is reached: raise it, e.g. \
                   sysctl -w user.max_user_namespaces=15000"
                .to_string(),
            _ => "a seccomp profile or LSM of the surrounding container refuses \
                  clone(CLONE_NEWUSER); run outside it or with a profile that allows it"
                .to_string(),
        });
    }
    Feature::new("user_namespaces", Status::Missing, detail).fix(Some(fixes.join("; ")))
}

/// Mounting inside a fresh user+mount namespace (tmpfs), then overlayfs
/// with `userxattr` on top of it; one child tries both.
fn mount_and_overlay(userns_ok: bool) -> (Feature, Feature) {
    if !userns_ok {
        let why = "not tried: no user namespaces".to_string();
        return (
            Feature::new("mount_namespace", Status::Missing, why.clone()),
            Feature::new("overlay", Status::Warn, why),
        );
    }
    let attempt = attempt(libc::CLONE_NEWUSER | libc::CLONE_NEWNS, Task::MountOverlay);
    let mount_ok = match attempt {
        Ok(()) => true,
        Err(f) => f.step >= Step::Layers,
    };
    let mountns = if mount_ok {
        Feature::new(
            "mount_namespace",
            Status::Ok,
            "clone(CLONE_NEWUSER|CLONE_NEWNS) works, and mounting a tmpfs inside it".to_string(),
        )
    } else {
        let failure = attempt.err().map(|f| f.to_string()).unwrap_or_default();
        let mut fixes = UsernsSysctls::read().fixes(unprivileged());
        if fixes.is_empty() {
            fixes.push(
                "an LSM or seccomp profile refuses mounts inside user namespaces; \
                 run outside the surrounding container or with a profile that allows them"
                    .to_string(),
            );
        }
        Feature::new("mount_namespace", Status::Missing, format!("user+mount namespace: {failure}"))
            .fix(Some(fixes.join("; ")))
    };
    let overlay = match attempt {
        Ok(()) => Feature::new(
            "overlay",
            Status::Ok,
            "overlayfs (userxattr) mounts and takes writes inside a user namespace".to_string(),
        ),
        Err(f) if !mount_ok => {
            Feature::new("overlay", Status::Warn, format!("not tried: mounting in a user namespace failed ({f})"))
        }
        Err(f) => {
            let fix = match (f.step, f.errno) {
                (Step::OverlayOpen, Errno::ENODEV) => "load the overlay module: modprobe overlay".to_string(),
                (Step::Userxattr, _) | (Step::OverlayCreate, _) => {
                    "overlayfs in a user namespace needs Linux 5.11+ with userxattr; \
                     layered root filesystems are unavailable"
                        .to_string()
                }
                _ => "layered root filesystems are unavailable; use a directory rootfs".to_string(),
            };
            Feature::new("overlay", Status::Warn, format!("overlayfs: {f}")).fix(Some(fix))
        }
    };
    (mountns, overlay)
}

const OTHER_NAMESPACES: [(&str, c_int); 5] = [
    ("pid", libc::CLONE_NEWPID),
    ("net", libc::CLONE_NEWNET),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("cgroup", libc::CLONE_NEWCGROUP),
];

fn namespaces(userns_ok: bool) -> Feature {
    let listed: Vec<&str> =
        OTHER_NAMESPACES.iter().map(|(n, _)| *n).filter(|n| Path::new("/proc/self/ns").join(n).exists()).collect();
    let base = if userns_ok { libc::CLONE_NEWUSER } else { 0 };
    let all = OTHER_NAMESPACES.iter().fold(base, |acc, (_, f)| acc | f);
    let with = if userns_ok { " (in a user namespace)" } else { "" };
    if attempt(all, Task::Exit).is_ok() {
        return Feature::new("namespaces", Status::Ok, format!("pid, net, ipc, uts, cgroup: all created{with}"));
    }
    let mut made = Vec::new();
    let mut refused = Vec::new();
    for (name, flag) in OTHER_NAMESPACES {
        match attempt(base | flag, Task::Exit) {
            Ok(()) => made.push(name.to_string()),
            Err(e) => refused.push(format!("{name} ({})", e.errno)),
        }
    }
    let status = if made.is_empty() { Status::Missing } else { Status::Warn };
    let fix = if !userns_ok {
        "enable user namespaces (see user_namespaces)".to_string()
    } else {
        let absent: Vec<&str> = OTHER_NAMESPACES.iter().map(|(n, _)| *n).filter(|n| !listed.contains(n)).collect();
        if absent.is_empty() {
            "a seccomp profile or LSM refuses these namespaces; sandboxes that ask for them fail".to_string()
        } else {
            format!(
                "the kernel lacks {} namespaces (no /proc/self/ns entry); \
                 turn those namespaces off in the sandbox config",
                absent.join(", ")
            )
        }
    };
    let made = if made.is_empty() { "none".to_string() } else { made.join(", ") };
    Feature::new(
        "namespaces",
        status,
        format!("created{with}: {made}; refused: {}; /proc/self/ns has: {}", refused.join(", "), listed.join(", ")),
    )
    .fix(Some(fix))
}

/// Where a probe child failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Step {
    // Parent side.
    Prepare = 1,
    Clone,
    IdMap,
    Timeout,
    Wait,
    Killed,
    // Child side, in order.
    Release,
    Private,
    Tmpfs,
    Layers,
    OverlayOpen,
    OverlayOptions,
    Userxattr,
    OverlayCreate,
    OverlayMount,
    OverlayWrite,
}

impl Step {
    const CHILD: [Step; 10] = [
        Step::Release,
        Step::Private,
        Step::Tmpfs,
        Step::Layers,
        Step::OverlayOpen,
        Step::OverlayOptions,
        Step::Userxattr,
        Step::OverlayCreate,
        Step::OverlayMount,
        Step::OverlayWrite,
    ];

    fn from_u8(b: u8) -> Option<Step> {
        Step::CHILD.iter().copied().find(|s| *s as u8 == b)
    }

    fn describe(self) -> &'static str {
        match self {
            Step::Prepare => "preparing pipes and stack",
            Step::Clone => "clone",
            Step::IdMap => "writing uid_map/gid_map",
            Step::Timeout => "waiting (timed out)",
            Step::Wait => "waiting for the child",
            Step::Killed => "child ended abnormally",
            Step::Release => "child waiting for its id map",
            Step::Private => "making mounts private",
            Step::Tmpfs => "mounting tmpfs",
            Step::Layers => "making overlay layer dirs",
            Step::OverlayOpen => "fsopen(overlay)",
            Step::OverlayOptions => "setting lowerdir/upperdir/workdir",
            Step::Userxattr => "setting userxattr",
            Step::OverlayCreate => "creating the overlay superblock",
            Step::OverlayMount => "fsmount(overlay)",
            Step::OverlayWrite => "writing into the overlay",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failure {
    step: Step,
    errno: Errno,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step.describe(), self.errno)
    }
}

fn failed(step: Step) -> impl Fn(Errno) -> Failure {
    move |errno| Failure { step, errno }
}

#[derive(Clone, Copy)]
enum Task {
    /// Exit at once: creating the namespaces was the test.
    Exit,
    /// Wait for the id map, then mount tmpfs and overlayfs (detached).
    MountOverlay,
}

/// What the probe child reads; prepared in the parent, copied by clone.
struct ChildArgs {
    task: Task,
    /// Read end of the release pipe (the parent writes one byte).
    go_r: RawFd,
    /// The parent's write end, closed first thing in the child.
    go_w: RawFd,
    /// Where the child writes its (step, errno) frame on failure.
    result_w: RawFd,
}

const STACK_LEN: usize = 64 * 1024;
const PROBE_TIMEOUT_MS: c_int = 5000;

/// Clones a child with `flags`, lets it run `task`, and says how it went.
fn attempt(flags: c_int, task: Task) -> Result<(), Failure> {
    use nix::fcntl::OFlag;
    let (go_r, go_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(failed(Step::Prepare))?;
    let (result_r, result_w) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(failed(Step::Prepare))?;
    let mut args = ChildArgs { task, go_r: go_r.as_raw_fd(), go_w: go_w.as_raw_fd(), result_w: result_w.as_raw_fd() };
    let stack = sys::map_stack(STACK_LEN).map_err(failed(Step::Prepare))?;
    let mut pidfd: c_int = -1;
    // Every signal blocked across the clone (and so in the child, which
    // never unblocks): no host handler can run in the probe child.
    let old_mask = sys::block_all_signals().map_err(failed(Step::Prepare))?;
    // SAFETY: `stack` is a live mapping of STACK_LEN bytes until unmapped
    // below; without CLONE_VM the child runs on its own copy of it and of
    // `args`; `probe_child` makes only raw syscalls and ends in `_exit`. No
    // exit signal is requested (the pidfd is waited on with __WALL).
    let cloned = unsafe {
        sys::clone_with_stack(
            probe_child,
            stack,
            STACK_LEN,
            flags | libc::CLONE_PIDFD,
            (&mut args as *mut ChildArgs).cast(),
            &mut pidfd,
        )
    };
    sys::restore_signal_mask(&old_mask);
    // SAFETY: the mapping came from map_stack and the parent no longer uses it.
    unsafe { sys::unmap_stack(stack, STACK_LEN) };
    let pid = cloned.map_err(failed(Step::Clone))?;
    // SAFETY: CLONE_PIDFD stored a fresh pidfd that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    drop((go_r, result_w));

    let released = match task {
        Task::Exit => Ok(()),
        Task::MountOverlay => {
            write_id_map(pid).and_then(|_| sys::write_all(go_w.as_raw_fd(), b"G")).map_err(failed(Step::IdMap))
        }
    };
    drop(go_w);
    if released.is_err() {
        let _ = sys::pidfd_send_signal(pidfd.as_raw_fd(), libc::SIGKILL);
    }
    let timed_out = !wait_readable(pidfd.as_raw_fd(), PROBE_TIMEOUT_MS);
    if timed_out {
        let _ = sys::pidfd_send_signal(pidfd.as_raw_fd(), libc::SIGKILL);
    }
    let reaped = sys::waitid_pidfd(pidfd.as_raw_fd(), false).map_err(failed(Step::Wait))?;
    released?;
    if timed_out {
        return Err(Failure { step: Step::Timeout, errno: Errno::ETIMEDOUT });
    }
    match reaped {
        Some(r) if r.code == libc::CLD_EXITED && r.status == 0 => Ok(()),
        _ => Err(read_frame(&result_r).unwrap_or(Failure { step: Step::Killed, errno: Errno::UnknownErrno })),
    }
}

/// Waits until the pidfd reports the child's exit; false on timeout.
fn wait_readable(fd: RawFd, timeout_ms: c_int) -> bool {
    let mut fds = [libc::pollfd { fd, events: libc::POLLIN, revents: 0 }];
    loop {
        match sys::poll(&mut fds, timeout_ms) {
            Ok(n) => return n > 0,
            Err(Errno::EINTR) => continue,
            Err(_) => return true,
        }
    }
}

/// A single-id map, like the engine's for a rootless caller: the caller's
/// uid and gid seen as 0 inside.
fn write_id_map(pid: i32) -> Result<(), Errno> {
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    let io = |e: std::io::Error| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    match std::fs::write(format!("/proc/{pid}/setgroups"), "deny") {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    std::fs::write(format!("/proc/{pid}/uid_map"), format!("0 {uid} 1\n")).map_err(io)?;
    std::fs::write(format!("/proc/{pid}/gid_map"), format!("0 {gid} 1\n")).map_err(io)
}

fn read_frame(fd: &OwnedFd) -> Option<Failure> {
    let mut buf = [0u8; 5];
    let n = sys::read(fd.as_raw_fd(), &mut buf).ok()?;
    if n != buf.len() {
        return None;
    }
    Some(Failure {
        step: Step::from_u8(buf[0])?,
        errno: Errno::from_raw(i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]])),
    })
}

/// The probe child. Runs in a copy of a possibly multi-threaded host: raw
/// syscalls on prepared data only, then `_exit`.
extern "C" fn probe_child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` points at the parent's `ChildArgs`, in this process's
    // private copy of the parent's memory (no CLONE_VM); nothing else uses it.
    let args = unsafe { &*arg.cast::<ChildArgs>() };
    let outcome = match args.task {
        Task::Exit => Ok(()),
        Task::MountOverlay => mount_overlay(args),
    };
    match outcome {
        Ok(()) => sys::exit_now(0),
        Err(f) => {
            let e = (f.errno as i32).to_le_bytes();
            let frame = [f.step as u8, e[0], e[1], e[2], e[3]];
            let _ = sys::write_all(args.result_w, &frame);
            sys::exit_now(1)
        }
    }
}

/// Child side of the mount probe: everything stays detached (fsmount without
/// move_mount), so nothing is attached anywhere, even in the new namespace.
fn mount_overlay(args: &ChildArgs) -> Result<(), Failure> {
    sys::close(args.go_w);
    let mut go = [0u8; 1];
    match sys::read(args.go_r, &mut go) {
        Ok(1) => {}
        Ok(_) => return Err(failed(Step::Release)(Errno::EPIPE)),
        Err(e) => return Err(failed(Step::Release)(e)),
    }
    sys::make_mounts_private().map_err(failed(Step::Private))?;
    let ctx = sys::fsopen(c"tmpfs").map_err(failed(Step::Tmpfs))?;
    sys::fsconfig_create(ctx).map_err(failed(Step::Tmpfs))?;
    let tmp = sys::fsmount(ctx, 0).map_err(failed(Step::Tmpfs))?;
    sys::fchdir(tmp).map_err(failed(Step::Layers))?;
    for dir in [c"l", c"u", c"w"] {
        sys::mkdirat(libc::AT_FDCWD, dir, 0o755).map_err(failed(Step::Layers))?;
    }
    // Layer paths are relative to the cwd, the detached tmpfs.
    let ovl = sys::fsopen(c"overlay").map_err(failed(Step::OverlayOpen))?;
    sys::fsconfig_string(ovl, c"lowerdir", c"l")
        .and_then(|_| sys::fsconfig_string(ovl, c"upperdir", c"u"))
        .and_then(|_| sys::fsconfig_string(ovl, c"workdir", c"w"))
        .map_err(failed(Step::OverlayOptions))?;
    fsconfig_flag(ovl, c"userxattr").map_err(failed(Step::Userxattr))?;
    sys::fsconfig_create(ovl).map_err(failed(Step::OverlayCreate))?;
    let merged = sys::fsmount(ovl, 0).map_err(failed(Step::OverlayMount))?;
    sys::mkdirat(merged, c"probe", 0o755).map_err(failed(Step::OverlayWrite))?;
    Ok(())
}

/// `fsconfig(FSCONFIG_SET_FLAG)`, which `sys` does not wrap.
fn fsconfig_flag(fd: RawFd, key: &CStr) -> Result<(), Errno> {
    // SAFETY: `key` is a valid C string; a flag takes a NULL value and aux 0.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fd,
            sys::FSCONFIG_SET_FLAG,
            key.as_ptr(),
            std::ptr::null::<c_void>(),
            0 as c_int,
        )
    };
    if r < 0 { Err(Errno::last()) } else { Ok(()) }
}

// ---------------------------------------------------------------------------
// subordinate ids

fn subordinate_ids() -> Feature {
    let euid = nix::unistd::geteuid().as_raw();
    let user = crate::userns::name_of("/etc/passwd", euid);
    let name = user.clone().unwrap_or_else(|| euid.to_string());
    let sub = |file: &str| subordinate_entry(file, user.as_deref(), euid);
    let (subuid, subgid) = (sub("/etc/subuid"), sub("/etc/subgid"));
    let helpers: Vec<(&str, Option<PathBuf>)> =
        ["newuidmap", "newgidmap"].into_iter().map(|t| (t, find_on_path(t))).collect();
    let no_new_privs = proc_status().get("NoNewPrivs").map(String::as_str) == Some("1");

    let mut parts = Vec::new();
    for (file, entry) in [("/etc/subuid", &subuid), ("/etc/subgid", &subgid)] {
        parts.push(match entry {
            Some(range) => format!("{file}: {range}"),
            None => format!("{file}: no entry for {name}"),
        });
    }
    let mut helpers_ok = true;
    for (tool, path) in &helpers {
        parts.push(match path {
            None => {
                helpers_ok = false;
                format!("{tool} not on PATH")
            }
            Some(p) => {
                let how = helper_privilege(p);
                if how.is_none() {
                    helpers_ok = false;
                }
                format!("{} ({})", p.display(), how.unwrap_or("neither setuid nor file capabilities"))
            }
        });
    }
    if no_new_privs && euid != 0 {
        helpers_ok = false;
        parts.push("no_new_privs is set: setuid helpers cannot gain privilege".to_string());
    }
    let entries_ok = subuid.is_some() && subgid.is_some();
    // Root writes its maps itself; only the subordinate mapping needs entries.
    let available = entries_ok && (euid == 0 || helpers_ok);
    if euid == 0 {
        parts.push("root writes id maps itself (helpers unused)".to_string());
    }
    let mut fixes = Vec::new();
    if euid != 0 && helpers.iter().any(|(_, p)| p.is_none()) {
        fixes.push("apt-get install uidmap".to_string());
    }
    if !entries_ok {
        fixes.push(format!("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {name}"));
    }
    let mut detail = parts.join("; ");
    if !available {
        detail.push_str("; without them only a single-id map is possible");
    }
    let status = if available { Status::Ok } else { Status::Warn };
    let fix = (!available && !fixes.is_empty()).then(|| fixes.join("; "));
    Feature::new("subordinate_ids", status, detail).fix(fix)
}

/// The first `start:count` entry of `file` for `name` or the numeric `id`,
/// as the engine reads it (at most one 65536-id range is used).
fn subordinate_entry(file: &str, name: Option<&str>, id: u32) -> Option<String> {
    let (start, count) = crate::userns::subordinate_range(file, name, id)?;
    Some(format!("{start}-{}", u64::from(start) + u64::from(count).saturating_sub(1)))
}

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// How a newuidmap-style helper gets its privilege, if it does.
fn helper_privilege(path: &Path) -> Option<&'static str> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.permissions().mode() & 0o4000 != 0 && std::os::unix::fs::MetadataExt::uid(&meta) == 0 {
        return Some("setuid root");
    }
    let c_path = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str())).ok()?;
    // SAFETY: valid C strings; a NULL buffer with size 0 only asks for the
    // attribute's size.
    let r = unsafe { libc::getxattr(c_path.as_ptr(), c"security.capability".as_ptr(), std::ptr::null_mut(), 0) };
    (r > 0).then_some("file capabilities")
}

// ---------------------------------------------------------------------------
// cgroups

struct MountLine {
    root: String,
    mount_point: PathBuf,
    fstype: String,
    options: String,
    super_options: String,
}

fn mountinfo() -> Vec<MountLine> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            Some(MountLine {
                root: unescape(l.get(3)?),
                mount_point: PathBuf::from(unescape(l.get(4)?)),
                options: l.get(5)?.to_string(),
                fstype: r.first()?.to_string(),
                super_options: r.get(2).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b.get(i + 1..i + 4).filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const V1_CONTROLLERS: [&str; 15] = [
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

/// `(controllers, path)` lines of /proc/self/cgroup; `0::/path` has none.
fn own_cgroups() -> Vec<(Vec<String>, String)> {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctl, path) = (f.next()?, f.next()?, f.next()?);
            let ctl = ctl.split(',').filter(|c| !c.is_empty()).map(String::from).collect();
            Some((ctl, path.to_string()))
        })
        .collect()
}

/// The caller's cgroup directory under mount `m` for a /proc/self/cgroup path.
fn own_dir(m: &MountLine, path: &str) -> PathBuf {
    let rel = if m.root == "/" { path } else { path.strip_prefix(m.root.as_str()).unwrap_or(path) };
    match rel.trim_start_matches('/') {
        "" => m.mount_point.clone(),
        rel => m.mount_point.join(rel),
    }
}

fn writable(dir: &Path) -> bool {
    nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
}

fn cgroups() -> Feature {
    let mounts = mountinfo();
    let own = own_cgroups();
    let mut parts = Vec::new();
    let mut versions = Vec::new();
    // Controllers the caller can use in a place it can create cgroups in.
    let mut usable: Vec<String> = Vec::new();
    let mut writable_places = Vec::new();

    // v1: one hierarchy per mount (a controller may be mounted twice).
    let mut v1_names: Vec<String> = Vec::new();
    let mut v1_writable: Vec<String> = Vec::new();
    for m in mounts.iter().filter(|m| m.fstype == "cgroup") {
        let ctl: Vec<String> = m
            .super_options
            .split(',')
            .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
            .map(String::from)
            .collect();
        if ctl.is_empty() || ctl.iter().all(|c| v1_names.contains(c)) {
            continue;
        }
        let path = own
            .iter()
            .find(|(c, _)| !c.is_empty() && c.iter().all(|x| ctl.contains(x)))
            .map_or("/", |(_, p)| p.as_str());
        let dir = own_dir(m, path);
        let rw = writable(&dir) && !m.options.split(',').any(|o| o == "ro");
        for c in &ctl {
            if !v1_names.contains(c) {
                v1_names.push(c.clone());
                if rw {
                    v1_writable.push(c.clone());
                    usable.push(c.clone());
                }
            }
        }
    }
    if !v1_names.is_empty() {
        versions.push("v1");
        parts.push(format!("v1 ({})", v1_names.join(", ")));
    }

    // v2: the unified hierarchy, full or (on hybrid hosts) beside v1.
    let v2 = mounts.iter().find(|m| m.fstype == "cgroup2");
    let mut v2_note = None;
    if let Some(m) = v2 {
        versions.push("v2");
        let root_ctl = read_trimmed(m.mount_point.join("cgroup.controllers")).unwrap_or_default();
        let root_ctl: Vec<&str> = root_ctl.split_whitespace().collect();
        let ctl_text = match root_ctl.as_slice() {
            [] => "no controllers".to_string(),
            [one] => format!("{one} only"),
            many => many.join(", "),
        };
        parts.push(format!("v2 ({ctl_text}) at {}", m.mount_point.display()));
        let path = own.iter().find(|(c, _)| c.is_empty()).map_or("/", |(_, p)| p.as_str());
        let dir = own_dir(m, path);
        let own_ctl = read_trimmed(dir.join("cgroup.controllers")).unwrap_or_default();
        if writable(&dir) && !m.options.split(',').any(|o| o == "ro") {
            for c in own_ctl.split_whitespace() {
                if !usable.iter().any(|u| u == c) {
                    usable.push(c.to_string());
                }
            }
            writable_places.push(format!(
                "v2 {} ({})",
                dir.display(),
                if own_ctl.is_empty() { "no controllers" } else { own_ctl.as_str() }
            ));
        } else {
            v2_note = Some(format!("own v2 cgroup {} not writable", dir.display()));
        }
    }
    if !v1_writable.is_empty() {
        writable_places.insert(0, format!("v1 {}", v1_writable.join(", ")));
    }
    if versions.is_empty() {
        return Feature::new(
            "cgroups",
            Status::Missing,
            "no cgroup filesystem mounted; limits fall back to rlimits".to_string(),
        )
        .value("none")
        .fix(Some("mount cgroup2 at /sys/fs/cgroup".to_string()));
    }
    let mut detail = parts.join(" + ");
    if writable_places.is_empty() {
        detail.push_str("; can create cgroups: nowhere");
    } else {
        detail.push_str(&format!("; can create cgroups in: {}", writable_places.join("; ")));
    }
    if let Some(n) = v2_note {
        detail.push_str(&format!("; {n}"));
    }
    let limits = ["memory", "pids"];
    let enforceable = limits.iter().all(|c| usable.iter().any(|u| u == c));
    let value = versions.join("+");
    if enforceable {
        return Feature::new("cgroups", Status::Ok, detail).value(value);
    }
    let lacking: Vec<&str> = limits.iter().copied().filter(|c| !usable.iter().any(|u| u == c)).collect();
    detail.push_str(&format!("; no usable {} controller: limits fall back to rlimits", lacking.join("/")));
    let fix = if v2.is_some() && v1_names.is_empty() {
        "start under a delegated cgroup, e.g. \
         `systemd-run --user --scope -p Delegate=yes sandbox ...`, \
         with memory and pids enabled in its parent's cgroup.subtree_control"
    } else if v2.is_some() {
        "cgroup v1 is not delegated to unprivileged users: run as root, or boot with \
         systemd.unified_cgroup_hierarchy=1 and use a delegated cgroup v2 subtree"
    } else {
        "cgroup v1 is not delegated to unprivileged users: run as root, or boot with \
         systemd.unified_cgroup_hierarchy=1 for cgroup v2 delegation"
    };
    let mut f = Feature::new("cgroups", Status::Warn, detail).value(value).fix(Some(fix.to_string()));
    f.available = false;
    f
}

// ---------------------------------------------------------------------------
// seccomp and Landlock

fn seccomp() -> Feature {
    let actions = read_trimmed("/proc/sys/kernel/seccomp/actions_avail");
    let status = proc_status();
    let mode = status.get("Seccomp").cloned();
    let filters = status.get("Seccomp_filters").cloned();
    let current = match (mode.as_deref(), filters.as_deref()) {
        (Some("2"), Some(n)) => format!("; this process already runs under {n} filter(s)"),
        (Some("2"), None) => "; this process already runs under a filter".to_string(),
        (Some("1"), _) => "; this process is in strict mode".to_string(),
        _ => String::new(),
    };
    match actions {
        Some(list) if list.split_whitespace().any(|a| a == "errno") => {
            Feature::new("seccomp", Status::Ok, format!("filter actions: {list}{current}")).value(list)
        }
        Some(list) => {
            Feature::new("seccomp", Status::Warn, format!("filter actions lack errno: {list}{current}")).value(list)
        }
        None if mode.is_some() => Feature::new(
            "seccomp",
            Status::Warn,
            format!("seccomp present but no /proc/sys/kernel/seccomp/actions_avail{current}"),
        ),
        None => Feature::new("seccomp", Status::Missing, "no seccomp support".to_string())
            .fix(Some("use a kernel built with CONFIG_SECCOMP_FILTER".to_string())),
    }
}

const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;

fn landlock() -> Feature {
    // SAFETY: a NULL attr with size 0 and the VERSION flag only returns the
    // ABI number; no ruleset fd is created.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if r > 0 {
        return Feature::new("landlock", Status::Ok, format!("ABI {r}")).value(r.to_string());
    }
    let errno = Errno::last();
    let fix = match errno {
        Errno::EOPNOTSUPP => "Landlock is built in but off: add landlock to the lsm= boot parameter",
        Errno::ENOSYS => "use a kernel built with CONFIG_SECURITY_LANDLOCK (5.13+)",
        _ => "a seccomp filter of the surrounding container may hide landlock_create_ruleset",
    };
    Feature::new("landlock", Status::Warn, format!("unavailable ({errno}); sandboxes run without Landlock"))
        .fix(Some(fix.to_string()))
}

// ---------------------------------------------------------------------------
// helpers

fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

/// `Key: value` pairs of /proc/self/status.
fn proc_status() -> std::collections::HashMap<String, String> {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("6.18.44-fc-v595"), Some((6, 18)));
        assert_eq!(parse_version("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/plain\"), r"/plain\");
    }
}
