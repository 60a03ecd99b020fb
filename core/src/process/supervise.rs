//! Supervision of a running sandbox: one poll loop over the pidfd, the
//! lifeline, the captured pipes and the deadline. No signal handlers, no
//! SIGCHLD: the init process has no exit signal, so a host's `waitpid(-1)`
//! cannot steal it, and it is reaped through its pidfd only.

use super::SpawnError;
use super::child::KILL_REQUEST;
use super::exit::{Outcome, Output};
use super::spawn::Spawned;
use super::sync::{STATUS_FRAME_LEN, decode_status};

/// How long init gets to kill and reap the sandbox before it is killed.
const KILL_GRACE: Duration = Duration::from_secs(2);
use crate::sys;
use crate::userns::IdMapPlan;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// A running sandbox. Dropping it kills the whole sandbox and reaps it.
pub struct Child {
    pid: i32,
    pidfd: OwnedFd,
    lifeline: Option<OwnedFd>,
    /// Write end of the workload's stdin, when piped.
    pub stdin: Option<File>,
    /// Read end of the workload's stdout, when piped.
    pub stdout: Option<File>,
    /// Read end of the workload's stderr, when piped.
    pub stderr: Option<File>,
    started: Instant,
    deadline: Option<Instant>,
    workload_status: Option<i32>,
    timed_out: bool,
    killed: bool,
    kill_sent: Option<Instant>,
    outcome: Option<Outcome>,
    output_limit: Option<u64>,
    /// Holds the id range (and its lock fd) while the sandbox lives.
    idmap: Option<IdMapPlan>,
    /// The run's cgroups: read, emptied and removed once it has ended.
    cgroup: Option<crate::cgroup::SandboxCgroup>,
    limits: crate::cgroup::LimitsReport,
    cpu_time_limit: Option<Duration>,
}

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// One captured stream.
struct Capture {
    stream: Stream,
    file: File,
    buf: Vec<u8>,
    limit: u64,
    truncated: bool,
    open: bool,
}

impl Capture {
    fn new(stream: Stream, file: File, limit: Option<u64>) -> Capture {
        let _ = nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
        Capture { stream, file, buf: Vec::new(), limit: limit.unwrap_or(u64::MAX), truncated: false, open: true }
    }

    /// Reads what is available; keeps up to the limit and drops the rest so
    /// the writer never blocks on a full pipe.
    fn pump(&mut self) {
        let mut chunk = [0u8; 65536];
        loop {
            match self.file.read(&mut chunk) {
                Ok(0) => {
                    self.open = false;
                    return;
                }
                Ok(n) => {
                    let room = self.limit.saturating_sub(self.buf.len() as u64) as usize;
                    let keep = n.min(room);
                    self.buf.extend_from_slice(&chunk[..keep]);
                    if keep < n {
                        self.truncated = true;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.open = false;
                    return;
                }
            }
        }
    }
}

/// Bytes fed to the workload's stdin.
struct Feed {
    file: File,
    data: Vec<u8>,
    pos: usize,
}

impl Feed {
    /// Writes what the pipe takes; `false` once done (or the reader is gone).
    fn pump(&mut self) -> bool {
        while self.pos < self.data.len() {
            match write_no_sigpipe(self.file.as_raw_fd(), &self.data[self.pos..]) {
                Ok(n) => self.pos += n,
                Err(nix::errno::Errno::EAGAIN) => return true,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return false,
            }
        }
        false
    }
}

/// Writes to a pipe without letting SIGPIPE kill the host process: the
/// signal is blocked for this thread and a pending one consumed.
fn write_no_sigpipe(fd: RawFd, buf: &[u8]) -> Result<usize, nix::errno::Errno> {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let mut pipe = SigSet::empty();
    pipe.add(Signal::SIGPIPE);
    let mut old = SigSet::empty();
    let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&pipe), Some(&mut old));
    let r = nix::unistd::write(
        // SAFETY: `fd` is owned by the caller's File for the whole call.
        unsafe { BorrowedFd::borrow_raw(fd) },
        buf,
    );
    if r == Err(nix::errno::Errno::EPIPE) && !old.contains(Signal::SIGPIPE) {
        let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: valid set and timeout; consumes only a pending SIGPIPE.
        unsafe { libc::sigtimedwait(pipe.as_ref(), std::ptr::null_mut(), &zero) };
    }
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    r
}

impl Child {
    pub(crate) fn new(s: Spawned, started: Instant, timeout: Option<Duration>, output_limit: Option<u64>) -> Child {
        Child {
            pid: s.pid,
            pidfd: s.pidfd,
            lifeline: Some(s.lifeline),
            stdin: s.stdin.map(File::from),
            stdout: s.stdout.map(File::from),
            stderr: s.stderr.map(File::from),
            started,
            // A timeout too far away to represent is no timeout (not a panic).
            deadline: timeout.and_then(|t| started.checked_add(t)),
            workload_status: None,
            timed_out: false,
            killed: false,
            kill_sent: None,
            outcome: None,
            output_limit,
            idmap: Some(s.idmap),
            cgroup: s.cgroup,
            limits: s.limits,
            cpu_time_limit: s.cpu_time_limit,
        }
    }

