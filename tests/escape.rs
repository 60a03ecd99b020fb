//! The attacker's suite: each test tries to break one isolation claim and
//! must fail to. Runs as root and again as uid 65534 without capabilities.
//! (Seccomp, masked paths and Landlock attacks join with the hardening issue.)

mod common;

use common::{TempDir, text};
use sandbox_core::Sandbox;
use std::time::Duration;

fn sb() -> Sandbox {
    Sandbox::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

fn sh(sandbox: &Sandbox, script: &str) -> String {
    let out = sandbox.command("sh").args(["-c", script]).output().unwrap();
    text(&out.stdout) + &text(&out.stderr)
}

both! {
    fn the_hosts_session_keyring_is_not_possessed_inside() {
        // A secret in the caller's session keyring (Kerberos, fscrypt, …).
        const JOIN: libc::c_long = 1;
        // SAFETY: keyctl(KEYCTL_JOIN_SESSION_KEYRING, name) with a valid C string.
        let ring = unsafe { libc::syscall(libc::SYS_keyctl, JOIN, c"sbx-test-ring".as_ptr()) };
        assert!(ring > 0, "join session keyring");
        let secret = b"host-secret-value";
        // SAFETY: add_key with valid strings and payload; -3 is KEY_SPEC_SESSION_KEYRING.
        let key = unsafe {
            libc::syscall(libc::SYS_add_key, c"user".as_ptr(), c"sbx-test-secret".as_ptr(), secret.as_ptr(), secret.len(), -3i32)
        };
        assert!(key > 0, "add_key");
        assert!(std::fs::read_to_string("/proc/keys").unwrap().contains("sbx-test-secret"), "the host sees its key");
        // Inside: neither read the key by id nor find it through the session
        // keyring. (A rootless caller's own-uid keys stay *listed* in
        // /proc/keys, as for any process of that uid, but without possession
        // their payload is out of reach.)
        let probe = format!(
            "import ctypes; l = ctypes.CDLL(None, use_errno=True); b = ctypes.create_string_buffer(64)\n\
             r = l.syscall({nr}, 11, {key}, b, 64); print('READ', r, ctypes.get_errno(), b.value)\n\
             r = l.syscall({nr}, 10, -3, b'user', b'sbx-test-secret', 0); print('SEARCH', r, ctypes.get_errno())",
            nr = libc::SYS_keyctl
        );
        let out = sb().command("python3").args(["-c", &probe]).output().unwrap();
        let s = text(&out.stdout);
        assert!(s.contains(&format!("READ -1 {} b''", libc::EACCES)), "{s}{}", text(&out.stderr));
        assert!(s.contains(&format!("SEARCH -1 {}", libc::ENOKEY)), "{s}");
    }
}

both! {
    fn nested_user_namespaces_are_refused_unless_allowed() {
        let s = sh(&sb(), "unshare -U true && echo ESCAPED || echo REFUSED");
        assert!(s.contains("REFUSED") && s.contains("No space left on device"), "{s}");
        let open = Sandbox::builder().nested_userns(true).build().unwrap();
        assert!(sh(&open, "unshare -U true && echo ALLOWED").contains("ALLOWED"));
    }
}

both! {
    fn init_shows_nothing_of_the_host_process() {
        let s = sh(&sb(), "tr '\\0' ' ' < /proc/1/cmdline; echo; cat /proc/1/comm; cat /proc/1/environ 2>&1 | head -c 200");
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_string_lossy();
        assert!(!s.contains(&*name), "host argv visible in init: {s}");
        assert!(s.contains("sandbox-init"), "{s}");
        assert!(s.contains("Permission denied"), "init's environ must not be readable: {s}");
    }
}

static HANDLER_RAN: &std::ffi::CStr = c"/tmp/host-handler-ran";

extern "C" fn host_handler(_: libc::c_int) {
    // SAFETY: open/close are async-signal-safe; the path is a constant.
    unsafe { libc::close(libc::open(HANDLER_RAN.as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o644)) };
}

both! {
    fn host_signal_handlers_never_run_in_init() {
        // SAFETY: installs an async-signal-safe handler for SIGALRM, which
        // nothing else in this test binary uses.
        unsafe { libc::signal(libc::SIGALRM, host_handler as *const () as libc::sighandler_t) };
        let s = sh(&sb(), "kill -ALRM 1; kill -VTALRM 1; sleep 0.2; ls /tmp; echo done");
        assert_eq!(s, "done\n", "a host handler ran inside the sandbox");
    }
}

both! {
    fn device_nodes_and_setuid_in_a_rootfs_do_not_work() {
        let root = TempDir::new("devroot");
        for d in ["proc", "dev", "x", "usr"] {
            std::fs::create_dir(root.path().join(d)).unwrap();
        }
        std::os::unix::fs::symlink("usr/bin", root.path().join("bin")).unwrap();
        std::os::unix::fs::symlink("usr/lib", root.path().join("lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib64", root.path().join("lib64")).unwrap();
        // Root can plant a device node (as an image unpacked as root could).
        let planted = nix::unistd::geteuid().is_root()
            && nix::sys::stat::mknod(
                &root.path().join("x/null"),
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::from_bits_truncate(0o666),
                nix::sys::stat::makedev(1, 3),
            )
            .is_ok();
        let sandbox = Sandbox::builder().rootfs(root.path()).bind_ro("/usr", "/usr").build().unwrap();
        let s = sh(&sandbox, "grep -E '^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ / ' /proc/self/mountinfo; echo x > /x/null && echo DEVICE-WORKS");
        assert!(s.contains("nosuid") && s.contains("nodev"), "{s}");
        if planted {
            assert!(!s.contains("DEVICE-WORKS"), "{s}");
        }
    }
}

both! {
    fn the_old_root_and_host_paths_are_unreachable() {
        let s = sh(&sb(), "ls /proc/1/root/ /proc/self/root/ 2>&1 | sort -u | tr '\\n' ' '; cat /proc/self/mountinfo | wc -l; ls /home /root /run /var /sys 2>&1 | grep -vc 'No such file'");
        assert!(!s.contains("home") && !s.contains("root ") && !s.contains("var"), "{s}");
    }
}

both! {
    fn read_only_host_directories_cannot_be_remounted_writable() {
        // Even with every capability kept inside and a nested user namespace,
        // the host binds stay read-only: the kernel locks them.
        let all = Sandbox::builder().cap_add("ALL").nested_userns(true).build().unwrap();
        let s = sh(&all, "mount -o remount,rw /usr 2>&1; mount -o remount,bind,rw /usr 2>&1; touch /usr/x 2>&1; unshare -Urm sh -c 'mount -o remount,bind,rw /usr; umount /etc' 2>&1; echo end");
        assert!(s.contains("end") && (s.contains("Read-only file system") || s.contains("ermission denied")), "{s}");
        assert!(!std::path::Path::new("/usr/x").exists(), "{s}");
    }
}

both! {
    fn a_runaway_output_is_bounded_by_default() {
        let out = sb().command("head").args(["-c", "100000000", "/dev/zero"]).output().unwrap();
        assert_eq!(out.stdout.len() as u64, sandbox_core::config::DEFAULT_OUTPUT_LIMIT);
        assert!(out.outcome.stdout_truncated);
    }
}

#[test]
fn root_slot_locks_are_roots_alone() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    sh(&sb(), "true");
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata("/run/sandbox/idmap").unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o700));
}

