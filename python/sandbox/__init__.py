"""Rootless Linux sandboxes, shaped like :mod:`subprocess`.

>>> import sandbox
>>> r = sandbox.run(["python3", "-c", "print(1)"], timeout=2, capture_output=True)
>>> r.returncode, r.stdout, r.timed_out, r.usage.peak_memory  # doctest: +SKIP
(0, b'1\\n', False, 9043968)

Every run gets fresh user, mount, pid, ipc, uts, net and cgroup namespaces
on a private root filesystem, needs no root, and is killed whole on timeout,
on Ctrl-C or when the calling process dies. ``Sandbox(...)`` is a reusable
configuration with ``.run()`` and ``.spawn()`` (a ``Popen``-like
:class:`Process`); ``run_async`` does the same for asyncio. Resource
limits are keywords too (``memory="256M"``, ``pids``, ``cpus``,
``cpu_time``, ...); results say ``oom_killed``, ``cpu_time_exceeded`` and
how each limit was enforced (``limits``). Errors are the classes of
:mod:`sandbox._errors`, each also its builtin namesake.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Union

from . import _errors, _sandbox
from ._api import DEVNULL, PIPE, STDOUT, Sandbox, run, run_async
from ._errors import (
    CalledProcessError,
    ConfigError,
    ImageError,
    LimitError,
    SandboxError,
    SetupError,
    SetupFileNotFoundError,
    SetupPermissionError,
    TimeoutExpired,
    UnsupportedError,
)
from ._options import Bind, Tmpfs, to_size
from ._process import Process
from ._result import CompletedRun, Usage

__all__ = [
    "run",
    "run_async",
    "Sandbox",
    "Process",
    "CompletedRun",
    "Usage",
    "Bind",
    "Tmpfs",
    "PIPE",
    "STDOUT",
    "DEVNULL",
    "check",
    "parse_size",
]
__all__ += _errors.__all__


def check() -> Dict[str, Any]:
    """What this kernel and user can do, feature by feature, with the fix
    for each missing one (``sandbox check --json``)."""
    report: Dict[str, Any] = json.loads(_sandbox.check_json())
    return report


def parse_size(text: Union[str, int]) -> int:
    """Bytes from a size such as ``"256M"`` (k, m, g, t suffixes; the
    engine's rules) or an int. Raises :class:`ConfigError` for anything
    else."""
    return to_size("size", text)
