//! Isolation claims, each tried against the real kernel, as root and again
//! as uid 65534 without capabilities.

mod common;

use common::{TempDir, text};
use sandbox_core::{IdMapping, Network, Sandbox};
use std::time::Duration;

fn run(sb: &Sandbox, script: &str) -> sandbox_core::Output {
    sb.command("sh").args(["-c", script]).output().expect("sandbox run")
}

fn default() -> Sandbox {
    Sandbox::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

fn host_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

both! {
    fn uid_zero_inside_maps_to_an_unprivileged_host_uid() {
        let out = run(&default(), "id -u; id -g; cat /proc/self/uid_map");
        let s = text(&out.stdout);
        let mut lines = s.lines();
        assert_eq!(lines.next(), Some("0"), "{s}");
        assert_eq!(lines.next(), Some("0"), "{s}");
        let map: Vec<u64> = lines.next().unwrap().split_whitespace().map(|f| f.parse().unwrap()).collect();
        assert_eq!(map[0], 0);
        if host_uid() == 0 {
            // Root caller: a private range, never host root.
            assert!(map[1] >= sandbox_core::userns::ROOT_RANGE_BASE as u64, "root caller must map to a private range: {map:?}");
            assert_eq!(map[2], 65536);
        } else {
            assert_eq!(map[1..], [host_uid() as u64, 1]);
        }
    }
}

both! {
    fn chosen_uid_and_gid_inside() {
        let sb = Sandbox::builder().user(1000, 1000).build().unwrap();
        let out = run(&sb, "id -u; id -g");
        assert_eq!(text(&out.stdout), "1000\n1000\n");
    }
}

#[test]
fn root_callers_workload_runs_as_unprivileged_host_uid_unless_host_root_is_asked() {
    if host_uid() != 0 {
        return;
    }
    let status_uid = |sb: &Sandbox| {
        let out = run(sb, "grep -E '^Uid:' /proc/self/status; cat /proc/self/uid_map");
        text(&out.stdout)
    };
    // Inside, /proc/self/status shows inside ids; the map shows the host side.
    let s = status_uid(&default());
    assert!(!s.contains("0 0 4294967295"), "{s}");
    let host_root = Sandbox::builder().id_mapping(IdMapping::HostRoot).build().unwrap();
    assert!(status_uid(&host_root).contains("0          0 4294967295"), "host-root opt-in maps 0 to 0");
    // And the host sees the workload as a non-root uid.
    let mut child = default().command("sleep").arg("5").spawn().unwrap();
    let init = child.id();
    let children = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children")).unwrap();
    let workload: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{workload}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let uids: Vec<u32> = uid_line.split_whitespace().skip(1).map(|u| u.parse().unwrap()).collect();
    assert!(uids.iter().all(|&u| u >= sandbox_core::userns::ROOT_RANGE_BASE), "host sees {uid_line}");
    child.kill().unwrap();
}

both! {
    fn pid_namespace_shows_only_the_sandbox() {
        let out = run(&default(), "echo $$; ls /proc | grep -c '^[0-9]'");
        let s = text(&out.stdout);
        let mut l = s.lines();
        let me: u32 = l.next().unwrap().parse().unwrap();
        assert!(me == 1 || me == 2, "shell pid {me}");
        // init, sh, ls and grep at most.
        let count: u32 = l.next().unwrap().parse().unwrap();
        assert!(count <= 4, "saw {count} processes: {s}");
    }
}

both! {
    fn hostname_is_isolated() {
        let host = nix::unistd::gethostname().unwrap();
        let sb = Sandbox::builder().hostname("box1").build().unwrap();
        let out = run(&sb, "hostname; hostname other 2>/dev/null; hostname");
        let s = text(&out.stdout);
        assert!(s.starts_with("box1\n"), "{s}");
        assert_eq!(nix::unistd::gethostname().unwrap(), host);
    }
}

both! {
    fn network_none_has_only_loopback_and_cannot_reach_the_host() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let probe = format!("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; (echo hi > /dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo CONNECTED || echo REFUSED");
        let out = default().command("bash").args(["-c", &probe]).output().unwrap();
        assert_eq!(text(&out.stdout), "lo\nREFUSED\n");
        assert!(listener.accept().is_err(), "nothing may reach the host listener");
        // The same probe on the host network connects: the test can fail.
        let host = Sandbox::builder().network(Network::Host).build().unwrap();
        let out = host.command("bash").args(["-c", &probe]).output().unwrap();
        assert!(text(&out.stdout).ends_with("CONNECTED\n"), "{}", text(&out.stdout));
    }
}

