"""Health-code use cases: record facts, evaluate, correct, recompute, issue QR, verify scans.

Each function is one transaction. Given an ``Engine`` it opens and commits its own
(SQLite: ``BEGIN IMMEDIATE``); given a ``Connection`` it works inside the caller's
transaction. Errors are typed with stable codes (``fangkong.healthcode.errors``);
routes, pages and the CLI translate them. Authorisation (who may record facts or
decide corrections) is the caller's: the service layer records who did it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Connection, Engine, bindparam, func, or_, select, update

from fangkong import clock
from fangkong.errors import Conflict, Forbidden, NotFound, Problem
from fangkong.healthcode import bulk
from fangkong.healthcode.errors import (
    PersonUnknown,
    malformed,
)
from fangkong.healthcode.facts import PersonFacts
from fangkong.healthcode.qr import QrKeys, issue_token, new_ref
from fangkong.healthcode.rules import Decision, Reason, evaluate, fmt_time
from fangkong.healthcode.store import FactRow, facts_from_rows, invalid
from fangkong.healthcode.tables import (
    code_corrections,
    code_transitions,
    health_codes,
    person_facts,
)
from fangkong.healthcode.writer import FactInput as FactInput
from fangkong.healthcode.writer import check_input, void_facts, write_facts
from fangkong.identity.masking import mask_name
from fangkong.identity.resident_id import check_resident_id
from fangkong.identity.sealing import Sealer
from fangkong.policy.loader import load_pack
from fangkong.policy.model import Colour, Pack, Text
from fangkong.settings import Settings, default_tz
from fangkong.store.schema import persons
from fangkong.store.tx import write_transaction

Bind = Engine | Connection


@dataclass(frozen=True)
class CodeContext:
    """What the use cases need besides the database: pack, keys, zone, token timing."""

    pack: Pack
    sealer: Sealer
    qr: QrKeys
    tz: ZoneInfo = field(default_factory=default_tz)
    qr_validity_s: int = 60
    qr_skew_s: int = 10
    offline_s: int = 24 * 3600  # a late (offline) scan is accepted this long after its time

    @classmethod
    def from_settings(cls, settings: Settings) -> CodeContext:
        from fangkong.healthcode.qr import load_or_create_keys
        from fangkong.identity.sealing import load_or_create_key

        return cls(
            pack=load_pack(settings.policy_pack),
            sealer=Sealer(load_or_create_key(settings)),
            qr=load_or_create_keys(settings.qr_key_path),
            tz=ZoneInfo(settings.timezone),
            qr_validity_s=settings.qr_validity_seconds,
            qr_skew_s=settings.qr_clock_skew_seconds,
            offline_s=settings.scan_offline_hours * 3600,
        )


def _now(now: datetime | None) -> datetime:
    if now is not None and now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    return now or clock.now()


# ---- facts and evaluation -------------------------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    """A person's ``person_facts`` rows as a code saw them: how many (voided included)
    and the greatest id. A row recorded later changes it; a void makes the code due."""

    count: int = 0
    last_id: int | None = None


_FACT_COLUMNS = (
    person_facts.c.person_id,
    person_facts.c.id,
    person_facts.c.kind,
    person_facts.c.starts_at,
    person_facts.c.ends_at,
    person_facts.c.detail,
    person_facts.c.voided_at,
)


def _facts_of(rows: Sequence[Any]) -> tuple[PersonFacts, Stamp]:
    live = (FactRow(r.id, r.kind, r.starts_at, r.ends_at, r.detail) for r in rows
            if r.voided_at is None)  # fmt: skip
    stamp = Stamp(len(rows), max((int(r.id) for r in rows), default=None))
    return facts_from_rows(live), stamp


def _load(conn: Connection, person_id: int) -> tuple[PersonFacts, Stamp]:
    rows = conn.execute(select(*_FACT_COLUMNS).where(person_facts.c.person_id == person_id)).all()
    return _facts_of(rows)


def load_facts(conn: Connection, person_id: int) -> PersonFacts:
    """The person's facts as the rules read them (voided ones left out)."""
    return _load(conn, person_id)[0]


def _require_person(conn: Connection, person_id: int) -> None:
    found = conn.execute(select(persons.c.id).where(persons.c.id == person_id)).first()
    if found is None:
        raise PersonUnknown(
            Problem("code.person_unknown", f"无此人员（{person_id}）", f"no person {person_id}")
        )


