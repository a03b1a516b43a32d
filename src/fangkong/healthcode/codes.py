"""One person's health code (赋码/转码): record a fact and re-evaluate, evaluate and store
the code (a change of colour adds a transition), the history and the stored code, the QR
token (亮码), and who holds a resident ID number.

Each function is one transaction. Given an ``Engine`` it opens and commits its own
(SQLite: ``BEGIN IMMEDIATE``); given a ``Connection`` it works inside the caller's
transaction. Errors are typed with stable codes (``fangkong.healthcode.errors``);
routes, pages and the CLI translate them. Authorisation (who may record facts) is the
caller's: the service layer records who did it. Corrections are in ``corrections.py``,
everyone's codes at once in ``recompute.py``, scans in ``scanning.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from fangkong.errors import Conflict, Problem
from fangkong.healthcode.context import CodeContext, Stamp, _now
from fangkong.healthcode.errors import PersonUnknown, malformed
from fangkong.healthcode.evaluator import Decision, Reason, evaluate
from fangkong.healthcode.facts import PersonFacts
from fangkong.healthcode.qr import issue_token, new_ref
from fangkong.healthcode.store import FactRow, facts_from_rows
from fangkong.healthcode.tables import code_transitions, health_codes, person_facts
from fangkong.healthcode.writer import FactInput, check_input, write_facts
from fangkong.identity.resident_id import check_resident_id
from fangkong.identity.sealing import Sealer
from fangkong.policy.model import Colour, Pack
from fangkong.store.fast import DriverSelect, InSelect, in_list
from fangkong.store.schema import persons
from fangkong.store.tx import Bind, write_transaction

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


_OLD_CODES_IN = InSelect(
    lambda v: select(
        health_codes.c.person_id, health_codes.c.colour, health_codes.c.reasons,
        health_codes.c.next_change_at,
    ).where(health_codes.c.person_id.in_(v))
)  # fmt: skip


def _store_many(
    conn: Connection, decided: Sequence[tuple[int, Decision, Stamp]], pack: Pack, trigger: str
) -> int:
    """``_store`` for many persons in a few statements: the old codes read in chunks, then
    one executemany each for updates, inserts and transitions (same rows as ``_store``).
    Returns how many codes are new or moved (colour, reasons or next change)."""
    old: dict[int, tuple[str, Any, datetime | None]] = {}
    ids = [pid for pid, _, _ in decided]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for r in _OLD_CODES_IN.rows(conn, chunk):
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


_PERSONS_IN = InSelect(lambda v: select(persons.c.id).where(persons.c.id.in_(v)))
_FACTS_IN = InSelect(
    lambda v: (
        select(*_FACT_COLUMNS)
        .where(person_facts.c.person_id.in_(v))
        .order_by(person_facts.c.person_id, person_facts.c.id)
    )
)


def evaluate_persons(
    conn: Connection, ctx: CodeContext, items: Sequence[tuple[int, datetime]], *,
    trigger: str = "evaluate",
) -> None:  # fmt: skip
    """``evaluate_person`` for a few persons, each at its own time, inside the caller's
    transaction: their facts read in one query, the codes written by ``_store_many`` (the
    same rows as one by one). A person evaluated twice keeps the later evaluation; a
    person the registry lacks is refused as ``evaluate_person`` refuses one."""
    at_of: dict[int, datetime] = {}
    for pid, at in items:
        at_of[int(pid)] = max(at, at_of.get(int(pid), at))
    if not at_of:
        return
    ids = sorted(at_of)
    rows_of: dict[int, list[Any]] = {pid: [] for pid in ids}
    found: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found.update(int(r[0]) for r in _PERSONS_IN.rows(conn, chunk))
        for r in _FACTS_IN.rows(conn, chunk):
            rows_of[int(r.person_id)].append(r)
    for pid in ids:
        if pid not in found:
            _require_person(conn, pid)  # raises, as one by one
    decided = []
    for pid in ids:
        facts, stamp = _facts_of(rows_of[pid])
        decided.append((pid, evaluate(facts, at_of[pid], ctx.pack, tz=ctx.tz), stamp))
    _store_many(conn, decided, ctx.pack, trigger)


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


_COLOURS = select(health_codes.c.person_id, health_codes.c.colour).where(
    health_codes.c.person_id.in_(bindparam("people", expanding=True))
)
_FEW_COLOURS = DriverSelect(
    lambda n: select(health_codes.c.person_id, health_codes.c.colour).where(
        health_codes.c.person_id.in_(in_list(n))
    ),
    arity=True,
)
_FEW = 16  # up to this many people: the driver's statement of that arity (a vehicle)


def stored_colours(conn: Connection, person_ids: Sequence[int]) -> dict[int, str]:
    """The stored colours (as last evaluated) of ``person_ids``, one query; a person never
    evaluated is absent (a checkpoint reads the codes of a vehicle's people at once)."""
    if not person_ids:
        return {}
    people = sorted(set(person_ids))
    if len(people) <= _FEW:
        rows = _FEW_COLOURS.rows_in(conn, people)
    else:
        rows = list(conn.execute(_COLOURS, {"people": people}))
    return {int(pid): Colour.parse(colour).label for pid, colour in rows}


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
