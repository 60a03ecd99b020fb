"""An online-judge run: a submitted snippet against test cases, each in its
own sandbox with a time limit, and a verdict table.

    python examples/python/judge.py

(Memory limits join the time limit once the engine has cgroup support.)
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
]


def verdict(result: sandbox.CompletedRun[str], expected: str) -> str:
    if result.timed_out:
        return "TLE"
    if result.returncode != 0:
        return "RE"
    return "AC" if result.stdout == expected else "WA"


def judge(code: str, cases: List[Case], time_limit: float = 1.0) -> List[str]:
    box = sandbox.Sandbox(timeout=time_limit, output_limit="64K", env={"PYTHONDONTWRITEBYTECODE": "1"})
    print(f"{'case':>4}  {'verdict':7}  {'time':>7}  {'cpu':>7}  {'peak mem':>9}")
    verdicts = []
    for i, case in enumerate(cases, 1):
        # errors="replace": a submission's output is untrusted bytes; invalid
        # UTF-8 (or output cut at the limit) must give a verdict, not an error.
        result = box.run([PYTHON, "-c", code], input=case.input, capture_output=True, text=True, errors="replace")
        v = verdict(result, case.expected)
        verdicts.append(v)
        u = result.usage
        print(f"{i:>4}  {v:7}  {u.wall_time:6.3f}s  {u.cpu_time:6.3f}s  {u.peak_memory / 2**20:7.1f}MB")
    return verdicts


def main() -> int:
    verdicts = judge(SUBMISSION, CASES)
    print("verdicts:", " ".join(verdicts))
    return 0 if verdicts == ["AC", "WA", "TLE", "RE", "AC", "WA"] else 1


if __name__ == "__main__":
    sys.exit(main())
