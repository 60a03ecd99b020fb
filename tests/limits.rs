//! Resource limits against real cgroups and rlimits: a memory bomb, a fork
//! bomb, a CPU hog, big writes. Each runs as root and again as uid 65534
//! with a delegated cgroup v1 parent (`sandbox-65534`, made by the root run
//! as an administrator would), and the fallback without any cgroup is
//! checked for both.

mod common;

use common::{NOBODY, marker, pids_with_cmdline, text};
use sandbox_core::{Enforcement, ErrorKind, Sandbox, SandboxBuilder, Stage};
use std::path::Path;
use std::time::Duration;

const CONTROLLERS: [&str; 4] = ["memory", "pids", "cpu", "cpuacct"];

/// What an administrator runs once to give uid 65534 v1 limits (the
/// README's commands: the directory only, not its cgroup.procs, so nothing
/// of the user's can be moved out of its sandbox cgroups into the parent).
fn delegate_to_nobody() {
    for c in CONTROLLERS {
        let dir = Path::new("/sys/fs/cgroup").join(c).join(format!("sandbox-{NOBODY}"));
        if !dir.exists() {
            std::fs::create_dir(&dir).unwrap();
        }
        nix::unistd::chown(&dir, Some(nix::unistd::Uid::from_raw(NOBODY)), None).unwrap();
    }
}

/// This process's start time, as the library puts it in cgroup names.
fn start_time(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit_once(')').unwrap().1.split_whitespace().nth(19).unwrap().to_string()
}

/// Runs `body` as root, then (with a delegated parent) as uid 65534.
fn as_root_and_delegated(name: &str, body: impl FnOnce()) {
    body();
    if nix::unistd::geteuid().is_root() && !common::is_rootless_rerun() {
        delegate_to_nobody();
        common::rerun_as_nobody(name);
    }
}

macro_rules! delegated {
    (fn $name:ident() $body:block) => {
        #[test]
        fn $name() {
            as_root_and_delegated(stringify!($name), || $body)
        }
    };
}

fn sh(sb: &Sandbox, script: &str) -> sandbox_core::Output {
    sb.command("sh").args(["-c", script]).output().unwrap()
}

fn limited() -> SandboxBuilder {
    Sandbox::builder().timeout(Duration::from_secs(20))
}

delegated! {
    fn a_memory_bomb_is_oom_killed_and_reported() {
        let sb = limited().memory_limit(64 << 20).build().unwrap();
        let out = sb
            .command("python3")
            .args(["-c", "b = bytearray(300 << 20); b[::4096] = b'x' * len(b[::4096]); print('survived')"])
            .output()
            .unwrap();
        let o = &out.outcome;
        assert_eq!(o.limits.memory, Some(Enforcement::CgroupV1), "{o:?}");
        assert!(o.oom_killed, "{o:?} {}", text(&out.stderr));
        assert_eq!(o.signal, Some(libc::SIGKILL));
        assert!(!text(&out.stdout).contains("survived"));
        let peak = o.memory_peak_bytes.expect("the cgroup's peak");
        assert!(peak > 32 << 20 && peak <= 65 << 20, "peak {peak}");
        // The next run is unaffected and not reported as an OOM.
        let ok = sb.command("true").output().unwrap().outcome;
        assert!(ok.success() && !ok.oom_killed, "{ok:?}");
    }
}

delegated! {
    fn a_fork_bomb_is_contained_and_nothing_survives() {
        let m = marker();
        let sb = limited().pids_limit(32).timeout(Duration::from_secs(2)).build().unwrap();
        let bomb = format!("b() {{ sleep {m} & b & b; }}; b");
        let out = sh(&sb, &bomb);
        let o = &out.outcome;
        assert_eq!(o.limits.pids, Some(Enforcement::CgroupV1), "{o:?}");
        assert!(o.pids_peak.is_some_and(|p| p <= 33), "{o:?}");
        assert!(text(&out.stderr).contains("fork"), "the limit never refused a fork: {}", text(&out.stderr));
        assert!(pids_with_cmdline(&["sleep", &m]).is_empty(), "a task of the bomb survived");
    }
}

