//! Bad input is rejected with a message that names the field and the fix;
//! kernel refusals name the step. Runs as root and again as uid 65534.

mod common;

use common::{TempDir, text};
use sandbox_core::{ErrorKind, Mount, Sandbox, SandboxConfig, Stage};
use std::path::PathBuf;

fn config_error(c: SandboxConfig) -> sandbox_core::Error {
    Sandbox::from_config(c).expect_err("config must be rejected")
}

both! {
    fn missing_rootfs_is_rejected_before_any_clone() {
        let e = Sandbox::builder().rootfs("/nonexistent/rootfs").build().unwrap_err();
        assert_eq!((e.kind(), e.stage()), (ErrorKind::InvalidConfig, Stage::Validate));
        let msg = e.to_string();
        assert!(msg.starts_with("rootfs: /nonexistent/rootfs does not exist"), "{msg}");
        assert!(msg.contains("give an existing directory"), "{msg}");
        assert_eq!(e.path(), Some(std::path::Path::new("/nonexistent/rootfs")));
    }
}

both! {
    fn relative_or_escaping_mount_targets_are_rejected() {
        let e = Sandbox::builder().bind("/usr", "data").build().unwrap_err();
        assert_eq!(e.to_string(), "mounts[0]: mount target 'data' must be an absolute path inside the sandbox (e.g. /data)");
        let e = Sandbox::builder().tmpfs("/a/../../etc", None).build().unwrap_err();
        assert!(e.to_string().contains("must not contain '..'"), "{e}");
        let e = Sandbox::builder().tmpfs("/", None).build().unwrap_err();
        assert!(e.to_string().contains("would hide the root filesystem"), "{e}");
    }
}

both! {
    fn missing_bind_source_names_the_path() {
        let e = Sandbox::builder().bind("/no/such/dir", "/data").build().unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("mounts[0]: bind source /no/such/dir does not exist: no such file or directory;"), "{msg}");
        assert!(msg.contains("create it or fix the path"), "{msg}");
    }
}

both! {
    fn bad_sizes_name_the_field() {
        let e = sandbox_core::config::parse_size("--memory", "12 bananas").unwrap_err();
        assert!(e.to_string().starts_with("--memory: '12 bananas' is not a size"), "{e}");
        assert!(e.to_string().contains("e.g. 64m"), "{e}");
    }
}

both! {
    fn bad_env_cwd_and_hostname_are_rejected() {
        let c = SandboxConfig { env: vec![("A=B".into(), "c".into())], ..SandboxConfig::default() };
        assert!(config_error(c).to_string().starts_with("env: 'A=B' is invalid"));
        let c = SandboxConfig { cwd: PathBuf::from("relative"), ..SandboxConfig::default() };
        assert_eq!(config_error(c).to_string(), "cwd: 'relative' must be an absolute path inside the sandbox");
        let c = SandboxConfig { hostname: "a/b".into(), ..SandboxConfig::default() };
        assert!(config_error(c).to_string().starts_with("hostname: 'a/b' is invalid"));
    }
}

both! {
    fn command_not_found_is_rejected_before_any_clone() {
        let sb = Sandbox::builder().build().unwrap();
        let e = sb.command("no-such-program-xyz").output().unwrap_err();
        assert_eq!((e.kind(), e.stage()), (ErrorKind::NotFound, Stage::Validate));
        let msg = e.to_string();
        assert!(msg.starts_with("command: 'no-such-program-xyz' not found in the sandbox"), "{msg}");
        assert!(msg.contains("give an absolute path or mount the directory"), "{msg}");
        // An absolute path that is missing inside fails at exec, named too.
        let e = sb.command("/tmp/not-there").output().unwrap_err();
        assert_eq!((e.kind(), e.stage(), e.errno()), (ErrorKind::NotFound, Stage::Exec, Some(libc::ENOENT)));
        assert!(e.to_string().contains("'/tmp/not-there' not found"), "{e}");
    }
}

both! {
    fn a_non_executable_program_is_a_permission_error() {
        let dir = TempDir::new("noexec");
        dir.file("script", "#!/bin/sh\necho hi\n");
        let sb = Sandbox::builder().bind_ro(dir.path(), "/w").build().unwrap();
        let e = sb.command("/w/script").output().unwrap_err();
        assert_eq!((e.kind(), e.stage(), e.errno()), (ErrorKind::PermissionDenied, Stage::Exec, Some(libc::EACCES)));
        assert_eq!(e.to_string(), "command: '/w/script' cannot be executed: permission denied (EACCES)");
    }
}