both! {
    fn rootfs_symlinks_cannot_aim_mounts_at_the_host_or_the_root() {
        let root = TempDir::new("symroot");
        for d in ["usr", "etc"] {
            std::fs::create_dir(root.path().join(d)).unwrap();
        }
        std::os::unix::fs::symlink("usr/bin", root.path().join("bin")).unwrap();
        std::os::unix::fs::symlink("usr/lib", root.path().join("lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib64", root.path().join("lib64")).unwrap();
        // `dev -> /etc` must resolve inside the rootfs, never to the host's /etc.
        std::os::unix::fs::symlink("/etc", root.path().join("dev")).unwrap();
        std::os::unix::fs::symlink("/", root.path().join("proc")).unwrap();
        let sandbox = Sandbox::builder().rootfs(root.path()).bind_ro("/usr", "/usr").build().unwrap();
        let e = sandbox.command("true").output().unwrap_err();
        assert_eq!(e.stage(), sandbox_core::Stage::Mount);
        assert!(e.to_string().contains("resolves to / itself"), "{e}");
        std::fs::remove_file(root.path().join("proc")).unwrap();
        std::fs::create_dir(root.path().join("proc")).unwrap();
        // The minimal /dev lands on the rootfs's own etc/, never the host's.
        let s = sh(&sandbox, "ls /etc | tr '\\n' ' '");
        assert!(s.contains("null") && s.contains("pts") && !s.contains("passwd"), "{s}");
        assert!(std::fs::symlink_metadata("/etc/null").is_err(), "a mount point was created on the host");
    }
}

#[test]
fn without_a_pid_namespace_a_root_slot_is_never_reused() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let sandbox = Sandbox::builder().pid_namespace(false).build().unwrap();
    let out = sandbox.command("cat").arg("/proc/self/uid_map").output().unwrap();
    let base: u32 = text(&out.stdout).split_whitespace().nth(1).unwrap().parse().unwrap();
    let slot = (base - sandbox_core::userns::ROOT_RANGE_BASE) / sandbox_core::userns::RANGE;
    assert!(std::path::Path::new(&format!("/run/sandbox/idmap/{slot}.tainted")).exists());
    for _ in 0..20 {
        let out = sb().command("cat").arg("/proc/self/uid_map").output().unwrap();
        let other: u32 = text(&out.stdout).split_whitespace().nth(1).unwrap().parse().unwrap();
        assert_ne!(other, base, "a tainted id range was handed out again");
    }
    // A survivor keeps its range tainted; once it is gone the range is freed.
    let m = common::marker();
    let mut child = sandbox
        .command("sh")
        // The survivor signals once it has its own session: init kills the
        // workload's process group when the workload exits, so a survivor
        // still on its way to `setsid` would die with it (a race CI lost).
        .args([
            "-c",
            &format!(
                "(setsid sh -c 'touch /tmp/ready; exec sleep {m}' >/dev/null 2>&1 &); \
                 while [ ! -e /tmp/ready ]; do sleep 0.01; done; cat /proc/self/uid_map"
            ),
        ])
        .stdout(sandbox_core::Stdio::Piped)
        .spawn()
        .unwrap();
    let mut map = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut map).unwrap();
    child.wait().unwrap();
    let base: u32 = map.split_whitespace().nth(1).unwrap().parse().unwrap();
    let slot = (base - sandbox_core::userns::ROOT_RANGE_BASE) / sandbox_core::userns::RANGE;
    let taint = format!("/run/sandbox/idmap/{slot}.tainted");
    assert!(
        common::eventually(Duration::from_secs(5), || common::pids_with_cmdline(&["sleep", &m]).len() == 1),
        "the survivor exists"
    );
    sandbox_core::userns::reclaim_tainted_slots();
    assert!(std::path::Path::new(&taint).exists(), "a range with a live survivor was freed");
    for pid in common::pids_with_cmdline(&["sleep", &m]) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    assert!(common::eventually(Duration::from_secs(5), || common::pids_with_cmdline(&["sleep", &m]).is_empty()));
    // (A SIGKILLed process is still exiting for a moment after its cmdline empties.)
    let freed = common::eventually(Duration::from_secs(5), || {
        sandbox_core::userns::reclaim_tainted_slots();
        !std::path::Path::new(&taint).exists()
    });
    assert!(freed, "an unused tainted range was not freed");
}

