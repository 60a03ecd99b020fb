"""Shared helpers: every test checks that no sandbox process outlives it."""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
import time
from typing import Iterator

import pytest

ROOTLESS_ENV = "SANDBOX_TEST_ROOTLESS"


def _become_subreaper() -> None:
    """Orphans of this process's sandboxes (a workload that escaped a
    sandbox without a pid namespace) reparent here, so they stay
    descendants and the leftover check still sees them. Never reaped by
    hand: the engine waits on its own children through their pidfds."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


_become_subreaper()


def _descendants() -> set[int]:
    """Live processes below this one (a sandbox's init and, in its pid
    namespace, everything it runs); zombies are not counted."""
    parent: dict[int, int] = {}
    zombies: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            state, ppid = stat[stat.rindex(b")") + 2 :].split()[:2]
            parent[int(entry)] = int(ppid)
            if state == b"Z":
                zombies.add(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    found: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier and pid not in found}
        found |= frontier
    return found - zombies


def sandbox_procs() -> int:
    """Live processes of this test process's own sandboxes: below it and in
    another user namespace. Other suites' sandboxes on the machine are not
    counted (namespace ids are reused at once, so they cannot tell)."""
    mine = os.readlink("/proc/self/ns/user")
    count = 0
    for pid in _descendants():
        try:
            if os.readlink(f"/proc/{pid}/ns/user") != mine:
                count += 1
        except OSError:
            continue  # ended, or a zombie
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
