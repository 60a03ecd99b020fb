//! The child side, from `clone` to `execve`. Everything here runs in a copy
//! of a possibly multi-threaded host (Python, C++ pools) whose other threads
//! may hold the allocator's locks: only syscalls on data prepared by the
//! parent (`ChildPlan`), no allocation, no locks, no panics.
//!
//! Process shape: the cloned child builds the sandbox, becomes a tiny init
//! (pid 1 of the new pid namespace), and clones the workload, which drops
//! privileges and execs. Init reaps zombies, forwards SIGTERM/SIGINT/…,
//! reports the workload's status on the lifeline socket and exits with it.
//! When the lifeline reports the supervising *process* gone (all its copies
//! of the socket closed), init kills the sandbox: unlike PR_SET_PDEATHSIG
//! this does not fire when only the spawning thread exits.

use super::sync::{FailureFrame, encode_status, step};
use crate::mount::MountPlan;
use crate::mount::rootfs;
use crate::sys::{self, Errno};
use std::ffi::{CString, c_char, c_int, c_void};
use std::os::fd::RawFd;

/// Fixed fd numbers in the child after `arrange_fds`.
pub const SETUP_FD: RawFd = 3;
pub const LIFELINE_FD: RawFd = 4;
/// Byte the parent sends on the lifeline to have init kill and reap all.
pub const KILL_REQUEST: u8 = b'K';
/// Exit code of init when the sandbox could not be set up.
pub const SETUP_FAILED: c_int = 125;

/// Everything the child needs, prepared by the parent before the clone.
pub struct ChildPlan {
    pub mount: Option<MountPlan>,
    pub hostname: Option<CString>,
    pub loopback: bool,
    pub pid_namespace: bool,
    /// The run's timeout: init kills the sandbox when it passes, whether or
    /// not the parent is waiting.
    pub timeout_ms: Option<u64>,
    /// Drop the caller's supplementary groups (allowed when not denied).
    pub setgroups: bool,
    /// Init runs as uid/gid 0 inside (when the map has a root).
    pub init_as_root: bool,
    pub uid: u32,
    pub gid: u32,
    pub last_cap: u32,
    /// Capabilities the workload keeps (bit mask); 0 drops them all.
    pub keep_caps: u64,
    pub cwd: CString,
    /// Candidate paths for the program, in PATH order (execvp semantics).
    pub exec_paths: Vec<CString>,
    pub argv: Vec<*const c_char>,
    pub envp: Vec<*const c_char>,
    /// Owners of the strings `argv`/`envp` point into.
    pub _strings: Vec<CString>,
    /// Parent fds to become 0, 1, 2, SETUP_FD, LIFELINE_FD.
    pub fds: [RawFd; 5],
    /// Stack for the workload clone (inside the child's copy of memory).
    pub workload_stack: *mut u8,
    pub workload_stack_len: usize,
    /// The host's argv and environ areas (`[start, end)`), wiped in init.
    pub host_args: [(usize, usize); 2],
    /// Allow the workload to create user namespaces of its own.
    pub nested_userns: bool,
    /// Run the workload in an inner user + mount namespace (when it keeps
    /// capabilities): the kernel then locks every mount flag and the
    /// nested-namespace limit against it, as bubblewrap does.
    pub inner_userns: bool,
    /// Namespaces the workload unshares itself in inner mode (net, uts, ipc),
    /// so its kept capabilities apply to them.
    pub inner_unshare: c_int,
    /// The inner namespace's maps: every id of the outer one, to itself.
    pub inner_uid_map: CString,
    pub inner_gid_map: CString,
    /// Set by init: the pipe on which the workload waits for its inner maps.
    pub inner_sync: [RawFd; 2],
    /// Set by init for the workload: the signalfd to close.
    pub signal_fd: RawFd,
    /// Resource limits the workload gets before exec: (resource, soft, hard).
    pub rlimits: Vec<crate::cgroup::Rlimit>,
    /// Make the cgroup namespace after the parent moved us into our cgroup.
    pub unshare_cgroup_ns: bool,
}

