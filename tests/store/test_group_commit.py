"""The group-commit queue (``fangkong.store.group_commit``): one thread started by the
first item, batches of what waits, ended when idle and started again, answers handed to
each event loop."""

from __future__ import annotations

import asyncio
import threading
import time

from fangkong.store.group_commit import WaitQueue, settle_on_loops


def test_one_thread_serves_batches_and_ends_when_idle() -> None:
    batches: list[list[int]] = []
    idled = threading.Event()
    release = threading.Event()

    def serve(first: int) -> None:
        release.wait(5)  # items put meanwhile wait for the next batch
        batches.append(waiting.take([first], most=3))

    waiting: WaitQueue[int] = WaitQueue("t", serve, idle_s=0.05, on_idle=idled.set)
    for i in range(5):
        waiting.put(i)
    first = waiting.thread
    assert first is not None
    release.set()
    first.join(5)
    assert batches == [[0, 1, 2], [3, 4]]
    assert idled.is_set()
    assert waiting.thread is None
    waiting.put(9)  # started again
    again = waiting.thread
    assert again is not None
    assert again is not first
    again.join(5)
    assert batches[-1] == [9]


def test_take_waits_until_its_deadline_for_more() -> None:
    got: list[list[str]] = []
    waiting: WaitQueue[str] = WaitQueue(
        "t", lambda first: got.append(waiting.take([first], 4, time.monotonic() + 0.5)),
        idle_s=0.05,
    )  # fmt: skip
    waiting.put("a")
    time.sleep(0.05)
    waiting.put("b")
    thread = waiting.thread
    assert thread is not None
    thread.join(5)
    assert got == [["a", "b"]]
    ran: list[bool] = []
    waiting.if_idle(lambda: ran.append(True))
    assert ran == [True]


def test_answers_resolve_on_their_loop() -> None:
    async def main() -> tuple[object, str]:
        loop = asyncio.get_running_loop()
        ok: asyncio.Future[object] = loop.create_future()
        bad: asyncio.Future[object] = loop.create_future()
        gone: asyncio.Future[object] = loop.create_future()
        gone.cancel()  # its client went away: skipped
        threading.Thread(
            target=settle_on_loops,
            args=([(loop, ok, 7), (loop, bad, ValueError("no")), (loop, gone, 1)],),
        ).start()
        try:
            await bad
        except ValueError as exc:
            return await ok, str(exc)
        raise AssertionError("the exception was not set")

    assert asyncio.run(main()) == (7, "no")
