//! The added latency of one cgroup per sandbox, as medians (p50) and p90 of
//! spawn-to-exit for `/bin/true`, with and without cgroup limits, back to
//! back and with starts spread out by 10 ms. Runs interleave the two
//! configurations so drift on a noisy machine hits both alike.
//!
//! `cargo run --release -p sandbox-core --example cgroup-cost -- [RUNS]`

use sandbox_core::{Sandbox, Stdio};
use std::time::{Duration, Instant};

fn once(sb: &Sandbox) -> Duration {
    let start = Instant::now();
    let outcome = sb
        .command("/bin/true")
        .stdin(Stdio::Null)
        .stdout(Stdio::Null)
        .stderr(Stdio::Null)
        .status()
        .unwrap_or_else(|e| panic!("sandbox run failed: {e}"));
    assert_eq!(outcome.exit_code, Some(0), "{outcome:?}");
    start.elapsed()
}

fn percentile(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(200);
    let plain = Sandbox::builder().build().unwrap();
    let limited = Sandbox::builder().memory_limit(256 << 20).pids_limit(64).build().unwrap();
    let enforced = limited.command("true").output().unwrap().outcome.limits;
    println!("limits enforced by: memory {:?}, pids {:?}", enforced.memory, enforced.pids);
    for (label, gap) in [("back to back", Duration::ZERO), ("spread 10 ms", Duration::from_millis(10))] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            std::thread::sleep(gap);
            a.push(once(&plain));
            std::thread::sleep(gap);
            b.push(once(&limited));
        }
        let (pa, pb) = (percentile(&mut a, 0.5), percentile(&mut b, 0.5));
        println!(
            "{label:13} no limits p50 {pa:6.2} ms p90 {:6.2} | memory+pids p50 {pb:6.2} ms p90 {:6.2} | added p50 {:+.2} ms",
            percentile(&mut a, 0.9),
            percentile(&mut b, 0.9),
            pb - pa
        );
    }
}