fn report(step: u32, errno: Errno, index: u32) {
    let frame = FailureFrame { step, errno: errno as i32, index }.encode();
    let _ = sys::write_all(SETUP_FD, &frame);
}

fn die(step: u32, errno: Errno, index: u32) -> ! {
    report(step, errno, index);
    sys::exit_now(SETUP_FAILED)
}

/// Entry point of the cloned child.
pub extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `ChildPlan`, copied with the address
    // space into this process and used by nobody else here.
    let plan = unsafe { &mut *(arg as *mut ChildPlan) };
    if let Err(e) = arrange_fds(&plan.fds) {
        // No frame can be sent without the setup fd in place: exit only.
        let _ = e;
        sys::exit_now(SETUP_FAILED);
    }
    // Not one host signal handler may run here: the parent blocked all
    // signals across the clone; reset every disposition, then unblock.
    if let Err(e) = sys::reset_signals() {
        die(step::SIGNALS, e, 0);
    }
    scrub_host_identity(plan);
    wait_for_parent();
    if plan.unshare_cgroup_ns
        && let Err(e) = sys::unshare(libc::CLONE_NEWCGROUP)
    {
        die(step::CGROUPNS, e, 0);
    }
    // Init holds a copy of the host's memory: not dumpable, so /proc/1/mem
    // and ptrace need CAP_SYS_PTRACE over the *host's* user namespace, even
    // for a workload given capabilities inside. (Only after the id maps are
    // written: a non-dumpable child's /proc files belong to host root.)
    if let Err(e) = sys::set_dumpable(false) {
        die(step::SIGNALS, e, 1);
    }
    build_sandbox(plan);
    become_init(plan)
}

/// Init is a copy of the host process: wipe the host's argv and environ so
/// /proc/1/cmdline inside shows nothing of them, and rename it.
fn scrub_host_identity(plan: &ChildPlan) {
    for (start, end) in plan.host_args {
        // SAFETY: the ranges are this process's own (copied) argv and
        // environ areas, read from /proc/self/stat; nothing reads them here.
        unsafe { sys::wipe(start, end) };
    }
    sys::set_process_name(c"sandbox-init");
}

/// Moves the five fds to 0..=4 without clobbering, and closes everything
/// else the host had open (no fd of the caller leaks in).
fn arrange_fds(fds: &[RawFd; 5]) -> Result<(), Errno> {
    let mut high = [-1; 5];
    for (h, &fd) in high.iter_mut().zip(fds) {
        *h = sys::dup_above(fd, 10)?;
    }
    for (target, &h) in high.iter().enumerate() {
        sys::dup2(h, target as RawFd)?;
    }
    sys::close_range_from(5, false)
}

/// Blocks until the parent has written the id maps; exits if it is gone.
fn wait_for_parent() {
    let mut b = [0u8; 1];
    match sys::read(LIFELINE_FD, &mut b) {
        Ok(1) => {}
        Ok(_) => sys::exit_now(SETUP_FAILED),
        Err(e) => die(step::WAIT_PARENT, e, 0),
    }
}

fn build_sandbox(plan: &mut ChildPlan) {
    if let Some(mount) = plan.mount.as_mut()
        && let Err(f) = rootfs::open_sources(mount)
    {
        die(step::MOUNT_BASE + f.what as u32, f.errno, f.index);
    }
    // From here on act as the sandbox's root: files we create must belong
    // to an id mapped inside (a root caller's own uid 0 is not).
    if plan.setgroups
        && let Err(e) = sys::setgroups_empty()
    {
        die(step::SETGROUPS, e, 0);
    }
    if plan.init_as_root
        && let Err(e) = sys::setresgid(0).and_then(|_| sys::setresuid(0))
    {
        die(step::INIT_IDS, e, 0);
    }
    // Forbid user namespaces below this one (bubblewrap's --disable-userns):
    // the limit is per user namespace and checked up the whole chain. Done
    // through the host's /proc while it is still there: the new one's
    // /proc/sys is read-only.
    let limit: &[u8] = if plan.inner_userns { b"1" } else { b"0" };
    if !plan.nested_userns
        && let Err(e) = sys::write_file(c"/proc/sys/user/max_user_namespaces", limit)
    {
        die(step::NESTED_USERNS, e, 0);
    }
    if let Some(mount) = plan.mount.as_mut()
        && let Err(f) = rootfs::assemble(mount)
    {
        die(step::MOUNT_BASE + f.what as u32, f.errno, f.index);
    }
    if !plan.inner_userns {
        set_up_own_namespaces(plan);
    }
    match sys::join_new_session_keyring() {
        Ok(()) | Err(Errno::ENOSYS) => {}
        Err(e) => die(step::KEYRING, e, 0),
    }
}