def _top_rule(reasons: Sequence[Mapping[str, Any]] | Sequence[Reason]) -> str | None:
    if not reasons:
        return None
    first = reasons[0]
    return first.rule_id if isinstance(first, Reason) else str(first["rule"])


def _code_values(decision: Decision, pack: Pack, stamp: Stamp) -> dict[str, Any]:
    return {
        "colour": decision.colour.label,
        "reasons": [r.as_json() for r in decision.reasons],
        "pack_name": pack.name,
        "pack_version": pack.version,
        "next_change_at": decision.next_change_at,
        "evaluated_at": decision.evaluated_at,
        "review_at": decision.review_at,
        "fact_count": stamp.count,
        "last_fact_id": stamp.last_id,
    }


def _store(
    conn: Connection, person_id: int, decision: Decision, pack: Pack, trigger: str, stamp: Stamp
) -> None:
    """Write the current code; a change of colour adds a transition."""
    old = conn.execute(
        select(health_codes.c.colour, health_codes.c.reasons).where(
            health_codes.c.person_id == person_id
        )
    ).first()
    values = _code_values(decision, pack, stamp)
    if old is None:
        conn.execute(health_codes.insert().values(person_id=person_id, qr_ref=new_ref(), **values))
    else:
        conn.execute(
            update(health_codes).where(health_codes.c.person_id == person_id).values(**values)
        )
    before = None if old is None else old.colour
    if before != decision.colour.label:
        # the rule that made the new colour, or (turning green) the one that ended
        rule = _top_rule(decision.reasons) or (_top_rule(old.reasons) if old else None)
        conn.execute(
            code_transitions.insert().values(
                person_id=person_id,
                at=decision.evaluated_at,
                from_colour=before,
                to_colour=decision.colour.label,
                rule_id=rule,
                trigger=trigger[:60],
                pack_name=pack.name,
                pack_version=pack.version,
            )
        )


_CODE_COLUMNS = ("colour", "reasons", "pack_name", "pack_version", "next_change_at",
                 "evaluated_at", "review_at", "fact_count", "last_fact_id")  # fmt: skip
_UPDATE_CODE = (
    update(health_codes)
    .where(health_codes.c.person_id == bindparam("b_person"))
    .values({name: bindparam(f"b_{name}") for name in _CODE_COLUMNS})
)
_CHUNK = 5_000  # persons per IN (...) list and per batch of codes written


def _store_many(
    conn: Connection, decided: Sequence[tuple[int, Decision, Stamp]], pack: Pack, trigger: str
) -> int:
    """``_store`` for many persons in a few statements: the old codes read in chunks, then
    one executemany each for updates, inserts and transitions (same rows as ``_store``).
    Returns how many codes are new or moved (colour, reasons or next change)."""
    old: dict[int, tuple[str, Any, datetime | None]] = {}
    ids = [pid for pid, _, _ in decided]
    h = health_codes.c
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for r in conn.execute(
            select(h.person_id, h.colour, h.reasons, h.next_change_at).where(h.person_id.in_(chunk))
        ):
            old[r.person_id] = (r.colour, r.reasons, r.next_change_at)
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    moved = 0
    for pid, decision, stamp in decided:
        values = _code_values(decision, pack, stamp)
        before = old.get(pid)
        if before is None:
            inserts.append({"person_id": pid, "qr_ref": new_ref(), **values})
        else:
            updates.append({"b_person": pid, **{f"b_{k}": v for k, v in values.items()}})
        if before != (values["colour"], values["reasons"], values["next_change_at"]):
            moved += 1
        was = None if before is None else before[0]
        if was != decision.colour.label:
            rule = _top_rule(decision.reasons) or (_top_rule(before[1]) if before else None)
            transitions.append({"person_id": pid, "at": decision.evaluated_at, "from_colour": was,
                                "to_colour": decision.colour.label, "rule_id": rule,
                                "trigger": trigger[:60], "pack_name": pack.name,
                                "pack_version": pack.version})  # fmt: skip
    if updates:
        conn.execute(_UPDATE_CODE, updates)
    if inserts:
        conn.execute(health_codes.insert(), inserts)
    if transitions:
        conn.execute(code_transitions.insert(), transitions)
    return moved


