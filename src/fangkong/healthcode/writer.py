"""The one writer of health-code facts (事实写入): every insert into ``person_facts``.

Labs, tracing, arrivals, risk areas, quarantine and testing record facts only here (a
test fails if another module writes the table). Every function takes a ``Bind``: given
an ``Engine`` it commits its own transaction, given a ``Connection`` it writes inside the
caller's (a manifest, a resolve, a designation stay atomic). Every fact is checked
(``store.check_fact``) before anything is written; a ``client_event_id`` makes a resent
fact harmless. Codes follow at the caller's ``evaluate_person`` or at ``recompute_all``,
which sees the new rows (``health_codes.fact_count`` / ``last_fact_id``).

::

    write_facts(bind, [(person, FactInput)])  ─▶ executemany (multi-row VALUES)
    write_fact_query(conn, FactQuery)         ─▶ INSERT … SELECT (set-based; the detail
                                                 built as a JSON value in SQL)
    record_case / record_discharge            ─▶ the case (病例) and discharge (出院) facts
    void_facts(bind, ids, reason)             ─▶ voided_at, void_reason; codes due at once

A stored fact is never edited: an ended residence or period is a new fact (risk areas,
quarantine), a wrong one is voided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from fangkong import clock
from fangkong.errors import Conflict, Problem
from fangkong.healthcode.errors import PersonUnknown
from fangkong.healthcode.store import FactRow, check_fact, checked_keys, facts_from_rows, invalid
from fangkong.healthcode.tables import health_codes, person_facts
from fangkong.store.fast import InSelect
from fangkong.store.schema import persons
from fangkong.store.tx import write_transaction

Bind = Engine | Connection
_CHUNK = 5_000  # keys per IN (...) list: under every backend's parameter limit
_KEY_LENGTH = 64  # person_facts.client_event_id


@dataclass(frozen=True)
class FactInput:
    """A fact to record: kind, its time(s) and detail (see ``fangkong.healthcode.store``)."""

    kind: str
    starts_at: datetime
    ends_at: datetime | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    client_event_id: str | None = None


@dataclass(frozen=True)
class Written:
    """What a write stored: how many new facts, for whom (sorted, each once), their ids."""

    facts: int
    persons: tuple[int, ...]
    ids: tuple[int, ...] = ()


def _now(now: datetime | None) -> datetime:
    if now is not None and now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    return now or clock.now()


def check_input(fact: FactInput) -> None:
    """``check_fact`` plus the event id's length: refuse what could not be stored."""
    check_fact(fact.kind, fact.starts_at, fact.ends_at, fact.detail)
    if fact.client_event_id is not None and not 0 < len(fact.client_event_id) <= _KEY_LENGTH:
        raise invalid(
            f"事件编号须为 1–{_KEY_LENGTH} 个字符：{fact.client_event_id!r}",
            f"a client event id has 1–{_KEY_LENGTH} characters: {fact.client_event_id!r}",
        )


def _conflict(key: str) -> Conflict:
    return Conflict(
        Problem(
            "fact.event_conflict",
            f"事件编号 {key} 已用于另一人员的记录",
            f"client event id {key} was used for another person's fact",
        )
    )


