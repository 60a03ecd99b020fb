//! In-process spawn-to-exit latency of `/bin/true` in a sandbox.
//!
//! Each iteration is one whole run: validate-free `Command` from an already
//! built `Sandbox`, clone into fresh namespaces, build the host-view rootfs,
//! exec `/bin/true`, reap, report. Stdio is `/dev/null` so no pipe pumping is
//! measured. Every iteration asserts `exit_code == Some(0)`: a sandbox that
//! fails early must abort the bench, not be recorded as fast.
//!
//! Run: `cargo bench --bench spawn` (from the workspace root). Sample counts
//! are kept moderate so the whole bench takes well under a minute on a
//! 2-core VM. See benches/README.md for figures and the CLI comparison.

use criterion::{Criterion, criterion_group, criterion_main};
use sandbox_core::{Sandbox, Stdio};
use std::hint::black_box;
use std::time::Duration;

const PROGRAM: &str = "/bin/true";

fn run_once(sb: &Sandbox) {
    let outcome = sb
        .command(PROGRAM)
        .stdin(Stdio::Null)
        .stdout(Stdio::Null)
        .stderr(Stdio::Null)
        .status()
        .unwrap_or_else(|e| panic!("sandbox run of {PROGRAM} failed: {e}"));
    assert_eq!(outcome.exit_code, Some(0), "{PROGRAM} in the sandbox did not exit 0: {outcome:?}");
    black_box(outcome);
}

fn spawn(c: &mut Criterion) {
    let default = Sandbox::builder().build().expect("default sandbox config builds");
    let no_net = Sandbox::builder().net_namespace(false).build().expect("no-net sandbox config builds");

    // Fail fast, outside the timing loop, with a readable message if this
    // host cannot run sandboxes at all (e.g. unprivileged userns disabled).
    run_once(&default);
    run_once(&no_net);

    let mut group = c.benchmark_group("spawn_to_exit");
    group.sample_size(30).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(8));
    group.bench_function("true/default", |b| b.iter(|| run_once(&default)));
    group.bench_function("true/no_netns", |b| b.iter(|| run_once(&no_net)));
    group.finish();
}

/// The added cost of one cgroup per sandbox (create, configure, attach,
/// read, remove), back to back and with starts spread out by 10 ms: moving a
/// task into a cgroup takes the kernel's cgroup_threadgroup_rwsem for
/// writing, which waits out an RCU grace period unless another writer came
/// recently — cheap back to back, a stall when starts are spread out.
fn cgroup_cost(c: &mut Criterion) {
    let plain = Sandbox::builder().build().expect("default sandbox config builds");
    let limited = Sandbox::builder().memory_limit(256 << 20).pids_limit(64).build().expect("limits build");
    run_once(&limited);
    let mut group = c.benchmark_group("cgroup_cost");
    group.sample_size(30).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(8));
    group.bench_function("back_to_back/no_limits", |b| b.iter(|| run_once(&plain)));
    group.bench_function("back_to_back/memory+pids", |b| b.iter(|| run_once(&limited)));
    for (name, sb) in [("spread_10ms/no_limits", &plain), ("spread_10ms/memory+pids", &limited)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    std::thread::sleep(Duration::from_millis(10));
                    let start = std::time::Instant::now();
                    run_once(sb);
                    total += start.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, spawn, cgroup_cost);
criterion_main!(benches);
