"""What a finished run reports: a ``subprocess.CompletedProcess`` with the
sandbox's own fields on top."""

from __future__ import annotations

import dataclasses
import signal as _signal
import subprocess
from typing import Any, Generic, Optional, TypeVar

from . import _sandbox

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class Usage:
    """What the run used, as the engine measured it.

    ``wall_time`` counts from the workload's exec (setup excluded, as the
    timeout excludes it); CPU times cover every process of the sandbox;
    ``peak_memory`` is the peak resident set of its largest process, in
    bytes (from ``wait4``; a cgroup-wide figure comes with cgroup support).
    """

    wall_time: float
    user_time: float
    system_time: float
    peak_memory: int

    @property
    def cpu_time(self) -> float:
        """User plus system CPU seconds."""
        return self.user_time + self.system_time


def returncode_of(outcome: _sandbox.Outcome) -> int:
    """subprocess's convention: the exit code, or ``-N`` for signal N."""
    if outcome.exit_code is not None:
        return outcome.exit_code
    return -(outcome.signal or 0)


def signal_of(outcome: _sandbox.Outcome) -> Optional[_signal.Signals]:
    if outcome.signal is None:
        return None
    try:
        return _signal.Signals(outcome.signal)
    except ValueError:  # a real-time signal has no name
        return None


def usage_of(outcome: _sandbox.Outcome) -> Usage:
    return Usage(outcome.wall_time, outcome.user_time, outcome.system_time, outcome.peak_rss_bytes)


class CompletedRun(subprocess.CompletedProcess[_T], Generic[_T]):
    """A finished sandboxed run, usable wherever a ``CompletedProcess`` is.

    ``returncode`` follows subprocess: the exit code, or ``-N`` when signal
    N killed the workload (``-9`` after a timeout). On top of it:
    ``timed_out`` (the sandbox's timeout killed it), ``signal`` (the
    ``signal.Signals`` that killed it, or None), ``usage`` (:class:`Usage`),
    and ``stdout_truncated``/``stderr_truncated`` (captured output was cut
    at ``output_limit``).
    """

    def __init__(
        self,
        args: Any,
        outcome: _sandbox.Outcome,
        stdout: Optional[_T] = None,
        stderr: Optional[_T] = None,
        stdout_truncated: bool = False,
        stderr_truncated: bool = False,
    ) -> None:
        super().__init__(args, returncode_of(outcome), stdout, stderr)
        self.timed_out: bool = outcome.timed_out
        self.signal: Optional[_signal.Signals] = signal_of(outcome)
        self.usage: Usage = usage_of(outcome)
        self.stdout_truncated = stdout_truncated
        self.stderr_truncated = stderr_truncated

    def __repr__(self) -> str:
        fields = [f"args={self.args!r}", f"returncode={self.returncode!r}"]
        if self.timed_out:
            fields.append("timed_out=True")
        if self.signal is not None:
            fields.append(f"signal={self.signal.name}")
        for name in ("stdout", "stderr"):
            value = getattr(self, name)
            if value is not None:
                fields.append(f"{name}={value!r}")
        return f"CompletedRun({', '.join(fields)})"

    def check_returncode(self) -> None:
        """Raises :class:`sandbox.CalledProcessError` unless the run succeeded."""
        if self.returncode != 0 or self.timed_out:
            from ._errors import CalledProcessError

            raise CalledProcessError(self)