both! {
    fn kernel_knobs_are_read_only_and_leaky_proc_files_masked() {
        let s = sh(&sb(), "echo x > /proc/sys/kernel/hostname; echo 1 > /proc/sys/vm/drop_caches; cat /proc/keys /proc/timer_list 2>&1 | wc -c; ls -A /proc/acpi 2>/dev/null | wc -l");
        assert_eq!(s.matches("Read-only file system").count(), 2, "{s}");
        assert!(s.starts_with("0\n0\n"), "masked /proc files must read empty: {s}");
        if nix::unistd::geteuid().is_root() {
            // Real root inside (an explicit opt-in) still cannot set host-wide
            // kernel knobs: core_pattern would run a sandbox file as host root.
            let host_root = Sandbox::builder().id_mapping(sandbox_core::IdMapping::HostRoot).build().unwrap();
            let s = sh(&host_root, "cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern && echo WROTE");
            assert!(!s.contains("WROTE") && s.contains("Read-only file system"), "{s}");
        }
    }
}

both! {
    fn init_stays_out_of_reach_even_with_every_capability_inside() {
        // Init is a copy of the host process's memory: no ptrace, no
        // /proc/1/mem, no fd stealing, whatever the workload may do inside.
        let all = Sandbox::builder().cap_add("ALL").build().unwrap();
        let probe = "import ctypes, os\n\
                     for p in ('/proc/1/environ', '/proc/1/mem'):\n\
                     \x20   try: open(p, 'rb').read(1); print('READ', p)\n\
                     \x20   except OSError as e: print('DENIED', p, e.errno)\n\
                     l = ctypes.CDLL(None, use_errno=True)\n\
                     pidfd = l.syscall(434, 1, 0)\n\
                     fd = l.syscall(438, pidfd, 4, 0)\n\
                     print('GETFD', fd, ctypes.get_errno())";
        let out = all.command("python3").args(["-c", probe]).output().unwrap();
        let s = text(&out.stdout);
        assert!(!s.contains("READ"), "{s}{}", text(&out.stderr));
        assert!(s.contains("DENIED /proc/1/mem"), "{s}{}", text(&out.stderr));
        assert!(s.contains(&format!("GETFD -1 {}", libc::EPERM)), "pidfd_getfd on init: {s}");
    }
}