both! {
    fn a_missing_working_directory_names_the_step_and_path() {
        let sb = Sandbox::builder().cwd("/does/not/exist").build().unwrap();
        let e = sb.command("true").output().unwrap_err();
        assert_eq!(e.stage(), Stage::Exec);
        assert_eq!(e.path(), Some(std::path::Path::new("/does/not/exist")));
        assert!(e.to_string().contains("changing to the working directory /does/not/exist"), "{e}");
    }
}

both! {
    fn a_mount_failure_names_the_mount_and_leaves_nothing_behind() {
        let dir = TempDir::new("mountfail");
        let f = dir.file("f", "x");
        // A file bound under the read-only /usr: its mount point cannot be made.
        let sb = Sandbox::builder().bind(&f, "/usr/sbx-no-such-file").build().unwrap();
        let e = sb.command("true").output().unwrap_err();
        assert_eq!(e.stage(), Stage::Mount, "{e}");
        let want = format!("creating the mount point for 'bind {} -> /usr/sbx-no-such-file'", f.display());
        assert!(e.to_string().contains(&want), "{e}");
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.contains(dir.path().to_str().unwrap()), "a mount leaked to the host");
    }
}

#[test]
fn uid_outside_a_root_callers_range_is_rejected() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let e = Sandbox::builder().user(70000, 70000).build().unwrap().command("true").output().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().starts_with("uid/gid 70000 is not mapped inside the sandbox"), "{e}");
}

#[test]
fn host_root_mapping_needs_a_root_caller() {
    if nix::unistd::geteuid().is_root() {
        common::rerun_as_nobody("host_root_mapping_needs_a_root_caller");
        return;
    }
    let c = SandboxConfig { id_mapping: sandbox_core::IdMapping::HostRoot, ..SandboxConfig::default() };
    assert!(config_error(c).to_string().contains("host-root keeps real root and needs a root caller"));
}

#[test]
fn disabled_user_namespaces_name_the_sysctl() {
    // user.max_user_namespaces is per user namespace: set it to 0 in a
    // throwaway one and run the CLI there.
    let cli = common::cli();
    let script = format!("echo 0 > /proc/sys/user/max_user_namespaces && exec {} run -- true", cli.path.display());
    let out = common::retry_busy(|| std::process::Command::new("unshare").args(["-Ur", "sh", "-c", &script]).output())
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("creating the sandbox namespaces (clone) failed"), "{err}");
    assert!(err.contains("user.max_user_namespaces"), "{err}");
}

#[test]
fn config_round_trips_through_json() {
    let c = SandboxConfig {
        mounts: vec![Mount::Tmpfs { target: "/scratch".into(), size: Some(1 << 20), mode: None }],
        timeout: Some(std::time::Duration::from_millis(1500)),
        ..SandboxConfig::default()
    };
    let json = serde_json::to_string(&c).unwrap();
    let back: SandboxConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    let e = serde_json::from_str::<SandboxConfig>(r#"{"hostnam": "x"}"#).unwrap_err();
    assert!(e.to_string().contains("unknown field `hostnam`"), "{e}");
}

both! {
    fn command_not_found_in_a_directory_rootfs_is_rejected_before_any_clone() {
        let root = TempDir::new("emptyroot");
        let sb = Sandbox::builder().rootfs(root.path()).build().unwrap();
        let e = sb.command("sh").output().unwrap_err();
        assert_eq!((e.kind(), e.stage()), (ErrorKind::NotFound, Stage::Validate), "{e}");
    }
}

#[test]
fn reserved_ids_and_impossible_tmpfs_modes_are_rejected() {
    let e = Sandbox::builder().user(u32::MAX, 0).build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().starts_with("uid: '4294967295' is invalid: 4294967295 is (uid_t)-1"), "{e}");
    let e = Sandbox::builder().user(0, u32::MAX).build().unwrap_err();
    assert!(e.to_string().starts_with("gid: "), "{e}");
    let mut c = SandboxConfig::default();
    c.mounts.push(Mount::Tmpfs { target: "/t".into(), size: None, mode: Some(0o17777) });
    let e = config_error(c);
    assert!(e.to_string().starts_with("mounts[0] mode: '17777' is invalid: a tmpfs mode is at most 07777"), "{e}");
}
