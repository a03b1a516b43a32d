"""Timeliness (及时性, 四早) and tasks kept on time, per county, from stored timestamps.

Every measure of ``model.MEASURES`` runs from one timestamp recorded when a thing
happened to another (docs/command.md, "Accountability and timeliness"); nothing typed
in afterwards is read. One set-based query per measure picks the events whose start falls
in the period, each with its county (the unit it is counted against) and its end (None:
not done yet); Python then sorts each into *on time*, *late*, *not yet done* (still within
the target) or *overdue* (past the target, not done), and takes the median hours of the
done ones. Counties are summed into their city and province from the same events (a
median does not add up; its events do).

=====================  ===============================================  =====================
measure                start                                            end
=====================  ===============================================  =====================
case_reported          first positive result (``testing_results``       ``tracing_cases.
                       .tested_at``) of the person's tubes; a person     registered_at``
                       with no case counts only for a single tube
case_verified          ``tracing_cases.registered_at``                  ``verified_at``
on_site                ``tracing_cases.registered_at``                  ``on_site_at``
core_facts             ``tracing_cases.registered_at``                  ``core_facts_at``, else
                                                                         ``traced_at`` (proxy)
report                 ``tracing_cases.registered_at``                  ``report_at``
contacts_controlled    ``tracing_contacts.identified_at`` (close)        first placement
                                                                         (centralised/home
                                                                         quarantine) in effect
                                                                         and recorded
area_testing           ``testing_campaigns.starts_at``                  ``closed_at``, else the
                                                                         last tube's first result
                                                                         once every tube has one
=====================  ===============================================  =====================

The ends of ``case_verified``, ``on_site``, ``core_facts`` and ``report`` are the steps of
the investigation, stamped by the system clock when a tracer records them
(``fangkong.tracing.steps``); a case whose core facts were never recorded falls back on its
first tracing run.

Tasks (``command_tasks``) whose deadline falls in the period are counted against their
``origin_region_code`` (the unit first set to it) and ``role``, and that unit's county:
*on time* (done by the deadline), *late* (done after), *open overdue* (still open past it),
*open* (not due yet), *cancelled*; *missed* = late + open overdue (``model.is_missed``); the
median delay is over late and open-overdue tasks (``closed_at`` or now, minus the deadline).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    Connection,
    Select,
    and_,
    case,
    func,
    or_,
    select,
)

from fangkong.command.model import MEASURES, OPEN_STATUSES
from fangkong.command.tables import command_tasks
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.regions import subtrees
from fangkong.store.schema import persons, regions
from fangkong.testing.tables import campaigns, results, tube_members, tubes
from fangkong.tracing.tables import tracing_cases, tracing_contacts

DEFAULT_DAYS = 14
# placements that put a close contact under control (居家医学观察 does not)
CONTROL_KINDS = ("centralised", "home_quarantine")
_HOUR = 3600.0


@dataclass(frozen=True)
class Period:
    """Local days ``first`` .. ``last`` (inclusive), as UTC instants [lo, hi)."""

    first: date
    last: date
    lo: datetime
    hi: datetime

    @classmethod
    def of(cls, last: date, days: int, tz: ZoneInfo) -> Period:
        first = last - timedelta(days=days - 1)
        lo = datetime.combine(first, time(0), tz)
        hi = datetime.combine(last + timedelta(days=1), time(0), tz)
        return cls(first, last, lo, hi)


@dataclass(frozen=True)
class Event:
    """One event of a measure: its county, start and end (None: not done)."""

    unit: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class TaskRow:
    id: int
    kind: str
    unit: str  # the county it is counted against
    origin: str  # origin_region_code
    role: str | None
    status: str
    deadline_at: datetime
    closed_at: datetime | None
    region_code: str  # owes it now (after escalation)


@dataclass(frozen=True)
class MeasureStat:
    key: str
    target_hours: float
    events: int = 0
    on_time: int = 0
    late: int = 0
    pending: int = 0  # not done yet, still within the target
    overdue: int = 0  # not done, past the target
    median_hours: float | None = None

    @property
    def decided(self) -> int:
        """Events whose outcome is known: on time, late or overdue."""
        return self.on_time + self.late + self.overdue

    @property
    def share(self) -> float | None:
        return self.on_time / self.decided if self.decided else None


@dataclass(frozen=True)
class TaskStat:
    total: int = 0
    on_time: int = 0
    late: int = 0
    open_overdue: int = 0
    open: int = 0  # not due yet
    cancelled: int = 0
    median_delay_hours: float | None = None

    @property
    def missed(self) -> int:
        return self.late + self.open_overdue

    @property
    def decided(self) -> int:
        return self.on_time + self.missed

    @property
    def share(self) -> float | None:
        return self.on_time / self.decided if self.decided else None


@dataclass(frozen=True)
class RegionTimeliness:
    """A county (or a city / province summing its counties): measures and tasks."""

    code: str
    name: str
    level: str
    measures: Mapping[str, MeasureStat]
    tasks: TaskStat


@dataclass(frozen=True)
class UnitTasks:
    """Tasks of one responsible unit: a region and a role (None: the unit as a whole)."""

    region_code: str
    region_name: str
    role: str | None
    county: str
    tasks: TaskStat


@dataclass(frozen=True)
class Timeliness:
    region_code: str
    period: Period
    now: datetime
    targets: Mapping[str, float]
    counties: Sequence[RegionTimeliness]
    rollups: Sequence[RegionTimeliness]  # cities and the province above the counties
    units: Sequence[UnitTasks]
    events: Mapping[str, Sequence[Event]] = field(repr=False)  # measure -> events
    tasks: Sequence[TaskRow] = field(repr=False)


# ---- the county of each region ------------------------------------------------------


def county_codes(conn: Connection, region_code: str) -> list[str]:
    """The counting units under ``region_code``: its counties, or the region itself when
    it lies at or below a county."""
    row = conn.execute(select(regions.c.level).where(regions.c.code == region_code)).first()
    if row is None:
        return []
    if row.level in ("county", "township", "community", "compound"):
        return [region_code]
    tree = (
        select(regions.c.code, regions.c.level)
        .where(regions.c.code == region_code)
        .cte("under", recursive=True)
    )
    tree = tree.union_all(
        select(regions.c.code, regions.c.level)
        .where(regions.c.parent_code == tree.c.code)
        .where(tree.c.level.in_(("province", "city")))
    )
    codes = conn.execute(select(tree.c.code).where(tree.c.level == "county")).scalars()
    return sorted(str(c) for c in codes)


def unit_map(units: Sequence[str]) -> CTE:
    """(code, unit): every region at or below one of ``units``, with that unit."""
    return subtrees(units, label="unit", name="unit_map")


# ---- the events of each measure (set-based) ------------------------------------------


def _case_reported(m: CTE, p: Period) -> Select[Any]:
    single = case((tubes.c.pool_size == 1, 1), else_=0)
    pos = (
        select(
            tube_members.c.person_id,
            func.min(results.c.tested_at).label("first"),
            func.max(single).label("single"),
        )
        .select_from(results.join(tubes, tubes.c.id == results.c.tube_id))
        .join(tube_members, tube_members.c.tube_id == tubes.c.id)
        .where(results.c.outcome == "positive", results.c.tested_at < p.hi)
        .group_by(tube_members.c.person_id)
        .subquery("pos")
    )
    return (
        select(m.c.unit, pos.c.first.label("start"), tracing_cases.c.registered_at.label("end"))
        .select_from(pos.join(persons, persons.c.id == pos.c.person_id))
        .join(m, m.c.code == persons.c.residence_code)
        .outerjoin(tracing_cases, tracing_cases.c.person_id == pos.c.person_id)
        .where(pos.c.first >= p.lo, pos.c.first < p.hi)
        .where(or_(tracing_cases.c.id.is_not(None), pos.c.single == 1))
    )


def _case_step(end: Any) -> Callable[[CTE, Period], Select[Any]]:
    """A step of the investigation: from the case's report to ``end`` (a column of
    ``tracing_cases``, or an expression over them)."""

    def query(m: CTE, p: Period) -> Select[Any]:
        c = tracing_cases.c
        return (
            select(m.c.unit, c.registered_at.label("start"), end.label("end"))
            .select_from(tracing_cases.join(persons, persons.c.id == c.person_id))
            .join(m, m.c.code == persons.c.residence_code)
            .where(c.registered_at >= p.lo, c.registered_at < p.hi)
        )

    return query


_c = tracing_cases.c
# measure -> the query of its events; core facts fall back on the first tracing run
_QUERIES: dict[str, Callable[[CTE, Period], Select[Any]]] = {
    "case_verified": _case_step(_c.verified_at),
    "on_site": _case_step(_c.on_site_at),
    "core_facts": _case_step(func.coalesce(_c.core_facts_at, _c.traced_at)),
    "report": _case_step(_c.report_at),
}


def _contacts_controlled(m: CTE, p: Period) -> Select[Any]:
    c, q = tracing_contacts.c, quarantine_placements.c
    # under control once the placement is both in effect and recorded
    effective = case((q.starts_at > q.created_at, q.starts_at), else_=q.created_at)
    return (
        select(m.c.unit, c.identified_at.label("start"), func.min(effective).label("end"))
        .select_from(tracing_contacts.join(persons, persons.c.id == c.person_id))
        .join(m, m.c.code == persons.c.residence_code)
        .outerjoin(
            quarantine_placements,
            and_(
                q.person_id == c.person_id,
                q.kind.in_(CONTROL_KINDS),
                or_(q.ended_at.is_(None), q.ended_at > c.identified_at),
            ),
        )
        .where(c.kind == "close", c.identified_at >= p.lo, c.identified_at < p.hi)
        .group_by(c.id, m.c.unit, c.identified_at)
    )


def _area_testing(m: CTE, p: Period) -> Select[Any]:
    k = campaigns.c
    in_period = select(k.id).where(k.starts_at >= p.lo, k.starts_at < p.hi)
    their_tubes = select(tubes.c.id).where(tubes.c.campaign_id.in_(in_period))
    first_result = (  # only the tubes of the period's campaigns: results are many
        select(results.c.tube_id, func.min(results.c.tested_at).label("at"))
        .where(results.c.tube_id.in_(their_tubes))
        .group_by(results.c.tube_id)
        .subquery("first_result")
    )
    return (
        select(
            m.c.unit,
            k.starts_at.label("start"),
            k.closed_at,
            func.max(first_result.c.at).label("last"),
            func.count(tubes.c.id).label("tubes"),
            func.count(first_result.c.at).label("done"),
        )
        .select_from(campaigns.join(m, m.c.code == k.region_code))
        .outerjoin(tubes, tubes.c.campaign_id == k.id)
        .outerjoin(first_result, first_result.c.tube_id == tubes.c.id)
        .where(k.starts_at >= p.lo, k.starts_at < p.hi)
        .group_by(k.id, m.c.unit, k.starts_at, k.closed_at)
    )


def measure_events(conn: Connection, units: Sequence[str], p: Period) -> dict[str, list[Event]]:
    """The events of every measure in ``p``, each with its county."""
    out: dict[str, list[Event]] = {m.key: [] for m in MEASURES}
    if not units:
        return out
    m = unit_map(units)
    queries = {"case_reported": _case_reported, **_QUERIES,
               "contacts_controlled": _contacts_controlled}  # fmt: skip
    for key, query in queries.items():
        out[key] = [Event(str(r.unit), r.start, r.end) for r in conn.execute(query(m, p))]
    for r in conn.execute(_area_testing(m, p)):
        end = r.closed_at
        if end is None and r.tubes and r.done == r.tubes:
            end = r.last
        out["area_testing"].append(Event(str(r.unit), r.start, end))
    return out


def task_rows(conn: Connection, units: Sequence[str], p: Period) -> list[TaskRow]:
    """Tasks whose deadline falls in ``p``, counted against their origin's county."""
    t = command_tasks.c
    return _tasks(conn, units, (t.deadline_at >= p.lo) & (t.deadline_at < p.hi))


