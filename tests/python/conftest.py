"""Shared helpers: every test checks that no sandbox process outlives it."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from typing import Any, Iterator

import pytest

import sandbox

ROOTLESS_ENV = "SANDBOX_TEST_ROOTLESS"


#: The user namespaces of the sandboxes this test process started (every
#: sandbox has its own), so the leftover check counts only ours, whatever
#: other suites run on the machine at the same time.
_OUR_USERNS: set[str] = set()


def _record_userns(init: Any) -> None:
    original = init

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        try:
            _OUR_USERNS.add(os.readlink(f"/proc/{self.pid}/ns/user"))
        except OSError:
            pass  # already ended and reaped: nothing of it is left

    sandbox._process.Process.__init__ = wrapper  # type: ignore[method-assign]


_record_userns(sandbox._process.Process.__init__)


def _descendants() -> set[int]:
    """Processes below this one (a sandbox's init and, in its pid
    namespace, everything it runs)."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            parent[int(entry)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier and pid not in found}
        found |= frontier
    return found


def sandbox_procs() -> int:
    """Processes of this test process's sandboxes still alive: in a user
    namespace one of them made, or below this process in a foreign one."""
    mine = os.readlink("/proc/self/ns/user")
    below = _descendants()
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ns = os.readlink(f"/proc/{entry}/ns/user")
        except OSError:
            continue
        if ns in _OUR_USERNS or (ns != mine and int(entry) in below):
            count += 1
    return count


def procs_running(marker: str) -> int:
    """Processes whose command line holds ``marker`` (a unique argument
    given to the test's workload): leftovers of this test only, whatever
    else runs on the machine."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    count += 1
        except OSError:
            continue
    return count


def unique_sleep() -> str:
    """A sleep argument no other process has: ``1000.<pid><counter>``."""
    global _counter
    _counter += 1
    return f"1000.{os.getpid()}{_counter:04d}"


_counter = 0


def is_root() -> bool:
    return os.geteuid() == 0


@pytest.fixture(autouse=True)
def no_leftovers() -> Iterator[None]:
    """Fails a test that leaves a sandbox process behind."""
    before = sandbox_procs()
    yield
    deadline = time.monotonic() + 3
    while sandbox_procs() > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sandbox_procs() <= before, "a sandbox process outlived the test"


@pytest.fixture
def tmp_dir() -> Iterator[str]:
    """A temp dir any uid can use: a sandbox's ids (a private range when the
    caller is root) must reach it, and pytest's own are 0700."""
    path = tempfile.mkdtemp(prefix="sbx-py-")
    os.chmod(path, 0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
