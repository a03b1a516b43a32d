"""Everyone's code at once (``recompute_all``): after a day, new facts or a pack change.

Only the codes that may differ are re-explained by the single evaluator (the due set is
found in SQL, or — ``full`` — by the bulk evaluator); persons without facts get their
green codes set-based. The codes are stored with ``codes._store_many``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Connection, Engine, func, or_, select, update

from fangkong.healthcode import bulk
from fangkong.healthcode.codes import _CHUNK, _FACT_COLUMNS, _facts_of, _store_many
from fangkong.healthcode.context import CodeContext, _now
from fangkong.healthcode.evaluator import evaluate
from fangkong.healthcode.store import FactRow, facts_from_rows
from fangkong.healthcode.tables import code_transitions, health_codes, person_facts
from fangkong.policy.model import Colour, Pack
from fangkong.store.schema import persons
from fangkong.store.tx import write_transaction


@dataclass(frozen=True)
class RecomputeResult:
    """``evaluated``: codes that hold at ``at`` (everyone in the registry); ``changed``:
    codes new or moved (colour, reasons or next change) among those re-explained;
    ``reviewed``: codes re-explained by the single evaluator; ``assigned``: green codes
    given, without evaluation, to persons with no code and no facts."""

    evaluated: int
    changed: int
    reviewed: int = 0
    assigned: int = 0


def recompute_all(
    engine: Engine, ctx: CodeContext, at: datetime | None = None, *, trigger: str = "recompute",
    full: bool = False,
) -> RecomputeResult:  # fmt: skip
    """Bring every person's code up to ``at`` (after a day, new facts, a pack change).

    Re-explained by the single evaluator: everyone with facts whose code is missing,
    decided by another pack, due for review (``review_at`` ≤ ``at``, or evaluated after
    ``at``), or whose facts moved since (a row recorded: ``fact_count``/``last_fact_id``).
    Every other stored code provably equals a fresh evaluation, reasons included. People
    with no facts are green with no reasons and no next change: their codes are set in
    SQL (a fresh ``qr_ref`` each for those who had none). ``full`` also evaluates everyone
    with facts in bulk and re-explains whoever's colour or next change moved — a check
    that finds nothing unless a pack was edited without a new version.
    """
    at = _now(at)
    pack = ctx.pack
    with write_transaction(engine) as conn:
        due = _due(conn, pack, at)
        if full:
            due = np.union1d(due, _moved_in_bulk(conn, pack, at))
        changed = 0
        for start in range(0, len(due), _CHUNK):
            chunk = [int(p) for p in due[start : start + _CHUNK]]
            rows: dict[int, list[Any]] = {p: [] for p in chunk}
            for r in conn.execute(
                select(*_FACT_COLUMNS)
                .where(person_facts.c.person_id.in_(chunk))
                .order_by(person_facts.c.person_id, person_facts.c.id)
            ):
                rows[r.person_id].append(r)
            decided = []
            for pid in chunk:
                facts, stamp = _facts_of(rows[pid])
                decided.append((pid, evaluate(facts, at, pack, tz=ctx.tz), stamp))
            changed += _store_many(conn, decided, pack, trigger)
        _settle_factless(conn, pack, at)
        codes = _count(conn, health_codes)
        people = _count(conn, persons)
        # every code is a person's (its key): as many codes as persons, and all have one
        assigned = _assign_green(conn, pack, at, trigger) if codes < people else 0
    return RecomputeResult(codes + assigned, changed, len(due), assigned)


def _count(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _due(conn: Connection, pack: Pack, at: datetime) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Persons to re-explain (sorted): with facts and a code that is missing, of another
    pack, due for review or evaluated on other facts; or a code that is not green
    without any facts."""
    f, h = person_facts.c, health_codes.c
    stamp = (
        select(f.person_id, func.count().label("n"), func.max(f.id).label("last"))
        .group_by(f.person_id)
        .subquery()
    )
    with_facts = (
        select(stamp.c.person_id)
        .select_from(stamp.outerjoin(health_codes, h.person_id == stamp.c.person_id))
        .where(
            or_(
                h.person_id.is_(None),
                h.fact_count != stamp.c.n,
                h.last_fact_id.is_(None),
                h.last_fact_id != stamp.c.last,
                h.review_at <= at,
                h.evaluated_at > at,
                h.pack_name != pack.name,
                h.pack_version != pack.version,
            )
        )
    )
    strays = select(h.person_id).where(
        h.colour.in_(["yellow", "red"]), ~sa.exists().where(f.person_id == h.person_id)
    )
    ids = conn.execute(sa.union(with_facts, strays)).scalars().all()
    return np.unique(np.fromiter(ids, dtype=np.int64, count=len(ids)))


