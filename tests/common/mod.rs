//! Shared test helpers: run a test body as root *and* as an unprivileged
//! uid with no capabilities, temp dirs that uid can use, process scans.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const NOBODY: u32 = 65534;
const ROOTLESS_ENV: &str = "SANDBOX_TEST_ROOTLESS";
/// Where the root run left a readable copy of the CLI for the rootless re-run.
const CLI_ENV: &str = "SANDBOX_TEST_CLI";

/// True when this process is the unprivileged re-run of a test.
pub fn is_rootless_rerun() -> bool {
    std::env::var_os(ROOTLESS_ENV).is_some()
}

/// Runs `body` as the current user; when that is root, runs the same test
/// again in a copy of this test binary as uid/gid 65534 (no capabilities:
/// setuid away from root clears them), so rootless is proven, not assumed.
pub fn both(test_name: &str, body: impl FnOnce()) {
    if is_rootless_rerun() {
        assert_ne!(nix::unistd::geteuid().as_raw(), 0, "rootless re-run must not be root");
        body();
        return;
    }
    body();
    if nix::unistd::geteuid().is_root() {
        rerun_as_nobody(test_name);
    }
}

/// Re-executes the test binary (copied where uid 65534 can read it) with
/// only `test_name` selected.
pub fn rerun_as_nobody(test_name: &str) {
    let dir = TempDir::new("rerun");
    let exe = std::env::current_exe().expect("current_exe");
    let copy = dir.path().join("test-bin");
    std::fs::copy(&exe, &copy).expect("copy test binary");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The CLI too: the checkout may sit where only root can enter.
    let cli = dir.path().join("sandbox");
    std::fs::copy(env!("CARGO_BIN_EXE_sandbox"), &cli).expect("copy sandbox binary");
    std::fs::set_permissions(&cli, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = retry_busy(|| {
        std::process::Command::new(&copy)
            .args([test_name, "--exact", "--nocapture", "--test-threads=1", "--include-ignored"])
            .env(ROOTLESS_ENV, "1")
            .env(CLI_ENV, &cli)
            .current_dir(dir.path())
            .uid(NOBODY)
            .gid(NOBODY)
            .output()
    })
    .expect("run test as nobody");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "rootless re-run of {test_name} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// Defines a test that runs as root and again as uid 65534.
#[macro_export]
macro_rules! both {
    ($(#[$m:meta])* fn $name:ident() $body:block) => {
        $(#[$m])*
        #[test]
        fn $name() {
            common::both(stringify!($name), || $body)
        }
    };
}

/// A temp dir every uid can enter, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "sbx-test-{tag}-{}-{}-{}",
            std::process::id(),
            nix::unistd::geteuid(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&path).expect("create temp dir");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `content` to `name` inside, world-readable.
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Host pids whose command line is exactly `argv`.
pub fn pids_with_cmdline(argv: &[&str]) -> Vec<i32> {
    let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == want))
        .collect()
}

/// Waits up to `limit` for `cond`.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// A unique marker number for `sleep` so process scans find only ours.
pub fn marker() -> String {
    static N: AtomicU32 = AtomicU32::new(1);
    format!("{}.{}{}", 1000 + std::process::id() % 1000, N.fetch_add(1, Ordering::Relaxed), nix::unistd::geteuid())
}

/// The CLI binary, copied where uid 65534 can execute it.
pub struct Cli {
    _dir: TempDir,
    pub path: PathBuf,
}

pub fn cli() -> Cli {
    let dir = TempDir::new("cli");
    let path = dir.path().join("sandbox");
    let source = std::env::var_os(CLI_ENV).map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sandbox")), PathBuf::from);
    std::fs::copy(source, &path).expect("copy sandbox binary");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    Cli { _dir: dir, path }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `f`, retrying on ETXTBSY: a freshly copied binary stays "busy"
/// while another test thread's fork still holds the copy's write fd.
pub fn retry_busy<T>(mut f: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    for _ in 0..50 {
        match f() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => std::thread::sleep(Duration::from_millis(20)),
            other => return other,
        }
    }
    f()
}
