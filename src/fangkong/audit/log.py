"""The audit log: append, verify, search.

Each row's hash is an HMAC-SHA256, under the server's audit key, of the previous row's
hash and the row's own fields in a canonical form::

    row_hash[n] = HMAC(key, row_hash[n-1] ‖ json([seq, at, actor, action, target_type,
                                               target_id, outcome, address, detail]))

``seq`` runs 1, 2, 3... without gaps; ``audit_head`` holds the newest (seq, hash) and is
locked by every appender, so two transactions never link to the same predecessor. An
edited field breaks its row's hash; a deleted row leaves a gap; a forged row needs the
key, which is kept outside the database (``{home}/keys/server.key``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update

from fangkong import clock
from fangkong.store.schema import audit_head, audit_log

_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "address",
    "detail",
)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A writing transaction (SQLite: BEGIN IMMEDIATE, so a read-then-write never fails)."""
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        yield conn


@dataclass(frozen=True)
class AuditEvent:
    """What to record. ``target_id`` is a row id (a person's ``persons.id``), never a name
    or a document number; ``detail`` is a short non-personal note (e.g. ``masked``)."""

    actor: str
    action: str
    outcome: str
    address: str
    target_type: str | None = None
    target_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    address: str
    detail: str | None


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def _digest(key: bytes, prev: bytes, values: dict[str, object]) -> bytes:
    fields = [values[f] for f in _FIELDS]
    fields[1] = values["at"].isoformat() if isinstance(values["at"], datetime) else None
    body = json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode()
    return hmac.new(key, prev + body, hashlib.sha256).digest()


def record(conn: Connection, key: bytes, event: AuditEvent, at: datetime | None = None) -> int:
    """Append one row inside the caller's transaction; returns its ``seq``."""
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.row_hash)
        .where(audit_head.c.id == 1)
        .with_for_update()
    ).one()
    values: dict[str, object] = {
        "seq": head.seq + 1,
        "at": at or clock.wall(),
        "actor": event.actor[:80],
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "outcome": event.outcome,
        "address": event.address[:64],
        "detail": event.detail,
    }
    row_hash = _digest(key, head.row_hash, values)
    conn.execute(audit_log.insert().values(**values, prev_hash=head.row_hash, row_hash=row_hash))
    conn.execute(
        update(audit_head).where(audit_head.c.id == 1).values(seq=values["seq"], row_hash=row_hash)
    )
    return int(head.seq) + 1


def verify(engine: Engine, key: bytes) -> tuple[int, list[ChainBreak]]:
    """Walk the chain: (rows checked, every break found, in order)."""
    breaks: list[ChainBreak] = []
    prev, expected_seq, count = bytes(32), 1, 0
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=10_000).execute(
            select(audit_log).order_by(audit_log.c.seq)
        )
        for row in rows.mappings():
            count += 1
            seq = int(row["seq"])
            if seq != expected_seq:
                breaks.append(ChainBreak(seq, f"rows {expected_seq}..{seq - 1} are missing"))
            if row["prev_hash"] != prev:
                breaks.append(ChainBreak(seq, "does not link to the row before it"))
            if not hmac.compare_digest(_digest(key, row["prev_hash"], dict(row)), row["row_hash"]):
                breaks.append(ChainBreak(seq, "its fields were altered (hash mismatch)"))
            prev, expected_seq = row["row_hash"], seq + 1
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).mappings().one()
    if head["seq"] != expected_seq - 1 or head["row_hash"] != prev:
        breaks.append(
            ChainBreak(int(head["seq"]), "the newest rows were removed (head does not match)")
        )
    return count, breaks


def search(
    engine: Engine,
    *,
    person: int | None = None,
    user: str | None = None,
    limit: int = 200,
) -> list[AuditRow]:
    """Newest first: rows about one person (by row id) and/or by one actor."""
    query = select(*(audit_log.c[f] for f in _FIELDS)).order_by(audit_log.c.seq.desc())
    if person is not None:
        query = query.where(
            audit_log.c.target_type == "person", audit_log.c.target_id == str(person)
        )
    if user is not None:
        query = query.where(audit_log.c.actor == user)
    with engine.connect() as conn:
        return [AuditRow(**dict(r)) for r in conn.execute(query.limit(limit)).mappings()]