def _evaluate_in(
    conn: Connection, ctx: CodeContext, person_id: int, at: datetime, trigger: str
) -> Decision:
    facts, stamp = _load(conn, person_id)
    decision = evaluate(facts, at, ctx.pack, tz=ctx.tz)
    _store(conn, person_id, decision, ctx.pack, trigger, stamp)
    return decision


def evaluate_person(
    bind: Bind, ctx: CodeContext, person_id: int, *, at: datetime | None = None,
    trigger: str = "evaluate",
) -> Decision:  # fmt: skip
    """Evaluate one person's code at ``at`` (default now) and store it (赋码/转码)."""
    at = _now(at)
    with write_transaction(bind) as conn:
        _require_person(conn, person_id)
        return _evaluate_in(conn, ctx, person_id, at, trigger)


def record_fact(
    bind: Bind, ctx: CodeContext, person_id: int, fact: FactInput, *, recorded_by: str,
    now: datetime | None = None,
) -> tuple[int, Decision]:  # fmt: skip
    """Store a fact (through ``writer.write_facts``) and re-evaluate the person. A resent
    ``client_event_id`` changes nothing (the stored fact's id and the current decision
    are returned)."""
    now = _now(now)
    check_input(fact)
    with write_transaction(bind) as conn:
        _require_person(conn, person_id)
        if fact.client_event_id is not None:
            prior = conn.execute(
                select(person_facts.c.id, person_facts.c.person_id).where(
                    person_facts.c.client_event_id == fact.client_event_id
                )
            ).first()
            if prior is not None:
                if prior.person_id != person_id:
                    raise Conflict(
                        Problem(
                            "fact.event_conflict",
                            "该事件编号已用于另一人员的记录",
                            "this client event id was used for another person's fact",
                        )
                    )
                return prior.id, _evaluate_in(conn, ctx, person_id, now, "evaluate")
        written = write_facts(conn, [(person_id, fact)], recorded_by=recorded_by, now=now)
        (fact_id,) = written.ids
        return fact_id, _evaluate_in(conn, ctx, person_id, now, f"fact:{fact.kind}")


@dataclass(frozen=True)
class Transition:
    at: datetime
    from_colour: str | None
    to_colour: str
    rule_id: str | None
    trigger: str
    pack_ref: str


def code_history(bind: Bind, person_id: int) -> list[Transition]:
    """Every change of the person's colour, oldest first."""
    with write_transaction(bind) as conn:
        _require_person(conn, person_id)
        rows = conn.execute(
            select(code_transitions)
            .where(code_transitions.c.person_id == person_id)
            .order_by(code_transitions.c.at, code_transitions.c.id)
        ).all()
    return [
        Transition(r.at, r.from_colour, r.to_colour, r.rule_id, r.trigger,
                   f"{r.pack_name}@{r.pack_version}")
        for r in rows
    ]  # fmt: skip


@dataclass(frozen=True)
class StoredCode:
    person_id: int
    colour: Colour
    reasons: tuple[Reason, ...]
    pack_ref: str
    next_change_at: datetime | None
    evaluated_at: datetime


def current_code(bind: Bind, person_id: int) -> StoredCode | None:
    """The stored code (as last evaluated), or None if never evaluated."""
    with write_transaction(bind) as conn:
        r = conn.execute(select(health_codes).where(health_codes.c.person_id == person_id)).first()
    if r is None:
        return None
    return StoredCode(
        r.person_id,
        Colour.parse(r.colour),
        tuple(Reason.from_json(x) for x in r.reasons),
        f"{r.pack_name}@{r.pack_version}",
        r.next_change_at,
        r.evaluated_at,
    )


# ---- corrections (纠错) ---------------------------------------------------------------------


