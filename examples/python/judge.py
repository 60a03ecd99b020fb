"""An online-judge run: a submitted snippet against test cases, each in its
own sandbox with a CPU-time limit, a memory limit and a wall-clock backstop,
and a verdict table (AC, WA, TLE, MLE, RE).

    python examples/python/judge.py

TLE is ``cpu_time_exceeded`` (the CPU-time limit, SIGXCPU) or ``timed_out``
(the wall-clock timeout, for a submission that sleeps); MLE is
``oom_killed`` (the OOM killer at the memory cgroup's limit). Where no
memory cgroup is available to the caller (a rootless caller without a
delegated parent; see README, Resource limits) the memory limit falls back
to an address-space rlimit: an allocation then fails inside (a
``MemoryError``, RE) instead of being OOM-killed, and ``result.limits``
says ``"rlimit"``.
"""

from __future__ import annotations

import sys
from typing import List, NamedTuple

import sandbox

SUBMISSION = """
import sys
n = int(sys.stdin.readline())
if n == 3:
    while True:  # too slow for this case
        pass
if n == 4:
    raise SystemExit(f"crash on {n}")
if n == 6:  # output that is not text must not crash the judge
    sys.stdout.buffer.write(b"\\xff")
    raise SystemExit(0)
if n == 7:  # far too much memory
    hog = bytearray(512 << 20)
    hog[::4096] = b"x" * len(hog[::4096])
print(n * n if n != 2 else 5)
"""


#: The host's interpreter, seen through the sandbox's read-only host view.
PYTHON = "/usr/bin/python3"


class Case(NamedTuple):
    input: str
    expected: str


CASES = [
    Case("1\n", "1\n"),
    Case("2\n", "4\n"),
    Case("3\n", "9\n"),
    Case("4\n", "16\n"),
    Case("5\n", "25\n"),
    Case("6\n", "36\n"),
    Case("7\n", "49\n"),
]


def verdict(result: sandbox.CompletedRun[str], expected: str) -> str:
    if result.cpu_time_exceeded or result.timed_out:
        return "TLE"
    if result.oom_killed:
        return "MLE"
    if result.returncode != 0:
        return "RE"
    return "AC" if result.stdout == expected else "WA"


def judge(code: str, cases: List[Case], cpu_seconds: int = 1, memory: str = "128M") -> List[str]:
    box = sandbox.Sandbox(
        cpu_time=cpu_seconds,  # CPU seconds per process: SIGXCPU past it
        memory=memory,  # the whole sandbox: the OOM killer past it
        timeout=cpu_seconds * 3 + 1,  # wall clock: for a submission that sleeps or blocks
        output_limit="64K",
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    print(f"{'case':>4}  {'verdict':7}  {'time':>7}  {'cpu':>7}  {'peak mem':>9}  limits")
    verdicts = []
    for i, case in enumerate(cases, 1):
        # errors="replace": a submission's output is untrusted bytes; invalid
        # UTF-8 (or output cut at the limit) must give a verdict, not an error.
        result = box.run([PYTHON, "-c", code], input=case.input, capture_output=True, text=True, errors="replace")
        v = verdict(result, case.expected)
        verdicts.append(v)
        u = result.usage
        how = ", ".join(f"{k}: {m}" for k, m in result.limits.items())
        print(f"{i:>4}  {v:7}  {u.wall_time:6.3f}s  {u.cpu_time:6.3f}s  {u.peak_memory / 2**20:7.1f}MB  {how}")
    return verdicts


def main() -> int:
    verdicts = judge(SUBMISSION, CASES)
    print("verdicts:", " ".join(verdicts))
    # Without a memory cgroup, case 7's allocation fails inside instead: RE.
    return 0 if verdicts[:6] == ["AC", "WA", "TLE", "RE", "AC", "WA"] and verdicts[6] in ("MLE", "RE") else 1


if __name__ == "__main__":
    sys.exit(main())
