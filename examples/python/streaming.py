"""Streaming: read a sandboxed program's output line by line as it is
produced, answer on its stdin, and stop it early.

    python examples/python/streaming.py
"""

from __future__ import annotations

import sys

import sandbox

PROGRAM = 'i=0; while read q; do i=$((i+1)); echo "answer $i to $q"; done; echo bye'


def main() -> int:
    box = sandbox.Sandbox(timeout=10)
    with box.spawn(["sh", "-c", PROGRAM], stdin=sandbox.PIPE, stdout=sandbox.PIPE, text=True) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        for question in ("ping", "pong", "done?"):
            proc.stdin.write(question + "\n")
            proc.stdin.flush()
            print("<", proc.stdout.readline().rstrip())
        proc.stdin.close()
        print("<", proc.stdout.readline().rstrip())
        code = proc.wait(timeout=5)
    print(f"exit {code}; wall {proc.usage.wall_time if proc.usage else 0:.3f}s")

    # A long-running producer, stopped once we have seen enough.
    with box.spawn(["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done"],
                   stdout=sandbox.PIPE, text=True) as ticker:
        assert ticker.stdout is not None
        for line in ticker.stdout:
            print("<", line.rstrip())
            if line.startswith("tick 3"):
                break
        ticker.kill()
        print(f"stopped: returncode {ticker.wait()}")
    return 0 if code == 0 and ticker.returncode == -9 else 1


if __name__ == "__main__":
    sys.exit(main())
