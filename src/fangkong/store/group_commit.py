"""The queue and thread of a group-commit writer (合并提交): requests put what they want
written; one thread, started by the first item and ending after ``idle_s`` with none,
takes what waits and writes it in one transaction; each request is answered after that
commit — a waiting thread by an event or a callback, an event loop through its future,
each loop handed all its answers in one call.

The scan writer (``healthcode.scan_writer``) and the crossing writer
(``logistics.crossing_writer``) are built on it; what a batch holds and how it is
written is theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class WaitQueue(Generic[T]):
    """Items waiting for one thread: ``serve(first)`` is called on that thread for each
    item taken while idle, and takes more with ``take``. The thread ends when nothing
    came for ``idle_s`` (``on_idle`` is called then, on it) and is started again by the
    next ``put``; an item put while it ends is never stranded (both hold the lock)."""

    def __init__(
        self, name: str, serve: Callable[[T], None], *, idle_s: float,
        on_idle: Callable[[], None] | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.idle_s = idle_s
        self._serve = serve
        self._on_idle = on_idle
        self._queue: queue.SimpleQueue[T] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def put(self, item: T) -> None:
        with self._lock:
            self._queue.put(item)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self.thread.start()

    def if_idle(self, act: Callable[[], None]) -> None:
        """``act()`` if no thread runs (and none starts meanwhile: under the lock)."""
        with self._lock:
            if self.thread is None:
                act()

    def take(self, batch: list[T], most: int, until: float = 0.0) -> list[T]:
        """``batch`` with what waits added, up to ``most`` items, waiting for more until
        ``until`` (``time.monotonic()``; by default not at all)."""
        while len(batch) < most:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                left = until - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
        return batch

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:  # put() puts under this lock: nothing is stranded
                    if self._queue.empty():
                        self.thread = None
                        if self._on_idle is not None:
                            self._on_idle()
                        return
                continue
            self._serve(first)


def _settle(pairs: list[tuple[asyncio.Future[Any], Any]]) -> None:
    """On the event loop: resolve each future (one whose client went away is skipped)."""
    for future, result in pairs:
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


def settle_on_loops(
    answers: Iterable[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], Any]],
) -> None:
    """Resolve each future with its answer (a result or an exception) on its own loop,
    each loop handed its answers in one call; a closed loop is skipped (nobody waits)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
    for loop, future, answer in answers:
        by_loop.setdefault(loop, []).append((future, answer))
    for loop, pairs in by_loop.items():
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, pairs)


__all__ = ["WaitQueue", "settle_on_loops"]