delegated! {
    fn a_quarter_cpu_gets_about_a_quarter() {
        let sb = limited().cpus(0.25).timeout(Duration::from_secs(2)).build().unwrap();
        let out = sh(&sb, "while :; do :; done");
        let o = &out.outcome;
        assert_eq!(o.limits.cpus, Some(Enforcement::CgroupV1), "{o:?}");
        assert!(o.timed_out);
        let share = o.cpu_time.total().as_secs_f64() / o.wall_time.as_secs_f64();
        assert!((0.1..=0.45).contains(&share), "got {share:.2} of a CPU: {o:?}");
    }
}

delegated! {
    fn cpu_time_ends_a_busy_loop_with_its_own_reason() {
        let sb = limited().cpu_time_limit(Duration::from_secs(1)).build().unwrap();
        let out = sh(&sb, "while :; do :; done");
        let o = &out.outcome;
        assert_eq!(o.limits.cpu_time, Some(Enforcement::Rlimit));
        assert!(o.cpu_time_exceeded && !o.timed_out, "{o:?}");
        assert_eq!(o.signal, Some(libc::SIGXCPU));
        assert!(o.wall_time < Duration::from_secs(5), "{o:?}");
    }
}

delegated! {
    fn file_size_and_tmpfs_size_stop_big_writes() {
        let sb = limited().fsize_limit(1 << 20).nofile_limit(64).build().unwrap();
        let out = sh(&sb, "head -c 2000000 /dev/zero > /tmp/f; echo rc=$?; wc -c < /tmp/f; ulimit -n");
        // SIGXFSZ (25) kills the writer at the limit, the file stops there.
        assert_eq!(text(&out.stdout), "rc=153\n1048576\n64\n", "{}", text(&out.stderr));
        assert_eq!(out.outcome.limits.fsize, Some(Enforcement::Rlimit));
        let sb = limited().tmpfs("/scratch", Some(8 << 20)).build().unwrap();
        let out = sh(&sb, "head -c 10000000 /dev/zero > /scratch/f; wc -c < /scratch/f");
        assert!(text(&out.stderr).contains("No space left on device"), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), format!("{}\n", 8 << 20));
    }
}

delegated! {
    fn the_sandbox_sees_its_own_cgroup_as_root() {
        // The cgroup namespace is made after the move into the sandbox's
        // cgroups: no host cgroup path shows inside.
        let sb = limited().pids_limit(10).memory_limit(64 << 20).build().unwrap();
        let out = sh(&sb, "cat /proc/self/cgroup");
        let cgroups = text(&out.stdout);
        assert!(!cgroups.is_empty() && cgroups.lines().all(|l| l.ends_with(":/")), "{cgroups}");
    }
}

both! {
    fn without_a_writable_cgroup_limits_fall_back_and_say_so() {
        // A parent nobody delegated: no cgroup for this caller.
        let sb = limited()
            .cgroup_parent("sandbox-not-delegated")
            .memory_limit(64 << 20)
            .pids_limit(16)
            .cpus(0.5)
            .build()
            .unwrap();
        let out = sh(&sb, "ulimit -v; ulimit -p");
        let o = &out.outcome;
        assert_eq!(o.limits.memory, Some(Enforcement::Rlimit), "{o:?}");
        assert_eq!(o.limits.pids, Some(Enforcement::Rlimit));
        assert_eq!(o.limits.cpus, Some(Enforcement::NotEnforced));
        assert_eq!(text(&out.stdout), format!("{}\n17\n", 64 << 10));
        let report = serde_json::to_value(o).unwrap();
        assert_eq!(report["limits"]["cpus"], "not-enforced");
        assert_eq!(report["limits"]["memory"], "rlimit");
        assert!(!Path::new("/sys/fs/cgroup/memory/sandbox-not-delegated").exists());

        let strict = limited().cgroup_parent("sandbox-not-delegated").memory_limit(64 << 20).strict_limits(true);
        let e = strict.build().unwrap().command("true").output().unwrap_err();
        assert_eq!((e.kind(), e.stage()), (ErrorKind::Unsupported, Stage::Cgroup));
        let msg = e.to_string();
        assert!(msg.starts_with("limits.memory: no writable cgroup with the memory controller"), "{msg}");
        assert!(msg.contains("SANDBOX_CGROUP_PARENT") || msg.contains("chown"), "{msg}");
    }
}

