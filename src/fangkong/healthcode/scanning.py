"""Scan verification (用码) in two steps, so that a busy server verifies in parallel and
writes in batches.

::

    prepare_scan   (any thread, read-only)   event id seen? venue, token signature and
                                             replay, person, facts → decision → verdict
    commit_scans   (the writer, one transaction for many scans)
                                             event ids and tokens seen (one query each,
                                             and within the batch), the code stored when
                                             it changed, every new scan inserted at once

``perform_scan`` is both steps for one scan. This module holds the reads and writes of
those steps (through SQLAlchemy, or through :class:`FastReads` and statements compiled
once on the driver's connection, SQLite's or PostgreSQL's); the verdict itself is
computed without the database in ``scan_verdict.py``, and the group commit is
``ScanWriter`` in ``scan_writer.py``. The statements of the hot path are built once.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Engine,
    LargeBinary,
    String,
    and_,
    any_,
    bindparam,
    or_,
    select,
)

from fangkong import bounds
from fangkong.errors import FangkongError, FieldProblem, InvalidFields, Problem
from fangkong.healthcode.codes import _store_many, person_by_id_number, resident_lookup_key
from fangkong.healthcode.context import CodeContext, Stamp, _now
from fangkong.healthcode.errors import PersonUnknown, VenueUnknown, malformed
from fangkong.healthcode.evaluator import evaluate
from fangkong.healthcode.qr import looks_like_token, verify_token
from fangkong.healthcode.scan_verdict import (
    DEVICE_TIME_INVALID,
    PreparedScan,
    ScanVerdict,
    _answer_batch,
    _digest,
    _event_conflict,
    _replayed,
    _scan_time,
    _verdict,
)
from fangkong.healthcode.store import FactRow, facts_from_rows
from fangkong.healthcode.tables import health_codes, person_facts, scans
from fangkong.identity.sealing import Sealer
from fangkong.store.fast import FastInsert, FastSelect, ReadConnections
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
# the same on PostgreSQL with one array parameter each (fast statements take no IN list)
_SEEN_ANY_EVENTS = select(scans.c.client_event_id, scans.c.request_digest, scans.c.verdict).where(
    scans.c.client_event_id == any_(bindparam("ids", type_=ARRAY(String(64))))
)
_SEEN_ANY_TOKENS = select(scans.c.token_digest).where(
    scans.c.token_digest == any_(bindparam("digests", type_=ARRAY(LargeBinary(16))))
)


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
    """The same reads (SQLite, PostgreSQL), with statements compiled once and run on an autocommit
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


_SCAN_COLUMNS = (
    "client_event_id", "person_id", "venue_code", "device_time", "received_at", "colour",
    "allowed", "flagged", "token_digest", "request_digest", "verdict", "pack_name",
    "pack_version", "zone",
)  # fmt: skip


class _FastWrites:
    """``commit_scans``' statements compiled once (``fangkong.store.fast``)."""

    def __init__(self, dialect: Any) -> None:
        self.seen = FastSelect(_SEEN, dialect)
        self.insert = FastInsert(scans.insert(), _SCAN_COLUMNS, dialect)
        # PostgreSQL: a round trip costs more than the lookup; two queries a batch
        self.batched = dialect.name == "postgresql"
        if self.batched:
            self.events = FastSelect(_SEEN_ANY_EVENTS, dialect)
            self.tokens = FastSelect(_SEEN_ANY_TOKENS, dialect)

    def seen_in(self, raw: Any, batch: Sequence[PreparedScan]) -> tuple[dict[str, Any], set[bytes]]:
        """Event ids and token digests of ``batch`` already stored (one indexed lookup a
        scan, or on PostgreSQL one a batch, on the driver connection ``raw``)."""
        seen: dict[str, Any] = {}
        used: set[bytes] = set()
        if self.batched:
            ids = [p.verdict.client_event_id for p in batch]
            seen = {r.client_event_id: r for r in self.events.rows(raw, ids=ids)}
            digests = [p.token_digest for p in batch if p.token_digest is not None]
            if digests:
                used = {bytes(r.token_digest) for r in self.tokens.rows(raw, digests=digests)}
            return seen, used
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
    """``commit_scans`` on a driver connection in a transaction, for a batch that
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
