"""Sandbox.spawn and Process: a Popen-shaped handle on a running sandbox."""

from __future__ import annotations

import os
import signal
import time

import pytest

import sandbox


def test_pipes_are_file_objects() -> None:
    box = sandbox.Sandbox()
    with box.spawn(["sh", "-c", "read x; echo got $x; echo e >&2"], stdin=sandbox.PIPE,
                   stdout=sandbox.PIPE, stderr=sandbox.PIPE) as p:
        assert p.pid > 0 and p.returncode is None
        assert p.stdin is not None and p.stdout is not None and p.stderr is not None
        p.stdin.write(b"hi\n")
        p.stdin.close()
        assert p.stdout.readline() == b"got hi\n"
        assert p.stderr.read() == b"e\n"
        assert p.wait(timeout=5) == 0
    assert p.usage is not None and not p.timed_out


def test_text_mode_streaming() -> None:
    with sandbox.Sandbox().spawn(["sh", "-c", "for i in 1 2 3; do echo line $i; done"],
                                 stdout=sandbox.PIPE, text=True) as p:
        assert p.stdout is not None
        assert [line for line in p.stdout] == ["line 1\n", "line 2\n", "line 3\n"]
        assert p.wait() == 0


def test_poll_wait_timeout_kill() -> None:
    with sandbox.Sandbox().spawn(["sleep", "10"]) as p:
        assert p.poll() is None
        start = time.monotonic()
        with pytest.raises(sandbox.TimeoutExpired):
            p.wait(timeout=0.2)
        assert 0.15 < time.monotonic() - start < 2
        p.kill()
        assert p.wait(timeout=5) == -signal.SIGKILL and p.signal == signal.SIGKILL
        assert p.poll() == -9
        p.kill()  # a no-op once ended


def test_terminate_is_forwarded() -> None:
    with sandbox.Sandbox().spawn(["sleep", "10"]) as p:
        time.sleep(0.1)
        p.terminate()
        assert p.wait(timeout=5) == -signal.SIGTERM


def test_communicate_with_input_and_timeout_then_retry() -> None:
    with sandbox.Sandbox().spawn(["sh", "-c", "cat; sleep 0.5; echo done"], stdin=sandbox.PIPE,
                                 stdout=sandbox.PIPE) as p:
        with pytest.raises(sandbox.TimeoutExpired) as info:
            p.communicate(b"in\n", timeout=0.1)
        assert info.value.output == b"in\n"
        out, err = p.communicate(timeout=5)
        assert (out, err, p.returncode) == (b"in\ndone\n", None, 0)


def test_context_manager_kills_on_exit() -> None:
    with sandbox.Sandbox().spawn(["sleep", "100"]) as p:
        pid = p.pid
    assert p.returncode == -signal.SIGKILL
    assert not os.path.exists(f"/proc/{pid}")


def test_sandbox_timeout_applies_to_spawn() -> None:
    with sandbox.Sandbox(timeout=0.2).spawn(["sleep", "10"]) as p:
        assert p.wait(timeout=5) == -9 and p.timed_out
        assert p.completed().timed_out


def test_sandbox_timeout_holds_while_only_reading_stdout() -> None:
    # Nobody calls wait(): the sandbox's init must end the run on time.
    started = time.monotonic()
    with sandbox.Sandbox(timeout=0.3).spawn(["sh", "-c", "echo up; sleep 30"], stdout=sandbox.PIPE) as p:
        assert p.stdout is not None
        assert p.stdout.read() == b"up\n"
        assert time.monotonic() - started < 3
        assert p.wait(timeout=5) == -9 and p.timed_out


def test_spawn_overrides() -> None:
    with sandbox.Sandbox().spawn(["hostname"], stdout=sandbox.PIPE, hostname="h2") as p:
        assert p.communicate()[0] == b"h2\n"
