"""The front of the Python door: ``run``, ``run_async`` and ``Sandbox``,
shaped like ``subprocess.run`` and ``subprocess.Popen``."""

from __future__ import annotations

import asyncio
import codecs
import concurrent.futures
import errno as _errno
import functools
import os
import subprocess
import sys
import threading
from typing import IO, Any, Dict, Iterable, Mapping, Optional, Tuple, Union

from . import _options
from ._errors import ConfigError, SetupError
from ._options import SandboxOptions
from ._process import Process, check_input
from ._result import CompletedRun

# At run time too, so typing.get_type_hints(sandbox.run) resolves.
if sys.version_info >= (3, 11):
    from typing import Unpack
else:  # pragma: no cover - Python 3.9 and 3.10
    try:
        from typing_extensions import Unpack
    except ImportError:
        from typing import Any as _AnyAlias

        class _UnpackFallback:
            def __getitem__(self, item: object) -> object:
                return _AnyAlias

        Unpack = _UnpackFallback()

PIPE = subprocess.PIPE
STDOUT = subprocess.STDOUT
DEVNULL = subprocess.DEVNULL

#: What a stream keyword accepts: None (inherit), PIPE, DEVNULL, STDOUT
#: (stderr only), an fd, or a file object with a fileno().
Stream = Union[None, int, IO[Any]]
_Arg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Args = Union[_Arg, Iterable[_Arg]]


class Sandbox:
    """A reusable, validated sandbox configuration (safe to share between
    threads). Takes the same keywords as :func:`run`:

    ``timeout`` (seconds; the sandbox is killed that long after the
    workload's exec; ``timed_out`` tells), ``env`` (the workload's
    environment; nothing of the host's is passed on), ``cwd``, ``network``
    (``"none"``: only ``lo``; ``"host"``), ``rootfs`` (a directory as ``/``;
    default: a read-only view of the host's /usr, /bin, /lib, /etc),
    ``read_only``, ``mounts`` (``"SRC:DST[:ro]"``, :class:`Bind`,
    :class:`Tmpfs`), ``output_limit`` (bytes kept per captured stream, int or
    ``"1M"``; default 64 MiB; ``"unlimited"``), ``hostname``, ``user``
    (``UID[:GID]`` inside), ``id_mapping`` (``"auto"``, ``"subordinate"``,
    ``"host-root"``), ``share`` (namespaces to keep the host's: ``"net"``,
    ``"pid"``, ...), ``cap_add`` (capabilities kept inside, e.g. ``"CHOWN"``),
    ``nested_userns``.

    Resource limits (each enforced by a cgroup where the caller has one,
    else an rlimit; ``result.limits`` says which): ``memory`` (bytes or
    ``"256M"``; the OOM killer ends the run, ``oom_killed``), ``pids``
    (tasks besides the sandbox's init), ``cpus`` (e.g. ``0.5``),
    ``cpu_weight`` (1 to 10000), ``cpu_time`` (CPU seconds per process;
    SIGXCPU, ``cpu_time_exceeded``), ``nofile`` (open files), ``fsize``
    (largest file written, bytes or ``"10M"``), ``strict_limits`` (raise
    :class:`LimitError` rather than fall back when no cgroup can enforce
    ``memory``, ``pids``, ``cpus`` or ``cpu_weight``), ``cgroup_parent``
    (the parent cgroup, relative to each hierarchy's root; default
    ``sandbox`` for root, ``sandbox-<uid>`` otherwise).

    Every keyword is checked here, before anything runs
    (:class:`ConfigError` names the bad one).
    """

    def __init__(self, **options: Unpack[SandboxOptions]) -> None:
        _options.check_names(options, "Sandbox")
        self._options: Dict[str, Any] = dict(options)
        self._env = _options.env_pairs(options.get("env"))
        self._engine = _options.compile_options(options)
        limit = _options._output_limit(options.get("output_limit"))
        self._output_limit = limit

    def __repr__(self) -> str:
        # Environment values are often secrets: only their names are shown.
        def shown(key: str, value: Any) -> str:
            if key == "env" and isinstance(value, Mapping):
                return "{" + ", ".join(f"{k!r}: '...'" for k in value) + "}"
            return repr(value)

        return "Sandbox(" + ", ".join(f"{k}={shown(k, v)}" for k, v in self._options.items()) + ")"

    @property
    def options(self) -> Mapping[str, Any]:
        """The keywords this sandbox was made with."""
        return dict(self._options)

    def config_json(self) -> str:
        """The configuration as the engine holds it (its JSON form)."""
        return self._engine.config_json()

    def _with(self, overrides: Mapping[str, Any], where: str) -> Sandbox:
        if not overrides:
            return self
        _options.check_names(overrides, where)
        return Sandbox(**_options.merged(self._options, overrides))

    def spawn(
        self,
        args: Args,
        *,
        stdin: Stream = None,
        stdout: Stream = None,
        stderr: Stream = None,
        text: bool = False,
        encoding: Optional[str] = None,
        errors: Optional[str] = None,
        **overrides: Unpack[SandboxOptions],
    ) -> Process:
        """Starts ``args`` in a new sandbox and returns its :class:`Process`.
        Streams default to the caller's own (like ``subprocess.Popen``);
        keywords of :class:`Sandbox` given here override this one's for this
        run (``env`` adds to it)."""
        sandbox = self._with(overrides, "spawn")
        argv = _argv(args)
        text = text or encoding is not None or errors is not None
        _check_codec(encoding, errors)
        fds, own_stdout = _streams(stdin, stdout, stderr)
        try:
            child = sandbox._engine.spawn(argv, sandbox._env, *fds)
        except BaseException as e:
            if own_stdout is not None:
                os.close(own_stdout[0])
            if isinstance(e, SetupError) and e.filename is None and e.errno in _PROGRAM_ERRNOS:
                e.filename = os.fsdecode(argv[0])
            raise
        finally:
            if own_stdout is not None:
                os.close(own_stdout[1])
        # From here on Process owns every fd (and closes them should it fail).
        return Process(
            args,
            child,
            text=text,
            encoding=encoding,
            errors=errors,
            output_limit=sandbox._output_limit,
            stdout_fd=own_stdout[0] if own_stdout else None,
        )

    def run(
        self,
        args: Args,
        *,
        input: Optional[Union[str, bytes]] = None,
        capture_output: bool = False,
        stdin: Stream = None,
        stdout: Stream = None,
        stderr: Stream = None,
        text: bool = False,
        encoding: Optional[str] = None,
        errors: Optional[str] = None,
        check: bool = False,
        **overrides: Unpack[SandboxOptions],
    ) -> CompletedRun[Any]:
        """Runs ``args`` to the end in a new sandbox, like ``subprocess.run``.

        ``capture_output=True`` (or ``stdout=PIPE``/``stderr=PIPE``) captures
        into ``result.stdout``/``result.stderr``; ``input`` is written to the
        workload's stdin; without it stdin is /dev/null (a sandboxed program
        does not read your terminal unless ``stdin=`` says so). ``text=True``
        decodes like subprocess. The sandbox's ``timeout`` kills it and sets
        ``timed_out`` (no exception unless ``check=True``, which raises
        :class:`CalledProcessError` for any unsuccessful run). Ctrl-C kills
        the sandbox and raises ``KeyboardInterrupt``.
        """
        check_input(input, text or encoding is not None or errors is not None)
        stdin, stdout, stderr = _run_streams(input, capture_output, stdin, stdout, stderr)
        process = self.spawn(
            args, stdin=stdin, stdout=stdout, stderr=stderr, text=text,
            encoding=encoding, errors=errors, **overrides,
        )
        with process:
            out, err = process.communicate(input)
        result = process.completed(out, err)
        if check:
            result.check_returncode()
        return result


