"""``Process``: a running sandbox, shaped like ``subprocess.Popen``.

Waiting happens in the compiled module with the GIL released; reading and
writing the pipes happens here with ``selectors``, in slices, so the
sandbox's own timeout keeps being enforced and Ctrl-C is noticed promptly.
"""

from __future__ import annotations

import io
import os
import select
import selectors
import signal as _signal
import time
from types import TracebackType
from typing import IO, Any, Dict, List, Optional, Tuple, Type, Union

from . import _sandbox
from ._errors import TimeoutExpired
from ._result import CompletedRun, Usage, returncode_of, signal_of, usage_of

#: Longest select() between two checks of the sandbox (timeout, end).
_SLICE = 0.05
_PIPE_BUF = getattr(select, "PIPE_BUF", 512)
_READ_CHUNK = 65536


class _Capture:
    """One captured stream: keeps up to ``limit`` bytes and drops the rest,
    so a chatty workload never blocks on a full pipe nor fills the host."""

    def __init__(self, limit: Optional[int]) -> None:
        self.parts: List[bytes] = []
        self.size = 0
        self.limit = limit
        self.truncated = False

    def add(self, data: bytes) -> None:
        room = len(data) if self.limit is None else max(0, self.limit - self.size)
        if room < len(data):
            self.truncated = True
            data = data[:room]
        if data:
            self.parts.append(data)
            self.size += len(data)

    def value(self) -> bytes:
        return b"".join(self.parts)


