//! `sandbox_core::probe::check()` and `sandbox check`: every field that can
//! be measured independently here is compared with that measurement.

mod common;

use sandbox_core::probe::{self, Feature, Report, Status};
use std::ffi::CStr;
use std::os::unix::process::CommandExt;
use std::process::Command;

const NAMES: [&str; 10] = [
    "kernel",
    "root",
    "user_namespaces",
    "mount_namespace",
    "overlay",
    "namespaces",
    "subordinate_ids",
    "cgroups",
    "seccomp",
    "landlock",
];

fn feature<'a>(report: &'a Report, name: &str) -> &'a Feature {
    report.get(name).unwrap_or_else(|| panic!("no feature {name} in {report:#?}"))
}

fn uname_release() -> String {
    // SAFETY: utsname is plain old data; all-zero is a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    assert_eq!(unsafe { libc::uname(&mut u) }, 0);
    // SAFETY: uname NUL-terminates `release` within the array.
    unsafe { CStr::from_ptr(u.release.as_ptr()) }.to_string_lossy().into_owned()
}

fn raw_landlock_abi() -> Option<i64> {
    // SAFETY: NULL attr, size 0 and LANDLOCK_CREATE_RULESET_VERSION (1) only
    // return the ABI number.
    let r = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<libc::c_void>(), 0usize, 1u32) };
    (r > 0).then_some(r)
}

fn unshare_user_works() -> bool {
    Command::new("unshare").args(["-U", "true"]).status().expect("running unshare").success()
}

/// Whether /proc/self/mountinfo has a cgroup (v1) mount at `dir`.
fn cgroup_v1_mounted_at(dir: &str) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("reading mountinfo")
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            Some((left.split(' ').nth(4)?, right.split(' ').next()?))
        })
        .any(|(mount_point, fstype)| mount_point == dir && fstype == "cgroup")
}

#[test]
fn report_has_every_feature_once_with_consistent_status() {
    let report = probe::check();
    for name in NAMES {
        let n = report.features.iter().filter(|f| f.name == name).count();
        assert_eq!(n, 1, "{name} appears {n} times");
    }
    for f in &report.features {
        assert!(!f.detail.is_empty(), "{} has no detail", f.name);
        if f.name != "root" {
            assert_eq!(f.available, f.status == Status::Ok, "{f:?}");
        }
        if f.status == Status::Missing {
            assert!(f.fix.is_some(), "missing without a fix: {f:?}");
        }
    }
}

#[test]
fn kernel_release_is_uname_release() {
    let report = probe::check();
    let kernel = feature(&report, "kernel");
    let release = uname_release();
    assert_eq!(kernel.value.as_deref(), Some(release.as_str()));
    let mut v = release.split(|c: char| !c.is_ascii_digit());
    let major: u32 = v.next().unwrap().parse().unwrap();
    let minor: u32 = v.next().unwrap().parse().unwrap();
    if (major, minor) < (5, 12) {
        assert!(!kernel.available, "{kernel:?}");
    } else {
        // Only a seccomp filter hiding the new syscalls makes it unavailable.
        assert_eq!(kernel.available, !kernel.detail.contains("ENOSYS"), "{kernel:?}");
    }
}

#[test]
fn user_namespaces_match_unshare() {
    let report = probe::check();
    let userns = feature(&report, "user_namespaces");
    assert_eq!(userns.available, unshare_user_works(), "{userns:?}");
    if !userns.available {
        assert!(userns.fix.is_some());
    }
}

#[test]
fn landlock_abi_matches_raw_syscall() {
    let report = probe::check();
    let landlock = feature(&report, "landlock");
    let raw = raw_landlock_abi();
    assert_eq!(landlock.available, raw.is_some(), "{landlock:?}");
    assert_eq!(landlock.value, raw.map(|abi| abi.to_string()));
}

