"""Sandbox.spawn and Process: a Popen-shaped handle on a running sandbox."""

from __future__ import annotations

import math
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


# -- review fixes: waits, stdin, retries, buffered reads, fds ------------------


@pytest.mark.parametrize("timeout", [1e300, 1e19, math.inf, 2.0**64])
def test_huge_wait_timeouts_mean_no_limit(timeout: float) -> None:
    with sandbox.Sandbox().spawn(["sleep", "0.1"]) as p:
        assert p.wait(timeout) == 0
    with sandbox.Sandbox().spawn(["cat"], stdin=sandbox.PIPE, stdout=sandbox.PIPE) as p:
        assert p.communicate(b"kept", timeout=timeout) == (b"kept", None)
        assert p.wait(timeout) == 0


def test_bad_wait_timeouts_are_config_errors() -> None:
    with sandbox.Sandbox().spawn(["sleep", "10"]) as p:
        for bad in (math.nan, -1.0):
            with pytest.raises(sandbox.ConfigError, match="^timeout: "):
                p.wait(bad)
        with pytest.raises(sandbox.ConfigError, match="^timeout: nan"):
            p.communicate(timeout=math.nan)


def test_wait_leaves_stdin_open() -> None:
    with sandbox.Sandbox().spawn(["cat"], stdin=sandbox.PIPE, stdout=sandbox.PIPE) as p:
        assert p.stdin is not None
        p.stdin.write(b"one\n")
        with pytest.raises(sandbox.TimeoutExpired):
            p.wait(0.2)
        assert not p.stdin.closed
        p.stdin.write(b"two\n")
        assert p.communicate(b"three\n") == (b"one\ntwo\nthree\n", None)


def test_communicate_input_with_closed_stdin_is_an_error() -> None:
    with sandbox.Sandbox().spawn(["cat"], stdin=sandbox.PIPE, stdout=sandbox.PIPE) as p:
        assert p.stdin is not None
        p.stdin.close()
        with pytest.raises(ValueError, match="stdin is not an open pipe"):
            p.communicate(b"lost")
        assert p.communicate() == (b"", None)
    with sandbox.Sandbox().spawn(["true"]) as p:
        with pytest.raises(ValueError, match="stdin is not an open pipe"):
            p.communicate(b"nowhere")


def test_communicate_retry_keeps_unsent_input() -> None:
    data = bytes(range(256)) * 782  # 200192 bytes: far more than a pipe holds
    with sandbox.Sandbox().spawn(["sh", "-c", "sleep 0.6; cat"], stdin=sandbox.PIPE, stdout=sandbox.PIPE) as p:
        with pytest.raises(sandbox.TimeoutExpired):
            p.communicate(data, timeout=0.2)
        with pytest.raises(ValueError, match="cannot send input after starting"):
            p.communicate(b"more", timeout=5)
        out, _ = p.communicate(timeout=10)
    assert out == data


@pytest.mark.parametrize("text", [False, True])
def test_communicate_after_readline_keeps_buffered_output(text: bool) -> None:
    script = "printf 'first\\nsecond\\n'; sleep 0.3; printf 'th\\303\\251rd\\n'"
    with sandbox.Sandbox().spawn(["sh", "-c", script], stdout=sandbox.PIPE, text=text) as p:
        assert p.stdout is not None
        assert p.stdout.readline() == ("first\n" if text else b"first\n")
        out, _ = p.communicate(timeout=5)
    assert out == ("second\nthérd\n" if text else "second\nthérd\n".encode())


def test_send_signal_checks_the_number() -> None:
    with sandbox.Sandbox().spawn(["sleep", "10"]) as p:
        for bad in (99, -1, 2**40, "TERM", 1.5):
            with pytest.raises(sandbox.ConfigError, match="^signal: "):
                p.send_signal(bad)  # type: ignore[arg-type]
        p.send_signal(signal.SIGTERM)
        assert p.wait(5) == -signal.SIGTERM
        p.send_signal(signal.SIGTERM)  # ended: a no-op


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_ended_processes_hold_no_fds() -> None:
    box = sandbox.Sandbox()
    before = _open_fds()
    ended = []
    for _ in range(100):
        p = box.spawn(["true"])
        p.wait(10)
        ended.append(p)
    assert _open_fds() == before
    assert all(p.returncode == 0 for p in ended)
    p.kill()  # all no-ops once ended
    assert p.poll() == 0 and p.wait() == 0