def overdue_tasks(conn: Connection, units: Sequence[str], now: datetime) -> list[TaskRow]:
    """Tasks still open past their deadline at ``now``, whenever it fell (the gap list)."""
    t = command_tasks.c
    return _tasks(conn, units, t.status.in_(OPEN_STATUSES) & (t.deadline_at < now))


def _tasks(conn: Connection, units: Sequence[str], where: Any) -> list[TaskRow]:
    if not units:
        return []
    m = unit_map(units)
    t = command_tasks.c
    rows = conn.execute(
        select(t.id, t.kind, m.c.unit, t.origin_region_code, t.role, t.status,
               t.deadline_at, t.closed_at, t.region_code)
        .select_from(command_tasks.join(m, m.c.code == t.origin_region_code))
        .where(where)
        .order_by(t.id)
    )  # fmt: skip
    return [TaskRow(*r) for r in rows]


# ---- sorting events (pure) --------------------------------------------------------------


def hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / _HOUR


def event_outcome(e: Event, target: float, now: datetime) -> tuple[str, float]:
    """(on_time | late | pending | overdue, hours): the delay when done, else hours so far.
    An end after ``now`` has not happened yet on the business clock."""
    if e.end is not None and e.end <= now:
        delay = max(0.0, hours(e.start, e.end))
        return ("on_time" if delay <= target else "late"), delay
    waited = max(0.0, hours(e.start, now))
    return ("overdue" if waited > target else "pending"), waited


