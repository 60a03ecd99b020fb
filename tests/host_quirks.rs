//! Hosts that do unfriendly things with signals and children: the library
//! must still work (no SIGCHLD reliance, no SIGPIPE death, nothing stolen by
//! a host's `waitpid(-1)` loop). Its own binary: it changes process-wide
//! signal dispositions. Runs as root and again as uid 65534.

mod common;

use sandbox_core::Sandbox;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

both! {
    fn hosts_that_ignore_sigchld_reap_everything_or_keep_sigpipe_still_work() {
        let sb = Sandbox::builder().build().unwrap();
        // SAFETY: process-wide dispositions, restored below; no other test
        // runs in this binary.
        let (old_chld, old_pipe) = unsafe { (libc::signal(libc::SIGCHLD, libc::SIG_IGN), libc::signal(libc::SIGPIPE, libc::SIG_DFL)) };
        // A host thread reaping any child it can, as careless event loops do.
        let stop = Arc::new(AtomicBool::new(false));
        let reaper = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // SAFETY: waitpid with a null status pointer.
                    unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
                    std::thread::yield_now();
                }
            })
        };
        for code in 0..20 {
            let out = sb.command("sh").args(["-c", &format!("exit {code}")]).output().unwrap();
            assert_eq!(out.outcome.exit_code, Some(code), "the sandbox's status was lost");
        }
        // A reader that quits early while we still feed stdin: EPIPE, not death.
        let out = sb.command("true").input(vec![0u8; 4 << 20]).output().unwrap();
        assert_eq!(out.outcome.exit_code, Some(0));
        stop.store(true, Ordering::Relaxed);
        reaper.join().unwrap();
        // SAFETY: restoring what was there before.
        unsafe {
            libc::signal(libc::SIGCHLD, old_chld);
            libc::signal(libc::SIGPIPE, old_pipe);
        }
    }
}
