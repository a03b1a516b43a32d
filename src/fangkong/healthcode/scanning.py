"""Scan verification (用码) in two steps, so that a busy server verifies in parallel and
writes in batches.

::

    prepare_scan   (any thread, read-only)   event id seen? venue, token signature and
                                             replay, person, facts → decision → verdict
    commit_scans   (the writer, one transaction for many scans)
                                             event ids and tokens seen (one query each,
                                             and within the batch), the code stored when
                                             it changed, every new scan inserted at once

``perform_scan`` is both steps for one scan. ``ScanWriter`` is the group commit SQLite
needs (one writer): requests prepare in their own thread, the writer commits what waits
and answers each request after the commit that holds its scan — synchronously
(``submit``) or as an asyncio future (``submit_async``, for the ASGI scan endpoint, which
so needs no thread per request). The statements of the hot path are built once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's own lock orders the writers
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Connection, Engine, and_, bindparam, or_, select

from fangkong import bounds
from fangkong.errors import FangkongError, FieldProblem, InvalidFields, Problem
from fangkong.healthcode.errors import (
    PersonUnknown,
    ScanEventConflict,
    TokenExpired,
    TokenReplayed,
    VenueUnknown,
    malformed,
)
from fangkong.healthcode.evaluator import Decision, evaluate
from fangkong.healthcode.qr import looks_like_token, verify_token
from fangkong.healthcode.service import (
    CodeContext,
    ScanVerdict,
    Stamp,
    _digest,
    _now,
    _store_many,
    _verdict,
    person_by_id_number,
    resident_lookup_key,
)
from fangkong.healthcode.store import FactRow, facts_from_rows
from fangkong.healthcode.tables import health_codes, person_facts, scans
from fangkong.identity.sealing import Sealer
from fangkong.store.fast import FastInsert, FastSelect, ReadConnections, driver_connection
from fangkong.store.schema import persons, venues
from fangkong.store.tx import write_transaction

# one query: this event id stored before, or this token used before
_SEEN = (
    select(scans.c.client_event_id, scans.c.request_digest, scans.c.verdict)
    .where(
        or_(
            scans.c.client_event_id == bindparam("event_id"),
            scans.c.token_digest == bindparam("digest"),
        )
    )
    .limit(2)
)
_VENUE = select(venues.c.type).where(venues.c.code == bindparam("code"))
# one query: the person, their stored code and their live facts (one row per fact)
_LIVE_FACT = and_(person_facts.c.person_id == persons.c.id, person_facts.c.voided_at.is_(None))
_PERSON_COLUMNS = (
    persons.c.id.label("person_id"),
    persons.c.name,
    health_codes.c.colour,
    health_codes.c.reasons,
    health_codes.c.next_change_at,
    health_codes.c.pack_name,
    health_codes.c.pack_version,
    person_facts.c.id.label("fact_id"),
    person_facts.c.kind,
    person_facts.c.starts_at,
    person_facts.c.ends_at,
    person_facts.c.detail,
)
_BY_REF = (
    select(*_PERSON_COLUMNS)
    .select_from(
        health_codes.join(persons, persons.c.id == health_codes.c.person_id).outerjoin(
            person_facts, _LIVE_FACT
        )
    )
    .where(health_codes.c.qr_ref == bindparam("ref"))
)
_BY_PERSON = (
    select(*_PERSON_COLUMNS)
    .select_from(
        persons.outerjoin(health_codes, health_codes.c.person_id == persons.c.id).outerjoin(
            person_facts, _LIVE_FACT
        )
    )
    .where(persons.c.id == bindparam("person_id"))
)
_BY_DOC = select(persons.c.id).where(persons.c.doc_hash == bindparam("key"))
_SEEN_EVENTS = select(scans.c.client_event_id, scans.c.request_digest, scans.c.verdict).where(
    scans.c.client_event_id.in_(bindparam("ids", expanding=True))
)
_SEEN_TOKENS = select(scans.c.token_digest).where(
    scans.c.token_digest.in_(bindparam("digests", expanding=True))
)


def _event_conflict() -> ScanEventConflict:
    return ScanEventConflict(
        Problem("scan.event_conflict", "该事件编号已用于另一次扫码",
                "this client event id was used for a different scan")
    )  # fmt: skip


def _replayed() -> TokenReplayed:
    return TokenReplayed(
        Problem(
            "scan.token_replayed",
            "该健康码已被扫描过（疑似截图），请刷新后重新出示",
            "this code was already scanned (a screenshot?): refresh and show again",
        )
    )


@dataclass(frozen=True)
class PreparedScan:
    """A verified scan not yet stored: the verdict and what the writer needs."""

    verdict: ScanVerdict
    request_digest: bytes
    token_digest: bytes | None
    person_id: int
    decision: Decision
    code_changed: bool  # the stored code differs from this decision: store it
    # the live fact rows read (a voided row makes it differ from the stored rows' stamp,
    # so recompute_all re-explains the code: never equal by mistake)
    stamp: Stamp = field(default_factory=Stamp)
    zone: str | None = None  # the table or room (区域/桌号) of a table code, if sent

    def row(self, ctx: CodeContext) -> dict[str, Any]:
        v = self.verdict
        return {
            "client_event_id": v.client_event_id, "person_id": self.person_id,
            "venue_code": v.venue_code, "device_time": v.device_time,
            "received_at": v.received_at, "colour": v.colour.label, "allowed": v.allowed,
            "flagged": v.flagged, "token_digest": self.token_digest,
            "request_digest": self.request_digest, "verdict": v.as_json(),
            "pack_name": ctx.pack.name, "pack_version": ctx.pack.version, "zone": self.zone,
        }  # fmt: skip


class _SqlReads:
    """The reads of verification through a SQLAlchemy connection (any backend)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def seen(self, event_id: str, digest: bytes | None) -> Sequence[Any]:
        return self.conn.execute(_SEEN, {"event_id": event_id, "digest": digest}).all()

    def venue_type(self, code: str) -> str | None:
        return self.conn.execute(_VENUE, {"code": code}).scalar_one_or_none()

    def by_ref(self, ref: bytes) -> Sequence[Any]:
        return self.conn.execute(_BY_REF, {"ref": ref}).all()

    def by_id_number(self, sealer: Sealer, number: str, today: date) -> Sequence[Any]:
        found = person_by_id_number(self.conn, sealer, number, today)
        return [] if found is None else self.conn.execute(_BY_PERSON, {"person_id": found}).all()