def file_correction(
    bind: Bind, person_id: int, reason: str, *, filed_by: str, filer_role: str,
    fact_id: int | None = None, now: datetime | None = None,
) -> int:  # fmt: skip
    """File an objection to a person's code (optionally naming the fact that is wrong)."""
    now = _now(now)
    if filer_role not in ("person", "officer"):
        raise invalid("filer_role 应为 person 或 officer", "filer_role must be person or officer")
    if not reason.strip():
        raise invalid("请说明纠错理由", "give a reason for the correction")
    with write_transaction(bind) as conn:
        _require_person(conn, person_id)
        if fact_id is not None:
            owner = conn.execute(
                select(person_facts.c.person_id).where(person_facts.c.id == fact_id)
            ).scalar_one_or_none()
            if owner != person_id:
                raise NotFound(
                    Problem(
                        "correction.fact_unknown",
                        f"该人员没有编号为 {fact_id} 的记录",
                        f"the person has no fact {fact_id}",
                    )
                )
        return int(
            conn.execute(
                code_corrections.insert()
                .values(
                    person_id=person_id, fact_id=fact_id, filed_at=now, filed_by=filed_by,
                    filer_role=filer_role, reason=reason, state="open",
                )
                .returning(code_corrections.c.id)
            ).scalar_one()
        )  # fmt: skip


def decide_correction(
    bind: Bind, ctx: CodeContext, correction_id: int, *, upheld: bool, reason: str,
    decided_by: str, now: datetime | None = None,
) -> Decision:  # fmt: skip
    """Decide an objection. Upheld with a named fact: the fact is voided (kept, marked)
    and the code re-evaluated. The decider must not be the filer; the caller checks
    that the decider holds the right to decide."""
    now = _now(now)
    if not reason.strip():
        raise invalid("请说明决定理由", "give a reason for the decision")
    with write_transaction(bind) as conn:
        c = conn.execute(
            select(code_corrections).where(code_corrections.c.id == correction_id)
        ).first()
        if c is None:
            raise NotFound(
                Problem("correction.unknown", f"无此纠错申请 {correction_id}",
                        f"no correction {correction_id}")
            )  # fmt: skip
        if c.state != "open":
            raise Conflict(
                Problem("correction.decided", "该纠错申请已有决定",
                        "this correction has already been decided")
            )  # fmt: skip
        if c.filed_by == decided_by:
            raise Forbidden(
                Problem("correction.own", "不能决定自己提交的纠错申请",
                        "you cannot decide a correction you filed")
            )  # fmt: skip
        conn.execute(
            update(code_corrections)
            .where(code_corrections.c.id == correction_id)
            .values(
                state="upheld" if upheld else "rejected", decided_at=now,
                decided_by=decided_by, decision_reason=reason,
            )
        )  # fmt: skip
        if upheld and c.fact_id is not None:
            void_facts(conn, [c.fact_id], reason=f"correction {correction_id}: {reason}", now=now)
        return _evaluate_in(conn, ctx, c.person_id, now, f"correction:{correction_id}")


@dataclass(frozen=True)
class Correction:
    id: int
    person_id: int
    fact_id: int | None
    filed_at: datetime
    filed_by: str
    filer_role: str
    reason: str
    state: str
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None


def list_corrections(bind: Bind, *, state: str | None = "open") -> list[Correction]:
    """The corrections queue (oldest first), by state (None: all)."""
    query = select(code_corrections).order_by(code_corrections.c.filed_at, code_corrections.c.id)
    if state is not None:
        query = query.where(code_corrections.c.state == state)
    with write_transaction(bind) as conn:
        return [Correction(*r) for r in conn.execute(query).all()]


# ---- bulk re-evaluation ---------------------------------------------------------------------


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


# ---- QR codes and scans (用码) --------------------------------------------------------------


def _code_ref(conn: Connection, ctx: CodeContext, person_id: int, at: datetime) -> bytes:
    ref = conn.execute(
        select(health_codes.c.qr_ref).where(health_codes.c.person_id == person_id)
    ).scalar_one_or_none()
    if ref is None:
        _evaluate_in(conn, ctx, person_id, at, "evaluate")
        ref = conn.execute(
            select(health_codes.c.qr_ref).where(health_codes.c.person_id == person_id)
        ).scalar_one()
    return bytes(ref)


def issue_qr(bind: Bind, ctx: CodeContext, person_id: int, *, now: datetime | None = None) -> str:
    """A fresh signed token for the person's dynamic QR code (valid ``qr_validity_s``)."""
    now = _now(now)
    with write_transaction(bind) as conn:
        _require_person(conn, person_id)
        return issue_token(ctx.qr, _code_ref(conn, ctx, person_id, now), now)