both! {
    fn rlimit_fallbacks_really_bind() {
        let sb = limited().cgroup_parent("sandbox-not-delegated").memory_limit(64 << 20).pids_limit(8).build().unwrap();
        let out = sb.command("python3").args(["-c", "bytearray(200 << 20)"]).output().unwrap();
        assert!(text(&out.stderr).contains("MemoryError"), "{}", text(&out.stderr));
        let out = sh(&sb, "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 1 & done 2>&1; wait");
        assert!(text(&out.stdout).contains("fork") || text(&out.stderr).contains("fork"), "{:?}", out);
    }
}

both! {
    fn bad_limits_name_the_field() {
        let e = Sandbox::builder().memory_limit(1000).build().unwrap_err();
        assert!(e.to_string().starts_with("limits.memory: '1000' is invalid: give at least 1 MiB"), "{e}");
        let e = Sandbox::builder().cpus(0.0).build().unwrap_err();
        assert!(e.to_string().starts_with("limits.cpus: '0' is invalid"), "{e}");
        let e = Sandbox::builder().cpu_weight(0).build().unwrap_err();
        assert!(e.to_string().starts_with("limits.cpu_weight"), "{e}");
        let e = Sandbox::builder().cgroup_parent("../escape").build().unwrap_err();
        assert!(e.to_string().starts_with("limits.cgroup_parent"), "{e}");
    }
}

#[test]
fn cgroup_v2_membership_kill_and_events_work_on_the_unified_hierarchy() {
    // Root only: moving a process into a v2 cgroup needs write access to the
    // common ancestor of both cgroups, which an unprivileged caller has only
    // under a systemd-style delegation (not on this host).
    if !nix::unistd::geteuid().is_root() || !Path::new("/sys/fs/cgroup/unified/cgroup.kill").exists() {
        if nix::unistd::geteuid().is_root() {
            println!("skipped: no cgroup2 hierarchy with cgroup.kill at /sys/fs/cgroup/unified");
        }
        return;
    }
    let m = marker();
    // `--share pid` leaves no pid namespace to tear down: only the cgroup can
    // reach the survivor the workload puts in a session of its own.
    let sb = limited().pids_limit(50).pid_namespace(false).build().unwrap();
    let mut child = sb
        .command("sh")
        .args([
            "-c",
            &format!(
                "(setsid sh -c 'touch /tmp/ready; exec sleep {m}' &); while [ ! -e /tmp/ready ]; do sleep 0.01; done"
            ),
        ])
        .spawn()
        .unwrap();
    let own = std::fs::read_to_string(format!("/proc/{}/cgroup", child.id())).unwrap();
    let v2 = own.lines().find(|l| l.starts_with("0::")).unwrap().to_string();
    assert!(v2.starts_with("0::/sandbox/sbx-"), "init is not in its v2 cgroup: {own}");
    let dir = Path::new("/sys/fs/cgroup/unified").join(v2[3..].trim_start_matches('/'));
    assert!(std::fs::read_to_string(dir.join("cgroup.events")).unwrap().contains("populated 1"));
    let outcome = child.wait().unwrap();
    assert!(outcome.success(), "{outcome:?}");
    assert!(pids_with_cmdline(&["sleep", &m]).is_empty(), "cgroup.kill missed the survivor");
    assert!(!dir.exists(), "the v2 cgroup was not removed");
}