def write_facts(
    bind: Bind,
    facts: Sequence[tuple[int, FactInput]],
    *,
    recorded_by: str,
    now: datetime | None = None,
) -> Written:
    """Store ``(person_id, fact)`` pairs, all or none. A ``client_event_id`` stored before,
    or repeated in ``facts``, is skipped (the first counts); one used for another person is
    a conflict (``fact.event_conflict``) and nothing is written."""
    now = _now(now)
    for _, fact in facts:
        check_input(fact)
    if not facts:
        return Written(0, (), ())
    with write_transaction(bind) as conn:
        keys = sorted({f.client_event_id for _, f in facts if f.client_event_id is not None})
        owner: dict[str, int] = {}
        for i in range(0, len(keys), _CHUNK):
            owner.update(
                (str(k), int(p))
                for k, p in conn.execute(
                    select(person_facts.c.client_event_id, person_facts.c.person_id).where(
                        person_facts.c.client_event_id.in_(keys[i : i + _CHUNK])
                    )
                )
            )
        rows: list[dict[str, Any]] = []
        ids: list[int] = []
        for person_id, f in facts:
            key = f.client_event_id
            if key is not None:
                if key in owner:
                    if owner[key] != person_id:
                        raise _conflict(key)
                    continue
                owner[key] = person_id
            rows.append(_row(person_id, f, recorded_by, now))
        if rows:
            # RETURNING lets both backends send the rows as multi-row VALUES statements
            # (SQLAlchemy's insertmanyvalues), not one round trip per row
            made = conn.execute(person_facts.insert().returning(person_facts.c.id), rows)
            ids = [int(i) for i in made.scalars()]
    return Written(
        len(rows), tuple(sorted({int(r["person_id"]) for r in rows})), tuple(sorted(ids))
    )


def _row(person_id: int, f: FactInput, recorded_by: str, now: datetime) -> dict[str, Any]:
    return {
        "person_id": person_id, "kind": f.kind, "starts_at": f.starts_at, "ends_at": f.ends_at,
        "detail": dict(f.detail), "client_event_id": f.client_event_id, "recorded_at": now,
        "recorded_by": recorded_by[:80],
    }  # fmt: skip


# ---- facts chosen by a query (set-based) -----------------------------------------------------

Value = str | int | float | bool | None


@dataclass(frozen=True)
class FactQuery:
    """Facts of one kind chosen by a query, one per row of ``source`` meeting ``where``.

    ``detail`` maps each key to a constant or to a column expression of the query; the
    keys the checks read (``store.checked_keys``: a test's result and report time, a
    case's status …) must be constants, so one check covers every row. A boolean
    expression is stored as a JSON boolean.
    """

    kind: str
    source: FromClause
    where: Sequence[ColumnElement[bool]]
    person_id: ColumnElement[Any]
    starts_at: ColumnElement[Any]
    client_event_id: ColumnElement[Any]
    detail: Mapping[str, Value | ColumnElement[Any]] = field(default_factory=dict)
    ends_at: ColumnElement[Any] | None = None


def write_fact_query(
    bind: Bind, query: FactQuery, *, recorded_by: str, now: datetime | None = None
) -> Written:
    """Insert the facts ``query`` selects with one ``INSERT … SELECT``, skipping event ids
    stored before. The detail is a JSON object built by the database (``json_object`` on
    SQLite, ``json_build_object`` on PostgreSQL), never text pasted together."""
    now = _now(now)
    constants = {k: v for k, v in query.detail.items() if not isinstance(v, ColumnElement)}
    for name in checked_keys(query.kind):
        if name in query.detail and name not in constants:
            raise ValueError(f"{query.kind}.{name} is checked: give it as a constant")
    check_fact(query.kind, now, None, constants)
    with write_transaction(bind) as conn:
        return _insert_selected(conn, query, recorded_by, now)


def _insert_selected(
    conn: Connection, query: FactQuery, recorded_by: str, now: datetime
) -> Written:
    key = query.client_event_id
    f = person_facts.c
    columns = [f.person_id, f.kind, f.starts_at, f.detail, f.client_event_id, f.recorded_at,
               f.recorded_by]  # fmt: skip
    values: list[ColumnElement[Any]] = [
        query.person_id,
        sa.literal(query.kind, f.kind.type),
        query.starts_at,
        json_object(conn, query.detail),
        key,
        sa.literal(now, f.recorded_at.type),
        sa.literal(recorded_by[:80], f.recorded_by.type),
    ]
    if query.ends_at is not None:
        columns.append(f.ends_at)
        values.append(query.ends_at)
    chosen = (
        select(*values)
        .select_from(query.source)
        .where(*query.where, ~sa.exists().where(f.client_event_id == key))
    )
    made = conn.execute(
        person_facts.insert()
        .from_select([c.name for c in columns], chosen)
        .returning(person_facts.c.person_id, person_facts.c.id)
    ).all()
    people = {int(p) for p, _ in made}
    return Written(len(made), tuple(sorted(people)), tuple(sorted(int(i) for _, i in made)))


