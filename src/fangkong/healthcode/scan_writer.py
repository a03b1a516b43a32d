"""The scan writer: group commit (SQLite's one writer; on PostgreSQL one commit, one
WAL flush, for many scans). Requests prepare their scans in
their own thread (``scanning.prepare_scan``); :class:`ScanWriter` commits what waits in one
transaction and answers each request after the commit that holds its scan —
synchronously (``submit``, ``submit_prepared``) or as an asyncio future
(``submit_async``, for the ASGI scan endpoint, which so needs no thread per request).
:class:`WriterTurn` hands the write lock from one server process to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's own lock orders the writers
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Connection, Engine

from fangkong.errors import FangkongError
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.scan_verdict import PreparedScan, ScanVerdict
from fangkong.healthcode.scanning import FastReads, _commit_scans_raw, commit_scans, prepare_scan
from fangkong.store.fast import driver_connection
from fangkong.store.group_commit import WaitQueue, settle_on_loops


@contextmanager
def _synchronous_full(conn: Connection) -> Iterator[None]:
    """SQLite: this connection's next commit waits for the disk (the engine's NORMAL is
    safe against a crash of the process, not of the machine)."""
    raw = conn.connection.dbapi_connection
    if conn.dialect.name != "sqlite" or raw is None:
        yield
        return
    raw.execute("PRAGMA synchronous=FULL")
    try:
        yield
    finally:
        raw.execute("PRAGMA synchronous=NORMAL")  # the engine's own setting


Answer = ScanVerdict | BaseException
# Group commit under load: a writer that committed less than BUSY_S ago is busy, and
# waits up to LINGER_S after the first scan for more to join its batch (measured with
# benchmarks/scan_load.py: 2 ms took CPU per scan from 0.66 to 0.43 ms, as one commit
# then carries about ten scans instead of one).
BUSY_S = 0.005
LINGER_S = 0.002


class _Waiter:
    """One prepared scan waiting for its commit, answered once with the verdict or the
    error: through ``future`` on ``loop`` (asyncio; the writer hands each loop its
    answers in one call), or by calling ``answer`` (from the writer thread)."""

    __slots__ = ("answer", "future", "loop", "prepared")

    def __init__(
        self, prepared: PreparedScan, answer: Callable[[Answer], None] | None = None,
        future: asyncio.Future[ScanVerdict] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:  # fmt: skip
        self.prepared = prepared
        self.answer = answer
        self.future = future
        self.loop = loop


class ScanWriter:
    """Group commit (SQLite: one writer; PostgreSQL: one commit, so one wait for the
    WAL's flush, carries many scans — measured with benchmarks/scan_load.py, issue 21,
    a transaction per scan gave 0.2× SQLite's scans/s): prepared scans wait in a queue; one thread
    writes every scan waiting into one transaction, commits once, then answers each.

    ::

        request: prepare ─▶ queue ─▶ writer: (turn) BEGIN IMMEDIATE
        request: prepare ─▶   │        commit_scans(batch)   (refusals answered singly)
        request: prepare ─▶   │      COMMIT (synchronous=FULL: on disk) ─▶ every waiting
                              ▼                                   request answers

    A request is answered only after the commit that holds its scan, so an acknowledged
    scan survives a crash of the process and, with ``synchronous=FULL``, of the machine.
    If the commit fails, every scan of the batch fails. Batching happens by itself under
    load (what arrived while the previous batch was written); a lone scan is written at
    once; a busy writer lingers up to ``linger_s`` for more. Reads use :class:`FastReads`,
    and a batch storing no code (the common case) is written on the writer's own driver
    connection without SQLAlchemy; any other goes through ``commit_scans`` on an engine
    connection. Several server processes each have a writer; on SQLite
    :class:`WriterTurn` hands the write lock from one to the next (PostgreSQL's writers
    commit side by side), and each batch re-checks event ids and tokens inside its
    transaction.
    """

    def __init__(self, engine: Engine, ctx: CodeContext, *, max_batch: int = 256,
                 idle_s: float = 5.0, venue_ttl_s: float = 60.0,
                 linger_s: float = LINGER_S) -> None:  # fmt: skip
        self.engine = engine
        self.linger_s = linger_s
        self._last_commit = 0.0
        self.ctx = ctx
        self.max_batch = max_batch
        self.idle_s = idle_s
        self.batches = 0  # for tests and benchmarks: commits made, scans written
        self.written = 0
        self.venue_types = _TtlMap(venue_ttl_s)
        self.sqlite = engine.dialect.name == "sqlite"
        self.reads = FastReads(engine) if self.sqlite or _postgresql(engine) else None
        self._turn = WriterTurn(engine)
        self._raw: Any = None  # the writer's driver connection, opened on first use
        self._waiting: WaitQueue[_Waiter] = WaitQueue(
            "scan-writer", self._serve, idle_s=idle_s, on_idle=self._close_raw
        )

    @property
    def _thread(self) -> threading.Thread | None:
        """The writer thread while it runs (None when idle: tests)."""
        return self._waiting.thread

    def prepare(
        self, venue_code: str, what: str, device_time: datetime, event_id: str,
        now: datetime | None, zone: str | None = None,
    ) -> PreparedScan | ScanVerdict:  # fmt: skip
        """The read-only step, on the caller thread's read connection (SQLite) or on an
        engine connection."""
        if self.reads is not None:
            return prepare_scan(self.reads, self.ctx, venue_code, what, device_time, event_id,
                                now=now, venue_types=self.venue_types, zone=zone)  # fmt: skip
        with self.engine.connect() as conn:
            return prepare_scan(conn, self.ctx, venue_code, what, device_time, event_id,
                                now=now, venue_types=self.venue_types, zone=zone)  # fmt: skip

    def close(self) -> None:
        """Close the connections (the writer thread ends by itself when idle, and closes
        its connection then)."""
        if self.reads is not None:
            self.reads.close()
        self._turn.close()
        self._waiting.if_idle(self._close_raw)

    def __del__(self) -> None:
        # dropped without close() (an app not shut down): the writer's own connection
        # (PostgreSQL warns about one collected open); a running thread keeps ``self``
        # alive, so none is running here
        with contextlib.suppress(Exception):
            if self._raw is not None:
                self._raw.close()

    def submit(self, venue_code: str, what: str, device_time: datetime, event_id: str,
               now: datetime | None = None, zone: str | None = None) -> ScanVerdict:  # fmt: skip
        """Verify, then wait for the commit: the verdict, or the refusal raised."""
        return self.submit_prepared(self.prepare(venue_code, what, device_time, event_id, now,
                                                 zone))  # fmt: skip

    def submit_prepared(self, prepared: PreparedScan | ScanVerdict) -> ScanVerdict:
        """Wait for the commit of a scan prepared by :meth:`prepare` (a verdict already
        stored is answered at once): the verdict, or the refusal raised."""
        if isinstance(prepared, ScanVerdict):
            return prepared
        done = threading.Event()
        box: list[Answer] = []

        def answer(result: Answer) -> None:
            box.append(result)
            done.set()

        self._put(_Waiter(prepared, answer))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def submit_async(self, prepared: PreparedScan) -> asyncio.Future[ScanVerdict]:
        """Queue a prepared scan; the future resolves on the caller's event loop after
        the commit that holds it (or with the refusal or the commit's error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ScanVerdict] = loop.create_future()
        self._put(_Waiter(prepared, future=future, loop=loop))
        return future

    def _put(self, item: _Waiter) -> None:
        self._waiting.put(item)

    def _close_raw(self) -> None:
        if self._raw is not None:  # reopened by the next batch
            self._raw.close()
            self._raw = None

    def _serve(self, first: _Waiter) -> None:
        # busy (the last commit ended moments ago): wait a little for more scans, so
        # that one commit carries many; idle: write a lone scan at once
        start = time.monotonic()
        busy = start - self._last_commit < BUSY_S
        deadline = start + (self.linger_s if busy else 0.0)
        self._write(self._waiting.take([first], self.max_batch, deadline))
        self._last_commit = time.monotonic()

    def _write(self, batch: list[_Waiter]) -> None:
        answers: list[Answer]
        prepared = [w.prepared for w in batch]
        try:
            with self._turn:
                if self.reads is None or any(p.code_changed for p in prepared):
                    answers = list(self._commit_engine(prepared))
                else:
                    answers = list(self._commit_raw(prepared))
            self.batches += 1
            self.written += sum(1 for a in answers if isinstance(a, ScanVerdict) and not a.repeated)
        except Exception as exc:  # the commit failed: nobody is acknowledged
            answers = [exc] * len(batch)
        on_loops = []
        for waiter, result in zip(batch, answers, strict=True):
            if waiter.loop is not None and waiter.future is not None:
                on_loops.append((waiter.loop, waiter.future, result))
            elif waiter.answer is not None:
                waiter.answer(result)
        settle_on_loops(on_loops)

    def _commit_engine(self, batch: list[PreparedScan]) -> list[ScanVerdict | FangkongError]:
        with (
            self.engine.connect().execution_options(write=True) as conn,
            _synchronous_full(conn),
            conn.begin(),
        ):
            return commit_scans(conn, self.ctx, batch)

    def _commit_raw(self, batch: list[PreparedScan]) -> list[ScanVerdict | FangkongError]:
        raw = self._writer_connection()
        if not self.sqlite:  # PostgreSQL: COMMIT returns once the WAL is flushed
            with raw.transaction():
                return _commit_scans_raw(raw, self.engine.dialect, self.ctx, batch)
        raw.execute("BEGIN IMMEDIATE")
        try:
            answers = _commit_scans_raw(raw, self.engine.dialect, self.ctx, batch)
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:  # a failed COMMIT may have ended it already
                raw.execute("ROLLBACK")
            raise
        return answers

    def _writer_connection(self) -> Any:
        """The writer's driver connection: autocommit (transactions are explicit), and
        ``synchronous=FULL`` for good (each commit waits for the disk). A PostgreSQL
        connection the server closed (a restart) is opened again for the next batch."""
        if self._raw is not None and getattr(self._raw, "closed", False):
            self._raw = None
        if self._raw is None:
            self._raw = driver_connection(self.engine, "synchronous=FULL")
        return self._raw


def _postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class WriterTurn:
    """Whose turn it is to write, among the scan writers of every server process on one
    SQLite file: an exclusive ``flock`` on ``<database>-scanlock`` held around each batch.

    SQLite's own lock is enough for correctness, but a writer that finds it taken sleeps
    and polls (1, 2, 5 … 100 ms); measured with two processes, p99 reached 0.4–0.9 s. The
    kernel hands a ``flock`` to the next waiter the moment it is released, so batches of
    several processes follow each other without gaps. Where ``fcntl`` does not exist (or
    the database is in memory) this is a no-op."""

    def __init__(self, engine: Engine) -> None:
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        self._path = f"{path}-scanlock" if path and path != ":memory:" else None
        self._fd: int | None = None

    def __enter__(self) -> None:
        if self._path is None or fcntl is None:
            return
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # releases the GIL while it waits

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class _TtlMap(MutableMapping[str, str]):
    """A small dict whose entries are forgotten after ``ttl_s`` seconds (thread-safe
    enough for a cache: a lost race only costs one more query)."""

    def __init__(self, ttl_s: float) -> None:
        import time

        self._clock = time.monotonic
        self._ttl = ttl_s
        self._data: dict[str, tuple[float, str]] = {}

    def __getitem__(self, key: str) -> str:
        stamp, value = self._data[key]
        if self._clock() - stamp > self._ttl:
            self._data.pop(key, None)
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        if len(self._data) > 100_000:
            self._data.clear()
        self._data[key] = (self._clock(), value)

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)
