//! The only raw syscall wrappers.
//!
//! Everything here is callable between `clone` and `execve` in a child of a
//! multi-threaded host: no allocation, no locks, no formatting. Each wrapper
//! returns the raw `Errno` so the child can ship it to the parent in a fixed
//! frame, where it becomes a rich error.

use std::ffi::{CStr, c_int, c_uint, c_void};
use std::os::fd::RawFd;

pub use nix::errno::Errno;

pub type SysResult<T> = Result<T, Errno>;

// Constants of the new mount API that the `libc` crate does not carry yet
// (values from include/uapi/linux/mount.h, stable kernel ABI).
pub const OPEN_TREE_CLONE: c_uint = 1;
pub const OPEN_TREE_CLOEXEC: c_uint = libc::O_CLOEXEC as c_uint;
pub const AT_RECURSIVE: c_uint = 0x8000;
pub const MOVE_MOUNT_F_EMPTY_PATH: c_uint = 0x4;
pub const MOVE_MOUNT_T_EMPTY_PATH: c_uint = 0x40;
pub const FSOPEN_CLOEXEC: c_uint = 1;
pub const FSMOUNT_CLOEXEC: c_uint = 1;
pub const FSCONFIG_SET_FLAG: c_uint = 0;
pub const FSCONFIG_SET_STRING: c_uint = 1;
pub const FSCONFIG_CMD_CREATE: c_uint = 6;
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const P_PIDFD: libc::idtype_t = 3;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn check(ret: libc::c_long) -> SysResult<libc::c_long> {
    if ret < 0 { Err(Errno::last()) } else { Ok(ret) }
}

fn check_int(ret: c_int) -> SysResult<c_int> {
    if ret < 0 { Err(Errno::last()) } else { Ok(ret) }
}

/// Retries a call interrupted by a signal: the child and init must never
/// mistake EINTR for a failure.
fn retry<T>(mut f: impl FnMut() -> SysResult<T>) -> SysResult<T> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

pub fn open_tree(dirfd: RawFd, path: &CStr, flags: c_uint) -> SysResult<RawFd> {
    // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path.as_ptr(), flags) };
    check(r).map(|fd| fd as RawFd)
}

pub fn move_mount_fd(from: RawFd, to: RawFd) -> SysResult<()> {
    let empty = c"";
    // SAFETY: both paths are valid empty C strings; the fds are owned by the caller.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from,
            empty.as_ptr(),
            to,
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    check(r).map(drop)
}

pub fn move_mount_to_path(from: RawFd, to: &CStr) -> SysResult<()> {
    let empty = c"";
    // SAFETY: both paths are valid C strings for the duration of the call.
    let r = unsafe {
        libc::syscall(libc::SYS_move_mount, from, empty.as_ptr(), libc::AT_FDCWD, to.as_ptr(), MOVE_MOUNT_F_EMPTY_PATH)
    };
    check(r).map(drop)
}

pub fn mount_setattr(fd: RawFd, recursive: bool, attr_set: u64) -> SysResult<()> {
    let attr = MountAttr { attr_set, attr_clr: 0, propagation: 0, userns_fd: 0 };
    let flags = libc::AT_EMPTY_PATH as c_uint | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: `attr` lives on the stack for the call and its size is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd,
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    check(r).map(drop)
}

pub fn fsopen(fstype: &CStr) -> SysResult<RawFd> {
    // SAFETY: `fstype` is a valid C string.
    let r = unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) };
    check(r).map(|fd| fd as RawFd)
}

pub fn fsconfig_string(fd: RawFd, key: &CStr, value: &CStr) -> SysResult<()> {
    // SAFETY: key and value are valid C strings.
    let r = unsafe { libc::syscall(libc::SYS_fsconfig, fd, FSCONFIG_SET_STRING, key.as_ptr(), value.as_ptr(), 0) };
    check(r).map(drop)
}

pub fn fsconfig_create(fd: RawFd) -> SysResult<()> {
    // SAFETY: FSCONFIG_CMD_CREATE takes no pointers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fd,
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<c_void>(),
            0,
        )
    };
    check(r).map(drop)
}

pub fn fsmount(fd: RawFd, attrs: u64) -> SysResult<RawFd> {
    // SAFETY: plain integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs) };
    check(r).map(|fd| fd as RawFd)
}

