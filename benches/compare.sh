#!/usr/bin/env bash
# Side-by-side spawn-to-exit latency of `/bin/true` under several sandboxes,
# run unprivileged, interleaved round-robin so machine noise hits all alike.
#
#   bash benches/compare.sh            # as root (drops to uid 65534) or as a user
#   N=1000 bash benches/compare.sh     # more rounds (default 300)
#
# Contenders (each runs `/bin/true`; a contender whose tool is missing is
# skipped with a note, one that is installed but fails makes the script fail):
#   floor    /bin/true
#   unshare  unshare -Urmpfnui --fork --mount-proc /bin/true
#   bwrap    bwrap --unshare-all --die-with-parent --ro-bind / / --dev /dev
#                  --proc /proc --tmpfs /tmp /bin/true
#   crun     crun run on a generated rootless bundle whose root is the host's /
#            (only when crun is installed; skipped with the reason when crun
#            cannot run rootless on this host, e.g. cgroup v1/v2 hybrid)
#   sandbox  <release build>/sandbox run -- /bin/true
#
# Environment:
#   N             rounds per contender (default 300)
#   WARMUP        unrecorded warm-up rounds (default: N/10, at most 20)
#   SANDBOX_BIN   use this `sandbox` binary instead of building the release CLI
#   PYTHON        python3 to run the timing harness with (must be runnable by
#                 the unprivileged uid)
#
# As root, the release CLI is built as root, copied (mode 0755) into a fresh
# temp dir under /tmp (the repo may live where only root can enter), and all
# timing runs as uid/gid 65534 with no groups and no capabilities.
set -euo pipefail

die() {
    printf 'compare.sh: %s\n' "$*" >&2
    exit 1
}

case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    "") ;;
    *) die "unknown argument: $1 (see --help)" ;;
esac

N="${N:-300}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
if [[ -z "${WARMUP:-}" ]]; then
    WARMUP=$((N / 10))
    if ((WARMUP > 20)); then WARMUP=20; fi
fi
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer, got '$WARMUP'"

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$script_dir")"

