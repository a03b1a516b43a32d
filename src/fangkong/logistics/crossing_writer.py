"""Group commit for the crossings of a device (通行记录合并提交) that hand nobody to the
closed loop: passed, turned back, released — with the people it samples collected by
testing's own service inside the same transaction (即采即走: the driver does not wait).

A request decides its crossing outside the write turn (``crossings.prepare_crossing``
without ``create``, on a read connection), then waits here; one thread writes every
crossing waiting into one transaction under the writer's turn, commits once, and answers
each request after that commit::

    request: prepare (read) ─▶ queue ─▶ writer: (turn) BEGIN
    request: prepare (read) ─▶   │        per crossing: (checkpoint, ref) stored? → replay
    request: prepare (read) ─▶   │                      else store_crossing (people the
                                 ▼                      registry lacks created by registry)
                                          COMMIT ─▶ every waiting request answers

A crossing stored meanwhile under the same (checkpoint, ref) answers as a replay (its
stored outcome, or the conflict); a person who appeared in the registry since the
crossing was decided, or a failed commit, answers :class:`Redo` — the request then takes
the full path (``access.record``), which decides and stores in one transaction. Nobody is
answered before the commit that holds their crossing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from fangkong.errors import FangkongError
from fangkong.healthcode.context import CodeContext
from fangkong.identity.sealing import Sealer
from fangkong.logistics.crossing_input import CrossingOut
from fangkong.logistics.crossings import PeopleChanged, PreparedCrossing, store_crossing
from fangkong.logistics.rules import LogisticsRules
from fangkong.logistics.stored import replay_of
from fangkong.store.group_commit import WaitQueue, settle_on_loops
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, register_samples

Turn = Callable[[], contextlib.AbstractContextManager[object]]
Answer = CrossingOut | BaseException
log = logging.getLogger(__name__)


class Redo(Exception):
    """The crossing was not stored here: record it on the full path."""


@dataclass
class _Waiting:
    """A crossing waiting for its commit, answered once: by ``done`` (a thread waits) or
    through ``future`` on ``loop`` (an event loop awaits: no thread held meanwhile)."""

    prepared: PreparedCrossing
    rules: LogisticsRules
    done: threading.Event | None = None
    answer: Answer | None = None
    future: asyncio.Future[CrossingOut] | None = None
    loop: asyncio.AbstractEventLoop | None = None


class CrossingWriter:
    """One writer thread per process (started on demand, ending when idle for
    ``idle_s``) writing up to ``max_batch`` waiting crossings per transaction; ``turn``
    is taken around each transaction (on SQLite the process's and the server's writers'
    turn, so crossings queue with the scans and the full path, never in SQLite's busy
    handler). A batch holds the turn — the other server process waits — while its thread
    competes for the GIL with the request threads at every statement, so batches are kept
    small (16: measured, 64 let the p99 reach 2.6 s in some runs)."""

    def __init__(self, engine: Engine, sealer: Sealer, turn: Turn, *, max_batch: int = 16,
                 idle_s: float = 5.0, codes: CodeContext | None = None) -> None:  # fmt: skip
        self.engine = engine
        self.sealer = sealer
        self.codes = codes  # sampling needs them (the testing rules, the codes to re-evaluate)
        self.turn = turn
        self.max_batch = max_batch
        self.idle_s = idle_s
        self.batches = 0  # for tests and benchmarks: commits made, crossings written
        self.written = 0
        self._waiting: WaitQueue[_Waiting] = WaitQueue("crossing-writer", self._serve,
                                                       idle_s=idle_s)  # fmt: skip

    def submit(self, prepared: PreparedCrossing, rules: LogisticsRules) -> CrossingOut:
        """Wait for the commit holding ``prepared`` (a crossing handing nobody over; one
        sampling only with ``codes``): its outcome, or the refusal raised (a conflicting
        replay, a sample's barcode taken), or :class:`Redo`."""
        self._check(prepared)
        waiting = _Waiting(prepared, rules, threading.Event())
        self._put(waiting)
        assert waiting.done is not None  # noqa: S101 - made above
        waiting.done.wait()
        if isinstance(waiting.answer, BaseException):
            raise waiting.answer
        assert waiting.answer is not None  # noqa: S101 - set before done
        return waiting.answer

    def submit_async(
        self, prepared: PreparedCrossing, rules: LogisticsRules
    ) -> asyncio.Future[CrossingOut]:
        """``submit`` for an event loop: the future resolves on the caller's loop after
        the commit holding ``prepared`` (or with the refusal, or :class:`Redo`)."""
        self._check(prepared)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[CrossingOut] = loop.create_future()
        self._put(_Waiting(prepared, rules, future=future, loop=loop))
        return future

    def _check(self, prepared: PreparedCrossing) -> None:
        if prepared.hands_over or (prepared.sampling and self.codes is None):
            raise Redo(prepared.crossing.ref)

    def _put(self, waiting: _Waiting) -> None:
        self._waiting.put(waiting)

    def _serve(self, first: _Waiting) -> None:
        self._write(self._waiting.take([first], self.max_batch))

    def _write(self, batch: list[_Waiting]) -> None:
        try:
            with (
                self.turn(),
                self.engine.connect().execution_options(write=True) as conn,
                conn.begin(),
            ):
                samples: list[tuple[Sample, str, datetime]] = []
                answers = [self._one(conn, w, samples) for w in batch]
                if samples:  # the batch's samples at once (a barcode taken: all redone)
                    assert self.codes is not None  # noqa: S101 - sampling needs codes (_check)
                    register_samples(conn, TestingRules.from_pack(self.codes.pack), samples,
                                     codes=self.codes)  # fmt: skip
            self.batches += 1
            self.written += sum(1 for a in answers if isinstance(a, CrossingOut) and a.created)
        except Exception as exc:  # the commit failed: nobody is acknowledged, all redone
            log.warning("crossing batch of %d not committed, redone one by one: %r",
                        len(batch), exc)  # fmt: skip
            answers = [Redo(str(exc)[:200]) for _ in batch]
        on_loops = []
        for waiting, answer in zip(batch, answers, strict=True):
            waiting.answer = answer
            if waiting.done is not None:
                waiting.done.set()
            elif waiting.future is not None and waiting.loop is not None:
                on_loops.append((waiting.loop, waiting.future, answer))
        settle_on_loops(on_loops)

    def _one(
        self, conn: Connection, w: _Waiting, samples: list[tuple[Sample, str, datetime]]
    ) -> Answer:
        p = w.prepared
        try:
            # stored since it was decided (another process, a resend)?
            replay = replay_of(conn, p.checkpoint.code, p.crossing, p.plate, p.sealed, w.rules)
            if replay is not None:
                return replay
            if all(pid is not None for pid in p.known):  # writes only its own rows
                return store_crossing(conn, p, rules=w.rules, sealer=self.sealer,
                                      codes=self.codes, deferred=samples)  # fmt: skip
            # it creates persons first: a refusal after that (a person there by now) must
            # not leave them in the batch's transaction
            mine: list[tuple[Sample, str, datetime]] = []
            with conn.begin_nested():
                out = store_crossing(conn, p, rules=w.rules, sealer=self.sealer,
                                     codes=self.codes, deferred=mine)  # fmt: skip
            samples.extend(mine)
            return out
        except PeopleChanged:
            return Redo(p.crossing.ref)
        except FangkongError as exc:
            return exc