/// Hostname and loopback: done by init, or by the workload in inner mode
/// (after it unshared those namespaces into its own user namespace).
fn set_up_own_namespaces(plan: &ChildPlan) {
    if let Some(name) = &plan.hostname
        && let Err(e) = sys::sethostname(name)
    {
        die(step::HOSTNAME, e, 0);
    }
    if plan.loopback
        && let Err(e) = sys::loopback_up()
    {
        die(step::LOOPBACK, e, 0);
    }
}

const FORWARDED: &[c_int] = &[
    libc::SIGCHLD,
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// Starts the workload and supervises it as init; never returns.
fn become_init(plan: &mut ChildPlan) -> c_int {
    let sigfd = match sys::block_into_signalfd(FORWARDED) {
        Ok(fd) => fd,
        Err(e) => die(step::SIGNALS, e, 0),
    };
    plan.signal_fd = sigfd;
    if !plan.pid_namespace {
        let _ = sys::set_child_subreaper();
    }
    let workload = if plan.inner_userns { start_in_inner_userns(plan) } else { start_vforked(plan) };
    let deadline_ms = plan.timeout_ms.map(|t| sys::monotonic_ms().saturating_add(t));
    // Init keeps no copy of the setup pipe (EOF tells the parent "exec
    // done") nor of the workload's stdio.
    for fd in [SETUP_FD, 0, 1, 2] {
        sys::close(fd);
    }
    init_loop(sigfd, workload, plan.pid_namespace, deadline_ms)
}

/// CLONE_VM|CLONE_VFORK (posix_spawn's trick): the workload borrows init's
/// memory until it execs, sparing a copy of the address space; init waits
/// meanwhile.
fn start_vforked(plan: &mut ChildPlan) -> libc::pid_t {
    // SAFETY: the workload runs on its own stack (the upper half of the
    // mapping), only reads the plan, calls only async-signal-safe code and
    // ends in execve or _exit; init is suspended until then.
    unsafe { clone_workload(plan, libc::CLONE_VM | libc::CLONE_VFORK) }.unwrap_or_else(|e| die(step::FORK, e, 0))
}

/// Clones `workload_main` on the workload stack with `flags | SIGCHLD`.
///
/// # Safety
/// With CLONE_VM the caller must keep init suspended (CLONE_VFORK) while the
/// workload shares its memory; `workload_main` only runs async-signal-safe
/// code and ends in execve or _exit.
unsafe fn clone_workload(plan: &mut ChildPlan, flags: c_int) -> Result<libc::pid_t, Errno> {
    let mut unused = 0;
    // SAFETY: the workload stack lies in this process's mapping; the rest is
    // guaranteed by the caller.
    unsafe {
        sys::clone_with_stack(
            workload_main,
            plan.workload_stack,
            plan.workload_stack_len,
            flags | libc::SIGCHLD,
            (plan as *mut ChildPlan).cast(),
            &mut unused,
        )
    }
}

/// Starts the workload in a new user + mount namespace below init's and
/// maps it identically. Its mounts are then "locked" (the kernel forbids a
/// less privileged namespace to remount them writable or unmount them), so
/// capabilities kept inside cannot undo the read-only binds or masks.
fn start_in_inner_userns(plan: &mut ChildPlan) -> libc::pid_t {
    let (r, w) = sys::pipe().unwrap_or_else(|e| die(step::INNER_USERNS, e, 0));
    plan.inner_sync = [r, w];
    // The workload must be dumpable for init to write its /proc maps (a
    // non-dumpable task's /proc files belong to host root): let it inherit a
    // dumpable copy, then make init non-dumpable again. Nothing else runs in
    // the sandbox during that window, and the workload only runs our code.
    let _ = sys::set_dumpable(true);
    // SAFETY: a plain fork-like clone (no CLONE_VM): the workload gets its
    // own copy of memory, runs on its stack in that copy, and exits or execs.
    let workload = unsafe { clone_workload(plan, libc::CLONE_NEWUSER | libc::CLONE_NEWNS) };
    if let Err(e) = sys::set_dumpable(false) {
        if let Ok(pid) = workload {
            let _ = sys::kill(pid, libc::SIGKILL);
        }
        die(step::INNER_USERNS, e, 1);
    }
    let workload = workload.unwrap_or_else(|e| die(step::FORK, e, 1));
    let mut buf = [0u8; 64];
    let written = [(&b"uid_map"[..], &plan.inner_uid_map), (&b"gid_map"[..], &plan.inner_gid_map)]
        .into_iter()
        .try_for_each(|(name, map)| match sys::proc_path(&mut buf, workload, name) {
            Some(path) => sys::write_file(path, map.to_bytes()),
            None => Err(Errno::ENAMETOOLONG),
        });
    if let Err(e) = written.and_then(|_| sys::write_all(w, b"G")) {
        let _ = sys::kill(workload, libc::SIGKILL);
        die(step::INNER_USERNS, e, 0);
    }
    sys::close(r);
    sys::close(w);
    workload
}

fn init_loop(sigfd: RawFd, workload: libc::pid_t, pid_namespace: bool, deadline_ms: Option<u64>) -> ! {
    let kill_all = || {
        if pid_namespace {
            let _ = sys::kill(-1, libc::SIGKILL);
        } else {
            let _ = sys::kill(-workload, libc::SIGKILL);
            let _ = sys::kill(workload, libc::SIGKILL);
        }
    };
    // Kill everything, then reap it ourselves: children the kernel reaps in
    // a pid-namespace teardown are not charged to us, and the CPU time of a
    // killed run would be lost.
    let kill_and_report = |timed_out: bool| -> ! {
        kill_all();
        let mut status = libc::SIGKILL;
        while let Ok((pid, st)) = sys::reap_blocking() {
            if pid == workload {
                status = st;
            }
        }
        let _ = sys::write_all(LIFELINE_FD, &encode_status(status, timed_out));
        sys::exit_now(shell_code(status));
    };
    loop {
        let wait_ms = match deadline_ms {
            None => -1,
            Some(deadline) => match deadline.checked_sub(sys::monotonic_ms()) {
                None | Some(0) => kill_and_report(true),
                Some(left) => left.min(c_int::MAX as u64) as c_int,
            },
        };
        let mut fds = [
            libc::pollfd { fd: sigfd, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: LIFELINE_FD, events: libc::POLLIN, revents: 0 },
        ];
        if sys::poll(&mut fds, wait_ms).is_err() {
            continue;
        }
        if fds[1].revents != 0 {
            let mut b = [0u8; 1];
            if let Ok(1) = sys::read(LIFELINE_FD, &mut b)
                && b[0] == KILL_REQUEST
            {
                kill_and_report(false);
            }
            // EOF: the supervising process is gone. Take the sandbox along.
            kill_all();
            sys::exit_now(SETUP_FAILED);
        }
        if fds[0].revents == 0 {
            continue;
        }
        let Ok(sig) = sys::read_signal(sigfd) else {
            continue;
        };
        if sig != libc::SIGCHLD {
            let _ = sys::kill(workload, sig);
            continue;
        }
        while let Ok(Some((pid, status))) = sys::reap_any() {
            if pid == workload {
                let _ = sys::write_all(LIFELINE_FD, &encode_status(status, false));
                if !pid_namespace {
                    kill_all();
                }
                // Exiting as pid 1 tears the pid namespace down: no survivor.
                sys::exit_now(shell_code(status));
            }
        }
    }
}

/// Init exits with the workload's status, shell-style (128+N for signal N),
/// for anyone who looks at init rather than the lifeline frame.
fn shell_code(status: c_int) -> c_int {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

/// The workload: drop everything, then exec. Never returns.
extern "C" fn workload_main(arg: *mut c_void) -> c_int {
    // SAFETY: as in `child_main`; this is a fresh copy in the workload process.
    let plan = unsafe { &*(arg as *const ChildPlan) };
    if plan.inner_userns {
        wait_for_inner_maps(plan);
        if plan.inner_unshare != 0
            && let Err(e) = sys::unshare(plan.inner_unshare)
        {
            die(step::INNER_USERNS, e, 2);
        }
        set_up_own_namespaces(plan);
    }
    let _ = sys::setsid();
    sys::close(plan.signal_fd);
    sys::close(LIFELINE_FD);
    // Dispositions were reset by init; only its blocked mask remains.
    if let Err(e) = sys::unblock_all_signals() {
        die(step::SIGNALS, e, 0);
    }
    if let Err(e) = sys::chdir(&plan.cwd) {
        die(step::CWD, e, 0);
    }
    drop_privileges(plan);
    for (i, &(resource, soft, hard)) in plan.rlimits.iter().enumerate() {
        if let Err(e) = sys::set_rlimit(resource, soft, hard) {
            die(step::RLIMIT, e, i as u32);
        }
    }
    if let Err(e) = sys::close_range_from(3, true) {
        die(step::CLOSE_FDS, e, 0);
    }
    exec(plan)
}

/// Blocks until init has written this process's inner id maps.
fn wait_for_inner_maps(plan: &ChildPlan) {
    let [r, w] = plan.inner_sync;
    sys::close(w);
    let mut b = [0u8; 1];
    if sys::read(r, &mut b) != Ok(1) {
        sys::exit_now(SETUP_FAILED);
    }
    sys::close(r);
}

fn drop_privileges(plan: &ChildPlan) {
    // Bounding set first: dropping it needs CAP_SETPCAP, gone after setuid.
    if let Err(e) = sys::drop_bounding_and_ambient(plan.last_cap, plan.keep_caps) {
        die(step::CAPS, e, 0);
    }
    if plan.keep_caps != 0
        && let Err(e) = sys::keep_caps_on_setuid()
    {
        die(step::CAPS, e, 2);
    }
    if let Err(e) = sys::setresgid(plan.gid) {
        die(step::SETGID, e, plan.gid);
    }
    if let Err(e) = sys::setresuid(plan.uid) {
        die(step::SETUID, e, plan.uid);
    }
    if let Err(e) = sys::set_capabilities(plan.keep_caps) {
        die(step::CAPS, e, 1);
    }
    if let Err(e) = sys::set_no_new_privs() {
        die(step::NO_NEW_PRIVS, e, 0);
    }
}

/// execvp semantics over the prepared candidates: ENOENT/ENOTDIR move on,
/// EACCES is remembered, anything else stops the search.
fn exec(plan: &ChildPlan) -> ! {
    let mut last = Errno::ENOENT;
    let mut saw_eacces = false;
    for path in &plan.exec_paths {
        let e = sys::execve(path, plan.argv.as_ptr(), plan.envp.as_ptr());
        match e {
            Errno::ENOENT | Errno::ENOTDIR | Errno::ESTALE | Errno::ELOOP | Errno::ENAMETOOLONG => {}
            Errno::EACCES => saw_eacces = true,
            other => {
                last = other;
                break;
            }
        }
    }
    if saw_eacces && last == Errno::ENOENT {
        last = Errno::EACCES;
    }
    report(step::EXEC, last, 0);
    sys::exit_now(if last == Errno::ENOENT { 127 } else { 126 })
}
