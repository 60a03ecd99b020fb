"""``Process``: a running sandbox, shaped like ``subprocess.Popen``.

Waiting happens in the compiled module with the GIL released; reading and
writing the pipes happens here with ``selectors``, in slices, so the
sandbox's own timeout keeps being enforced and Ctrl-C is noticed promptly.
"""

from __future__ import annotations

import codecs
import io
import os
import select
import selectors
import signal as _signal
import time
from types import TracebackType
from typing import IO, Any, Dict, List, Optional, Tuple, Type, Union

from . import _sandbox
from ._errors import ConfigError, TimeoutExpired
from ._result import CompletedRun, Usage, returncode_of, signal_of, usage_of

#: Longest select() between two checks of the sandbox (timeout, end).
_SLICE = 0.05
_PIPE_BUF = getattr(select, "PIPE_BUF", 512)
_READ_CHUNK = 65536
#: Highest signal number Linux has (SIGRTMAX).
_SIGNAL_MAX = 64


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


class _Tap(io.RawIOBase):
    """The fd under a reading file object. While ``frozen`` it reads
    nothing (as a non-blocking fd with no data would), so the file object
    gives up only what it already buffered."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._file = io.FileIO(fd, "rb")
        self.frozen = False

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._file.fileno()

    def readinto(self, buffer: Any) -> Optional[int]:
        if self.frozen:
            return None
        return self._file.readinto(buffer)

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            super().close()


class Process:
    """A running sandbox. Prefer it as a context manager: leaving the block
    kills the sandbox if it is still running and closes the pipes.

    ``stdin``, ``stdout`` and ``stderr`` are file objects where the stream
    was ``PIPE`` (text files with ``text=True``), else None. ``returncode``
    is None until the end, then the exit code or ``-N`` for signal N;
    ``timed_out``, ``signal``, ``usage``, ``oom_killed``,
    ``cpu_time_exceeded`` and ``limits`` (see :class:`CompletedRun`) are
    filled in at the end too.

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
        self.oom_killed = False
        self.cpu_time_exceeded = False
        self.limits: Dict[str, str] = {}
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
        self._taps: Dict[int, _Tap] = {}
        #: What communicate() still has to write (kept across a timeout,
        #: like subprocess's ``_input``), and how far it got.
        self._input: Optional[bytes] = None
        self._input_offset = 0
        self._communication_started = False
        self.stdin: Optional[IO[Any]] = None
        self.stdout: Optional[IO[Any]] = None
        self.stderr: Optional[IO[Any]] = None
        fd_in, fd_out, fd_err = child.take_pipes()
        if stdout_fd is not None:  # stderr=STDOUT into a pipe made by the caller
            fd_out = stdout_fd
        pending = [fd for fd in (fd_in, fd_out, fd_err) if fd is not None]
        try:
            if fd_in is not None:
                pending.remove(fd_in)
                self.stdin = self._wrap(fd_in, "wb")
            if fd_out is not None:
                pending.remove(fd_out)
                self.stdout = self._wrap(fd_out, "rb")
                self._fds["stdout"] = fd_out
            if fd_err is not None:
                pending.remove(fd_err)
                self.stderr = self._wrap(fd_err, "rb")
                self._fds["stderr"] = fd_err
        except BaseException:
            # Nothing may leak: the raw fds not yet owned by a file object,
            # and the file objects made so far. Dropping the child then
            # kills the sandbox.
            for fd in pending:
                os.close(fd)
            self._close_pipes()
            raise

    def _wrap(self, fd: int, mode: str) -> IO[Any]:
        """A file object that owns ``fd`` (closed here should this fail)."""
        raw: IO[Any]
        if mode == "wb":
            raw = open(fd, mode, buffering=0)
        else:
            tap = _Tap(fd)
            self._taps[fd] = tap
            raw = io.BufferedReader(tap)
        if not self._text:
            return raw
        try:
            return io.TextIOWrapper(
                io.BufferedWriter(raw) if mode == "wb" else raw,  # type: ignore[arg-type]
                encoding=self._encoding,
                errors=self._errors,
                write_through=mode == "wb",
                line_buffering=False,
            )
        except BaseException:
            raw.close()
            raise

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
        time is up. The GIL is released meanwhile. ``stdin`` stays open
        (as with subprocess): close it first if the workload reads it to
        the end. ``None``, ``math.inf`` or any time too long to represent
        waits as long as it takes."""
        if self.returncode is None:
            outcome = self._child.wait(timeout)
            if outcome is None:
                raise TimeoutExpired(self.args, timeout if timeout is not None else 0.0)
            self._finish(outcome)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Sends ``sig`` to the sandbox's init, which forwards SIGTERM,
        SIGINT, SIGHUP, SIGQUIT, SIGUSR1/2 and SIGWINCH to the workload."""
        number = _signal_number(sig)
        if self.poll() is None:
            self._child.send_signal(number)

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
        self.oom_killed = outcome.oom_killed
        self.cpu_time_exceeded = outcome.cpu_time_exceeded
        self.limits = outcome.limits

    # -- communicate ---------------------------------------------------------

    def communicate(
        self, input: Optional[Union[str, bytes]] = None, timeout: Optional[float] = None
    ) -> Tuple[Any, Any]:
        """Writes ``input`` to stdin, reads stdout and stderr to the end,
        waits for the sandbox, and returns ``(stdout, stderr)``.

        Captured streams keep at most the sandbox's ``output_limit`` bytes
        each (``stdout_truncated``/``stderr_truncated`` tell). With
        ``timeout``, raises :class:`sandbox.TimeoutExpired` when the time is
        up; the sandbox keeps running and a later call (without ``input``)
        picks up where this one stopped, input not yet written included, as
        with subprocess.

        With ``text=True``, output cut at the limit is decoded up to its
        last whole character; output that is not valid in the encoding
        raises ``UnicodeDecodeError`` as with subprocess (the run has ended
        by then: ``returncode`` is set); ``errors="replace"`` avoids that.
        """
        if timeout is not None and timeout != timeout:
            raise ConfigError("timeout: nan is not a number of seconds")
        data = self._encode_input(input)
        if self._communication_started and data is not None:
            raise ValueError("communicate: cannot send input after starting communication; call it without input")
        if data is not None and (self.stdin is None or self.stdin.closed):
            raise ValueError("communicate: input given but stdin is not an open pipe; spawn with stdin=PIPE and do not close it")
        if not self._communication_started:
            self._input = data
        self._communication_started = True
        deadline = None if timeout is None else time.monotonic() + timeout
        data = self._input
        self._take_buffered()
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
        check_input(input, self._text)
        if input is None:
            return None
        if isinstance(input, str):
            return input.encode(self._encoding or "utf-8", self._errors)
        return bytes(memoryview(input))

    def _take_buffered(self) -> None:
        """What the caller's own reads (``p.stdout.readline()``) left in a
        file object's buffer belongs to the result too: move it into the
        capture before reading the fd directly."""
        for name, stream in (("stdout", self.stdout), ("stderr", self.stderr)):
            cap = self._capture(name)
            if stream is None or stream.closed or cap is None:
                continue
            tap = self._taps[self._fds[name]]
            tap.frozen = True  # only what the file object already holds
            try:
                if isinstance(stream, io.TextIOWrapper):
                    self._take_text(stream, cap)
                else:
                    while True:
                        chunk = stream.read1(_READ_CHUNK)  # type: ignore[attr-defined]
                        if not chunk:
                            break
                        cap.add(chunk)
            finally:
                tap.frozen = False

    def _take_text(self, stream: io.TextIOWrapper, cap: _Capture) -> None:
        """Decoded text not yet returned, then the rest of its buffer; the
        bytes of a character cut at the buffer's end come back through the
        decode error (a non-strict ``errors`` turns them into its own
        replacement, a rare edge accepted here)."""
        parts: List[str] = []
        try:
            while True:
                char = stream.read(1)
                if not char:
                    break
                parts.append(char)
        except UnicodeDecodeError as e:
            cap.add("".join(parts).encode(self._encoding or "utf-8", self._errors))
            cap.add(bytes(e.object[e.start :]))
            return
        cap.add("".join(parts).encode(self._encoding or "utf-8", self._errors))

    def _selector(self, data: Optional[bytes]) -> selectors.BaseSelector:
        selector = selectors.DefaultSelector()
        if self.stdin is not None and not self.stdin.closed:
            if data is not None and self._input_offset < len(data):
                _flush(self.stdin)
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
            outs.append(self._decode(raw, cap.truncated) if self._text else raw)
        return outs[0], outs[1]

    def _decode(self, raw: bytes, truncated: bool) -> str:
        """Like subprocess; output cut at the limit may end in the middle
        of a character, which is dropped rather than an error."""
        decoder = codecs.getincrementaldecoder(self._encoding or "utf-8")(self._errors)
        text = decoder.decode(raw, final=not truncated)
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


def check_input(input: object, text: bool) -> None:
    """``input`` must be bytes-like, or a str with ``text=True``."""
    if input is None:
        return
    if isinstance(input, str):
        if not text:
            raise TypeError("input: a str needs text=True (or pass bytes)")
        return
    if isinstance(input, (bytes, bytearray, memoryview)):
        return
    raise TypeError(f"input: {type(input).__name__} is not bytes-like; give bytes (or a str with text=True)")


def _signal_number(sig: object) -> int:
    if isinstance(sig, bool) or not isinstance(sig, int) or not 0 <= sig <= _SIGNAL_MAX:
        raise ConfigError(f"signal: {sig!r} is not a signal number; use e.g. signal.SIGTERM (1 to {_SIGNAL_MAX})")
    return int(sig)


def _flush(stream: IO[Any]) -> None:
    try:
        stream.flush()
    except BrokenPipeError:
        pass


def _readable_now(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
