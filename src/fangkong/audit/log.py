"""The audit log: append, verify, search.

Each row's hash is an HMAC-SHA256, under the server's audit key, of the previous row's
hash and the row's own fields in a canonical form::

    row_hash[n] = HMAC(key, row_hash[n-1] ‖ json([seq, at, actor, action, target_type,
                                               target_id, outcome, address, detail]))

``seq`` runs 1, 2, 3... without gaps; ``audit_head`` holds the newest (seq, hash) and is
locked by every appender, so two transactions never link to the same predecessor. An
edited field breaks its row's hash; a deleted row leaves a gap; a forged row needs the
key, which is kept outside the database (``{home}/keys/server.key``).

Removing the *newest* rows and moving ``audit_head`` back leaves a shorter chain that is
intact; so the head is also anchored outside the database (``fangkong.audit.anchor``) and
:func:`verify` compares the table with those checkpoints.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    literal,
    not_,
    or_,
    select,
    update,
)

from fangkong import clock
from fangkong.audit import anchor
from fangkong.audit.anchor import Checkpoint
from fangkong.identity.resident_id import check_character
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.regions import subtree
from fangkong.store.schema import audit_head, audit_log, persons, regions, users

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


class Viewer(Protocol):
    """Who reads the log (an ``fangkong.auth.model.Actor``): only the region matters here."""

    @property
    def region_code(self) -> str | None: ...


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
    """One problem: ``where`` is ``row`` (``seq`` a row of the log) or ``anchor`` (``seq``
    a line of the anchor file named in ``reason``; 0 for the file as a whole)."""

    seq: int
    reason: str
    where: str = "row"


_NAME_LABEL = b"fangkong/audit-unknown-name/v1\n"
# What must never sit in the log in clear, wherever a caller put it: an 18-character
# resident ID number (its check character valid) or an 11-digit mobile number, each a
# whole run of digits (region and venue codes are 6 to 15 digits and stay).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def unknown_name(key: bytes, typed: str) -> str:
    """What the log names a login attempt by when ``typed`` is no account: ``unknown:``
    and 12 hex digits of an HMAC under the audit key. The same text always gives the
    same name (repeated attempts correlate); the text itself cannot be read back."""
    mac = hmac.new(key, _NAME_LABEL + typed.encode("utf-8", "replace"), hashlib.sha256)
    return "unknown:" + mac.hexdigest()[:12]


def _scrub(key: bytes, text: str | None) -> str | None:
    """``text`` with any ID or mobile number replaced by its keyed pseudonym."""
    if not text:
        return text

    def mask(found: re.Match[str]) -> str:
        number = found.group(0).upper()
        if len(number) == 18 and check_character(number[:17]) != number[17]:
            return found.group(0)  # 18 digits, not an ID number (a checksum fails 10 in 11)
        return "#" + unknown_name(key, number).removeprefix("unknown:")

    return _MOBILE.sub(mask, _ID_NUMBER.sub(mask, text))


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
    # the head just read is committed (we hold its lock): anchor it, if due, before moving on
    anchor.checkpoint(conn.engine, key, int(head.seq), head.row_hash)
    values: dict[str, object] = {
        "seq": head.seq + 1,
        "at": at or clock.wall(),
        "actor": _scrub(key, event.actor[:80]),
        "action": event.action,
        "target_type": event.target_type,
        "target_id": _scrub(key, event.target_id),
        "outcome": event.outcome,
        "address": event.address[:64],
        "detail": _scrub(key, event.detail),
    }
    row_hash = _digest(key, head.row_hash, values)
    conn.execute(audit_log.insert().values(**values, prev_hash=head.row_hash, row_hash=row_hash))
    conn.execute(
        update(audit_head).where(audit_head.c.id == 1).values(seq=values["seq"], row_hash=row_hash)
    )
    return int(head.seq) + 1


def verify(
    engine: Engine, key: bytes, anchors: Sequence[Path] = ()
) -> tuple[int, list[ChainBreak]]:
    """Walk the chain: (rows checked, every break found, in order).

    With ``anchors`` (the anchor files, see ``fangkong.audit.anchor``) the table is also
    held against their checkpoints: a checkpoint beyond the newest row (rows removed, the
    log wiped, the head moved back), a checkpoint whose hash differs from its row's (the
    row rewritten), a line forged, torn or out of order, and a missing file while the log
    has rows beyond the first ("unanchored") are each reported. Rows newer than the last
    checkpoint are fine: the anchor lags the table by design."""
    breaks: list[ChainBreak] = []
    anchored: dict[int, list[tuple[Path, Checkpoint]]] = {}
    missing_files: list[Path] = []
    for path in anchors:
        if not path.exists():
            missing_files.append(path)
            continue
        for found in anchor.read(path, key):
            if isinstance(found, Checkpoint):
                anchored.setdefault(found.seq, []).append((path, found))
            else:
                breaks.append(ChainBreak(found.line, f"{path}: {found.reason}", "anchor"))
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
            for path, cp in anchored.pop(seq, ()):
                if cp.row_hash != row["row_hash"]:
                    where = f"{path} line {cp.line}"
                    breaks.append(ChainBreak(seq, f"differs from its checkpoint ({where}): "
                                                  "the row was rewritten"))  # fmt: skip
            prev, expected_seq = row["row_hash"], seq + 1
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).mappings().one()
    if head["seq"] != expected_seq - 1 or head["row_hash"] != prev:
        breaks.append(
            ChainBreak(int(head["seq"]), "the newest rows were removed (head does not match)")
        )
    breaks.extend(_unmatched(anchored, expected_seq - 1))
    if expected_seq - 1 >= 2:  # the first row is anchored by the second append
        breaks.extend(
            ChainBreak(0, f"{path}: no anchor file although the log has {count:,} rows "
                          "(unanchored: the file was removed, or never written)", "anchor")
            for path in missing_files
        )  # fmt: skip
    return count, breaks


def _unmatched(
    anchored: dict[int, list[tuple[Path, Checkpoint]]], newest: int
) -> Iterator[ChainBreak]:
    """Checkpoints whose row is gone: inside a gap (one break each), or beyond the newest
    row (one break per file, naming the furthest checkpoint)."""
    beyond: dict[Path, list[Checkpoint]] = {}
    for seq in sorted(anchored):
        for path, cp in anchored[seq]:
            if seq > newest:
                beyond.setdefault(path, []).append(cp)
            else:
                yield ChainBreak(seq, f"anchored in {path} line {cp.line} but missing")
    for path, cps in beyond.items():
        far = cps[-1]
        yield ChainBreak(
            far.seq,
            f"anchored in {path} line {far.line} ({far.at}; {len(cps):,} checkpoint(s) beyond "
            f"the log) but the log ends at row {newest}: the newest rows were removed or "
            "the log wiped, and the head moved back",
        )


def search(
    engine: Engine,
    *,
    person: int | None = None,
    user: str | None = None,
    limit: int = 200,
    viewer: Viewer | None = None,
) -> list[AuditRow]:
    """Newest first: rows about one person (by row id) and/or by one actor.

    With ``viewer``, only the rows in the viewer's jurisdiction (:func:`visible_to`); a
    person outside it answers like an absent one."""
    query = _search_query(person, user, viewer).order_by(audit_log.c.seq.desc())
    with engine.connect() as conn:
        return [AuditRow(**dict(r)) for r in conn.execute(query.limit(limit)).mappings()]


# what a page of the log may be sorted by: the order of writing (indexed) and the two
# columns people scan for (these sort the rows the filters leave)
AUDIT_SORTS: listing.Columns = {
    "seq": audit_log.c.seq, "actor": audit_log.c.actor, "action": audit_log.c.action,
}  # fmt: skip


def search_page(
    engine: Engine, bounded: Bounded, *, person: int | None = None, user: str | None = None,
    viewer: Viewer | None = None,
) -> tuple[list[AuditRow], bool]:  # fmt: skip
    """One page of :func:`search` (newest first unless sorted by a key of
    :data:`AUDIT_SORTS`) and whether more rows follow; the log is not counted."""
    query = _search_query(person, user, viewer)
    with engine.connect() as conn:
        rows, more = listing.window(conn, query, bounded, AUDIT_SORTS, (audit_log.c.seq.desc(),))
    return [AuditRow(**dict(r._mapping)) for r in rows], more


def _search_query(person: int | None, user: str | None, viewer: Viewer | None) -> Select[Any]:
    outcome = audit_log.c.outcome
    query = select(*(audit_log.c[f] for f in _FIELDS))
    if viewer is not None and viewer.region_code is not None:
        whole, visible = _province_wide(viewer.region_code), visible_to(viewer.region_code)
        query = query.where(or_(whole, visible))
        # below the province, a record elsewhere is "absent" (jurisdiction), also here
        hidden = and_(not_(whole), outcome == "out_of_jurisdiction")
        outcome = case((hidden, literal("not_found")), else_=outcome)  # type: ignore[assignment]
        query = query.with_only_columns(
            *(outcome.label("outcome") if f == "outcome" else audit_log.c[f] for f in _FIELDS)
        )
    if person is not None:
        query = query.where(
            audit_log.c.target_type == "person", audit_log.c.target_id == str(person)
        )
    if user is not None:
        query = query.where(audit_log.c.actor == user)
    return query


def _province_wide(region_code: str) -> ColumnElement[bool]:
    """The region is a root of the hierarchy (the province): its users see every row."""
    return exists(
        select(regions.c.code).where(regions.c.code == region_code, regions.c.parent_code.is_(None))
    )


def visible_to(region_code: str) -> ColumnElement[bool]:
    """A WHERE clause on ``audit_log``: the row is in the jurisdiction of ``region_code``.

    That is, its actor is a user of a region in the subtree, or its target is a person
    living there (``persons.residence_code``) or a user of a region there. Rows of
    devices, the CLI, unknown login names and other targets are the province's."""
    area = subtree(region_code)
    local_users = select(users.c.username).where(users.c.region_code.in_(area))
    local_user_ids = select(cast(users.c.id, String)).where(users.c.region_code.in_(area))
    residents = select(cast(persons.c.id, String)).where(persons.c.residence_code.in_(area))
    return or_(
        audit_log.c.actor.in_(local_users),
        and_(audit_log.c.target_type == "person", audit_log.c.target_id.in_(residents)),
        and_(audit_log.c.target_type == "user", audit_log.c.target_id.in_(local_user_ids)),
    )
