//! Subordinate id ranges through newuidmap/newgidmap: with an /etc/subuid
//! entry `chown` works inside; without one the error says how to add it.
//! Root temporarily adds entries for itself and for uid 65534 (restoring the
//! files afterwards) and re-runs the bodies below as uid 65534.

mod common;

use common::text;
use sandbox_core::{IdMapping, Sandbox};

const SUB: [&str; 2] = ["/etc/subuid", "/etc/subgid"];

fn subordinate() -> Sandbox {
    Sandbox::builder().id_mapping(IdMapping::Subordinate).build().unwrap()
}

/// What a package manager needs: a range to chown into, and CAP_CHOWN.
fn subordinate_with_chown() -> Sandbox {
    Sandbox::builder().id_mapping(IdMapping::Subordinate).cap_add("CHOWN").build().unwrap()
}

/// Restores /etc/subuid and /etc/subgid when dropped.
struct Restore(Vec<(&'static str, Option<Vec<u8>>)>);

impl Drop for Restore {
    fn drop(&mut self) {
        for (path, content) in &self.0 {
            match content {
                Some(c) => std::fs::write(path, c).unwrap(),
                None => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
}

fn has_entry(name: &str) -> bool {
    SUB.iter().all(|f| std::fs::read_to_string(f).is_ok_and(|t| t.lines().any(|l| l.starts_with(&format!("{name}:")))))
}

#[test]
fn subordinate_ranges_as_root_and_as_nobody() {
    if !nix::unistd::geteuid().is_root() || common::is_rootless_rerun() {
        return;
    }
    assert!(std::path::Path::new("/usr/bin/newuidmap").exists(), "install uidmap (apt-get install uidmap)");
    let _restore = Restore(SUB.iter().map(|f| (*f, std::fs::read(f).ok())).collect());
    if !has_entry("nobody") {
        common::rerun_as_nobody("body_missing_range_is_explained");
    }
    for f in SUB {
        let mut t = std::fs::read_to_string(f).unwrap_or_default();
        t.push_str("nobody:200000:65536\nroot:300000:65536\n");
        std::fs::write(f, t).unwrap();
    }
    body_chown_works_inside();
    common::rerun_as_nobody("body_chown_works_inside");
}

#[test]
#[ignore = "run by subordinate_ranges_as_root_and_as_nobody"]
fn body_missing_range_is_explained() {
    let e = subordinate().command("true").output().unwrap_err();
    assert_eq!(e.kind(), sandbox_core::ErrorKind::Unsupported);
    let msg = e.to_string();
    assert!(msg.starts_with("no subordinate uid range for user 'nobody' in /etc/subuid"), "{msg}");
    assert!(msg.contains("usermod --add-subuids 100000-165535 nobody"), "{msg}");
}

#[test]
#[ignore = "run by subordinate_ranges_as_root_and_as_nobody"]
fn body_chown_works_inside() {
    // Capabilities are dropped by default: root inside cannot chown.
    let out = subordinate().command("sh").args(["-c", "touch /tmp/f && chown 1000 /tmp/f"]).output().unwrap();
    assert!(text(&out.stderr).contains("Operation not permitted"), "{}", text(&out.stderr));
    let out = subordinate_with_chown()
        .command("sh")
        .args(["-c", "touch /tmp/f && chown 1000:1000 /tmp/f && stat -c %u:%g /tmp/f"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "1000:1000\n", "{}", text(&out.stderr));
    // The map itself, seen from the sandbox's namespace (a workload that
    // keeps capabilities sits one identity-mapped namespace further down).
    let out = subordinate().command("cat").arg("/proc/self/uid_map").output().unwrap();
    let s = text(&out.stdout);
    let lines: Vec<Vec<&str>> = s.lines().map(|l| l.split_whitespace().collect()).collect();
    if nix::unistd::geteuid().is_root() {
        // Root's own subordinate range only: sandbox root is never host root.
        assert_eq!(lines, [vec!["0", "300000", "65536"]], "{s}");
    } else {
        assert_eq!(lines, [vec!["0", "65534", "1"], vec!["1", "200000", "65535"]], "{s}");
    }
}
