"""Sandboxes per second from Python for /bin/true: sequential and with two
threads (every namespace, default configuration). Prints the median of
several rounds; compare with the Rust figure in benches/README.md.

    python benches/python/spawn_rate.py [runs-per-round] [rounds]
"""

from __future__ import annotations

import statistics
import sys
import threading
import time

import sandbox


def rate(box: sandbox.Sandbox, runs: int, threads: int) -> float:
    per_thread = runs // threads

    def work() -> None:
        for _ in range(per_thread):
            box.run(["/bin/true"], check=True)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return per_thread * threads / (time.perf_counter() - start)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    box = sandbox.Sandbox()
    rate(box, 20, 1)  # warm up
    for threads in (1, 2):
        rates = [rate(box, runs, threads) for _ in range(rounds)]
        print(f"python /bin/true, {threads} thread{'s' if threads > 1 else ''}: "
              f"median {statistics.median(rates):.0f}/s (min {min(rates):.0f}, max {max(rates):.0f}; "
              f"{rounds} rounds of {runs})")


if __name__ == "__main__":
    main()