def _moved_in_bulk(
    conn: Connection, pack: Pack, at: datetime
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Persons with facts whose stored colour or next change differs from the bulk
    evaluator's at ``at`` (every fact read: the slow, thorough check)."""
    rows = conn.execute(
        select(*_FACT_COLUMNS)
        .where(person_facts.c.voided_at.is_(None))
        .order_by(person_facts.c.person_id, person_facts.c.id)
    ).all()
    by_person: dict[int, list[FactRow]] = {}
    for r in rows:
        by_person.setdefault(r.person_id, []).append(
            FactRow(r.id, r.kind, r.starts_at, r.ends_at, r.detail)
        )
    stored = {
        r.person_id: (r.colour, r.next_change_at)
        for r in conn.execute(
            select(health_codes.c.person_id, health_codes.c.colour, health_codes.c.next_change_at)
        )
    }
    ids = sorted(by_person)
    result = bulk.evaluate_bulk(
        bulk.from_facts([facts_from_rows(by_person[p]) for p in ids]), at, pack
    )
    moved = []
    for i, pid in enumerate(ids):
        nxt = int(result.next_change[i])
        now = (
            Colour(int(result.colour[i])).label,
            None if nxt == bulk.NEVER else bulk.from_us(nxt),
        )
        if stored.get(pid) != now:
            moved.append(pid)
    return np.array(moved, dtype=np.int64)


def _settle_factless(conn: Connection, pack: Pack, at: datetime) -> None:
    """Green codes of persons who never had a fact: green, no reasons, no next change, no
    review, under ``pack`` (one UPDATE; only rows that differ are touched)."""
    h = health_codes.c
    conn.execute(
        update(health_codes)
        .where(
            or_(
                h.pack_name != pack.name,
                h.pack_version != pack.version,
                h.review_at.is_not(None),
                h.next_change_at.is_not(None),
                h.fact_count != 0,
                h.last_fact_id.is_not(None),
            ),
            h.colour == "green",
            ~sa.exists().where(person_facts.c.person_id == h.person_id),
        )
        .values(
            reasons=[], pack_name=pack.name, pack_version=pack.version, next_change_at=None,
            evaluated_at=at, review_at=None, fact_count=0, last_fact_id=None,
        )
    )  # fmt: skip


def _random_ref(conn: Connection) -> Any:
    # 16 random bytes per row, made by the database (as ``qr.new_ref`` does in Python); a
    # ref is only a handle inside a signed token, so it needs to be unique, not secret
    if conn.dialect.name == "postgresql":
        return sa.func.uuid_send(sa.func.gen_random_uuid())
    return sa.func.randomblob(16)


def _assign_green(conn: Connection, pack: Pack, at: datetime, trigger: str) -> int:
    """A green code (赋码), and its first transition, for everyone in the registry without
    a code — set-based: after the facts pass, those are persons with no facts."""
    h, t = health_codes.c, code_transitions.c
    without = ~sa.exists().where(h.person_id == persons.c.id)
    when = sa.literal(at, h.evaluated_at.type)
    name = sa.literal(pack.name, h.pack_name.type)
    version = sa.literal(pack.version, h.pack_version.type)
    green = sa.literal("green", h.colour.type)
    conn.execute(
        code_transitions.insert().from_select(
            [t.person_id, t.at, t.to_colour, t.trigger, t.pack_name, t.pack_version],
            select(persons.c.id, when, green, sa.literal(trigger[:60], t.trigger.type), name,
                   version).where(without),
        )
    )  # fmt: skip
    with _large_cache(conn):
        made = conn.execute(
            health_codes.insert()
            .from_select(
                [h.person_id, h.colour, h.reasons, h.pack_name, h.pack_version, h.evaluated_at,
                 h.qr_ref, h.fact_count],
                select(persons.c.id, green, sa.literal([], h.reasons.type), name, version, when,
                       sa.type_coerce(_random_ref(conn), h.qr_ref.type), sa.literal(0))
                .where(without),
            )
            .execution_options(preserve_rowcount=True)
        )  # fmt: skip
    return int(made.rowcount)


@contextmanager
def _large_cache(conn: Connection) -> Iterator[None]:
    # random QR refs land all over their unique index: on SQLite a larger page cache for
    # this statement keeps the index in memory (measured: a third less time at 1M)
    if conn.dialect.name != "sqlite":
        yield
        return
    raw: Any = conn.connection.driver_connection  # a PRAGMA, not a statement to track
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{256 * 1024}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={int(before)}")
