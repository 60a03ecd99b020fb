"""Resource limits against real cgroups and rlimits: a memory bomb, a fork
bomb, a CPU hog, big writes, the fallback without a cgroup, strict limits.

As root the engine uses its own parent cgroup (``sandbox`` in each
hierarchy). In the uid-65534 re-run (test_rootless.py) the caller gets
cgroup limits only through the parent ``sandbox-65534`` that the root run
delegates first, as an administrator would; the re-run then requires them.
A non-root caller without that delegation skips the cgroup cases (saying
why): its limits fall back to rlimits, which the fallback test covers.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

import sandbox
from conftest import ROOTLESS_ENV, is_root

#: Set by test_rootless.py when it delegated ``sandbox-65534`` in every v1
#: hierarchy the limits need, so the re-run must get cgroup limits.
DELEGATED_ENV = "SANDBOX_TEST_CGROUPS_DELEGATED"

CGROUP = ("cgroup-v1", "cgroup-v2")
#: A parent nobody delegated (and root's engine never creates): no cgroup.
NOT_DELEGATED = "sandbox-not-delegated"


def _cgroups_expected() -> bool:
    return is_root() or bool(os.environ.get(ROOTLESS_ENV) and os.environ.get(DELEGATED_ENV))


needs_cgroup = pytest.mark.skipif(
    not _cgroups_expected(),
    reason=(
        f"uid {os.geteuid()}: cgroup limits need a delegated parent sandbox-{os.geteuid()}, "
        "which only test_rootless.py's root run sets up (README, Resource limits)"
    ),
)


def sh(script: str, **kw: Any) -> sandbox.CompletedRun[str]:
    return sandbox.run(["sh", "-c", script], capture_output=True, text=True, timeout=20, **kw)


@needs_cgroup
def test_a_memory_bomb_is_oom_killed_and_reported() -> None:
    bomb = "b = bytearray(300 << 20); b[::4096] = b'x' * len(b[::4096]); print('survived')"
    box = sandbox.Sandbox(memory="64M", timeout=20)
    r = box.run(["python3", "-c", bomb], capture_output=True, text=True)
    assert r.limits == {"memory": r.limits["memory"]} and r.limits["memory"] in CGROUP, r
    assert r.oom_killed, (r, r.stderr)
    assert r.returncode == -9 and r.signal == signal.SIGKILL
    assert "survived" not in r.stdout
    assert "oom_killed=True" in repr(r)
    # The whole sandbox's peak, from the cgroup (not one process's RSS).
    assert 32 << 20 < r.usage.peak_memory <= 65 << 20, r.usage
    # The next run of the same sandbox is not reported as an OOM.
    ok = box.run(["true"])
    assert ok.returncode == 0 and not ok.oom_killed


@needs_cgroup
def test_a_fork_bomb_is_contained() -> None:
    r = sh("for i in $(seq 40); do sleep 1 & done; wait", pids=16)
    assert r.limits["pids"] in CGROUP, r
    assert "fork" in r.stderr, r.stderr
    assert not r.oom_killed and not r.cpu_time_exceeded
    assert r.usage.pids_peak is not None and r.usage.pids_peak <= 17, r.usage


def test_cpu_time_ends_a_busy_loop_with_its_own_reason() -> None:
    r = sh("while :; do :; done", cpu_time=1)
    assert r.limits == {"cpu_time": "rlimit"}
    assert r.cpu_time_exceeded and not r.timed_out, r
    assert r.returncode == -signal.SIGXCPU and r.signal == signal.SIGXCPU
    assert r.usage.wall_time < 5 and r.usage.cpu_time >= 0.9, r.usage
    assert "cpu_time_exceeded=True" in repr(r)


def test_open_files_and_file_size() -> None:
    r = sh(
        "ulimit -n; head -c 3000000 /dev/zero > /tmp/big; echo rc=$?; wc -c < /tmp/big",
        nofile=64, fsize="1m", mounts=[sandbox.Tmpfs("/tmp")],
    )
    # SIGXFSZ (25) kills the writer at the limit; the file stops there.
    assert r.stdout == "64\nrc=153\n1048576\n", (r.stdout, r.stderr)
    assert r.limits == {"nofile": "rlimit", "fsize": "rlimit"}


def test_without_a_writable_cgroup_limits_fall_back_and_say_so() -> None:
    r = sh("ulimit -v", memory=64 << 20, cpus=0.5, cgroup_parent=NOT_DELEGATED)
    assert r.limits == {"memory": "rlimit", "cpus": "not-enforced"}, r
    assert r.stdout == f"{64 << 10}\n"
    assert r.usage.pids_peak is None and not r.oom_killed
    assert not os.path.exists(f"/sys/fs/cgroup/memory/{NOT_DELEGATED}")


def test_strict_limits_without_a_cgroup_raise_limit_error() -> None:
    with pytest.raises(sandbox.LimitError) as info:
        sandbox.run(["true"], memory="64m", cgroup_parent=NOT_DELEGATED, strict_limits=True)
    e = info.value
    assert isinstance(e, sandbox.UnsupportedError) and isinstance(e, sandbox.SandboxError)
    assert str(e).startswith("limits.memory: no writable cgroup with the memory controller"), str(e)
    assert "SANDBOX_CGROUP_PARENT" in str(e) or "chown" in str(e)
    assert (e.limit, e.stage, e.feature) == ("memory", "cgroup", "cgroups")
    with pytest.raises(sandbox.LimitError) as info:
        sandbox.Sandbox(pids=8, cgroup_parent=NOT_DELEGATED, strict_limits=True).run(["true"])
    assert info.value.limit == "pids"


@needs_cgroup
def test_strict_limits_with_a_cgroup_run() -> None:
    r = sandbox.run(["true"], memory="64m", pids=16, strict_limits=True)
    assert r.returncode == 0 and set(r.limits.values()) <= set(CGROUP), r.limits


def test_limit_error_pickles_and_parses_its_limit() -> None:
    import pickle

    e = sandbox.LimitError("limits.cpus: no writable cgroup with the cpu controller, and strict limits are on; x")
    assert (e.limit, e.stage, e.feature) == ("cpus", "cgroup", "cgroups")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is sandbox.LimitError and (back.limit, str(back)) == ("cpus", str(e))


def test_process_reports_limits_at_the_end() -> None:
    box = sandbox.Sandbox(cpu_time=1, nofile=32, timeout=20)
    with box.spawn(["sh", "-c", "while :; do :; done"]) as p:
        assert p.limits == {} and not p.cpu_time_exceeded
        assert p.wait() == -signal.SIGXCPU
    assert p.cpu_time_exceeded and not p.oom_killed
    assert p.limits == {"cpu_time": "rlimit", "nofile": "rlimit"}
    assert p.usage is not None and p.usage.cpu_time >= 0.9


def test_per_run_overrides_set_and_drop_limits() -> None:
    box = sandbox.Sandbox(nofile=64, timeout=20)
    assert sh("true").limits == {}
    r = box.run(["sh", "-c", "ulimit -n"], capture_output=True, text=True)
    assert (r.stdout, r.limits) == ("64\n", {"nofile": "rlimit"})
    r = box.run(["sh", "-c", "ulimit -n"], capture_output=True, text=True, nofile=None, fsize="2M")
    assert r.limits == {"fsize": "rlimit"} and r.stdout != "64\n"
    assert box.options["nofile"] == 64


async def _async_run() -> sandbox.CompletedRun[Any]:
    return await sandbox.run_async(["sh", "-c", "ulimit -n"], capture_output=True, nofile=40)


def test_run_async_takes_limits() -> None:
    import asyncio

    r = asyncio.run(_async_run())
    assert (r.stdout, r.limits) == (b"40\n", {"nofile": "rlimit"})


def test_no_limits_no_report() -> None:
    r = sandbox.run(["sleep", "0"])
    assert r.limits == {} and not r.oom_killed and not r.cpu_time_exceeded
    assert r.usage.pids_peak is None and r.usage.peak_memory > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"memory": 1000}, "limits.memory: '1000' is invalid: give at least 1 MiB (e.g. 64m); a sandbox cannot start in less"),
        ({"memory": "lots"}, "memory: 'lots' is not a size; use a number of bytes with an optional k, m, g or t suffix (e.g. 64m)"),
        ({"memory": -1}, "memory: -1 is negative; use a number of bytes >= 0"),
        ({"memory": 1.5}, "memory: 1.5 is not a size; use a number of bytes or a string like \"64M\""),
        ({"pids": 0}, "limits.pids: '0' is invalid: allow at least 1 task (the command itself)"),
        ({"pids": "16"}, "pids: '16' is not a whole number; give an int, e.g. 64"),
        ({"pids": True}, "pids: True is not a whole number; give an int, e.g. 64"),
        ({"cpus": "half"}, "cpus: 'half' is not a number; give e.g. 0.5 or 2"),
        ({"cpus": 0}, "limits.cpus: '0' is invalid: give a number of CPUs from 0.01 up, e.g. 0.5"),
        ({"cpu_weight": 0}, "limits.cpu_weight: '0' is invalid: give a weight from 1 to 10000 (default 100)"),
        ({"cpu_weight": 10001}, "limits.cpu_weight: '10001' is invalid: give a weight from 1 to 10000 (default 100)"),
        ({"cpu_time": 0}, "limits.cpu_time: '0ns' is invalid: give at least one second of CPU time"),
        ({"cpu_time": -1}, "cpu_time: -1 is not a number of seconds >= 0; use e.g. 1 or 2.5"),
        ({"cpu_time": "1s"}, "cpu_time: '1s' is not a number of seconds >= 0; use e.g. 1 or 2.5"),
        ({"nofile": 2}, "limits.nofile: '2' is invalid: allow at least 3 open files (stdin, stdout, stderr)"),
        ({"nofile": 2**64}, "nofile: 18446744073709551616 is out of range; give a whole number from 0 to 2**64-1"),
        ({"fsize": 0}, "limits.fsize: '0' is invalid: give a size in bytes (e.g. 10m); 0 forbids writing any file"),
        ({"strict_limits": "yes"}, "strict_limits: 'yes' is not True or False"),
        ({"cgroup_parent": 5}, "cgroup_parent: 5 is not a path; give a str or os.PathLike"),
        ({"cgroup_parent": "../up"}, "limits.cgroup_parent: '../up' is invalid: give a relative UTF-8 path below each cgroup hierarchy's root, e.g. sandbox-1000"),
    ],
)
def test_bad_limits_are_config_errors_naming_the_argument(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(sandbox.ConfigError) as info:
        sandbox.Sandbox(**kwargs)
    assert str(info.value) == message
    assert info.value.stage == "validate"
