//! Run an untrusted Python snippet in a sandbox with a wall-clock timeout
//! and captured output, as a test harness or online judge would.
//!
//! `cargo run -p sandbox-core --example run-python-with-timeout`

use sandbox_core::Sandbox;
use std::time::Duration;

fn main() -> Result<(), sandbox_core::Error> {
    let sandbox =
        Sandbox::builder().timeout(Duration::from_secs(2)).output_limit(1 << 20).env("LANG", "C.UTF-8").build()?;

    let program = if std::path::Path::new("/usr/bin/python3").exists() { "python3" } else { "sh" };
    let script = if program == "python3" {
        "import os, socket; print('uid', os.getuid(), 'pid', os.getpid(), 'host', socket.gethostname())"
    } else {
        "echo uid $(id -u) pid $$ host $(hostname)"
    };
    let out = sandbox.command(program).args(["-c", script]).output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));

    // A runaway loop is stopped by the timeout, with every process it made.
    let hog = Sandbox::builder().timeout(Duration::from_millis(300)).build()?;
    let out = hog.command("sh").args(["-c", "(setsid sh -c 'while :; do :; done' &); while :; do :; done"]).output()?;
    println!(
        "runaway: timed_out={} wall={:.2}s cpu={:.2}s",
        out.outcome.timed_out,
        out.outcome.wall_time.as_secs_f64(),
        out.outcome.cpu_time.total().as_secs_f64()
    );
    assert!(out.outcome.timed_out);
    Ok(())
}