#[test]
fn stale_cgroups_of_a_dead_supervisor_are_swept() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    // A cgroup named for a supervisor pid that no longer exists.
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    let stale = Path::new("/sys/fs/cgroup/pids/sandbox").join(format!("sbx-{pid}-1-0"));
    std::fs::create_dir_all(&stale).unwrap();
    let removed = sandbox_core::cgroup::gc(&sandbox_core::SandboxConfig::default()).unwrap();
    assert!(removed >= 1 && !stale.exists(), "gc left {stale:?}");
}

#[test]
fn cgroup_v2_controllers_enforce_limits_where_the_host_offers_them() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    // Our own parent on the unified hierarchy, made by an earlier run.
    let _ = limited().pids_limit(8).build().unwrap().command("true").output().unwrap();
    let parent = Path::new("/sys/fs/cgroup/unified/sandbox");
    let enabled = std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
    if !enabled.split_whitespace().any(|c| c == "pids") {
        println!(
            "skipped: the cgroup2 hierarchy offers no pids controller to {} (offered: '{}'); v1 enforces limits here",
            parent.display(),
            std::fs::read_to_string(parent.join("cgroup.controllers")).unwrap_or_default().trim()
        );
        return;
    }
    let sb = limited().pids_limit(8).timeout(Duration::from_secs(2)).build().unwrap();
    let out = sh(&sb, "for i in $(seq 20); do sleep 1 & done; wait");
    assert_eq!(out.outcome.limits.pids, Some(Enforcement::CgroupV2), "{:?}", out.outcome);
    assert!(text(&out.stderr).contains("fork"), "{}", text(&out.stderr));
}

delegated! {
    fn a_sigkilled_supervisors_cgroups_are_swept_by_gc() {
        let cli = common::cli();
        let m = marker();
        let mut sup = common::retry_busy(|| {
            std::process::Command::new(&cli.path).args(["run", "-m", "64m", "--", "sleep", &m]).spawn()
        })
        .unwrap();
        assert!(common::eventually(Duration::from_secs(5), || pids_with_cmdline(&["sleep", &m]).len() == 1));
        let parent = if nix::unistd::geteuid().is_root() { "sandbox".to_string() } else { format!("sandbox-{NOBODY}") };
        let mine = Path::new("/sys/fs/cgroup/memory")
            .join(&parent)
            .join(format!("sbx-{}-{}-0", sup.id(), start_time(sup.id())));
        assert!(mine.exists(), "the run's cgroup {mine:?} does not exist");
        sup.kill().unwrap(); // SIGKILL: no cleanup code runs
        sup.wait().unwrap();
        assert!(common::eventually(Duration::from_secs(5), || pids_with_cmdline(&["sleep", &m]).is_empty()));
        assert!(mine.exists(), "nothing should have removed the cgroup yet");
        let out = std::process::Command::new(&cli.path).arg("gc").output().unwrap();
        assert!(text(&out.stdout).starts_with("removed "), "{}", text(&out.stdout));
        assert!(common::eventually(Duration::from_secs(2), || !mine.exists()), "gc left {mine:?}");
    }
}

delegated! {
    fn a_rootless_workload_that_can_reach_cgroupfs_gets_no_cgroup() {
        // Sharing the host's mount namespace, it could write its own cgroup's
        // files (they are the caller's). So: rlimits, and the report says so.
        let sb = limited().mount_namespace(false).pids_limit(16).memory_limit(64 << 20).build().unwrap();
        let o = sb.command("true").output().unwrap().outcome;
        if nix::unistd::geteuid().is_root() {
            // Root's cgroup files are not the sandbox ids': cgroups stay.
            assert_eq!(o.limits.pids, Some(Enforcement::CgroupV1), "{o:?}");
        } else {
            assert_eq!((o.limits.pids, o.limits.memory), (Some(Enforcement::Rlimit), Some(Enforcement::Rlimit)), "{o:?}");
            let strict = limited().mount_namespace(false).pids_limit(16).strict_limits(true).build().unwrap();
            let e = strict.command("true").output().unwrap_err();
            assert!(e.to_string().starts_with("limits.pids: no writable cgroup"), "{e}");
            assert!(e.to_string().contains("could rewrite its own cgroup"), "{e}");
        }
    }
}

