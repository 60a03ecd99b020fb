//! How much each namespace costs: median spawn-to-exit of `/bin/true` over
//! N runs (default 300, or the first argument) for configurations from all
//! namespaces down to the user namespace alone. A quick breakdown next to
//! the criterion bench (`cargo bench --bench spawn`).
//!
//! `cargo run --release -p sandbox-core --example spawn-cost-by-namespace -- 300`

use sandbox_core::{Sandbox, Stdio};
use std::time::Instant;
fn med(sb: &Sandbox, n: usize) -> f64 {
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let o =
                sb.command("/bin/true").stdin(Stdio::Null).stdout(Stdio::Null).stderr(Stdio::Null).status().unwrap();
            assert_eq!(o.exit_code, Some(0));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[n / 2]
}
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    // Each step turns one more namespace off.
    let minimal = |pid: bool| {
        Sandbox::builder()
            .net_namespace(false)
            .mount_namespace(false)
            .ipc_namespace(false)
            .uts_namespace(false)
            .cgroup_namespace(false)
            .pid_namespace(pid)
            .build()
            .unwrap()
    };
    let cfgs: Vec<(&str, Sandbox)> = vec![
        ("default", Sandbox::builder().build().unwrap()),
        ("no-net", Sandbox::builder().net_namespace(false).build().unwrap()),
        ("no-net-no-mnt", Sandbox::builder().net_namespace(false).mount_namespace(false).build().unwrap()),
        ("user+pid only", minimal(true)),
        ("user only", minimal(false)),
    ];
    for (name, sb) in &cfgs {
        println!("{name:16} {:.3} ms", med(sb, n));
    }
}