def measure_stat(key: str, target: float, events: Iterable[Event], now: datetime) -> MeasureStat:
    counts: dict[str, int] = defaultdict(int)
    delays: list[float] = []
    for e in events:
        outcome, h = event_outcome(e, target, now)
        counts[outcome] += 1
        if outcome in ("on_time", "late"):
            delays.append(h)
    return MeasureStat(
        key, target, sum(counts.values()), counts["on_time"], counts["late"],
        counts["pending"], counts["overdue"], _median(delays),
    )  # fmt: skip


def task_outcome(t: TaskRow, now: datetime) -> tuple[str, float | None]:
    """(on_time | late | open_overdue | open | cancelled, delay hours past the deadline)."""
    if t.status == "cancelled":
        return "cancelled", None
    if t.status == "done":
        closed = t.closed_at if t.closed_at is not None else t.deadline_at
        if closed <= t.deadline_at:
            return "on_time", None
        return "late", hours(t.deadline_at, closed)
    if t.status in OPEN_STATUSES and now > t.deadline_at:
        return "open_overdue", hours(t.deadline_at, now)
    return "open", None


def task_stat(rows: Iterable[TaskRow], now: datetime) -> TaskStat:
    counts: dict[str, int] = defaultdict(int)
    delays: list[float] = []
    for t in rows:
        outcome, delay = task_outcome(t, now)
        counts[outcome] += 1
        if delay is not None:
            delays.append(delay)
    return TaskStat(
        sum(counts.values()), counts["on_time"], counts["late"], counts["open_overdue"],
        counts["open"], counts["cancelled"], _median(delays),
    )  # fmt: skip


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