    /// Host pid of the sandbox's init (pid 1 inside).
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// The pidfd of the sandbox's init, for callers with their own loops.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// Kills the whole sandbox. Init SIGKILLs every process in it and reaps them (so their CPU time
    /// is reported), then exits; should init not be done within
    /// `KILL_GRACE`, it is SIGKILLed itself and the pid namespace goes with it.
    pub fn kill(&mut self) -> Result<(), crate::Error> {
        if self.outcome.is_some() || self.kill_sent.is_some() {
            return Ok(());
        }
        self.killed = true;
        self.kill_sent = Some(Instant::now());
        let asked = self.lifeline.as_ref().is_some_and(|l| sys::write_all(l.as_raw_fd(), &[KILL_REQUEST]).is_ok());
        if asked { Ok(()) } else { self.kill_init() }
    }

    fn kill_init(&mut self) -> Result<(), crate::Error> {
        match sys::pidfd_send_signal(self.pidfd.as_raw_fd(), libc::SIGKILL) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(SpawnError::Io { what: "killing the sandbox", source: e.into() }.into()),
        }
    }

    /// Sends `sig` to init, which forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT,
    /// SIGUSR1/2 and SIGWINCH to the workload. Does nothing once the sandbox
    /// has ended.
    pub fn signal(&self, sig: i32) -> Result<(), crate::Error> {
        match sys::pidfd_send_signal(self.pidfd.as_raw_fd(), sig) {
            // The sandbox has ended: like `kill`, nothing to do.
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(SpawnError::Io { what: "signalling the sandbox", source: e.into() }.into()),
        }
    }

    /// Waits for the end (enforcing the timeout). Stdin is closed first so a
    /// workload reading it cannot wait forever.
    pub fn wait(&mut self) -> Result<Outcome, crate::Error> {
        drop(self.stdin.take());
        self.run_until(None, &mut [], &mut None)?;
        Ok(self.outcome.clone().unwrap_or_default())
    }

    /// Like `wait`, but gives up after `limit`, returning `None`.
    pub fn wait_timeout(&mut self, limit: Duration) -> Result<Option<Outcome>, crate::Error> {
        // A limit too far away to represent waits as long as it takes.
        let until = Instant::now().checked_add(limit);
        self.run_until(until, &mut [], &mut None)?;
        Ok(self.outcome.clone())
    }

    /// Returns the outcome if the sandbox has ended, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<Outcome>, crate::Error> {
        self.wait_timeout(Duration::ZERO)
    }

    /// Feeds `input` to stdin (if piped), captures stdout/stderr (if piped)
    /// concurrently up to the output limit, and waits for the end.
    pub fn wait_with_output(mut self, input: Option<Vec<u8>>) -> Result<Output, crate::Error> {
        let mut feed = match (self.stdin.take(), input) {
            (Some(file), Some(data)) => {
                let _ = nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
                Some(Feed { file, data, pos: 0 })
            }
            _ => None,
        };
        let limit = self.output_limit;
        let mut caps: Vec<Capture> = [(Stream::Out, self.stdout.take()), (Stream::Err, self.stderr.take())]
            .into_iter()
            .filter_map(|(stream, f)| f.map(|f| Capture::new(stream, f, limit)))
            .collect();
        self.run_until(None, &mut caps, &mut feed)?;
        let mut out = Output { outcome: self.outcome.clone().unwrap_or_default(), ..Output::default() };
        for c in caps {
            match c.stream {
                Stream::Out => (out.stdout, out.outcome.stdout_truncated) = (c.buf, c.truncated),
                Stream::Err => (out.stderr, out.outcome.stderr_truncated) = (c.buf, c.truncated),
            }
        }
        Ok(out)
    }

    /// The supervision loop: returns when the sandbox has been reaped, or at
    /// `until`.
    fn run_until(
        &mut self,
        until: Option<Instant>,
        caps: &mut [Capture],
        feed: &mut Option<Feed>,
    ) -> Result<(), crate::Error> {
        while self.outcome.is_none() {
            let now = Instant::now();
            if let Some(d) = self.deadline
                && now >= d
                && !self.timed_out
            {
                self.timed_out = true;
                self.kill()?;
            }
            if let Some(sent) = self.kill_sent
                && now >= sent + KILL_GRACE
            {
                self.kill_init()?;
            }
            let grace = self.kill_sent.map(|s| s + KILL_GRACE).filter(|g| *g > now);
            let wake = [if self.timed_out { None } else { self.deadline }, until, grace].into_iter().flatten().min();
            if let Some(u) = until
                && now >= u
            {
                // One non-blocking look before giving up.
                self.poll_once(0, caps, feed)?;
                return Ok(());
            }
            // Rounded up so the loop does not spin just before the instant;
            // capped so the `+ 1` cannot overflow (a wait of 24.9 days or
            // more wakes up early and loops).
            let timeout_ms =
                wake.map_or(-1, |w| w.saturating_duration_since(now).as_millis().min(i32::MAX as u128 - 1) as i32 + 1);
            self.poll_once(timeout_ms, caps, feed)?;
        }
        Ok(())
    }

    fn poll_once(
        &mut self,
        timeout_ms: i32,
        caps: &mut [Capture],
        feed: &mut Option<Feed>,
    ) -> Result<(), crate::Error> {
        // The lifeline is not polled: init's status frame is read once init
        // has exited (one wake-up per run instead of two).
        let mut fds = vec![libc::pollfd { fd: self.pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        let cap_base = fds.len();
        for c in caps.iter().filter(|c| c.open) {
            fds.push(libc::pollfd { fd: c.file.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
        if let Some(f) = feed.as_ref() {
            fds.push(libc::pollfd { fd: f.file.as_raw_fd(), events: libc::POLLOUT, revents: 0 });
        }
        match sys::poll(&mut fds, timeout_ms) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                return Err(SpawnError::Io { what: "polling the sandbox", source: e.into() }.into());
            }
        }
        for (i, c) in (cap_base..).zip(caps.iter_mut().filter(|c| c.open)) {
            if fds[i].revents != 0 {
                c.pump();
            }
        }
        if feed.is_some() && fds.last().is_some_and(|p| p.revents != 0) && !feed.as_mut().is_some_and(Feed::pump) {
            *feed = None;
        }
        if fds[0].revents != 0 {
            self.reap(caps)?;
        }
        Ok(())
    }

    fn read_lifeline(&mut self) {
        let Some(l) = self.lifeline.as_ref() else {
            return;
        };
        let mut buf = [0u8; STATUS_FRAME_LEN];
        // Never block: a process that stole init's end of the socket could
        // keep it open after init is gone.
        match nix::sys::socket::recv(l.as_raw_fd(), &mut buf, nix::sys::socket::MsgFlags::MSG_DONTWAIT) {
            Ok(STATUS_FRAME_LEN) => {
                if let Some((status, timed_out)) = decode_status(&buf) {
                    self.workload_status = Some(status);
                    // Init enforces the timeout itself, so it holds even
                    // while nobody is waiting on this handle.
                    self.timed_out |= timed_out;
                }
            }
            Ok(_) | Err(_) => self.lifeline = None,
        }
    }

    /// Init has exited: collect its status, the workload's, and the rest of
    /// the output (every writer is dead once the pid namespace is gone).
    fn reap(&mut self, caps: &mut [Capture]) -> Result<(), crate::Error> {
        let reaped = sys::waitid_pidfd(self.pidfd.as_raw_fd(), true)
            .map_err(|e| SpawnError::Io { what: "waiting for the sandbox", source: e.into() })?;
        let Some(reaped) = reaped else { return Ok(()) };
        // Init is gone: its frame, if it sent one, is already queued.
        self.read_lifeline();
        for c in caps.iter_mut() {
            while c.open {
                let before = c.buf.len();
                c.pump();
                if c.open && c.buf.len() == before && !readable_now(c.file.as_raw_fd()) {
                    break;
                }
            }
        }
        let mut outcome =
            Outcome { wall_time: self.started.elapsed(), timed_out: self.timed_out, ..Outcome::default() };
        outcome.set_rusage(&reaped.rusage);
        match self.workload_status {
            Some(status) => outcome.set_wait_status(status),
            None if self.timed_out || self.killed => outcome.set_signal(libc::SIGKILL),
            _ => {
                if reaped.code == libc::CLD_EXITED {
                    outcome.exit_code = Some(reaped.status);
                } else {
                    outcome.set_signal(reaped.status);
                }
            }
        }
        outcome.limits = self.limits.clone();
        if let Some(cg) = self.cgroup.take() {
            outcome.add_cgroup_stats(&cg.stats());
            drop(cg); // kills any straggler (`--share pid`), removes the cgroups
        }
        outcome.note_cpu_time_limit(self.cpu_time_limit);
        self.outcome = Some(outcome);
        // Nothing of the sandbox is left: a handle kept around after the end
        // holds no lifeline and no id-range lock (only its pidfd).
        self.lifeline = None;
        self.idmap = None;
        Ok(())
    }
}

fn readable_now(fd: RawFd) -> bool {
    let mut p = [libc::pollfd { fd, events: libc::POLLIN, revents: 0 }];
    matches!(sys::poll(&mut p, 0), Ok(n) if n > 0)
}

impl Drop for Child {
    /// Kills the sandbox and reaps init. Closing the lifeline makes init
    /// kill everything it can reach and exit; that reaches the workload even
    /// without a pid namespace, where SIGKILLing init alone would leave it
    /// running. Init gets `KILL_GRACE`, then it is SIGKILLed.
    fn drop(&mut self) {
        if self.outcome.is_some() {
            return;
        }
        drop(self.lifeline.take());
        let mut fds = [libc::pollfd { fd: self.pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
        let ended = matches!(sys::poll(&mut fds, KILL_GRACE.as_millis() as i32), Ok(n) if n > 0);
        if !ended {
            let _ = sys::pidfd_send_signal(self.pidfd.as_raw_fd(), libc::SIGKILL);
        }
        let _ = sys::waitid_pidfd(self.pidfd.as_raw_fd(), false);
    }
}