both! {
    fn kept_capabilities_cannot_undo_read_only_binds_or_the_nesting_block() {
        // With capabilities kept, the workload runs in an inner user + mount
        // namespace: the kernel locks the mount flags set above it.
        let dir = TempDir::new("lockedvol");
        let file = dir.file("file", "orig");
        let all = Sandbox::builder().cap_add("ALL").bind_ro(dir.path(), "/data").build().unwrap();
        let s = sh(
            &all,
            "grep CapEff /proc/self/status; \
             mount -o remount,rw,bind /data 2>/dev/null && echo REMOUNTED; echo tampered > /data/file 2>/dev/null; \
             echo 5 > /proc/sys/user/max_user_namespaces 2>/dev/null && echo LIMIT-RAISED; \
             unshare -U true 2>/dev/null && echo NESTED; \
             umount /proc/keys 2>/dev/null && echo UNMASKED; echo end",
        );
        assert!(s.contains("CapEff:\t000001ffffffffff"), "the capabilities were kept: {s}");
        for bad in ["REMOUNTED", "LIMIT-RAISED", "NESTED", "UNMASKED"] {
            assert!(!s.contains(bad), "{bad}: {s}");
        }
        assert!(s.contains("end\n"), "{s}");
        assert_eq!(std::fs::read_to_string(file).unwrap(), "orig");
    }
}

#[test]
fn host_device_nodes_cannot_be_changed_even_by_real_root_inside() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let host_root = Sandbox::builder().id_mapping(sandbox_core::IdMapping::HostRoot).build().unwrap();
    let before = std::fs::metadata("/dev/null").unwrap();
    let s = sh(&host_root, "chmod 600 /dev/null; echo data > /dev/null && echo WRITES-OK");
    assert!(s.contains("Read-only file system") && s.contains("WRITES-OK"), "{s}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata("/dev/null").unwrap().permissions().mode(), before.permissions().mode());
}