tmp="$(mktemp -d /tmp/sandbox-compare.XXXXXX)"
cleanup() { rm -rf -- "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 0755 "$tmp"

# ---------------------------------------------------------------- the CLI --
if [[ -n "${SANDBOX_BIN:-}" ]]; then
    [[ -x "$SANDBOX_BIN" ]] || die "SANDBOX_BIN=$SANDBOX_BIN is not executable"
    built="$SANDBOX_BIN"
else
    echo "building the static release CLI (scripts/build-cli.sh)..." >&2
    built=$(bash "$repo/scripts/build-cli.sh") || die "scripts/build-cli.sh failed"
    [[ "$built" = /* ]] || built="$repo/$built"
    [[ -x "$built" ]] || die "no binary at $built after the build"
fi
install -m 0755 "$built" "$tmp/sandbox"

# ------------------------------------------------------ who runs the timing --
if [[ "$(id -u)" -eq 0 ]]; then
    command -v setpriv >/dev/null || die "running as root needs setpriv (util-linux) to drop to uid 65534"
    run_uid=65534
    run_gid=65534
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
else
    run_uid="$(id -u)"
    run_gid="$(id -g)"
    as_user=()
fi
# A clean, predictable environment for every contender.
clean_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME="$tmp" LANG=C.UTF-8)
# Runs "$@" as the timing user, in $tmp.
as_runner() { (cd "$tmp" && "${as_user[@]}" "${clean_env[@]}" "$@"); }

# A python3 the timing user can execute (a pyenv shim under /root is not one).
python=""
for p in ${PYTHON:-} /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3 || true)"; do
    [[ -n "$p" && -x "$p" ]] || continue
    if as_runner "$p" -c 'import sys; sys.exit(sys.version_info < (3, 6))' 2>/dev/null; then
        python="$p"
        break
    fi
done
[[ -n "$python" ]] || die "no python3 >= 3.6 runnable as uid $run_uid (set PYTHON=)"

# ------------------------------------------------------------- contenders --
contenders="$tmp/contenders.tsv"
: >"$contenders"
notes=()

# preflight NAME REQUIRED ARGV... : one run as the timing user; on success the
# contender is added. On failure: required -> abort; optional -> note + skip.
preflight() {
    local name="$1" required="$2"
    shift 2
    local err="$tmp/preflight.$name.err" rc=0
    as_runner "$@" </dev/null >/dev/null 2>"$err" || rc=$?
    if ((rc != 0)); then
        local why
        why="$(head -c 400 "$err" | tr '\n' ' ')"
        if [[ "$required" == required ]]; then
            die "$name failed to run (exit $rc): $* -- ${why:-no stderr}"
        fi
        notes+=("$name skipped: installed but failed here (exit $rc): ${why:-no stderr}")
        return 0
    fi
    (
        IFS=$'\t'
        printf '%s\t%s\n' "$name" "$*"
    ) >>"$contenders"
}

preflight floor required /bin/true

unshare_bin="$(command -v unshare || true)"
[[ -n "$unshare_bin" ]] || die "unshare (util-linux) is not installed"
preflight unshare required "$unshare_bin" -Urmpfnui --fork --mount-proc /bin/true

bwrap_bin="$(command -v bwrap || true)"
if [[ -n "$bwrap_bin" ]]; then
    preflight bwrap required "$bwrap_bin" --unshare-all --die-with-parent \
        --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp /bin/true
else
    notes+=("bwrap skipped: not installed (apt-get install bubblewrap)")
fi

crun_bin="$(command -v crun || true)"
if [[ -n "$crun_bin" ]]; then
    # crun needs an OCI bundle: crun's own rootless spec, with the host's / as
    # a read-only root (like the others), a single-id map onto the timing user,
    # /bin/true as the process, and a private state dir.
    crun_dir="$tmp/crun"
    if [[ "$(id -u)" -eq 0 ]]; then
        install -d -m 0755 -o "$run_uid" -g "$run_gid" "$crun_dir"
    else
        install -d -m 0755 "$crun_dir"
    fi
    as_runner mkdir -p "$crun_dir/bundle" "$crun_dir/state"
    if (cd "$crun_dir/bundle" && "${as_user[@]}" "${clean_env[@]}" "$crun_bin" spec --rootless) 2>"$tmp/crun-spec.err" &&
        as_runner "$python" - "$crun_dir/bundle/config.json" "$run_uid" "$run_gid" <<'PY' 2>>"$tmp/crun-spec.err"; then
import json, sys
path, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path) as f:
    c = json.load(f)
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["root"] = {"path": "/", "readonly": True}
c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": uid, "size": 1}]
c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": gid, "size": 1}]
with open(path, "w") as f:
    json.dump(c, f, indent=1)
PY
        preflight crun optional "$crun_bin" --cgroup-manager=disabled --root "$crun_dir/state" \
            run --bundle "$crun_dir/bundle" sandbox-compare
    else
        notes+=("crun skipped: could not generate a bundle: $(head -c 400 "$tmp/crun-spec.err" | tr '\n' ' ')")
    fi
else
    notes+=("crun skipped: not installed")
fi

preflight sandbox required "$tmp/sandbox" run -- /bin/true

# ---------------------------------------------------------------- harness --
cat >"$tmp/harness.py" <<'PY'
"""Interleaved spawn-to-exit timing; argv: N WARMUP CONTENDERS_TSV."""
import statistics
import subprocess
import sys
import time

DEVNULL = subprocess.DEVNULL


def main():
    n, warm, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    contenders = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                name, *argv = line.split("\t")
                contenders.append((name, argv))
    k = len(contenders)
    samples = {name: [] for name, _ in contenders}

    for rnd in range(-warm, n):
        # Round-robin, rotating who goes first so no contender always runs
        # right after the same neighbour.
        for j in range(k):
            name, argv = contenders[(rnd + j) % k]
            t0 = time.perf_counter_ns()
            p = subprocess.run(argv, stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
            t1 = time.perf_counter_ns()
            if p.returncode != 0:
                again = subprocess.run(argv, stdin=DEVNULL, stdout=DEVNULL,
                                       stderr=subprocess.PIPE)
                sys.stderr.write(
                    "compare: %s exited %d in round %d (argv: %s); a re-run "
                    "exited %d with stderr: %s\n"
                    % (name, p.returncode, rnd, " ".join(argv), again.returncode,
                       again.stderr.decode(errors="replace").strip() or "(none)"))
                sys.exit(1)
            if rnd >= 0:
                samples[name].append(t1 - t0)
        if rnd >= 0 and (rnd + 1) % 50 == 0:
            sys.stderr.write("  %d/%d rounds\n" % (rnd + 1, n))

    def stats(xs):
        xs = [x / 1e6 for x in xs]
        med = statistics.median(xs)
        if len(xs) >= 2:
            q = statistics.quantiles(xs, n=10, method="inclusive")
            return med, q[0], q[-1]
        return med, xs[0], xs[0]

    st = {name: stats(samples[name]) for name, _ in contenders}
    floor = st.get("floor", (None,))[0]
    bwrap = st.get("bwrap", (None,))[0]

    def ratio(a, b):
        return "%.2fx" % (a / b) if b else "n/a"

    head = ("contender", "median ms", "p10 ms", "p90 ms", "vs bwrap", "vs floor", "over floor ms")
    rows = []
    for name, _ in contenders:
        med, p10, p90 = st[name]
        over = "%.3f" % (med - floor) if floor is not None else "n/a"
        rows.append((name, "%.3f" % med, "%.3f" % p10, "%.3f" % p90,
                     ratio(med, bwrap), ratio(med, floor), over))
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    fmt = "  ".join(("%%-%ds" if i == 0 else "%%%ds") % w for i, w in enumerate(widths))
    print(fmt % head)
    print(fmt % tuple("-" * w for w in widths))
    for r in rows:
        print(fmt % r)
    print()
    if "sandbox" in st and bwrap:
        print("sandbox/bwrap ratio: %.2f" % (st["sandbox"][0] / bwrap))
    else:
        print("sandbox/bwrap ratio: n/a (bwrap not measured)")
    if "sandbox" in st and floor:
        print("sandbox/floor ratio: %.2f" % (st["sandbox"][0] / floor))


main()
PY
chmod 0644 "$tmp/harness.py"

names="$(cut -f1 "$contenders" | paste -sd' ')"
echo "spawn-to-exit of /bin/true, $N interleaved rounds (+$WARMUP warm-up) as uid $run_uid"
echo "host: $(nproc) CPUs, kernel $(uname -r); contenders: $names"
echo "timing harness: $python ($("$python" -c 'import platform; print(platform.python_version())'))," \
    "perf_counter_ns around subprocess.run, stdio /dev/null"
echo
as_runner "$python" "$tmp/harness.py" "$N" "$WARMUP" "$contenders"

if ((${#notes[@]} > 0)); then
    echo
    for n in "${notes[@]}"; do
        echo "note: $n"
    done
fi