both! {
    fn host_view_hides_home_root_var_run_sys() {
        let out = run(&default(), "for d in /home /root /var /run /sys /boot /work; do test -e $d && echo $d; done; ls /");
        let s = text(&out.stdout);
        assert_eq!(s, "bin\ndev\netc\nlib\nlib64\nproc\nsbin\ntmp\nusr\n".replace("lib64\n", if std::path::Path::new("/lib64").exists() { "lib64\n" } else { "" }));
    }
}

both! {
    fn root_is_read_only_and_tmp_is_private() {
        let marker = format!("sbx-private-{}-{}", std::process::id(), host_uid());
        let script = format!("touch /newfile 2>&1 || echo ROFS; touch /usr/newfile 2>/dev/null || echo USR-RO; echo data > /tmp/{marker} && cat /tmp/{marker}");
        let out = run(&default(), &script);
        let s = text(&out.stdout);
        assert!(s.contains("Read-only file system") && s.contains("ROFS") && s.contains("USR-RO"), "{s}");
        assert!(s.ends_with("data\n"), "{s}");
        assert!(!std::path::Path::new("/tmp").join(&marker).exists(), "/tmp write leaked to the host");
    }
}

both! {
    fn bind_mounts_ro_and_rw() {
        let dir = TempDir::new("binds");
        dir.file("hello", "from host");
        let sb = Sandbox::builder().bind(dir.path(), "/rw").bind_ro(dir.path(), "/ro").build().unwrap();
        let out = run(&sb, "cat /ro/hello; echo; echo written > /rw/out; echo x > /ro/nope 2>/dev/null || echo RO-DENIED");
        assert_eq!(text(&out.stdout), "from host\nRO-DENIED\n", "{}", text(&out.stderr));
        assert_eq!(std::fs::read_to_string(dir.path().join("out")).unwrap(), "written\n");
        assert!(!dir.path().join("nope").exists());
    }
}

both! {
    fn directory_rootfs_writable_or_read_only() {
        let dir = TempDir::new("rootfs");
        std::os::unix::fs::symlink("usr/bin", dir.path().join("bin")).unwrap();
        for lib in ["lib", "lib64"] {
            if std::path::Path::new("/").join(lib).is_symlink() {
                std::os::unix::fs::symlink(format!("usr/{lib}"), dir.path().join(lib)).unwrap();
            }
        }
        let build = |ro: bool| {
            let mut b = Sandbox::builder().rootfs(dir.path()).read_only(ro).bind_ro("/usr", "/usr");
            for lib in ["/lib", "/lib64"] {
                if std::path::Path::new(lib).is_dir() && !std::path::Path::new(lib).is_symlink() {
                    b = b.bind_ro(lib, lib);
                }
            }
            b.build().unwrap()
        };
        let out = run(&build(false), "echo in-rootfs > /made-inside && ls /proc/self >/dev/null && echo OK");
        assert_eq!(text(&out.stdout), "OK\n", "{}", text(&out.stderr));
        assert_eq!(std::fs::read_to_string(dir.path().join("made-inside")).unwrap(), "in-rootfs\n");
        let out = run(&build(true), "echo x > /second 2>/dev/null || echo RO");
        assert_eq!(text(&out.stdout), "RO\n");
        assert!(!dir.path().join("second").exists());
    }
}

both! {
    fn environment_is_clean() {
        let sb = Sandbox::builder().env("FOO", "bar").build().unwrap();
        let out = sb.command("env").output().unwrap();
        let mut vars: Vec<String> = text(&out.stdout).lines().map(|l| l.split('=').next().unwrap().to_string()).collect();
        vars.sort();
        assert_eq!(vars, ["FOO", "HOME", "PATH"], "{}", text(&out.stdout));
        assert!(text(&out.stdout).contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    }
}

#[test]
fn command_environment_is_bytes_and_overrides_the_config() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::builder().env("FOO", "config").build().unwrap();
    let raw = std::ffi::OsStr::from_bytes(b"caf\xe9");
    let out = sb
        .command("sh")
        .args(["-c", "printf '%s|%s' \"$FOO\" \"$RAW\""])
        .env("FOO", "command")
        .env("RAW", raw)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"command|caf\xe9");
    let err = sb.command("true").env("A=B", "x").output().unwrap_err();
    assert_eq!(err.kind(), sandbox_core::ErrorKind::InvalidConfig);
    assert!(err.to_string().contains("env"), "{err}");
}