def person_by_id_number(conn: Connection, sealer: Sealer, number: str, today: Any) -> int | None:
    """The person holding a resident ID number (looked up by its sealed hash)."""
    key = resident_lookup_key(sealer, number, today)
    found = conn.execute(select(persons.c.id).where(persons.c.doc_hash == key)).scalar_one_or_none()
    return None if found is None else int(found)


def resident_lookup_key(sealer: Sealer, number: str, today: Any) -> bytes:
    """The sealed lookup hash of a resident ID number; a malformed number is refused."""
    check = check_resident_id(number, today=today)
    if not check.valid or check.normalized is None:
        reason = check.problems[0] if check.problems else None
        raise malformed(
            f"身份证号无效：{reason.message_zh if reason else number}",
            f"invalid resident ID number: {reason.message_en if reason else number}",
        )
    return sealer.lookup_hash("document", f"resident_id|CHN|{check.normalized}")


@dataclass(frozen=True)
class ScanVerdict:
    """What a scanner shows staff: colour, admitted or not, flagged, who (masked), why."""

    client_event_id: str
    venue_code: str
    venue_type: str
    masked_name: str
    colour: Colour
    allowed: bool
    flagged: bool
    reasons: tuple[Reason, ...]
    notes: tuple[Text, ...]
    pack_ref: str
    device_time: datetime
    received_at: datetime
    by: str  # "token" or "id_number"
    repeated: bool = field(default=False, compare=False)  # True: returned from storage

    def as_json(self) -> dict[str, Any]:
        return {
            "client_event_id": self.client_event_id,
            "venue_code": self.venue_code,
            "venue_type": self.venue_type,
            "masked_name": self.masked_name,
            "colour": self.colour.label,
            "allowed": self.allowed,
            "flagged": self.flagged,
            "reasons": [r.as_json() for r in self.reasons],
            "notes": [{"zh": n.zh, "en": n.en} for n in self.notes],
            "pack": self.pack_ref,
            "device_time": self.device_time.isoformat(),
            "received_at": self.received_at.isoformat(),
            "by": self.by,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, repeated: bool) -> ScanVerdict:
        return cls(
            data["client_event_id"],
            data["venue_code"],
            data["venue_type"],
            data["masked_name"],
            Colour.parse(data["colour"]),
            data["allowed"],
            data["flagged"],
            tuple(Reason.from_json(r) for r in data["reasons"]),
            tuple(Text(n["zh"], n["en"]) for n in data["notes"]),
            data["pack"],
            datetime.fromisoformat(data["device_time"]),
            datetime.fromisoformat(data["received_at"]),
            data["by"],
            repeated,
        )


def _digest(*parts: str) -> bytes:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()


def _verdict(
    ctx: CodeContext, venue_code: str, venue_type: str, name: str, decision: Decision,
    event_id: str, device_time: datetime, now: datetime, by: str, facts: Any,
) -> ScanVerdict:  # fmt: skip
    policy = ctx.pack.venue_policy(venue_type)
    allowed = decision.colour in policy.admit
    flagged = decision.colour in policy.flag
    notes: list[Text] = []
    if policy.show_arrival_days:
        since = now - timedelta(days=policy.show_arrival_days)
        for a in sorted(facts.arrivals, key=lambda a: a.arrived_at):
            if since <= a.arrived_at <= now:
                when = fmt_time(a.arrived_at, ctx.tz)
                notes.append(
                    Text(
                        f"{when} 自{_RISK_ZH[a.risk]}（{a.origin or '未登记'}）抵达",
                        f"arrived {when} from a {a.risk}-risk origin ({a.origin or 'unrecorded'})",
                    )
                )
                flagged = flagged or a.risk in ("high", "medium", "inbound")
    if not allowed:
        notes.append(
            Text(
                f"{policy.label.zh}不允许{decision.colour.zh}进入，请按规定处置",
                f"{policy.label.en}: a {decision.colour.label} code may not enter; follow "
                "the procedure",
            )
        )
    return ScanVerdict(
        event_id, venue_code, venue_type, mask_name(name), decision.colour, allowed, flagged,
        decision.reasons, tuple(notes), decision.pack_ref, device_time, now, by,
    )  # fmt: skip


_RISK_ZH = {"high": "高风险区", "medium": "中风险区", "low": "低风险区", "inbound": "境外"}
