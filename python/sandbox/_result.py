"""What a finished run reports: a ``subprocess.CompletedProcess`` with the
sandbox's own fields on top."""

from __future__ import annotations

import dataclasses
import signal as _signal
import subprocess
from typing import Any, Dict, Generic, Optional, TypeVar

from . import _sandbox

_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class Usage:
    """What the run used, as the engine measured it.

    ``wall_time`` counts from the workload's exec (setup excluded, as the
    timeout excludes it); CPU times cover every process of the sandbox
    (from its cgroup when it has one). ``peak_memory`` is in bytes: the
    whole sandbox's peak from its memory cgroup when there is one, else the
    peak resident set of its largest process (from ``wait4``).
    ``pids_peak`` is the most tasks the sandbox had at once, where a pids
    cgroup counted them (else None).
    """

    wall_time: float
    user_time: float
    system_time: float
    peak_memory: int
    pids_peak: Optional[int] = None

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
    peak = outcome.memory_peak_bytes
    return Usage(
        outcome.wall_time,
        outcome.user_time,
        outcome.system_time,
        peak if peak is not None else outcome.peak_rss_bytes,
        outcome.pids_peak,
    )


class CompletedRun(subprocess.CompletedProcess[_T], Generic[_T]):
    """A finished sandboxed run, usable wherever a ``CompletedProcess`` is.

    ``returncode`` follows subprocess: the exit code, or ``-N`` when signal
    N killed the workload (``-9`` after a timeout). On top of it:
    ``timed_out`` (the sandbox's timeout killed it), ``signal`` (the
    ``signal.Signals`` that killed it, or None), ``usage`` (:class:`Usage`),
    ``stdout_truncated``/``stderr_truncated`` (captured output was cut
    at ``output_limit``), and for resource limits: ``oom_killed`` (the
    kernel's OOM killer killed a process at ``memory``; returncode is then
    usually ``-9``), ``cpu_time_exceeded`` (a process used up ``cpu_time``:
    ``-signal.SIGXCPU``, or ``-9`` if it ignored that), and ``limits``, how
    each limit asked for was enforced: ``{"memory": "cgroup-v1",
    "cpu_time": "rlimit"}`` (values ``"cgroup-v2"``, ``"cgroup-v1"``,
    ``"rlimit"``, ``"not-enforced"``).
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
        self.oom_killed: bool = outcome.oom_killed
        self.cpu_time_exceeded: bool = outcome.cpu_time_exceeded
        self.limits: Dict[str, str] = outcome.limits
        self.stdout_truncated = stdout_truncated
        self.stderr_truncated = stderr_truncated

    def __repr__(self) -> str:
        fields = [f"args={self.args!r}", f"returncode={self.returncode!r}"]
        if self.timed_out:
            fields.append("timed_out=True")
        if self.signal is not None:
            fields.append(f"signal={self.signal.name}")
        if self.oom_killed:
            fields.append("oom_killed=True")
        if self.cpu_time_exceeded:
            fields.append("cpu_time_exceeded=True")
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
