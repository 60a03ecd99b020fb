"""The exceptions of the Python door, one per kind of docs/errors.md.

Defined in pure Python and inheriting their builtin namesakes, so existing
``except ValueError`` / ``except OSError`` / ``except
subprocess.CalledProcessError`` clauses keep working. The compiled module
raises them through :func:`from_core`, the one mapping table.
"""

from __future__ import annotations

import errno as _errno
import os
import subprocess
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

if TYPE_CHECKING:
    from ._result import CompletedRun

__all__ = [
    "SandboxError",
    "ConfigError",
    "UnsupportedError",
    "SetupError",
    "SetupFileNotFoundError",
    "SetupPermissionError",
    "ImageError",
    "LimitError",
    "TimeoutExpired",
    "CalledProcessError",
]

_Cmd = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]", Sequence[Any]]


class SandboxError(Exception):
    """Base of every error the sandbox raises.

    ``stage`` names the step that failed (``validate``, ``clone``,
    ``idmap``, ``mount``, ``exec``, ...; see docs/errors.md) when known.
    """

    stage: Optional[str] = None


class ConfigError(SandboxError, ValueError):
    """A bad argument or configuration; nothing was started.

    The message starts with the argument's name, e.g.
    ``output_limit: 'lots' is not a size; ...``.
    """

    stage: Optional[str] = "validate"


class UnsupportedError(SandboxError):
    """The kernel or the calling user lacks a feature the sandbox needs.

    ``feature`` names it as ``sandbox.check()`` does (``user_namespaces``,
    ``subordinate_ids``, ``kernel``, ...).
    """

    def __init__(self, message: str, feature: str, stage: Optional[str] = None) -> None:
        super().__init__(message)
        self.feature = feature
        self.stage = stage

    def __reduce__(self) -> Any:
        return (type(self), (str(self), self.feature, self.stage))


class SetupError(SandboxError, OSError):
    """Building the sandbox failed: permission, a missing file or program,
    or another step. ``errno``, ``filename`` and ``stage`` say which.

    As with OSError, the errno picks a subclass: with ENOENT it is also a
    ``FileNotFoundError`` (:class:`SetupFileNotFoundError`), with EACCES or
    EPERM also a ``PermissionError`` (:class:`SetupPermissionError`), so
    ``except FileNotFoundError`` around former ``subprocess.run`` code keeps
    working; ``filename`` is then the program or path.
    """

    def __init__(
        self,
        message: str,
        errno: Optional[int] = None,
        filename: Optional[str] = None,
        stage: Optional[str] = None,
    ) -> None:
        if errno is None:
            OSError.__init__(self, message)
        else:
            OSError.__init__(self, errno, message)
        self.filename = filename
        self.stage = stage
        self._message = message

    def __str__(self) -> str:
        return self._message

    def __reduce__(self) -> Any:
        return (type(self), (self._message, self.errno, self.filename, self.stage))


class SetupFileNotFoundError(SetupError, FileNotFoundError):
    """A :class:`SetupError` for a file, directory or program not found
    (errno ENOENT)."""


class SetupPermissionError(SetupError, PermissionError):
    """A :class:`SetupError` for a step refused for lack of permission
    (errno EACCES or EPERM)."""


def setup_error(
    message: str, errno: Optional[int] = None, filename: Optional[str] = None, stage: Optional[str] = None
) -> SetupError:
    """The :class:`SetupError` (sub)class that ``errno`` calls for."""
    cls = _SETUP_BY_ERRNO.get(errno, SetupError) if errno is not None else SetupError
    return cls(message, errno, filename, stage)


_SETUP_BY_ERRNO = {
    _errno.ENOENT: SetupFileNotFoundError,
    _errno.EACCES: SetupPermissionError,
    _errno.EPERM: SetupPermissionError,
}


class ImageError(SandboxError):
    """An image could not be imported, found or unpacked (for the coming
    image store; nothing raises it yet)."""