both! {
    fn no_capabilities_no_new_privs_and_own_session() {
        let out = run(&default(), "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs)' /proc/self/status; ps -o sid= -p $$ 2>/dev/null || cut -d' ' -f6 /proc/$$/stat");
        let s = text(&out.stdout);
        for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            assert!(s.contains(&format!("{cap}:\t0000000000000000")), "{cap} not empty: {s}");
        }
        assert!(s.contains("NoNewPrivs:\t1"), "{s}");
    }
}

both! {
    fn no_fd_of_the_caller_leaks_in() {
        // An fd opened without O_CLOEXEC, as careless hosts do.
        // SAFETY: plain open(2) of a constant path; closed below.
        let fd = unsafe { libc::open(c"/etc/hostname".as_ptr(), libc::O_RDONLY) };
        assert!(fd >= 0);
        let out = run(&default(), "ls /proc/$$/fd");
        // SAFETY: closing the fd opened above.
        unsafe { libc::close(fd) };
        assert_eq!(text(&out.stdout), "0\n1\n2\n");
    }
}

both! {
    fn exit_codes_and_signals_propagate() {
        let sb = default();
        let o = run(&sb, "exit 3").outcome;
        assert_eq!((o.exit_code, o.signal, o.shell_status()), (Some(3), None, 3));
        let o = run(&sb, "kill -TERM $$").outcome;
        assert_eq!((o.exit_code, o.signal, o.shell_status()), (None, Some(15), 143));
        let o = run(&sb, "kill -KILL $$").outcome;
        assert_eq!(o.signal_name.as_deref(), Some("SIGKILL"));
        assert!(!o.timed_out);
        let o = run(&sb, "true").outcome;
        assert!(o.success());
    }
}

both! {
    fn minimal_dev_works() {
        let out = run(&default(), "head -c 4 /dev/zero | od -An -tx1; echo x > /dev/null && echo NULL-OK; head -c 8 /dev/urandom | wc -c; ls /dev/pts/ptmx; ls /dev | tr '\\n' ' '");
        let s = text(&out.stdout);
        assert!(s.contains("00 00 00 00") && s.contains("NULL-OK") && s.contains("8\n") && s.contains("/dev/pts/ptmx"), "{s}");
        assert!(!s.contains("sda") && !s.contains("vda") && !s.contains("kmsg"), "{s}");
    }
}

both! {
    fn cap_add_keeps_only_the_named_capability_inside() {
        let sb = Sandbox::builder().cap_add("NET_BIND_SERVICE").build().unwrap();
        let out = run(&sb, "grep -E '^Cap(Prm|Eff|Bnd|Amb)' /proc/self/status");
        let s = text(&out.stdout);
        for cap in ["CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            assert!(s.contains(&format!("{cap}:\t0000000000000400")), "{cap}: {s}");
        }
        // As a non-root uid inside, the ambient set carries it across exec.
        let sb = Sandbox::builder().cap_add("NET_BIND_SERVICE").user(1000, 1000).build().unwrap();
        let out = run(&sb, "grep -E '^CapEff' /proc/self/status");
        assert_eq!(text(&out.stdout), "CapEff:\t0000000000000400\n");
        let e = Sandbox::builder().cap_add("FLY").build().unwrap_err();
        assert!(e.to_string().starts_with("cap_add: 'FLY' is invalid"), "{e}");
    }
}

both! {
    fn kept_capabilities_apply_to_the_sandboxs_network_and_hostname() {
        // The workload's inner user namespace owns its net/uts/ipc namespaces.
        let sb = Sandbox::builder().cap_add("NET_BIND_SERVICE").cap_add("SYS_ADMIN").user(1000, 1000).build().unwrap();
        let out = sb
            .command("python3")
            .args(["-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 80)); print('bound')"])
            .output()
            .unwrap();
        assert_eq!(text(&out.stdout), "bound\n", "{}", text(&out.stderr));
        let root = Sandbox::builder().cap_add("SYS_ADMIN").build().unwrap();
        assert_eq!(text(&run(&root, "hostname renamed && hostname").stdout), "renamed\n");
        // Without a mount namespace there is nothing to lock: no inner one.
        let shared = Sandbox::builder().cap_add("ALL").mount_namespace(false).build().unwrap();
        assert!(shared.command("true").output().unwrap().outcome.success());
    }
}
