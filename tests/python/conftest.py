"""Shared helpers: every test checks that no sandbox process outlives it."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Iterator

import pytest

ROOTLESS_ENV = "SANDBOX_TEST_ROOTLESS"


def sandbox_procs() -> int:
    """Processes in any user namespace but ours: a leaked sandbox."""
    mine = os.readlink("/proc/self/ns/user")
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/user") != mine:
                count += 1
        except OSError:
            continue
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