def _run_streams(
    input: Optional[Union[str, bytes]], capture_output: bool, stdin: Stream, stdout: Stream, stderr: Stream
) -> Tuple[Stream, Stream, Stream]:
    """subprocess.run's rules, except that stdin is /dev/null by default."""
    if capture_output:
        if stdout is not None or stderr is not None:
            raise ConfigError("capture_output: cannot be used with stdout or stderr; drop one of them")
        stdout = stderr = PIPE
    if input is not None:
        if stdin is not None:
            raise ConfigError("input: cannot be used with stdin; drop one of them")
        stdin = PIPE
    elif stdin is None:
        stdin = DEVNULL
    return stdin, stdout, stderr


#: Errors of a program that cannot be started, which name it as ``filename``.
_PROGRAM_ERRNOS = (_errno.ENOENT, _errno.EACCES, _errno.EPERM)


def _check_codec(encoding: Optional[str], errors: Optional[str]) -> None:
    """Before anything starts: a bad codec is a ConfigError, not a leak."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except (LookupError, TypeError):
            raise ConfigError(f"encoding: {encoding!r} is not a codec; use e.g. \"utf-8\"") from None
    if errors is not None:
        try:
            codecs.lookup_error(errors)
        except (LookupError, TypeError):
            raise ConfigError(
                f"errors: {errors!r} is not an error handler; use e.g. \"strict\" or \"replace\""
            ) from None


def _argv(args: Args) -> list[bytes]:
    if isinstance(args, (str, bytes, os.PathLike)):
        items: list[Any] = [args]
    else:
        items = list(args)
    if not items:
        raise ConfigError("args: the command is empty; give at least the program to run")
    argv = []
    for i, item in enumerate(items):
        try:
            arg = os.fsencode(item)
        except TypeError:
            raise ConfigError(f"args[{i}]: {item!r} is not a str, bytes or path") from None
        if b"\0" in arg:
            raise ConfigError(f"args[{i}]: {item!r} contains a NUL byte")
        argv.append(arg)
    return argv


def _fd(name: str, stream: Stream) -> Optional[int]:
    """The engine's form of a stream: None, PIPE, DEVNULL or an fd."""
    if stream is None:
        return None
    if isinstance(stream, int) and not isinstance(stream, bool):
        if stream in (PIPE, DEVNULL):
            return stream
        if not 0 <= stream < 2**31:
            raise ConfigError(f"{name}: {stream} is not a stream; use None, PIPE, DEVNULL, a file or an fd")
        return stream
    fileno = getattr(stream, "fileno", None)
    if fileno is None:
        raise ConfigError(f"{name}: {stream!r} is not a stream; use None, PIPE, DEVNULL, a file or an fd")
    try:
        fd = fileno()
    except (OSError, ValueError) as e:
        raise ConfigError(f"{name}: {stream!r} has no usable fd ({e}); give a real file") from None
    assert isinstance(fd, int)
    return fd