def json_object(conn: Connection, detail: Mapping[str, Value | ColumnElement[Any]]) -> Any:
    """A JSON object built in SQL from constants and column expressions, on either backend."""
    postgres = conn.dialect.name == "postgresql"
    args: list[ColumnElement[Any]] = []
    for name, value in detail.items():
        args.append(sa.cast(sa.literal(name), sa.Text) if postgres else sa.literal(name))
        args.append(_json_value(value, postgres))
    built = sa.func.json_build_object(*args) if postgres else sa.func.json_object(*args)
    return sa.type_coerce(built, sa.JSON)


def _json_value(value: Value | ColumnElement[Any], postgres: bool) -> ColumnElement[Any]:
    if isinstance(value, ColumnElement):
        if isinstance(value.type, sa.Boolean) and not postgres:
            # SQLite has no boolean: json('true') is the JSON literal, not the text "true"
            return sa.func.json(sa.case((value, "true"), else_="false"))
        return value
    if isinstance(value, bool):
        return sa.literal(value, sa.Boolean) if postgres else sa.func.json(str(value).lower())
    if value is None:
        return sa.null()
    kind = sa.Text if isinstance(value, str) else sa.Integer if isinstance(value, int) else sa.Float
    return sa.cast(sa.literal(value), kind) if postgres else sa.literal(value)


# ---- cases and discharges ---------------------------------------------------------------------


def record_case(
    bind: Bind,
    person_id: int,
    *,
    diagnosed_at: datetime,
    diagnosis: date,
    status: str = "confirmed",
    by: str,
    now: datetime | None = None,
) -> Written:
    """The ``case`` fact of a diagnosis (确诊/无症状/疑似): red from ``diagnosed_at`` as the
    pack's case rule says. ``diagnosis`` (the sampling or onset date) names it: the same
    person, status and date again are the same case (client event id)."""
    key = f"case-{status}-{person_id}-{diagnosis.isoformat()}"
    fact = FactInput("case", diagnosed_at, None, {"status": status}, key)
    return write_facts(bind, [(person_id, fact)], recorded_by=by, now=now)


def record_discharge(
    bind: Bind,
    person_id: int,
    *,
    at: datetime,
    by: str,
    client_event_id: str | None = None,
    now: datetime | None = None,
) -> Written:
    """Discharge the person's case (出院/解除隔离) at ``at``: the ``discharge`` fact ends the
    latest case still open then, and the pack's discharged-case rule (home health
    monitoring) starts. Resending the same discharge changes nothing; a person with no
    case open at ``at`` is refused (``fact.invalid``)."""
    key = client_event_id or f"discharge-{person_id}-{at.astimezone(UTC).isoformat()}"
    fact = FactInput("discharge", at, None, {}, key[:_KEY_LENGTH])
    check_input(fact)
    with write_transaction(bind) as conn:
        prior = conn.execute(
            select(person_facts.c.person_id).where(
                person_facts.c.client_event_id == fact.client_event_id
            )
        ).first()
        if prior is None:
            _require_open_case(conn, person_id, at)
        return write_facts(conn, [(person_id, fact)], recorded_by=by, now=now)


def _require_open_case(conn: Connection, person_id: int, at: datetime) -> None:
    if conn.execute(select(persons.c.id).where(persons.c.id == person_id)).first() is None:
        raise PersonUnknown(
            Problem("code.person_unknown", f"无此人员（{person_id}）", f"no person {person_id}")
        )
    rows = conn.execute(
        select(person_facts.c.id, person_facts.c.kind, person_facts.c.starts_at,
               person_facts.c.ends_at, person_facts.c.detail)
        .where(person_facts.c.person_id == person_id, person_facts.c.voided_at.is_(None),
               person_facts.c.kind.in_(["case", "discharge"]))
    ).all()  # fmt: skip
    cases = facts_from_rows(FactRow(r.id, r.kind, r.starts_at, r.ends_at, r.detail) for r in rows)
    if not any(c.diagnosed_at <= at and c.discharged_at is None for c in cases.cases):
        raise invalid(
            f"人员 {person_id} 在 {at.isoformat()} 没有未出院的病例，无法登记出院",
            f"person {person_id} has no open case at {at.isoformat()} to discharge",
        )