# ---- the report ---------------------------------------------------------------------------


def timeliness(
    conn: Connection,
    region_code: str,
    targets: Mapping[str, float],
    *,
    now: datetime,
    tz: ZoneInfo,
    days: int = DEFAULT_DAYS,
    last: date | None = None,
) -> Timeliness:
    """Measures and tasks per county under ``region_code`` (summed into its cities and
    province) for the ``days`` local days ending ``last`` (default: ``now``'s day)."""
    p = Period.of(last or now.astimezone(tz).date(), days, tz)
    units = county_codes(conn, region_code)
    events = measure_events(conn, units, p)
    tasks = task_rows(conn, units, p)
    info = _region_info(conn, units)

    def stats(members: set[str]) -> tuple[dict[str, MeasureStat], TaskStat]:
        ms = {
            m.key: measure_stat(
                m.key, targets[m.key], (e for e in events.get(m.key, ()) if e.unit in members), now
            )
            for m in MEASURES
        }
        return ms, task_stat((t for t in tasks if t.unit in members), now)

    counties = []
    for u in units:
        ms, ts = stats({u})
        counties.append(RegionTimeliness(u, info[u][0], info[u][1], ms, ts))
    above: dict[str, set[str]] = defaultdict(set)
    for u in units:
        for a in _ancestors(u, info, region_code):
            above[a].add(u)
    rollups = []
    for a, members in sorted(above.items(), key=lambda kv: (_LEVELS.index(info[kv[0]][1]), kv[0])):
        ms, ts = stats(members)
        rollups.append(RegionTimeliness(a, info[a][0], info[a][1], ms, ts))
    by_unit: dict[tuple[str, str | None, str], list[TaskRow]] = defaultdict(list)
    for t in tasks:
        by_unit[(t.origin, t.role, t.unit)].append(t)
    names = _names(conn, {k[0] for k in by_unit})
    unit_stats = [
        UnitTasks(o, names.get(o, o), role, county, task_stat(rows, now))
        for (o, role, county), rows in sorted(by_unit.items(),
                                              key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]  # fmt: skip
    return Timeliness(region_code, p, now, dict(targets), counties, rollups, unit_stats,
                      events, tasks)  # fmt: skip


_LEVELS = ("province", "city", "county", "township", "community", "compound")


def _region_info(conn: Connection, units: Sequence[str]) -> dict[str, tuple[str, str, str | None]]:
    """code -> (name, level, parent) of the units and every region above them."""
    r = regions.c
    out: dict[str, tuple[str, str, str | None]] = {}
    rows = conn.execute(
        select(r.code, r.name, r.level, r.parent_code).where(
            or_(r.code.in_(list(units)), r.level.in_(("province", "city")))
        )
    )
    for code, name, level, parent in rows:
        out[str(code)] = (str(name), str(level), parent)
    return out


def _ancestors(code: str, info: Mapping[str, tuple[str, str, str | None]], root: str) -> list[str]:
    """The regions above county ``code`` up to ``root`` (``root`` included when above)."""
    out: list[str] = []
    if code == root:
        return out
    parent = info[code][2]
    while parent is not None and parent in info:
        out.append(parent)
        if parent == root:
            break
        parent = info[parent][2]
    return out


def _names(conn: Connection, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = conn.execute(select(regions.c.code, regions.c.name).where(regions.c.code.in_(codes)))
    return {str(c): str(n) for c, n in rows}


__all__ = [
    "DEFAULT_DAYS",
    "Event",
    "MeasureStat",
    "Period",
    "RegionTimeliness",
    "TaskRow",
    "TaskStat",
    "Timeliness",
    "UnitTasks",
    "county_codes",
    "event_outcome",
    "measure_events",
    "measure_stat",
    "overdue_tasks",
    "task_outcome",
    "task_rows",
    "task_stat",
    "timeliness",
]