/// Opens `path` below `root` as if `root` were `/`: absolute symlinks and
/// `..` cannot climb out, so a hostile rootfs cannot redirect a mount target
/// onto the host.
pub fn open_in_root(root: RawFd, path: &CStr, flags: c_int, mode: u32) -> SysResult<RawFd> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    };
    retry(|| {
        // SAFETY: `how` lives on the stack for the call and its size is passed.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root,
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        check(r).map(|fd| fd as RawFd)
    })
}

/// (device, inode) of an open fd.
pub fn inode_of(fd: RawFd) -> SysResult<(u64, u64)> {
    // SAFETY: stat is plain old data, filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out pointer.
    check_int(unsafe { libc::fstat(fd, &mut st) })?;
    Ok((st.st_dev, st.st_ino))
}

/// Whether an open fd is a directory.
pub fn inode_is_dir(fd: RawFd) -> bool {
    // SAFETY: stat is plain old data, filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out pointer.
    check_int(unsafe { libc::fstat(fd, &mut st) }).is_ok() && st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

pub fn mkdirat(dirfd: RawFd, name: &CStr, mode: u32) -> SysResult<()> {
    // SAFETY: `name` is a valid C string.
    check_int(unsafe { libc::mkdirat(dirfd, name.as_ptr(), mode) }).map(drop)
}

pub fn symlinkat(target: &CStr, dirfd: RawFd, name: &CStr) -> SysResult<()> {
    // SAFETY: both strings are valid C strings.
    check_int(unsafe { libc::symlinkat(target.as_ptr(), dirfd, name.as_ptr()) }).map(drop)
}

pub fn close(fd: RawFd) {
    // SAFETY: closing an fd this code owns; errors are irrelevant here.
    unsafe { libc::close(fd) };
}

pub fn close_range_from(first: c_uint, cloexec_only: bool) -> SysResult<()> {
    let flags = if cloexec_only { libc::CLOSE_RANGE_CLOEXEC } else { 0 };
    // SAFETY: plain integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, c_uint::MAX, flags) };
    check(r).map(drop)
}

pub fn pipe() -> SysResult<(RawFd, RawFd)> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` is a valid array of two ints.
    check_int(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok((fds[0], fds[1]))
}

/// Writes `/proc/<pid>/<name>` into `buf` as a C string, without allocating.
pub fn proc_path<'a>(buf: &'a mut [u8; 64], pid: libc::pid_t, name: &[u8]) -> Option<&'a CStr> {
    let mut digits = [0u8; 12];
    let mut n = pid.unsigned_abs();
    let mut len = 0;
    loop {
        *digits.get_mut(len)? = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut at = 0;
    let mut push = |b: u8| -> Option<()> {
        *buf.get_mut(at)? = b;
        at += 1;
        Some(())
    };
    b"/proc/".iter().try_for_each(|&b| push(b))?;
    digits.get(..len)?.iter().rev().try_for_each(|&b| push(b))?;
    push(b'/')?;
    name.iter().try_for_each(|&b| push(b))?;
    push(0)?;
    CStr::from_bytes_until_nul(buf.get(..at)?).ok()
}

pub fn dup_above(fd: RawFd, min: RawFd) -> SysResult<RawFd> {
    // SAFETY: F_DUPFD takes an integer argument.
    check_int(unsafe { libc::fcntl(fd, libc::F_DUPFD, min) })
}

pub fn dup2(from: RawFd, to: RawFd) -> SysResult<()> {
    // SAFETY: plain integer arguments; `to` is replaced atomically.
    retry(|| check_int(unsafe { libc::dup2(from, to) }).map(drop))
}

pub fn write_all(fd: RawFd, mut buf: &[u8]) -> SysResult<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a valid slice for its length.
        let n = retry(|| check(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) as libc::c_long }))?;
        buf = buf.get(n as usize..).unwrap_or(&[]);
    }
    Ok(())
}

pub fn read(fd: RawFd, buf: &mut [u8]) -> SysResult<usize> {
    // SAFETY: `buf` is a valid mutable slice for its length.
    retry(|| check(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) as libc::c_long })).map(|n| n as usize)
}

pub fn fchdir(fd: RawFd) -> SysResult<()> {
    // SAFETY: plain integer argument.
    check_int(unsafe { libc::fchdir(fd) }).map(drop)
}

pub fn chdir(path: &CStr) -> SysResult<()> {
    // SAFETY: valid C string.
    check_int(unsafe { libc::chdir(path.as_ptr()) }).map(drop)
}

pub fn pivot_root_here() -> SysResult<()> {
    let dot = c".";
    // SAFETY: valid C strings; pivot_root(".", ".") stacks the old root on
    // top of the new one, to be detached right after.
    let r = unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) };
    check(r)?;
    // SAFETY: valid C string.
    check_int(unsafe { libc::umount2(dot.as_ptr(), libc::MNT_DETACH) })?;
    chdir(c"/")
}

pub fn make_mounts_private() -> SysResult<()> {
    // SAFETY: valid C strings and null data, as mount(2) allows for MS_PRIVATE.
    check_int(unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    })
    .map(drop)
}

pub fn sethostname(name: &CStr) -> SysResult<()> {
    let bytes = name.to_bytes();
    // SAFETY: pointer and length describe `bytes`.
    check_int(unsafe { libc::sethostname(bytes.as_ptr().cast(), bytes.len()) }).map(drop)
}

/// Brings the loopback interface of the current network namespace up, so a
/// `--network none` sandbox still has a working 127.0.0.1.
pub fn loopback_up() -> SysResult<()> {
    // SAFETY: plain integer arguments.
    let sock = check_int(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    // SAFETY: SIOCSIFFLAGS reads a valid ifreq.
    let r = check_int(unsafe { libc::ioctl(sock, libc::SIOCSIFFLAGS, &req as *const libc::ifreq) });
    close(sock);
    r.map(drop)
}

/// Raw syscall on purpose: glibc's setgroups() broadcasts to every thread
/// it believes exists (`__nptl_setxid`) and deadlocks in a child cloned
/// from a multi-threaded host.
pub fn setgroups_empty() -> SysResult<()> {
    // SAFETY: a zero-length list with a null pointer is valid.
    check(unsafe { libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) }).map(drop)
}

pub fn setresgid(gid: u32) -> SysResult<()> {
    // SAFETY: the raw syscall changes only this thread, and the child is single-threaded.
    check(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) }).map(drop)
}

pub fn setresuid(uid: u32) -> SysResult<()> {
    // SAFETY: the raw syscall changes only this thread, and the child is single-threaded.
    check(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) }).map(drop)
}

/// Drops the ambient set and every bounding capability not in `keep` (up
/// to `last_cap`); the other sets are set after the id switch, which still
/// needs CAP_SETUID/CAP_SETGID.
pub fn drop_bounding_and_ambient(last_cap: u32, keep: u64) -> SysResult<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) })?;
    for cap in (0..=last_cap).filter(|c| *c >= 64 || keep & (1 << c) == 0) {
        // SAFETY: prctl with integer arguments.
        match check_int(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) }) {
            Ok(_) | Err(Errno::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sets effective, permitted and inheritable to exactly `keep`, and raises
/// the same capabilities in the ambient set so they survive execve for a
/// non-root uid.
pub fn set_capabilities(keep: u64) -> SysResult<()> {
    let header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let (lo, hi) = (keep as u32, (keep >> 32) as u32);
    let data = [
        CapData { effective: lo, permitted: lo, inheritable: lo },
        CapData { effective: hi, permitted: hi, inheritable: hi },
    ];
    // SAFETY: header and two data entries as _LINUX_CAPABILITY_VERSION_3 requires.
    check(unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) })?;
    for cap in (0..64u32).filter(|c| keep & (1 << c) != 0) {
        // SAFETY: prctl with integer arguments.
        check_int(unsafe {
            libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, cap as libc::c_ulong, 0, 0)
        })?;
    }
    Ok(())
}

/// Keeps permitted capabilities across the switch away from uid 0.
pub fn keep_caps_on_setuid() -> SysResult<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) }).map(drop)
}

/// Gives this process a fresh anonymous session keyring, so the host's
/// session keyring (Kerberos tickets, fscrypt keys…) is not possessed inside.
pub fn join_new_session_keyring() -> SysResult<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a null name asks for a new anonymous keyring.
    check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, std::ptr::null::<libc::c_char>()) })
        .map(drop)
}

/// Zeroes `[start, end)` of this process's own memory (a private copy in
/// the child): used to wipe the host's argv/environ so /proc/1/cmdline of
/// the sandbox's init does not show the host's arguments.
///
/// # Safety
/// The range must be mapped and writable in this process and not used by
/// any code that runs afterwards.
pub unsafe fn wipe(start: usize, end: usize) {
    if start != 0 && end > start {
        // SAFETY: guaranteed by the caller.
        unsafe { std::ptr::write_bytes(start as *mut u8, 0, end - start) };
    }
}

pub fn set_process_name(name: &CStr) {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

/// Writes `value` to the file at `path` (e.g. a sysctl under /proc/sys).
pub fn write_file(path: &CStr, value: &[u8]) -> SysResult<()> {
    // SAFETY: valid C string.
    let fd = check_int(unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) })?;
    let r = write_all(fd, value);
    close(fd);
    r
}

pub fn set_dumpable(on: bool) -> SysResult<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) }).map(drop)
}

pub fn set_no_new_privs() -> SysResult<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }).map(drop)
}

pub fn set_child_subreaper() -> SysResult<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).map(drop)
}

pub fn unshare(flags: c_int) -> SysResult<()> {
    // SAFETY: plain integer argument.
    check_int(unsafe { libc::unshare(flags) }).map(drop)
}

pub fn setsid() -> SysResult<()> {
    // SAFETY: no arguments.
    check_int(unsafe { libc::setsid() }).map(drop)
}

/// Resets every signal disposition to the default and unblocks all signals:
/// a host that ignores SIGPIPE (Python does) must not pass that on.
pub fn reset_signals() -> SysResult<()> {
    // The kernel's struct sigaction: handler, flags, restorer, mask.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction { handler: libc::SIG_DFL, flags: 0, restorer: 0, mask: 0 };
    // Raw rt_sigaction: glibc's signal() refuses 32 and 33, its own.
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: a valid kernel sigaction with SIG_DFL; sigsetsize is 8.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &dfl as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                8usize,
            )
        };
    }
    unblock_all_signals()
}

/// Blocks every signal in the calling thread, returning the old mask: the
/// parent holds this across `clone` so no host handler can run in the child
/// before it has reset them (posix_spawn does the same).
pub fn block_all_signals() -> SysResult<libc::sigset_t> {
    // SAFETY: sets are initialised by sigfillset/sigprocmask before use.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        check_int(libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old))?;
        Ok(old)
    }
}

pub fn restore_signal_mask(old: &libc::sigset_t) {
    // SAFETY: `old` came from block_all_signals.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}

pub fn unblock_all_signals() -> SysResult<()> {
    // SAFETY: an empty set built with sigemptyset is valid for sigprocmask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        check_int(libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut())).map(drop)
    }
}

/// Blocks `signals` and returns a signalfd that reports them.
pub fn block_into_signalfd(signals: &[c_int]) -> SysResult<RawFd> {
    // SAFETY: the set is initialised with sigemptyset before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        check_int(libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()))?;
        check_int(libc::signalfd(-1, &set, libc::SFD_CLOEXEC))
    }
}

pub fn read_signal(fd: RawFd) -> SysResult<c_int> {
    // SAFETY: signalfd_siginfo is plain old data.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a writable buffer of exactly its size.
    let buf = unsafe {
        std::slice::from_raw_parts_mut(
            (&mut info as *mut libc::signalfd_siginfo).cast::<u8>(),
            std::mem::size_of::<libc::signalfd_siginfo>(),
        )
    };
    read(fd, buf)?;
    Ok(info.ssi_signo as c_int)
}

pub fn kill(pid: libc::pid_t, sig: c_int) -> SysResult<()> {
    // SAFETY: plain integer arguments.
    check_int(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// Reaps any one exited child without blocking; `None` when none is ready.
pub fn reap_any() -> SysResult<Option<(libc::pid_t, c_int)>> {
    let mut status = 0;
    // SAFETY: `status` is a valid out pointer.
    let pid = check_int(unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::__WALL) })?;
    Ok(if pid == 0 { None } else { Some((pid, status)) })
}

/// Reaps any one child, blocking; `ECHILD` when none is left.
pub fn reap_blocking() -> SysResult<(libc::pid_t, c_int)> {
    let mut status = 0;
    // SAFETY: `status` is a valid out pointer.
    let pid = retry(|| check_int(unsafe { libc::waitpid(-1, &mut status, libc::__WALL) }))?;
    Ok((pid, status))
}

/// Lowers (or sets within the hard limit) one resource limit of this process.
pub fn set_rlimit(resource: c_int, soft: u64, hard: u64) -> SysResult<()> {
    let limit = libc::rlimit64 { rlim_cur: soft, rlim_max: hard };
    // SAFETY: `limit` is a valid rlimit64; no old value is asked for.
    check_int(unsafe { libc::prlimit64(0, resource as _, &limit, std::ptr::null_mut()) }).map(drop)
}

/// CLOCK_MONOTONIC in milliseconds (async-signal-safe: a vDSO read).
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1000).saturating_add(ts.tv_nsec as u64 / 1_000_000)
}

pub fn poll(fds: &mut [libc::pollfd], timeout_ms: c_int) -> SysResult<usize> {
    // SAFETY: `fds` is a valid mutable slice of pollfd.
    check_int(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) }).map(|n| n as usize)
}

pub fn execve(path: &CStr, argv: *const *const libc::c_char, envp: *const *const libc::c_char) -> Errno {
    // SAFETY: the caller passes NULL-terminated arrays of valid C strings.
    unsafe { libc::execve(path.as_ptr(), argv, envp) };
    Errno::last()
}

pub fn exit_now(code: c_int) -> ! {
    // SAFETY: _exit runs no atexit handlers and never returns.
    unsafe { libc::_exit(code) }
}

/// Starts `f(arg)` in a new process on `stack` with `flags`; with
/// CLONE_PIDFD the pidfd is stored in `pidfd`.
///
/// # Safety
/// `stack` must be writable memory of `stack_len` bytes that stays mapped in
/// the parent until this call returns; `f` must only run async-signal-safe
/// code and must not return into Rust frames of the parent.
pub unsafe fn clone_with_stack(
    f: extern "C" fn(*mut c_void) -> c_int,
    stack: *mut u8,
    stack_len: usize,
    flags: c_int,
    arg: *mut c_void,
    pidfd: &mut c_int,
) -> SysResult<libc::pid_t> {
    // SAFETY: the caller guarantees the stack; the stack grows down so its top is passed.
    let pid = unsafe { libc::clone(f, stack.add(stack_len).cast(), flags, arg, pidfd as *mut c_int) };
    check_int(pid)
}

/// Makes `len` bytes at `p` inaccessible: a guard page between stacks.
///
/// # Safety
/// `p..p+len` must be page-aligned memory of a mapping this code owns.
pub unsafe fn guard(p: *mut u8, len: usize) -> SysResult<()> {
    // SAFETY: guaranteed by the caller.
    check_int(unsafe { libc::mprotect(p.cast(), len, libc::PROT_NONE) }).map(drop)
}

/// Maps an anonymous private stack for a cloned child; copied into the child
/// on clone, so the parent may unmap it right after.
pub fn map_stack(len: usize) -> SysResult<*mut u8> {
    // SAFETY: anonymous private mapping with no address hint.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED { Err(Errno::last()) } else { Ok(p.cast()) }
}

/// # Safety
/// `p`/`len` must come from `map_stack` and not be used afterwards.
pub unsafe fn unmap_stack(p: *mut u8, len: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { libc::munmap(p.cast(), len) };
}

pub fn pidfd_send_signal(pidfd: RawFd, sig: c_int) -> SysResult<()> {
    // SAFETY: null siginfo is allowed; integers otherwise.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd, sig, std::ptr::null::<c_void>(), 0) };
    check(r).map(drop)
}

/// Raw status of a reaped process, plus its (and its reaped descendants') usage.
pub struct Reaped {
    pub code: c_int,
    pub status: c_int,
    pub rusage: libc::rusage,
}

/// Waits for the process behind `pidfd`; `nohang` returns `None` when it
/// is still running. `__WALL` reaps it even though it has no exit signal.
pub fn waitid_pidfd(pidfd: RawFd, nohang: bool) -> SysResult<Option<Reaped>> {
    // SAFETY: siginfo_t and rusage are plain old data.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::__WALL | if nohang { libc::WNOHANG } else { 0 };
    retry(|| {
        // SAFETY: the raw waitid takes a fifth rusage pointer (unlike glibc's wrapper).
        let r = unsafe {
            libc::syscall(
                libc::SYS_waitid,
                P_PIDFD,
                pidfd,
                &mut info as *mut libc::siginfo_t,
                flags,
                &mut rusage as *mut libc::rusage,
            )
        };
        check(r).map(drop)
    })?;
    // SAFETY: waitid filled si_pid/si_status when a child was reaped.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(Reaped { code: info.si_code, status, rusage }))
}