class LimitError(UnsupportedError):
    """A limit asked for with ``strict_limits=True`` cannot be enforced on
    this host: no writable cgroup has its controller. Nothing was started.

    An :class:`UnsupportedError` with ``feature == "cgroups"`` and
    ``stage == "cgroup"``; ``limit`` names the limit (``"memory"``,
    ``"pids"``, ``"cpus"`` or ``"cpu_weight"``). The message starts with it
    (``limits.memory: no writable cgroup with the memory controller, ...``)
    and ends with how to delegate a cgroup, or to drop ``strict_limits``.
    """

    def __init__(
        self, message: str, feature: str = "cgroups", stage: Optional[str] = "cgroup", limit: Optional[str] = None
    ) -> None:
        super().__init__(message, feature, stage)
        self.limit = limit if limit is not None else _limit_in(message)

    def __reduce__(self) -> Any:
        return (type(self), (str(self), self.feature, self.stage, self.limit))


def _limit_in(message: str) -> Optional[str]:
    """``memory`` from ``limits.memory: ...``."""
    head, sep, _ = message.partition(": ")
    if sep and head.startswith("limits."):
        return head[len("limits.") :]
    return None


class TimeoutExpired(SandboxError, subprocess.TimeoutExpired):
    """``Process.wait`` or ``Process.communicate`` ran out of time; the
    sandbox keeps running. ``output``/``stderr`` hold what was read so far."""

    def __init__(
        self,
        cmd: _Cmd,
        timeout: float,
        output: Optional[Union[str, bytes]] = None,
        stderr: Optional[Union[str, bytes]] = None,
    ) -> None:
        subprocess.TimeoutExpired.__init__(self, cmd, timeout, output, stderr)


class CalledProcessError(SandboxError, subprocess.CalledProcessError):
    """``check=True`` and the run did not succeed. ``result`` is the whole
    :class:`CompletedRun` (``timed_out``, ``signal``, ``usage``, ...)."""

    def __init__(self, result: CompletedRun[Any]) -> None:
        subprocess.CalledProcessError.__init__(
            self, result.returncode, result.args, result.stdout, result.stderr
        )
        self.result = result

    def __str__(self) -> str:
        if self.result.timed_out:
            return f"Command {self.cmd!r} was killed by the sandbox's timeout."
        return subprocess.CalledProcessError.__str__(self)

    def __reduce__(self) -> Any:
        return (type(self), (self.result,))


_DEFAULT_ERRNO = {"not_found": _errno.ENOENT, "permission_denied": _errno.EACCES}

#: The stage at which an unsupported feature shows, named as ``sandbox.check()``
#: names the feature.
_FEATURE_OF_STAGE = {
    "clone": "user_namespaces",
    "userns": "user_namespaces",
    "idmap": "subordinate_ids",
    "mount": "kernel",
    "cgroup": "cgroups",
}


def from_core(
    kind: str,
    stage: str,
    errno: Optional[int],
    path: Optional[Union[str, "os.PathLike[str]"]],
    message: str,
    limit: Optional[str] = None,
) -> SandboxError:
    """The exception for an engine error (called by ``sandbox._sandbox``).
    ``limit`` is set for a strict limit no cgroup can enforce."""
    filename = os.fspath(path) if path is not None else None
    if kind == "invalid_config":
        return ConfigError(message)
    if kind == "unsupported" and limit is not None:
        return LimitError(message, _FEATURE_OF_STAGE.get(stage, stage), stage, limit)
    if kind == "unsupported":
        return UnsupportedError(message, _FEATURE_OF_STAGE.get(stage, stage), stage)
    if kind in ("permission_denied", "not_found", "setup"):
        code = errno if errno is not None else _DEFAULT_ERRNO.get(kind)
        return setup_error(message, code, filename, stage)
    error = SandboxError(message)
    error.stage = stage
    return error