#[test]
fn cgroup_v1_reported_iff_memory_hierarchy_mounted() {
    let report = probe::check();
    let cgroups = feature(&report, "cgroups");
    let versions = cgroups.value.as_deref().unwrap_or("");
    let v1 = versions.split('+').any(|v| v == "v1");
    assert_eq!(v1, cgroup_v1_mounted_at("/sys/fs/cgroup/memory"), "{cgroups:?}");
    if v1 {
        assert!(cgroups.detail.contains("memory"), "{cgroups:?}");
    }
}

#[test]
fn root_matches_euid() {
    let report = probe::check();
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    let root = feature(&report, "root");
    assert_eq!(root.available, euid == 0);
    assert_eq!(root.value.as_deref(), Some(if euid == 0 { "true" } else { "false" }));
}

#[test]
fn probe_is_safe_from_many_threads() {
    let handles: Vec<_> = (0..4).map(|_| std::thread::spawn(probe::check)).collect();
    let reports: Vec<Report> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for r in &reports[1..] {
        for name in ["user_namespaces", "mount_namespace", "overlay", "namespaces"] {
            assert_eq!(feature(r, name).status, feature(&reports[0], name).status, "{name}");
        }
    }
}

fn json_of(stdout: &[u8]) -> serde_json::Value {
    serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(stdout).into_owned()))
}

fn json_feature<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["features"]
        .as_array()
        .expect("a features array")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v:#}"))
}

#[test]
fn cli_json_lists_the_features() {
    let out = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["check", "--json"])
        .output()
        .expect("running sandbox check --json");
    assert!(out.status.success(), "{out:?}");
    let v = json_of(&out.stdout);
    for name in ["user_namespaces", "kernel", "landlock", "cgroups", "seccomp", "subordinate_ids"] {
        let f = json_feature(&v, name);
        assert!(f["available"].is_boolean(), "{f}");
        assert!(["ok", "warn", "missing"].contains(&f["status"].as_str().unwrap_or("")), "{f}");
    }
    assert_eq!(json_feature(&v, "kernel")["value"].as_str(), Some(uname_release().as_str()));
    assert_eq!(json_feature(&v, "user_namespaces")["available"].as_bool(), Some(unshare_user_works()));
}

#[test]
fn cli_table_names_every_feature() {
    let out = Command::new(env!("CARGO_BIN_EXE_sandbox")).arg("check").output().expect("running sandbox check");
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).expect("utf-8 table");
    for name in NAMES {
        let line = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name} in\n{table}"));
        let status = line.split_whitespace().nth(1);
        assert!(matches!(status, Some("ok" | "warn" | "missing")), "bad status in {line:?}");
    }
    for l in table.lines().filter(|l| l.trim_start().starts_with("fix:")) {
        assert!(l.starts_with(' '), "fix lines are indented: {l:?}");
    }
}

#[test]
fn cli_as_nobody_sees_user_namespaces_and_no_root() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: switching to uid 65534 needs root");
        return;
    }
    let cli = common::cli();
    let out = common::retry_busy(|| {
        Command::new(&cli.path).args(["check", "--json"]).current_dir("/").uid(65534).gid(65534).output()
    })
    .expect("running sandbox check as uid 65534");
    assert!(out.status.success(), "{out:?}");
    let v = json_of(&out.stdout);
    let root = json_feature(&v, "root");
    assert_eq!(root["available"], false, "{root}");
    assert_eq!(root["value"], "false", "{root}");
    // Unprivileged user namespaces work on this host (unshare -U as nobody
    // is the independent measurement).
    let unshare = Command::new("unshare")
        .args(["-U", "true"])
        .current_dir("/")
        .uid(65534)
        .gid(65534)
        .status()
        .expect("running unshare as uid 65534")
        .success();
    assert!(unshare, "this host should allow unprivileged user namespaces");
    let userns = json_feature(&v, "user_namespaces");
    assert_eq!(userns["available"], true, "{userns}");
    assert_eq!(userns["status"], "ok", "{userns}");
}