# ---- voiding (作废) ---------------------------------------------------------------------------


def void_facts(
    bind: Bind, fact_ids: Sequence[int], *, reason: str, now: datetime | None = None
) -> tuple[int, ...]:
    """Void facts (kept, marked, no longer read by the rules); their persons' codes are due
    for re-explanation at once. Returns the persons concerned (sorted)."""
    now = _now(now)
    if not reason.strip():
        raise invalid("请说明作废理由", "give a reason for voiding")
    ids = sorted(set(fact_ids))
    people: set[int] = set()
    with write_transaction(bind) as conn:
        for i in range(0, len(ids), _CHUNK):
            part = ids[i : i + _CHUNK]
            people.update(
                int(p)
                for p in conn.execute(
                    update(person_facts)
                    .where(person_facts.c.id.in_(part), person_facts.c.voided_at.is_(None))
                    .values(voided_at=now, void_reason=reason)
                    .returning(person_facts.c.person_id)
                ).scalars()
            )
        done = sorted(people)
        for i in range(0, len(done), _CHUNK):
            # the row count does not move when a fact is voided: make the code due instead
            conn.execute(
                update(health_codes)
                .where(health_codes.c.person_id.in_(done[i : i + _CHUNK]))
                .values(review_at=health_codes.c.evaluated_at)
            )
    return tuple(done)


# ---- which negatives are worth storing -------------------------------------------------------


# Fact kinds whose rules read negative results: a managed period ends with a negative
# after its release day (exposures, arrivals, a discharge), a test clearance needs
# negatives (companions, low-risk arrivals), a fever-clinic visit is cleared by one. A
# positive test is cleared by an individual negative too: those are the retests the
# caller says a negative ``settles``. Residence, periods, cases, enrolment and manual
# decisions never read a negative.
READS_NEGATIVES = ("close_contact", "contact_of_contact", "companion", "arrival", "discharge",
                   "clinic_visit")  # fmt: skip


def negative_matters(person_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL: a negative result can change this person's code — they have a fact one of whose
    rules reads negatives (``READS_NEGATIVES``). For anyone else a negative changes
    nothing the rules read, so it need not be stored (a sampling for required testing is
    already a fact: ``sample_matters``)."""
    other = person_facts.alias("other")
    return person_id.in_(
        select(other.c.person_id).where(
            other.c.kind.in_(READS_NEGATIVES), other.c.voided_at.is_(None)
        )
    )


def sample_matters(conn: Connection, person_ids: Sequence[int]) -> set[int]:
    """Of these persons, those for whom being sampled changes the code at once: members of
    a testing group (an ``enrolment`` fact; required testing counts samples, 应检未检). A
    sample of anyone else is not a fact until its result is one worth storing."""
    found: set[int] = set()
    ids = sorted({int(p) for p in person_ids})
    for i in range(0, len(ids), 5_000):
        found.update(int(r[0]) for r in _ENROLLED.rows(conn, ids[i : i + 5_000]))
    return found


_ENROLLED = InSelect(  # built once: asked for every batch of samples
    lambda v: (
        select(person_facts.c.person_id)
        .where(
            person_facts.c.person_id.in_(v),
            person_facts.c.kind == "enrolment",
            person_facts.c.voided_at.is_(None),
        )
        .distinct()
    )
)


def negative_worth_storing(
    person_id: ColumnElement[Any], *, settles: ColumnElement[bool]
) -> ColumnElement[bool]:
    """SQL: store this negative result — it ``settles`` something the caller tracks (an
    individual retest ordered after a positive pool), or it can change the code
    (``negative_matters``)."""
    return sa.or_(settles, negative_matters(person_id))