def _streams(
    stdin: Stream, stdout: Stream, stderr: Stream
) -> Tuple[Tuple[Optional[int], Optional[int], Optional[int]], Optional[Tuple[int, int]]]:
    """The three streams for the engine. ``stderr=STDOUT`` sends stderr
    wherever stdout goes; when that is a pipe, the pipe is made here (both
    streams share it) and its read end returned too."""
    if stdin == STDOUT:
        raise ConfigError("stdin: STDOUT is only for stderr")
    if stdout == STDOUT:
        raise ConfigError("stdout: STDOUT is only for stderr")
    fd_in, fd_out = _fd("stdin", stdin), _fd("stdout", stdout)
    if stderr != STDOUT:
        return (fd_in, fd_out, _fd("stderr", stderr)), None
    if fd_out == PIPE:
        read_end, write_end = os.pipe()
        return (fd_in, write_end, write_end), (read_end, write_end)
    return (fd_in, fd_out, 1 if fd_out is None else fd_out), None


#: Most sandboxes ``run_async`` waits on at once (one thread each).
RUN_ASYNC_THREADS = 256
_pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
_pool_lock = threading.Lock()


def _run_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The threads of ``run_async``, made on first use (threads start only
    as needed)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(RUN_ASYNC_THREADS, thread_name_prefix="sandbox-run")
        return _pool


def run(
    args: Args,
    *,
    input: Optional[Union[str, bytes]] = None,
    capture_output: bool = False,
    stdin: Stream = None,
    stdout: Stream = None,
    stderr: Stream = None,
    text: bool = False,
    encoding: Optional[str] = None,
    errors: Optional[str] = None,
    check: bool = False,
    **options: Unpack[SandboxOptions],
) -> CompletedRun[Any]:
    """Runs ``args`` in a new sandbox and waits for it, like
    ``subprocess.run``. ``sandbox.run(args, **kw)`` is
    ``sandbox.Sandbox(**options).run(args, **run_keywords)``; see
    :class:`Sandbox` for the sandbox's keywords and :meth:`Sandbox.run` for
    the run's."""
    _options.check_names(options, "run")
    return Sandbox(**options).run(
        args, input=input, capture_output=capture_output, stdin=stdin, stdout=stdout,
        stderr=stderr, text=text, encoding=encoding, errors=errors, check=check,
    )


async def run_async(
    args: Args,
    *,
    input: Optional[Union[str, bytes]] = None,
    capture_output: bool = False,
    stdin: Stream = None,
    stdout: Stream = None,
    stderr: Stream = None,
    text: bool = False,
    encoding: Optional[str] = None,
    errors: Optional[str] = None,
    check: bool = False,
    **options: Unpack[SandboxOptions],
) -> CompletedRun[Any]:
    """:func:`run` for asyncio: the sandbox runs and is waited for on a
    thread of the module's own pool (``sandbox-run-N``, at most
    ``RUN_ASYNC_THREADS`` at once, more wait their turn), so neither the
    event loop nor its default executor (``getaddrinfo``,
    ``asyncio.to_thread``) is ever blocked. Cancelling the task kills the
    sandbox."""
    _options.check_names(options, "run_async")
    sandbox = Sandbox(**options)
    loop = asyncio.get_running_loop()
    check_input(input, text or encoding is not None or errors is not None)
    stdin, stdout, stderr = _run_streams(input, capture_output, stdin, stdout, stderr)
    spawn = functools.partial(
        sandbox.spawn, args, stdin=stdin, stdout=stdout, stderr=stderr, text=text,
        encoding=encoding, errors=errors,
    )
    pool = _run_pool()
    process = await loop.run_in_executor(pool, spawn)
    try:
        out, err = await loop.run_in_executor(pool, process.communicate, input)
    except BaseException:
        # Cancelled: the executor's communicate() ends once the sandbox is
        # dead, and closes the pipes itself.
        process.kill()
        raise
    result = process.completed(out, err)
    if check:
        result.check_returncode()
    return result