class FastReads:
    """The same reads on SQLite, with statements compiled once and run on an autocommit
    driver connection per thread (``fangkong.store.fast``): no execution context, no
    BEGIN/ROLLBACK around two indexed lookups. Rows equal those of :class:`_SqlReads`."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        self.connections = ReadConnections(engine)
        self._seen = FastSelect(_SEEN, dialect)
        self._venue = FastSelect(_VENUE, dialect)
        self._by_ref = FastSelect(_BY_REF, dialect)
        self._by_person = FastSelect(_BY_PERSON, dialect)
        self._by_doc = FastSelect(_BY_DOC, dialect)

    def seen(self, event_id: str, digest: bytes | None) -> Sequence[Any]:
        return self._seen.rows(self.connections.get(), event_id=event_id, digest=digest)

    def venue_type(self, code: str) -> str | None:
        rows = self._venue.rows(self.connections.get(), code=code)
        return None if not rows else str(rows[0].type)

    def by_ref(self, ref: bytes) -> Sequence[Any]:
        return self._by_ref.rows(self.connections.get(), ref=ref)

    def by_id_number(self, sealer: Sealer, number: str, today: date) -> Sequence[Any]:
        key = resident_lookup_key(sealer, number, today)
        raw = self.connections.get()
        found = self._by_doc.rows(raw, key=key)
        return [] if not found else self._by_person.rows(raw, person_id=int(found[0].id))

    def close(self) -> None:
        self.connections.close()


Reads = _SqlReads | FastReads


DEVICE_TIME_INVALID = Problem(
    "scan.device_time_invalid",
    "设备时间超出允许范围（设备时钟是否有误？）",
    "the device time is out of range (is the device's clock wrong?)",
)


def prepare_scan(
    conn: Connection | FastReads, ctx: CodeContext, venue_code: str, token_or_id: str,
    device_time: datetime, client_event_id: str, *, now: datetime | None = None,
    venue_types: MutableMapping[str, str] | None = None, zone: str | None = None,
) -> PreparedScan | ScanVerdict:  # fmt: skip
    """Verify a scan without writing: a :class:`PreparedScan`, or the stored verdict
    (``repeated``) when this event id was stored before with the same content.

    ``conn`` is a connection, or :class:`FastReads` (SQLite's hot path). ``venue_types``
    caches place code → venue type (a server keeps one for a short while: venues are
    registered, not created per scan). ``zone`` (checked by the caller) is stored with
    the scan and is part of its content: resent with another zone, the event conflicts."""
    reads: Reads = conn if isinstance(conn, FastReads) else _SqlReads(conn)
    now = _now(now)
    text = token_or_id.strip()
    event_id = client_event_id.strip()
    if not event_id or len(event_id) > 64:
        raise malformed("缺少事件编号或过长（最多64字符）", "client event id missing or over 64")
    if device_time.tzinfo is None:
        raise malformed("设备时间须带时区", "device time must carry a time zone")
    if (
        bad_time := bounds.instant_problem(device_time, "device", "device_time", now=now)
    ) is not None:
        raise InvalidFields(DEVICE_TIME_INVALID, [FieldProblem("device_time", bad_time)])
    if not text:
        raise malformed("缺少二维码或证件号", "no QR token or ID number")
    parts = (venue_code, text, device_time.isoformat())
    request = _digest(*parts) if zone is None else _digest(*parts, "zone", zone)
    is_token = looks_like_token(text)
    token_digest = _digest("token", text) if is_token else None
    seen = reads.seen(event_id, token_digest)
    for prior in seen:
        if prior.client_event_id == event_id:
            if bytes(prior.request_digest) != request:
                raise _event_conflict()
            return ScanVerdict.from_json(prior.verdict, repeated=True)
    venue_type = venue_types.get(venue_code) if venue_types is not None else None
    if venue_type is None:
        venue_type = reads.venue_type(venue_code)
        if venue_type is None:
            raise VenueUnknown(
                Problem("scan.venue_unknown", f"场所码 {venue_code} 未登记",
                        f"no venue with place code {venue_code}")
            )  # fmt: skip
        if venue_types is not None:
            venue_types[venue_code] = venue_type
    at = _scan_time(ctx, device_time, now)
    if is_token:
        claims = verify_token(ctx.qr, text, at, validity_s=ctx.qr_validity_s, skew_s=ctx.qr_skew_s)
        if seen:  # a row matched, and not by event id: by this token
            raise _replayed()
        rows = reads.by_ref(claims.ref)
        by = "token"
    else:
        rows = reads.by_id_number(ctx.sealer, text, now.astimezone(ctx.tz).date())
        by = "id_number"
    if not rows:
        raise PersonUnknown(
            Problem("scan.person_unknown", "查无此人，请核验证件",
                    "nobody in the registry matches: check an ID document")
        )  # fmt: skip
    code = rows[0]
    live = [r for r in rows if r.fact_id is not None]
    facts = facts_from_rows(
        FactRow(r.fact_id, r.kind, r.starts_at, r.ends_at, r.detail) for r in live
    )
    stamp = Stamp(len(live), max((int(r.fact_id) for r in live), default=None))
    decision = evaluate(facts, at, ctx.pack, tz=ctx.tz)
    changed = at == now and (
        code.colour != decision.colour.label
        or code.next_change_at != decision.next_change_at
        or f"{code.pack_name}@{code.pack_version}" != decision.pack_ref
        or code.reasons != [r.as_json() for r in decision.reasons]
    )
    verdict = _verdict(ctx, venue_code, venue_type, code.name, decision, event_id,
                       device_time, now, by, facts)  # fmt: skip
    return PreparedScan(
        verdict, request, token_digest, int(code.person_id), decision, changed, stamp, zone
    )


def _scan_time(ctx: CodeContext, device_time: datetime, now: datetime) -> datetime:
    """When the scan happened, for verification: now, or — for a scan queued on a device
    while offline and sent later — its device time, up to ``ctx.offline_s`` back. The
    token must have been valid then and the code is computed as it was then (a late scan
    never changes the stored code). Replays are refused as for live scans."""
    late = (now - device_time).total_seconds()
    if late <= ctx.qr_validity_s + ctx.qr_skew_s:
        return now
    if late > ctx.offline_s:
        hours = ctx.offline_s / 3600
        raise TokenExpired(
            Problem(
                "scan.too_late",
                f"离线扫码记录超过 {hours:g} 小时才上传，不予受理",
                f"an offline scan sent more than {hours:g} h after it was made is refused",
            )
        )
    return device_time


_SCAN_COLUMNS = (
    "client_event_id", "person_id", "venue_code", "device_time", "received_at", "colour",
    "allowed", "flagged", "token_digest", "request_digest", "verdict", "pack_name",
    "pack_version", "zone",
)  # fmt: skip


class _FastWrites:
    """``commit_scans``' statements compiled once for SQLite (``fangkong.store.fast``)."""

    def __init__(self, dialect: Any) -> None:
        self.seen = FastSelect(_SEEN, dialect)
        self.insert = FastInsert(scans.insert(), _SCAN_COLUMNS, dialect)

    def seen_in(self, raw: Any, batch: Sequence[PreparedScan]) -> tuple[dict[str, Any], set[bytes]]:
        """Event ids and token digests of ``batch`` already stored (one indexed lookup a
        scan, on the driver connection ``raw``)."""
        seen: dict[str, Any] = {}
        used: set[bytes] = set()
        for p in batch:
            event = p.verdict.client_event_id
            for r in self.seen.rows(raw, event_id=event, digest=p.token_digest):
                if r.client_event_id == event:
                    seen[event] = r
                else:
                    used.add(bytes(p.token_digest or b""))
        return seen, used


_FAST_WRITES: dict[str, _FastWrites] = {}


def _fast_writes(dialect: Any) -> _FastWrites:
    return _FAST_WRITES.get(dialect.name) or _FAST_WRITES.setdefault(
        dialect.name, _FastWrites(dialect)
    )


def _answer_batch(
    ctx: CodeContext, batch: Sequence[PreparedScan], seen: Mapping[str, Any], used: set[bytes]
) -> tuple[
    list[ScanVerdict | FangkongError], list[dict[str, Any]], dict[int, tuple[Decision, Stamp]]
]:
    """Each scan's answer given what is stored; the rows to insert; the codes to store."""
    answers: list[ScanVerdict | FangkongError] = []
    fresh: dict[str, PreparedScan] = {}
    rows: list[dict[str, Any]] = []
    changed: dict[int, tuple[Decision, Stamp]] = {}
    for p in batch:
        event = p.verdict.client_event_id
        stored = seen.get(event)
        if stored is not None:
            same = bytes(stored.request_digest) == p.request_digest
            answers.append(
                ScanVerdict.from_json(stored.verdict, repeated=True) if same else _event_conflict()
            )
            continue
        earlier = fresh.get(event)
        if earlier is not None:
            same = earlier.request_digest == p.request_digest
            answers.append(
                ScanVerdict.from_json(earlier.verdict.as_json(), repeated=True)
                if same
                else _event_conflict()
            )
            continue
        if p.token_digest is not None:
            if p.token_digest in used:
                answers.append(_replayed())
                continue
            used.add(p.token_digest)
        fresh[event] = p
        if p.code_changed:
            changed[p.person_id] = (p.decision, p.stamp)  # the latest scan's decision wins
        rows.append(p.row(ctx))
        answers.append(p.verdict)
    return answers, rows, changed


def commit_scans(
    conn: Connection, ctx: CodeContext, batch: Sequence[PreparedScan]
) -> list[ScanVerdict | FangkongError]:
    """Store a batch of prepared scans in the caller's transaction: for each, its verdict
    (``repeated`` for an event id stored before, or earlier in the batch, with the same
    content) or the refusal (event id reused for other content, token replayed)."""
    if conn.dialect.name == "sqlite":
        seen, used = _fast_writes(conn.dialect).seen_in(conn.connection.dbapi_connection, batch)
    else:
        ids = sorted({p.verdict.client_event_id for p in batch})
        seen = {r.client_event_id: r for r in conn.execute(_SEEN_EVENTS, {"ids": ids})}
        digests = sorted({p.token_digest for p in batch if p.token_digest is not None})
        used = (
            {bytes(d) for d in conn.execute(_SEEN_TOKENS, {"digests": digests}).scalars()}
            if digests
            else set()
        )
    answers, rows, changed = _answer_batch(ctx, batch, seen, used)
    if changed:
        _store_many(conn, [(p, d, st) for p, (d, st) in sorted(changed.items())], ctx.pack, "scan")
    if rows:
        if conn.dialect.name == "sqlite":
            _fast_writes(conn.dialect).insert.run(conn.connection.dbapi_connection, rows)
        else:
            conn.execute(scans.insert(), rows)
    return answers


def _commit_scans_raw(
    raw: Any, dialect: Any, ctx: CodeContext, batch: Sequence[PreparedScan]
) -> list[ScanVerdict | FangkongError]:
    """``commit_scans`` on a SQLite driver connection in a transaction, for a batch that
    stores no code (none changed): the writer's common case, without SQLAlchemy."""
    fast = _fast_writes(dialect)
    seen, used = fast.seen_in(raw, batch)
    answers, rows, changed = _answer_batch(ctx, batch, seen, used)
    assert not changed  # noqa: S101 - the caller sends only batches storing no code
    if rows:
        fast.insert.run(raw, rows)
    return answers


def perform_scan(
    bind: Engine | Connection, ctx: CodeContext, venue_code: str, token_or_id: str,
    device_time: datetime, client_event_id: str, *, now: datetime | None = None,
    dry_run: bool = False, zone: str | None = None,
) -> ScanVerdict:  # fmt: skip
    """Verify a scan at a venue or checkpoint and store it as a check-in event.

    ``token_or_id`` is a QR token or a resident ID number (people without a phone show
    their card). A retry with the same ``client_event_id`` and the same content changes
    nothing and returns the stored verdict (``repeated``); different content under a used
    id is ``scan.event_conflict``. A token already used under another event id is
    ``scan.token_replayed``. ``dry_run`` verifies and answers without storing anything.
    """
    with write_transaction(bind) as conn:
        prepared = prepare_scan(conn, ctx, venue_code, token_or_id, device_time,
                                client_event_id, now=now, zone=zone)  # fmt: skip
        if isinstance(prepared, ScanVerdict) or dry_run:
            return prepared if isinstance(prepared, ScanVerdict) else prepared.verdict
        (answer,) = commit_scans(conn, ctx, [prepared])
    if isinstance(answer, FangkongError):
        raise answer
    return answer


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


def _settle(pairs: list[tuple[asyncio.Future[ScanVerdict], Answer]]) -> None:
    """On the event loop: resolve each future (one whose client went away is skipped)."""
    for future, result in pairs:
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


class ScanWriter:
    """Group commit for SQLite (one writer): prepared scans wait in a queue; one thread
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
    once; a busy writer lingers up to ``linger_s`` for more. On SQLite reads use
    :class:`FastReads`, and a batch storing no code (the common case) is written on the
    writer's own driver connection without SQLAlchemy; any other goes through
    ``commit_scans`` on an engine connection. Several server processes each have a
    writer; :class:`WriterTurn` hands the write lock from one to the next, and each batch
    re-checks event ids and tokens inside its transaction.
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
        self.reads = FastReads(engine) if self.sqlite else None
        self._turn = WriterTurn(engine)
        self._raw: Any = None  # the writer's driver connection, opened on first use
        self._queue: queue.SimpleQueue[_Waiter] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

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
        """Close the connections (the writer thread ends by itself when idle)."""
        if self.reads is not None:
            self.reads.close()
        self._turn.close()
        with self._lock:
            if self._raw is not None and self._thread is None:
                self._raw.close()
                self._raw = None

    def submit(self, venue_code: str, what: str, device_time: datetime, event_id: str,
               now: datetime | None = None, zone: str | None = None) -> ScanVerdict:  # fmt: skip
        """Verify, then wait for the commit: the verdict, or the refusal raised."""
        prepared = self.prepare(venue_code, what, device_time, event_id, now, zone)
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
        with self._lock:
            self._queue.put(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="scan-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:  # _put() puts under this lock: nothing is stranded
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            # busy (the last commit ended moments ago): wait a little for more scans, so
            # that one commit carries many; idle: write a lone scan at once
            start = time.monotonic()
            busy = start - self._last_commit < BUSY_S
            deadline = start + (self.linger_s if busy else 0.0)
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        batch.append(self._queue.get(timeout=left))
                    except queue.Empty:
                        break
            self._write(batch)
            self._last_commit = time.monotonic()

    def _write(self, batch: list[_Waiter]) -> None:
        answers: list[Answer]
        prepared = [w.prepared for w in batch]
        try:
            with self._turn:
                if not self.sqlite or any(p.code_changed for p in prepared):
                    answers = list(self._commit_engine(prepared))
                else:
                    answers = list(self._commit_raw(prepared))
            self.batches += 1
            self.written += sum(1 for a in answers if isinstance(a, ScanVerdict) and not a.repeated)
        except Exception as exc:  # the commit failed: nobody is acknowledged
            answers = [exc] * len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[ScanVerdict], Answer]]]
        by_loop = {}
        for waiter, result in zip(batch, answers, strict=True):
            if waiter.loop is not None and waiter.future is not None:
                by_loop.setdefault(waiter.loop, []).append((waiter.future, result))
            elif waiter.answer is not None:
                waiter.answer(result)
        for loop, pairs in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits there
                loop.call_soon_threadsafe(_settle, pairs)

    def _commit_engine(self, batch: list[PreparedScan]) -> list[ScanVerdict | FangkongError]:
        with (
            self.engine.connect().execution_options(write=True) as conn,
            _synchronous_full(conn),
            conn.begin(),
        ):
            return commit_scans(conn, self.ctx, batch)

    def _commit_raw(self, batch: list[PreparedScan]) -> list[ScanVerdict | FangkongError]:
        raw = self._writer_connection()
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
        ``synchronous=FULL`` for good (each commit waits for the disk)."""
        if self._raw is None:
            self._raw = driver_connection(self.engine, "synchronous=FULL")
        return self._raw


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


__all__ = [
    "PreparedScan",
    "ScanWriter",
    "commit_scans",
    "perform_scan",
    "prepare_scan",
]
