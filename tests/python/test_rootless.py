"""Rootless, proven: the isolation and run tests again, in a child process
that first drops to uid/gid 65534 with no capabilities and no groups.

Before the re-run, root delegates the cgroup v1 parent ``sandbox-65534`` in
memory, pids, cpu and cpuacct, as an administrator would (the same steps as
``delegate_to_nobody()`` in tests/limits.rs), so test_limits.py proves that
a rootless caller gets cgroup limits through it. The directories are left
in place: tests/run-all.sh removes them at its end, and fails should any
per-sandbox ``sbx-*`` cgroup remain below them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import ROOTLESS_ENV, is_root

NOBODY = 65534
#: The suites re-run without root.
RERUN = [
    "test_isolation.py", "test_run.py", "test_errors.py", "test_process.py", "test_concurrency.py",
    "test_limits.py",
]
#: The v1 hierarchies a rootless caller's limits need (cpuacct: CPU time).
CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")


def _delegate_cgroups_to_nobody() -> bool:
    """``mkdir /sys/fs/cgroup/<c>/sandbox-65534`` and chown the directory
    (only: as the README's commands, so nothing can be moved out of a
    sandbox cgroup into the parent) to 65534, in each v1 hierarchy; True if
    all four are delegated (False on a host without those v1 hierarchies:
    the re-run's cgroup cases then skip, saying why). Writes no other
    cgroup."""
    for c in CONTROLLERS:
        if not os.path.exists(f"/sys/fs/cgroup/{c}/tasks"):
            return False
    for c in CONTROLLERS:
        path = f"/sys/fs/cgroup/{c}/sandbox-{NOBODY}"
        if not os.path.isdir(path):
            os.mkdir(path)
        os.chown(path, NOBODY, -1)
    return True


def _drop_to_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)  # from root: clears every capability


@pytest.mark.skipif(not is_root(), reason="already unprivileged")
@pytest.mark.skipif(bool(os.environ.get(ROOTLESS_ENV)), reason="this is the re-run")
def test_suites_pass_as_uid_65534() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    copy = tempfile.mkdtemp(prefix="sbx-py-rootless-")
    try:
        for name in os.listdir(here):
            if name.endswith(".py"):
                shutil.copy(os.path.join(here, name), copy)
        os.chmod(copy, 0o755)
        for name in os.listdir(copy):
            os.chmod(os.path.join(copy, name), 0o644)
        env = {"PATH": "/usr/bin:/bin", ROOTLESS_ENV: "1", "HOME": "/nonexistent"}
        if _delegate_cgroups_to_nobody():
            env["SANDBOX_TEST_CGROUPS_DELEGATED"] = "1"
        check = "import os, sandbox; assert os.getuid() == 65534; print(sandbox.run(['id', '-u'], capture_output=True).stdout)"
        proc = subprocess.run(
            [sys.executable, "-c", check], env=env, cwd="/", preexec_fn=_drop_to_nobody,
            capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 0 and proc.stdout == "b'0\\n'\n", proc.stderr
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *RERUN],
            env=env, cwd=copy, preexec_fn=_drop_to_nobody, capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert " passed" in proc.stdout and " failed" not in proc.stdout
    finally:
        shutil.rmtree(copy, ignore_errors=True)
