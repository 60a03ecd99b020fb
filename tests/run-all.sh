#!/usr/bin/env bash
# The whole test suite: formatting, lints, every Rust test (unit, integration,
# doc, examples), then a check that nothing was left behind on the host.
# This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the host looks like before: mounts, sandbox processes, temp dirs.
userns_procs() {
    # Processes in any user namespace but ours: a leaked sandbox.
    local init_ns; init_ns=$(readlink /proc/self/ns/user)
    local n=0
    for p in /proc/[0-9]*; do
        ns=$(readlink "$p/ns/user" 2>/dev/null) || continue
        [ "$ns" != "$init_ns" ] && n=$((n + 1))
    done
    echo "$n"
}
mounts_before=$(wc -l < /proc/self/mountinfo)
procs_before=$(userns_procs)

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo doc -D warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q
echo "== cargo test"
cargo test --workspace --all-targets
cargo test --workspace --doc
# Say out loud whether this host let the cgroup v2 controller test run.
cargo test -q -p sandbox-core --test limits cgroup_v2_controllers -- --nocapture 2>&1 | grep -E "skipped|test result"
echo "== example"
cargo run -q -p sandbox-core --example run-python-with-timeout
cargo run -q -p sandbox-core --example spawn-cost-by-namespace -- 20
cargo run -q -p sandbox-core --example cgroup-cost -- 5

echo "== C door (tests/c/run.sh)"
bash tests/c/run.sh

bash tests/python/run.sh
echo "== leftovers"
fail=0
mounts_after=$(wc -l < /proc/self/mountinfo)
if [ "$mounts_after" != "$mounts_before" ]; then
    echo "stray mounts: $mounts_before before, $mounts_after after"; fail=1
fi
sleep 0.2
procs_after=$(userns_procs)
if [ "$procs_after" -gt "$procs_before" ]; then
    echo "stray sandbox processes: $procs_before before, $procs_after after"; fail=1
fi
# Every per-sandbox cgroup (sbx-*) is removed after its run; the parents
# (`sandbox`, and the `sandbox-65534` delegation the limit tests set up as an
# administrator would) may stay, empty.
for d in /sys/fs/cgroup/*/sandbox*/sbx-* /sys/fs/cgroup/unified/sandbox*/sbx-*; do
    if [ -e "$d" ]; then echo "stray cgroup: $d"; fail=1; fi
done
rmdir /sys/fs/cgroup/*/sandbox-65534 2>/dev/null || true
if ls -d "${TMPDIR:-/tmp}"/sbx-test-* 2>/dev/null; then
    echo "stray test temp dirs (listed above)"; fail=1
fi
if [ "$fail" = 0 ]; then
    echo "leftovers: 1 passed, 0 failed"
else
    echo "leftovers: 0 passed, 1 failed"; exit 1
fi
