"""Threads, asyncio and Ctrl-C: the GIL is released, many sandboxes run at
once, and an interrupted run leaves nothing behind."""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import os
import signal
import threading
import time

import pytest

import sandbox
from conftest import procs_running, unique_sleep


def test_32_threads_times_10_runs() -> None:
    box = sandbox.Sandbox(timeout=30)

    def ten(i: int) -> list[bytes]:
        return [box.run(["sh", "-c", f"echo {i} $$"], capture_output=True, check=True).stdout for _ in range(10)]

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(ten, range(32)))
    assert results == [[f"{i} 2\n".encode()] * 10 for i in range(32)]


def test_gil_is_released_while_waiting() -> None:
    start = time.monotonic()
    threads = [threading.Thread(target=sandbox.run, args=(["sleep", "0.5"],)) for _ in range(4)]
    for t in threads:
        t.start()
    ticks = 0
    while any(t.is_alive() for t in threads):
        ticks += 1
        time.sleep(0.01)
    assert time.monotonic() - start < 1.5  # four 0.5 s sleeps, at once
    assert ticks > 20  # and this thread kept running meanwhile


def test_run_async_does_not_block_the_loop() -> None:
    async def main() -> tuple[list[int], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        tick = asyncio.ensure_future(ticker())
        runs = await asyncio.gather(*(sandbox.run_async(["sleep", "0.4"], timeout=5) for _ in range(3)))
        tick.cancel()
        return [r.returncode for r in runs], ticks

    start = time.monotonic()
    codes, ticks = asyncio.run(main())
    assert codes == [0, 0, 0] and ticks > 15 and time.monotonic() - start < 1.5


def test_run_async_captures_and_cancels() -> None:
    async def main() -> None:
        r = await sandbox.run_async(["cat"], input=b"x", capture_output=True)
        assert r.stdout == b"x"
        task = asyncio.ensure_future(sandbox.run_async(["sleep", nap]))
        await asyncio.sleep(0.3)
        assert procs_running(nap) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    nap = unique_sleep()
    asyncio.run(main())
    deadline = time.monotonic() + 3
    while procs_running(nap) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert procs_running(nap) == 0


def test_run_async_leaves_the_default_executor_free() -> None:
    async def main() -> tuple[float, list[int]]:
        runs = [asyncio.ensure_future(sandbox.run_async(["sleep", "2"], timeout=30)) for _ in range(64)]
        await asyncio.sleep(0.3)
        start = time.monotonic()
        await asyncio.to_thread(lambda: None)
        await asyncio.get_running_loop().getaddrinfo("localhost", 80)
        waited = time.monotonic() - start
        return waited, [r.returncode for r in await asyncio.gather(*runs)]

    waited, codes = asyncio.run(main())
    assert waited < 1.0 and codes == [0] * 64  # the default executor (cpus + 4 threads) would wait for them all
    names = {t.name for t in threading.enumerate()}
    assert any(n.startswith("sandbox-run") for n in names)


@pytest.mark.parametrize("capture", [False, True])
@pytest.mark.parametrize("how", ["interrupt_main", "sigint"])
def test_ctrl_c_kills_the_sandbox_promptly(capture: bool, how: str) -> None:
    nap = unique_sleep()
    main = threading.get_ident()

    def interrupt() -> None:
        time.sleep(0.3)
        if how == "interrupt_main":
            _thread.interrupt_main()
        else:
            signal.pthread_kill(main, signal.SIGINT)

    threading.Thread(target=interrupt).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        sandbox.run(["sh", "-c", f"(setsid sleep {nap} &); sleep {nap}"], capture_output=capture)
    assert time.monotonic() - start < 1.5
    assert procs_running(nap) == 0


def test_timeout_leaves_nothing_behind() -> None:
    nap = unique_sleep()
    r = sandbox.run(["sh", "-c", f"(setsid sleep {nap} &); sleep {nap}"], timeout=0.3, capture_output=True)
    assert r.timed_out and procs_running(nap) == 0
