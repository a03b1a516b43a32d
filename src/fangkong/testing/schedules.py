"""Test schedules (检测频次): orders for people under management, key groups, missed tests.

Where orders come from (every number from the pack)::

    person_facts close_contact / contact_of_contact / arrival (risk)   [quarantine] test days
        └─ day N of the management = [anchor + (N-1)·24 h, anchor + N·24 h)  (anchor: the
           last exposure or the arrival, as the health-code rules count it); home-monitoring
           days follow the first period; low-risk arrivals: ``tests`` tests within
           ``within_days`` days, each at least ``gap_hours`` after the one before
    persons.occupation in [testing] key_staff_daily / twice_weekly
        └─ one order per interval of their healthcode.testing_groups entry (24 h, 84 h),
           windows counted from Monday 00:00 local time; the person is enrolled in the group
           (an ``enrolment`` fact), so a missed test turns the code yellow by the
           ``required_testing`` rule (应检未检)

Orders are made ``horizon_hours`` ahead and keyed (``source_key``): making them again
changes nothing. ``flag_missed`` closes open orders whose window has passed as missed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Connection, select, update

from fangkong.errors import NotFound, Problem
from fangkong.healthcode.tables import person_facts
from fangkong.healthcode.writer import FactInput, write_facts
from fangkong.settings import default_tz
from fangkong.store.schema import persons
from fangkong.store.tx import write_transaction
from fangkong.store.upsert import stored_keys
from fangkong.testing._common import Bind, _now
from fangkong.testing.rules import Management, TestingRules
from fangkong.testing.samples import fulfil_orders
from fangkong.testing.tables import orders

DAY = timedelta(days=1)


@dataclass(frozen=True)
class PlannedOrder:
    person_id: int
    reason: str
    due_from: datetime
    due_by: datetime
    source_key: str
    single_tube: bool = False
    after: str | None = None  # source key of the order this one must follow
    gap_hours: int | None = None


def management_orders(
    person_id: int, fact: str, fact_id: int, anchor: datetime, m: Management
) -> list[PlannedOrder]:
    """Every order one management gives (pure): test days, home days, low-risk tests."""
    out = []
    for label, days, offset in (("day", m.test_days, 0), ("home", m.home_test_days, m.first_days)):
        for n in days:
            start = anchor + (offset + n - 1) * DAY
            out.append(  # people under management are sampled in single tubes [P]
                PlannedOrder(person_id, fact, start, start + DAY, f"{fact}:{fact_id}:{label}{n}",
                             single_tube=True)
            )  # fmt: skip
    prev: str | None = None
    for i in range(1, m.tests + 1):
        key = f"{fact}:{fact_id}:test{i}"
        gap = m.gap_hours if prev else None
        start = anchor + timedelta(hours=(i - 1) * m.gap_hours)
        out.append(
            PlannedOrder(
                person_id, fact, start, anchor + m.within_days * DAY, key, after=prev, gap_hours=gap
            )
        )
        prev = key
    return out


def group_windows(
    interval_hours: int, at: datetime, horizon_hours: int, tz: ZoneInfo
) -> Iterator[tuple[datetime, datetime]]:
    """The windows of a testing group from the one holding ``at`` to ``at + horizon``,
    counted from Monday 00:00 local time (daily: local days)."""
    local = at.astimezone(tz)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), tz)
    step = timedelta(hours=interval_hours)
    k = int((at - monday) // step)
    start = monday + k * step
    while start <= at + timedelta(hours=horizon_hours):
        yield start.astimezone(UTC), (start + step).astimezone(UTC)
        start += step


def _fact_key(kind: str, detail: object) -> str | None:
    if kind in ("close_contact", "contact_of_contact"):
        return kind
    if kind == "arrival" and isinstance(detail, dict):
        return f"arrival_{detail.get('risk')}"
    return None


@dataclass(frozen=True)
class ScheduleOutcome:
    created: int
    enrolled: int
    fulfilled: int


def schedule_orders(
    bind: Bind,
    rules: TestingRules,
    *,
    tz: ZoneInfo | None = None,
    by: str = "testing",
    at: datetime | None = None,
) -> ScheduleOutcome:
    """Make the orders due up to ``horizon_hours`` ahead; enrol key-group staff."""
    at = _now(at)
    tz = tz or default_tz()
    horizon = at + timedelta(hours=rules.horizon_hours)
    longest = max(
        (
            max((*m.test_days, 0)) + m.first_days + max((*m.home_test_days, 0)) + m.within_days
            for m in rules.managements.values()
        ),
        default=0,
    )
    planned: list[PlannedOrder] = []
    with write_transaction(bind) as conn:
        f = person_facts.c
        rows = conn.execute(
            select(f.id, f.person_id, f.kind, f.starts_at, f.detail).where(
                f.kind.in_(["close_contact", "contact_of_contact", "arrival"]),
                f.voided_at.is_(None),
                f.starts_at > at - (longest + 1) * DAY,
                f.starts_at <= at,
            )
        ).all()
        for r in rows:
            key = _fact_key(r.kind, r.detail)
            if key is None or key not in rules.managements:
                continue
            for o in management_orders(
                int(r.person_id), key, int(r.id), r.starts_at, rules.managements[key]
            ):
                if o.due_from <= horizon and o.due_by > at:  # a window already over: moot
                    planned.append(o)
        staff = conn.execute(
            select(persons.c.id, persons.c.occupation).where(
                persons.c.occupation.in_(sorted(rules.key_groups))
            )
        ).all()
        enrolled = _enrol(conn, [(int(p), rules.key_groups[o]) for p, o in staff], by, at)
        for person, occupation in staff:
            group = rules.key_groups[occupation]
            hours = rules.group_interval_hours[group]
            for start, end in group_windows(hours, at, rules.horizon_hours, tz):
                planned.append(
                    PlannedOrder(
                        int(person),
                        group,
                        start,
                        end,
                        f"{group}:{person}:{int(start.timestamp())}",
                        single_tube=rules.key_group_pool_size == 1,
                    )
                )
        created = _insert(conn, planned, at)
        done = fulfil_orders(conn, sorted({o.person_id for o in planned}), at=at)
    return ScheduleOutcome(created, enrolled, len(done))


def _enrol(conn: Connection, staff: Sequence[tuple[int, str]], by: str, at: datetime) -> int:
    """An enrolment fact per key-group member (once per group): the code rule then
    counts their samples (required_testing)."""
    facts = [
        (p, FactInput("enrolment", at, None, {"group": group}, f"enrol-{group}-{p}"))
        for p, group in staff
    ]
    return write_facts(conn, facts, recorded_by=by, now=at).facts


def _insert(conn: Connection, planned: Sequence[PlannedOrder], at: datetime) -> int:
    if not planned:
        return 0
    by_key = {o.source_key: o for o in planned}
    known = stored_keys(conn, orders, "source_key", list(by_key))
    fresh = [o for k, o in by_key.items() if k not in known]

    def row(o: PlannedOrder, prev: int | None) -> dict[str, object]:
        return {
            "person_id": o.person_id, "reason": o.reason, "due_from": o.due_from,
            "due_by": o.due_by, "status": "open", "source_key": o.source_key,
            "single_tube": o.single_tube, "prev_order_id": prev, "gap_hours": o.gap_hours,
            "created_at": at,
        }  # fmt: skip

    alone = [o for o in fresh if o.after is None]
    if alone:  # one multi-row statement (most orders follow no other)
        conn.execute(orders.insert(), [row(o, None) for o in alone])
    ids: dict[str, int] = {}
    for o in sorted((o for o in fresh if o.after is not None), key=lambda o: o.due_from):
        assert o.after is not None  # noqa: S101 - filtered just above
        prev = (
            ids.get(o.after)
            or conn.execute(select(orders.c.id).where(orders.c.source_key == o.after)).scalar()
        )
        ids[o.source_key] = conn.execute(
            orders.insert().values(**row(o, prev)).returning(orders.c.id)
        ).scalar_one()
    return len(fresh)


def insert_orders(conn: Connection, planned: Sequence[PlannedOrder], *, at: datetime) -> int:
    """Write planned orders in the caller's transaction (keyed: a known ``source_key`` is
    skipped) and mark done those a sample already meets; returns how many were new."""
    created = _insert(conn, planned, at)
    fulfil_orders(conn, sorted({o.person_id for o in planned}), at=at)
    return created


def cancel_open_orders(
    conn: Connection, person_ids: Sequence[int], *, reason: str, at: datetime
) -> int:
    """Cancel the open orders made for ``reason`` of these persons, in the caller's
    transaction (a discharged case needs no more discharge tests). Returns how many."""
    if not person_ids:
        return 0
    o = orders.c
    return int(
        conn.execute(
            update(orders)
            .where(o.status == "open", o.reason == reason, o.person_id.in_(person_ids))
            .values(status="cancelled", closed_at=at)
        ).rowcount
    )


def flag_missed(bind: Bind, *, at: datetime | None = None) -> int:
    """Open orders whose window has ended: missed (应检未检). Returns how many."""
    at = _now(at)
    with write_transaction(bind) as conn:
        return int(
            conn.execute(
                update(orders)
                .where(orders.c.status == "open", orders.c.due_by < at)
                .values(status="missed", closed_at=at)
            ).rowcount
        )


@dataclass(frozen=True)
class OrderView:
    id: int
    person_id: int
    reason: str
    due_from: datetime
    due_by: datetime
    status: str
    single_tube: bool
    result_id: int | None
    tube_id: int | None


def orders_due(
    bind: Bind,
    *,
    at: datetime | None = None,
    person_ids: Sequence[int] | None = None,
    overdue: bool = False,
    status: str | None = "open",
    limit: int = 1000,
) -> list[OrderView]:
    """Orders due at ``at`` (open, window holding ``at``); ``overdue``: also windows
    already ended; ``status`` None: any status. Oldest first."""
    at = _now(at)
    o = orders.c
    query = select(orders).order_by(o.due_from, o.id).limit(limit)
    if status is not None:
        query = query.where(o.status == status)
    if status == "open":
        query = query.where(o.due_from <= at)
        if not overdue:
            query = query.where(o.due_by >= at)
    if person_ids is not None:
        query = query.where(o.person_id.in_(list(person_ids)))
    with write_transaction(bind) as conn:
        return [
            OrderView(
                r.id,
                r.person_id,
                r.reason,
                r.due_from,
                r.due_by,
                r.status,
                r.single_tube,
                r.result_id,
                r.tube_id,
            )
            for r in conn.execute(query)
        ]


def order_test(
    bind: Bind,
    person_id: int,
    reason: str,
    *,
    due_from: datetime,
    due_by: datetime,
    single_tube: bool = True,
    key: str | None = None,
    at: datetime | None = None,
) -> int:
    """Order one test (e.g. a landing test or a retest by hand); idempotent by ``key``."""
    at = _now(at)
    key = key or f"{reason}:{person_id}:{int(due_from.timestamp())}"
    with write_transaction(bind) as conn:
        if conn.execute(select(persons.c.id).where(persons.c.id == person_id)).first() is None:
            raise NotFound(
                Problem(
                    "testing.person_unknown", f"无此人员（{person_id}）", f"no person {person_id}"
                )
            )
        found = conn.execute(select(orders.c.id).where(orders.c.source_key == key)).scalar()
        if found is not None:
            return int(found)
        order_id = conn.execute(
            orders.insert()
            .values(
                person_id=person_id,
                reason=reason[:24],
                due_from=due_from,
                due_by=due_by,
                status="open",
                source_key=key[:80],
                single_tube=single_tube,
                created_at=at,
            )
            .returning(orders.c.id)
        ).scalar_one()
        fulfil_orders(conn, [person_id], at=at)
        return int(order_id)


def missed_counts(bind: Bind) -> dict[str, int]:
    """Missed orders by reason (for the board)."""
    with write_transaction(bind) as conn:
        return {
            str(r): int(n)
            for r, n in conn.execute(
                select(orders.c.reason, sa.func.count())
                .where(orders.c.status == "missed")
                .group_by(orders.c.reason)
            )
        }