both! {
    fn cpu_time_exceeded_is_not_taken_from_the_signal_alone() {
        let sb = limited().cpu_time_limit(Duration::from_secs(5)).build().unwrap();
        let o = sh(&sb, "kill -XCPU $$").outcome;
        assert_eq!(o.signal, Some(libc::SIGXCPU));
        assert!(!o.cpu_time_exceeded, "a self-sent SIGXCPU counted as the limit: {o:?}");
    }
}

#[test]
fn a_bad_cgroup_parent_from_the_environment_is_refused() {
    let cli = common::cli();
    for bad in ["/tmp/not-a-cgroup", "../../../tmp/x"] {
        let out = std::process::Command::new(&cli.path)
            .args(["run", "-m", "64m", "--", "true"])
            .env("SANDBOX_CGROUP_PARENT", bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{bad}");
        let err = text(&out.stderr);
        assert!(err.contains("SANDBOX_CGROUP_PARENT") && err.contains("relative UTF-8 path"), "{err}");
        let out = std::process::Command::new(&cli.path).arg("gc").env("SANDBOX_CGROUP_PARENT", bad).output().unwrap();
        assert_eq!(out.status.code(), Some(125), "gc with {bad}");
    }
    assert!(!Path::new("/tmp/not-a-cgroup").exists());
}

#[test]
fn an_existing_cgroup_of_the_same_name_is_never_taken_over() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let _ = limited().pids_limit(8).build().unwrap().command("true").output().unwrap(); // makes `sandbox`
    let cli = common::cli();
    let m = marker();
    // The shell makes the name the CLI (which it execs into) will pick, puts
    // a victim in it, then runs the CLI: the run must fail, the victim live.
    let script = format!(
        "st=$(cut -d' ' -f22 /proc/$$/stat); d=/sys/fs/cgroup/pids/sandbox/sbx-$$-$st-0; mkdir $d; \
         sleep {m} >/dev/null 2>&1 & echo $! > $d/cgroup.procs; echo $d; exec {} run --pids-limit 8 -- true",
        cli.path.display()
    );
    let out = std::process::Command::new("sh").args(["-c", &script]).output().unwrap();
    let dir = text(&out.stdout).trim().to_string();
    let victims = pids_with_cmdline(&["sleep", &m]);
    for pid in &victims {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::SIGKILL);
    }
    common::eventually(Duration::from_secs(2), || pids_with_cmdline(&["sleep", &m]).is_empty());
    common::eventually(Duration::from_secs(2), || std::fs::remove_dir(&dir).is_ok() || !Path::new(&dir).exists());
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("File exists"), "{}", text(&out.stderr));
    assert_eq!(victims.len(), 1, "the run killed what lived in the existing cgroup");
}

both! {
    fn the_rlimit_pids_fallback_allows_exactly_the_limit() {
        // The workload (one task) forks until refused: pids=3 leaves room
        // for two children, with or without kept capabilities.
        let forks = "import os, time\nn = 0\nfor _ in range(6):\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n    if pid == 0:\n        time.sleep(3)\n        os._exit(0)\n    n += 1\nprint(n)";
        for caps in [&[][..], &["CHOWN"][..]] {
            let mut b = limited().cgroup_parent("sandbox-not-delegated").pids_limit(3);
            for c in caps {
                b = b.cap_add(*c);
            }
            let out = b.build().unwrap().command("python3").args(["-c", forks]).output().unwrap();
            assert_eq!(out.outcome.limits.pids, Some(Enforcement::Rlimit));
            assert_eq!(text(&out.stdout), "2\n", "with caps {caps:?}: {}", text(&out.stderr));
        }
    }
}
