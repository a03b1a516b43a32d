"""Resolve posted results: retests, result facts, cases — set-based, safe to run again.

For every result batch not yet resolved::

    tubes whose outcome the pack retests → an individual retest order per member
    result facts for members through healthcode's writer (every non-negative;
    negatives only where ``healthcode.writer.negative_worth_storing``: a retest,
    or a code a negative can change) → codes (``positive_pool``,
    ``positive_screen``; a negative individual retest clears them)
    an individual positive (a single tube) → the person is registered as a case
    (tracing); only pools are retested
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, String, select, update

from fangkong.healthcode.codes import evaluate_person
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.writer import FactQuery, negative_worth_storing, write_fact_query
from fangkong.settings import default_tz
from fangkong.store.tx import write_transaction
from fangkong.testing._common import _now
from fangkong.testing.rules import TestingRules
from fangkong.testing.tables import batches, orders, results, tube_members, tubes

_RECODE_ONE_BY_ONE = 2_000  # more persons than this: one bulk recompute instead


@dataclass(frozen=True)
class ResolveOutcome:
    batches: int
    results: int
    retests_ordered: int
    facts: int
    cases: tuple[int, ...]  # persons registered as cases
    codes_changed: int = 0


def _text(expr: sa.ColumnElement[object]) -> sa.ColumnElement[str]:
    return sa.cast(expr, String)


def resolve(
    engine: Engine,
    rules: TestingRules,
    *,
    codes: CodeContext | None = None,
    tz: ZoneInfo | None = None,
    by: str = "testing",
    at: datetime | None = None,
    contact_rules: object | None = None,
) -> ResolveOutcome:
    """Act on every result batch not yet resolved (set-based; safe to run again)."""
    at = _now(at)
    with write_transaction(engine) as conn:
        pending = select(batches.c.id).where(batches.c.resolved_at.is_(None)).scalar_subquery()
        todo = conn.execute(
            select(sa.func.count()).select_from(batches).where(batches.c.resolved_at.is_(None))
        ).scalar_one()
        if not todo:
            return ResolveOutcome(0, 0, 0, 0, ())
        n_results = conn.execute(
            select(sa.func.count()).select_from(results).where(results.c.batch_id.in_(pending))
        ).scalar_one()
        ordered = _order_retests(conn, rules, pending, at)
        facts, touched = _result_facts(conn, rules, pending, at, by)
        cases = _cases(conn, pending, contact_rules, tz or default_tz(), by, at)
        conn.execute(update(batches).where(batches.c.resolved_at.is_(None)).values(resolved_at=at))
        changed = 0
        if codes is not None and len(touched) <= _RECODE_ONE_BY_ONE:
            for p in sorted(touched):
                evaluate_person(conn, codes, p, at=at, trigger="testing:result")
            changed = len(touched)
    if codes is not None and len(touched) > _RECODE_ONE_BY_ONE:
        changed = recompute_all(engine, codes, at, trigger="testing:result").changed
    return ResolveOutcome(int(todo), int(n_results), ordered, facts, tuple(cases), changed)


def _order_retests(
    conn: Connection, rules: TestingRules, pending: sa.ScalarSelect[int], at: datetime
) -> int:
    r, t, m, o = results.c, tubes.c, tube_members.c, orders.c
    if not rules.retest_on:
        return 0
    key = sa.literal("retest:") + _text(r.id) + sa.literal(":") + _text(m.person_id)
    confirmed = sa.and_(t.pool_size == 1, r.outcome == "positive")  # a case, not a retest
    query = (
        select(
            m.person_id,
            sa.literal("retest"),
            sa.literal(at, orders.c.due_from.type),
            sa.literal(at + timedelta(hours=rules.retest_due_hours), orders.c.due_by.type),
            sa.literal("open"),
            key,
            sa.true(),
            r.id,
            sa.literal(at, orders.c.created_at.type),
        )
        .select_from(results.join(tubes, t.id == r.tube_id).join(tube_members, m.tube_id == t.id))
        .where(
            r.batch_id.in_(pending),
            r.outcome.in_(sorted(rules.retest_on)),
            ~confirmed,
            ~sa.exists().where(o.source_key == key),
        )
    )
    cols = [
        "person_id",
        "reason",
        "due_from",
        "due_by",
        "status",
        "source_key",
        "single_tube",
        "result_id",
        "created_at",
    ]
    return int(
        conn.execute(
            orders.insert().from_select(cols, query).execution_options(preserve_rowcount=True)
        ).rowcount
    )


def _result_facts(
    conn: Connection, rules: TestingRules, pending: sa.ScalarSelect[int], at: datetime, by: str
) -> tuple[int, set[int]]:
    r, t, m = results.c, tubes.c, tube_members.c
    total = 0
    touched: set[int] = set()
    base = results.join(tubes, t.id == r.tube_id).join(tube_members, m.tube_id == t.id)
    for outcome in ("negative", "positive", "inconclusive"):
        fact = rules.fact_result(outcome)
        if fact is None:
            continue
        where = [r.batch_id.in_(pending), r.outcome == outcome]
        if outcome == "negative":
            # healthcode's rule: stored only where it can change a code or settles a retest
            where.append(negative_worth_storing(m.person_id, settles=t.purpose == "retest"))
        written = write_fact_query(
            conn,
            FactQuery(
                kind="test",
                source=base,
                where=where,
                person_id=m.person_id,
                starts_at=t.collected_at,
                client_event_id=sa.literal("result-") + _text(r.id) + sa.literal("-")
                + _text(m.person_id),
                detail={"result": fact, "reported_at": at.isoformat(), "pooled": t.pool_size > 1,
                        "sample_id": t.barcode},
            ),
            recorded_by=by,
            now=at,
        )  # fmt: skip
        total += written.facts
        touched.update(written.persons)
    return total, touched


def _cases(
    conn: Connection,
    pending: sa.ScalarSelect[int],
    contact_rules: object | None,
    tz: ZoneInfo,
    by: str,
    at: datetime,
) -> list[int]:
    """An individual positive (a single tube: a retest, a fever-clinic or scheduled test):
    the person becomes a case (登记病例) so tracing and isolation follow. Members of a
    positive pool are not cases: they are retested singly (``_order_retests``). A person
    already registered is not registered again (a case's own later tests change nothing)."""
    from fangkong.tracing.tables import tracing_cases

    r, t, m = results.c, tubes.c, tube_members.c
    rows = conn.execute(
        select(m.person_id, sa.func.min(t.collected_at))
        .select_from(results.join(tubes, t.id == r.tube_id).join(tube_members, m.tube_id == t.id))
        .where(
            r.batch_id.in_(pending),
            t.pool_size == 1,
            r.outcome == "positive",
            ~m.person_id.in_(select(tracing_cases.c.person_id)),
        )
        .group_by(m.person_id)
    ).all()
    if not rows or contact_rules is None:
        return [int(p) for p, _ in rows]
    from fangkong.tracing.cases import register_case
    from fangkong.tracing.rules import ContactRules

    assert isinstance(contact_rules, ContactRules)  # noqa: S101 - typed at the callers
    for person, sampled in rows:
        register_case(
            conn,
            int(person),
            contact_rules,
            sampled=sampled.astimezone(tz).date(),
            tz=tz,
            by=by,
            at=at,
        )
    return [int(p) for p, _ in rows]


__all__ = [
    "ResolveOutcome",
    "resolve",
]