class Process:
    """A running sandbox. Prefer it as a context manager: leaving the block
    kills the sandbox if it is still running and closes the pipes.

    ``stdin``, ``stdout`` and ``stderr`` are file objects where the stream
    was ``PIPE`` (text files with ``text=True``), else None. ``returncode``
    is None until the end, then the exit code or ``-N`` for signal N;
    ``timed_out``, ``signal`` and ``usage`` are filled in at the end too.

    The sandbox's own ``timeout`` holds even while nobody waits: the
    sandbox's init kills everything when it passes, so a caller that only
    reads ``stdout`` sees end-of-file, and ``timed_out`` is True.
    """

    def __init__(
        self,
        args: Any,
        child: _sandbox.Child,
        *,
        text: bool,
        encoding: Optional[str],
        errors: Optional[str],
        output_limit: Optional[int],
        stdout_fd: Optional[int] = None,
    ) -> None:
        self.args = args
        self._child = child
        self.pid: int = child.pid
        self.returncode: Optional[int] = None
        self.timed_out = False
        self.signal: Optional[_signal.Signals] = None
        self.usage: Optional[Usage] = None
        self.stdout_truncated = False
        self.stderr_truncated = False
        self._outcome: Optional[_sandbox.Outcome] = None
        self._text = text
        self._encoding = encoding or ("utf-8" if text else None)
        self._errors = errors or "strict"
        self._limit = output_limit
        #: Captures by the fd they read, and the fds by stream name (the
        #: file objects are closed, and lose their fds, before the results
        #: are read).
        self._captures: Dict[int, _Capture] = {}
        self._fds: Dict[str, int] = {}
        self._input_offset = 0
        self.stdin: Optional[IO[Any]] = None
        self.stdout: Optional[IO[Any]] = None
        self.stderr: Optional[IO[Any]] = None
        fd_in, fd_out, fd_err = child.take_pipes()
        if stdout_fd is not None:  # stderr=STDOUT into a pipe made by the caller
            fd_out = stdout_fd
        if fd_in is not None:
            self.stdin = self._wrap(fd_in, "wb")
        if fd_out is not None:
            self.stdout = self._wrap(fd_out, "rb")
            self._fds["stdout"] = fd_out
        if fd_err is not None:
            self.stderr = self._wrap(fd_err, "rb")
            self._fds["stderr"] = fd_err

    def _wrap(self, fd: int, mode: str) -> IO[Any]:
        raw = open(fd, mode, buffering=0 if mode == "wb" else -1)
        if not self._text:
            return raw
        return io.TextIOWrapper(
            io.BufferedWriter(raw) if mode == "wb" else raw,  # type: ignore[arg-type]
            encoding=self._encoding,
            errors=self._errors,
            write_through=mode == "wb",
            line_buffering=False,
        )

    # -- life cycle ----------------------------------------------------------

    def __enter__(self) -> Process:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        try:
            if self.returncode is None:
                self.kill()
                self.wait()
        finally:
            self._close_pipes()

    def __repr__(self) -> str:
        return f"<sandbox.Process pid={self.pid} returncode={self.returncode}>"

    def poll(self) -> Optional[int]:
        """The return code if the sandbox has ended, else None (no waiting)."""
        if self.returncode is None:
            self._finish(self._child.poll())
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        """Waits for the end, at most ``timeout`` seconds; raises
        :class:`sandbox.TimeoutExpired` (the sandbox keeps running) when the
        time is up. The GIL is released meanwhile."""
        if self.returncode is None:
            if self.stdin is not None:
                self._close(self.stdin)
            outcome = self._child.wait(timeout)
            if outcome is None:
                raise TimeoutExpired(self.args, timeout if timeout is not None else 0.0)
            self._finish(outcome)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Sends ``sig`` to the sandbox's init, which forwards SIGTERM,
        SIGINT, SIGHUP, SIGQUIT, SIGUSR1/2 and SIGWINCH to the workload."""
        if self.poll() is None:
            self._child.send_signal(int(sig))

    def terminate(self) -> None:
        """SIGTERM to the workload (forwarded by the sandbox's init)."""
        self.send_signal(_signal.SIGTERM)

    def kill(self) -> None:
        """Kills every process of the sandbox. ``wait()`` then reaps it."""
        if self.returncode is None:
            self._child.kill()

    def _finish(self, outcome: Optional[_sandbox.Outcome]) -> None:
        if outcome is None or self._outcome is not None:
            return
        self._outcome = outcome
        self.returncode = returncode_of(outcome)
        self.timed_out = outcome.timed_out
        self.signal = signal_of(outcome)
        self.usage = usage_of(outcome)

    # -- communicate ---------------------------------------------------------

    def communicate(
        self, input: Optional[Union[str, bytes]] = None, timeout: Optional[float] = None
    ) -> Tuple[Any, Any]:
        """Writes ``input`` to stdin, reads stdout and stderr to the end,
        waits for the sandbox, and returns ``(stdout, stderr)``.

        Captured streams keep at most the sandbox's ``output_limit`` bytes
        each (``stdout_truncated``/``stderr_truncated`` tell). With
        ``timeout``, raises :class:`sandbox.TimeoutExpired` when the time is
        up; the sandbox keeps running and a later call picks up where this
        one stopped, as with subprocess.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        data = self._encode_input(input)
        selector = self._selector(data)
        try:
            while selector.get_map():
                if self._step(selector, data, deadline, timeout):
                    break
        finally:
            selector.close()
        self._close_pipes()
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            self.wait(remaining)
        except TimeoutExpired:
            raise self._timeout_error(timeout) from None
        return self._results()

    def completed(self, stdout: Any = None, stderr: Any = None) -> CompletedRun[Any]:
        """The :class:`CompletedRun` of an ended sandbox."""
        assert self._outcome is not None, "the sandbox has not ended; call wait() first"
        return CompletedRun(
            self.args, self._outcome, stdout, stderr, self.stdout_truncated, self.stderr_truncated
        )

    def _encode_input(self, input: Optional[Union[str, bytes]]) -> Optional[bytes]:
        if input is None:
            return None
        if isinstance(input, str):
            if not self._text:
                raise TypeError("input: a str needs text=True (or pass bytes)")
            return input.encode(self._encoding or "utf-8", self._errors)
        return bytes(input)

    def _selector(self, data: Optional[bytes]) -> selectors.BaseSelector:
        selector = selectors.DefaultSelector()
        if self.stdin is not None and not self.stdin.closed:
            if data is not None and self._input_offset < len(data):
                self.stdin.flush()
                selector.register(self.stdin.fileno(), selectors.EVENT_WRITE)
            else:
                self._close(self.stdin)
        for name, stream in (("stdout", self.stdout), ("stderr", self.stderr)):
            if stream is not None and not stream.closed:
                self._capture(name)
                selector.register(self._fds[name], selectors.EVENT_READ)
        return selector

    def _step(
        self,
        selector: selectors.BaseSelector,
        data: Optional[bytes],
        deadline: Optional[float],
        timeout: Optional[float],
    ) -> bool:
        """One slice of I/O; True once the sandbox has ended (the pipes
        are then drained of what is already there)."""
        slice_ = _SLICE if deadline is None else min(_SLICE, max(0.0, deadline - time.monotonic()))
        for key, _ in selector.select(slice_):
            self._transfer(selector, key.fd, data)
        if self.poll() is not None:
            self._drain(selector)
            return True
        if deadline is not None and time.monotonic() >= deadline:
            raise self._timeout_error(timeout)
        return False

    def _transfer(self, selector: selectors.BaseSelector, fd: int, data: Optional[bytes]) -> None:
        if fd in self._captures:
            chunk = os.read(fd, _READ_CHUNK)
            if chunk:
                self._captures[fd].add(chunk)
            else:
                selector.unregister(fd)
            return
        assert data is not None and self.stdin is not None
        end = self._input_offset + _PIPE_BUF
        try:
            self._input_offset += os.write(fd, data[self._input_offset : end])
        except BrokenPipeError:
            self._input_offset = len(data)
        if self._input_offset >= len(data):
            selector.unregister(fd)
            self._close(self.stdin)

    def _drain(self, selector: selectors.BaseSelector) -> None:
        """The sandbox is gone: read what its pipes still hold, without
        waiting for writers that might have escaped into another sandbox."""
        for key in list(selector.get_map().values()):
            while key.fd in self._captures and _readable_now(key.fd):
                chunk = os.read(key.fd, _READ_CHUNK)
                if not chunk:
                    break
                self._captures[key.fd].add(chunk)

    def _timeout_error(self, timeout: Optional[float]) -> TimeoutExpired:
        out, err = self._results_so_far()
        return TimeoutExpired(self.args, timeout or 0.0, out, err)

    def _capture(self, name: str) -> Optional[_Capture]:
        fd = self._fds.get(name)
        if fd is None:
            return None
        return self._captures.setdefault(fd, _Capture(self._limit))

    def _results_so_far(self) -> Tuple[Optional[bytes], Optional[bytes]]:
        out, err = self._capture("stdout"), self._capture("stderr")
        return (out.value() if out else None), (err.value() if err else None)

    def _results(self) -> Tuple[Any, Any]:
        outs: List[Any] = []
        for name in ("stdout", "stderr"):
            cap = self._capture(name)
            if cap is None:
                outs.append(None)
                continue
            setattr(self, f"{name}_truncated", cap.truncated)
            raw = cap.value()
            outs.append(self._decode(raw) if self._text else raw)
        return outs[0], outs[1]

    def _decode(self, raw: bytes) -> str:
        text = raw.decode(self._encoding or "utf-8", self._errors)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def _close(self, stream: IO[Any]) -> None:
        try:
            stream.close()
        except BrokenPipeError:
            pass

    def _close_pipes(self) -> None:
        for stream in (self.stdin, self.stdout, self.stderr):
            if stream is not None and not stream.closed:
                self._close(stream)


def _readable_now(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
