//! Leaks: a thousand runs in one process leave its fds, mount table and
//! memory flat. Its own test binary, so no other test's fds or threads
//! disturb the counts. Runs as root and again as uid 65534.

mod common;

use sandbox_core::Sandbox;
use std::time::Duration;

/// The tests of this binary count this process's fds: one at a time, or
/// one's sandboxes in flight show up in the other's count.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn quick() -> Sandbox {
    Sandbox::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn mount_count() -> usize {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap().lines().count()
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap()
}

both! {
    fn a_thousand_runs_leave_fds_mounts_and_memory_flat() {
        let _one_at_a_time = serial();
        let sb = quick();
        let run = || {
            let out = sb.command("true").output().unwrap();
            assert_eq!(out.outcome.exit_code, Some(0));
        };
        for _ in 0..50 {
            run(); // warm up allocator and lazy statics
        }
        let (fds, mounts, rss) = (open_fds(), mount_count(), rss_kib());
        for _ in 0..1000 {
            run();
        }
        assert_eq!(open_fds(), fds, "fds leaked");
        assert_eq!(mount_count(), mounts, "mounts leaked into the host");
        let grown = rss_kib().saturating_sub(rss);
        assert!(grown < 4096, "RSS grew by {grown} KiB over 1000 runs");
    }
}

#[test]
fn an_ended_handle_holds_only_its_pidfd() {
    let _one_at_a_time = serial();
    let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let sb = Sandbox::builder().build().unwrap();
    // Warm up whatever the first run opens once (e.g. the id-map slot dir).
    sb.command("true").status().unwrap();
    let before = fds();
    let mut ended = Vec::new();
    for _ in 0..10 {
        let mut child = sb.command("true").spawn().unwrap();
        child.wait().unwrap();
        ended.push(child);
    }
    // One pidfd each (a handle used to hold three fds: 30 here).
    let held = fds().saturating_sub(before);
    assert!(held < 15, "10 ended handles hold {held} fds (one pidfd each expected)");
}
