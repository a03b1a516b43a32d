"""The figures job (态势数据汇总): the board's numbers for one day, kept in ``command_figures``.

::

    raw tables ──(GROUP BY the row's own region: residence, facility, tube, team…)──▶
        counts per region code ──(add each to its region and every ancestor: regions.parent_code)──▶
        sums per region ──(shares and days left from their summed parts at each level)──▶
        command_figures (region × day × key), that day's rows replaced in one transaction

Every count is one set-based query grouped by region (no loop over persons); the only
Python loops are over regions, over the day's new cases (to tell where each was found)
and over active campaigns. Rows are kept for every region from the province down to
the townships (the board's drill-down), every key of ``model.FIGURES`` with zeros
written, so a board reads a complete set by primary key. The exact definition of each
key is in docs/command.md ("The board's figures").

``compute_figures(conn, rules, *, day, at)`` counts what stood at ``at`` (normally the
end of ``day``, or now when the day is still running); "new" counts are those of
``day`` (local, ``rules.tz``) up to ``at``. A day runs from just after its midnight to
the next midnight included — the province loop stamps a day's work at 24:00.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, delete, insert, select

from fangkong import bounds, clock
from fangkong.alerts.model import OPEN as ALERT_OPEN
from fangkong.alerts.tables import alerts
from fangkong.arrivals.tables import STAGES
from fangkong.arrivals.tables import travellers as arrivals_travellers
from fangkong.command.found_controlled import found_controlled
from fangkong.command.model import CAPACITY_KINDS, FIGURES, OPEN_STATUSES
from fangkong.command.tables import command_figures, command_tasks
from fangkong.errors import BadInput
from fangkong.healthcode.tables import health_codes
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import (
    quarantine_bookings,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.riskareas.service import next_lifts
from fangkong.riskareas.tables import (
    AREA_LEVELS,
    risk_areas,
)
from fangkong.store.schema import persons, regions
from fangkong.store.tx import Bind, write_transaction
from fangkong.testing.tables import campaigns, results, tube_members, tubes
from fangkong.tracing.tables import tracing_cases, tracing_contacts, tracing_exposures

__all__ = [
    "KEPT_LEVELS",
    "ContactStates",
    "FigureRules",
    "FiguresOutcome",
    "RegionTree",
    "compute_figures",
    "contact_states",
    "day_bounds",
    "load_tree",
    "run_figures",
]

# the levels the board drills through; lower levels are summed into them, not kept
KEPT_LEVELS = ("province", "city", "county", "township")
AWAITING = ("identified", "notified", "lost")  # under no management (quarantine.demand)
LATE_FLAGS = ("late", "lost")  # testing.flags: no receipt / no result in time
OPEN_STAGES = tuple(s for s in STAGES if s != "released")
_CHUNK = 5_000


@dataclass(frozen=True)
class FigureRules:
    """What the job reads from the pack, and the local time zone of a day."""

    tz: tzinfo
    placement_deadline_hours: float  # [quarantine.surge]
    contacts_have_deadline: bool  # close_contact among [quarantine.surge] deadline_groups
    placeable_statuses: tuple[str, ...]  # [quarantine.placement]: facilities taking guests
    window_days: int  # [quarantine.readiness]: intake averaged over
    seal_levels: tuple[str, ...]  # [risk_areas]: a case living there was under control
    risk_areas: RiskAreaRules  # [risk_areas.lifting]: days to the next lifting per level

    @classmethod
    def from_pack(cls, pack: Any, tz: tzinfo) -> FigureRules:
        q = QuarantineRules.from_pack(pack)
        areas = RiskAreaRules.from_pack(pack)
        return cls(
            tz,
            q.surge.placement_deadline_hours,
            "close_contact" in q.surge.deadline_groups,
            tuple(q.placement.placeable_statuses),
            q.readiness.window_days,
            tuple(areas.seal_levels),
            areas,
        )


@dataclass(frozen=True)
class FiguresOutcome:
    day: date
    at: datetime
    regions: int  # regions with rows written
    rows: int


@dataclass(frozen=True)
class RegionTree:
    """The regions as loaded once: parent and level by code."""

    parent: Mapping[str, str | None]
    level: Mapping[str, str]

    def ancestors(self, code: str) -> list[str]:
        """``code`` and every region above it (unknown codes: none)."""
        out: list[str] = []
        seen: set[str] = set()
        current: str | None = code
        while current is not None and current in self.parent and current not in seen:
            out.append(current)
            seen.add(current)
            current = self.parent[current]
        return out

    def children(self, code: str) -> list[str]:
        return sorted(c for c, p in self.parent.items() if p == code)


def load_tree(conn: Connection) -> RegionTree:
    rows = conn.execute(select(regions.c.code, regions.c.parent_code, regions.c.level)).all()
    return RegionTree({str(c): p for c, p, _ in rows}, {str(c): str(lv) for c, _, lv in rows})


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants of ``day``'s local midnight and the next one."""
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end


Counts = dict[str, dict[str, float]]  # key -> region code -> count


def compute_figures(
    conn: Connection, rules: FigureRules, *, day: date, at: datetime
) -> FiguresOutcome:
    """Fill ``command_figures`` for ``day`` as things stood at ``at`` (module docstring).
    Runs in the caller's transaction: the day's old rows go and the new ones come
    together."""
    start, end = day_bounds(day, rules.tz)
    cut = min(at, end)
    tree = load_tree(conn)
    raw: Counts = defaultdict(dict)
    for part in (
        _cases(conn, rules, tree, start, cut),
        _contacts(conn, rules, cut),
        _quarantine(conn, rules, cut),
        _risk_areas(conn, cut),
        _testing(conn, tree, start, cut),
        _arrivals(conn, cut),
        _codes(conn),
        _work(conn, start, end, cut),
    ):
        for key, by_region in part.items():
            raw[key].update(by_region)
    summed = {key: _roll_up(raw.get(key, {}), tree) for key in _additive_keys()}
    nearest = {key: _roll_up_min(by_region, tree)
               for key, by_region in _days_to_lift(conn, rules, cut).items()}  # fmt: skip
    kept = [c for c, lv in tree.level.items() if lv in KEPT_LEVELS]
    rows: list[dict[str, Any]] = []
    for code in sorted(kept):
        counted = {key: summed[key].get(code, 0.0) for key in summed}
        derived = _derived(counted)  # takes the hidden parts out of ``counted``
        values: dict[str, float | None] = {**counted, **derived}
        values.update({key: nearest[key].get(code) for key in LIFT_KEYS})
        rows.extend(
            {"region_code": code, "day": day, "key": key, "value": float(v), "computed_at": at}
            for key, v in values.items()
            if v is not None
        )
    conn.execute(delete(command_figures).where(command_figures.c.day == day))
    for i in range(0, len(rows), _CHUNK):
        conn.execute(insert(command_figures), rows[i : i + _CHUNK])
    return FiguresOutcome(day, at, len(kept), len(rows))


def run_figures(
    bind: Bind, rules: FigureRules, *, day: date | None = None, at: datetime | None = None
) -> FiguresOutcome:
    """The job as the CLI and the loop run it: ``day`` defaults to the system clock's
    local day, ``at`` to the end of that day or now, whichever is earlier."""
    now = clock.now()
    day = day if day is not None else clock.today(rules.tz)
    problem = bounds.sane_date_problem(day, "date", now=now)
    if problem is not None:
        raise BadInput(problem)
    at = at if at is not None else min(now, day_bounds(day, rules.tz)[1])
    with write_transaction(bind) as conn:
        return compute_figures(conn, rules, day=day, at=at)


DERIVED = ("testing.coverage", "quarantine.days_left")
# the nearest lifting per level: the least over the region's subtree, absent without an area
LIFT_KEYS = {"risk_areas.high_days_to_lift": "high", "risk_areas.medium_days_to_lift": "medium"}
# parts of derived figures that are summed but not shown
_FREE, _INTAKE = "_quarantine.free", "_quarantine.intake"


def _additive_keys() -> list[str]:
    return [f.key for f in FIGURES if f.key not in DERIVED and f.key not in LIFT_KEYS] + [
        _FREE,
        _INTAKE,
    ]


def _derived(values: dict[str, float]) -> dict[str, float | None]:
    """Shares and days left from the region's own summed parts; the hidden parts dropped."""
    free, intake = values.pop(_FREE), values.pop(_INTAKE)
    persons_n, tested = values["testing.campaign_persons"], values["testing.campaign_tested"]
    return {
        "testing.coverage": 100.0 * tested / persons_n if persons_n else None,
        "quarantine.days_left": free / intake if intake else None,
    }


def _roll_up(by_region: Mapping[str, float], tree: RegionTree) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for code, n in by_region.items():
        for up in tree.ancestors(code):
            out[up] += n
    return out


def _roll_up_min(by_region: Mapping[str, float], tree: RegionTree) -> dict[str, float]:
    out: dict[str, float] = {}
    for code, n in by_region.items():
        for up in tree.ancestors(code):
            out[up] = min(out.get(up, n), n)
    return out


def _grouped(conn: Connection, query: sa.Select[Any]) -> dict[str, float]:
    """A ``SELECT region, count … GROUP BY region`` as a dict (NULL regions dropped)."""
    return {str(r): float(n) for r, n in conn.execute(query) if r is not None}


# ---- cases ---------------------------------------------------------------------------


def _cases(
    conn: Connection, rules: FigureRules, tree: RegionTree, start: datetime, cut: datetime
) -> Counts:
    tc, p = tracing_cases.c, persons.c
    cumulative = _grouped(
        conn,
        select(p.residence_code, sa.func.count())
        .select_from(tracing_cases.join(persons, p.id == tc.person_id))
        .where(tc.registered_at <= cut)
        .group_by(p.residence_code),
    )
    new = conn.execute(
        select(tc.person_id, p.residence_code, p.household_code)
        .select_from(tracing_cases.join(persons, p.id == tc.person_id))
        .where(tc.registered_at > start, tc.registered_at <= cut)
    ).all()
    controlled = found_controlled(
        conn, rules.seal_levels, tree.ancestors, [(int(i), r, h) for i, r, h in new]
    )
    counts: Counts = {
        "cases.cumulative": cumulative,
        "cases.new": defaultdict(float),
        "cases.found_controlled": defaultdict(float),
        "cases.found_community": defaultdict(float),
    }
    for pid, region, _ in new:
        if region is None:
            continue
        counts["cases.new"][region] += 1
        where = "cases.found_controlled" if int(pid) in controlled else "cases.found_community"
        counts[where][region] += 1
    return counts


# ---- contacts --------------------------------------------------------------------------


def _in_force(cut: datetime) -> sa.ColumnElement[bool]:
    """A placement in force at ``cut``: started, not ended, not cancelled."""
    q = quarantine_placements.c
    return sa.and_(
        q.starts_at <= cut,
        sa.or_(q.ended_at.is_(None), q.ended_at > cut),
        q.status != "cancelled",
    )


@dataclass(frozen=True)
class ContactStates:
    """The board's definitions of a contact's state at ``cut``, as SQL conditions over
    ``tracing_contacts`` (and ``persons``): the figures job counts them by region, the
    case page (``tracing.management``) reads them per contact, so both say the same."""

    counted: sa.ColumnElement[bool]  # a close contact identified by then
    placed: sa.ColumnElement[bool]  # in centralised quarantine (a placement in force)
    home_order: sa.ColumnElement[bool]  # under a home-quarantine order
    awaiting: sa.ColumnElement[bool]  # under no management (identified, notified, lost)
    overdue: sa.ColumnElement[bool]  # awaiting past the placement deadline


def contact_states(rules: FigureRules, cut: datetime) -> ContactStates:
    c, q = tracing_contacts.c, quarantine_placements.c

    def placed(kind: str | None) -> sa.ColumnElement[bool]:
        inner = select(q.id).where(q.person_id == c.person_id, _in_force(cut))
        if kind is not None:
            inner = inner.where(q.kind == kind)
        return sa.exists(inner)

    awaiting = sa.and_(c.status.in_(AWAITING), ~placed(None))
    overdue: sa.ColumnElement[bool] = sa.false()
    if rules.contacts_have_deadline:
        e, k = tracing_exposures.c, tracing_cases.c
        first_report = (
            select(sa.func.min(k.registered_at))
            .select_from(tracing_exposures.join(tracing_cases, k.id == e.case_id))
            .where(e.contact_id == c.id, e.kind == c.kind)
            .scalar_subquery()
        )
        hours = timedelta(hours=rules.placement_deadline_hours)
        # the deadline counts from the first report behind the exposure, else identification
        overdue = sa.and_(awaiting, sa.func.coalesce(first_report, c.identified_at) < cut - hours)
    return ContactStates(
        sa.and_(c.kind == "close", c.identified_at <= cut),
        placed("centralised"),
        placed("home_quarantine"),
        awaiting,
        overdue,
    )


def _contacts(conn: Connection, rules: FigureRules, cut: datetime) -> Counts:
    c, p = tracing_contacts.c, persons.c
    states = contact_states(rules, cut)
    base = tracing_contacts.join(persons, p.id == c.person_id)

    def count(*where: sa.ColumnElement[bool]) -> dict[str, float]:
        return _grouped(
            conn,
            select(p.residence_code, sa.func.count())
            .select_from(base)
            .where(states.counted, *where)
            .group_by(p.residence_code),
        )

    return {
        "contacts.identified": count(),
        "contacts.placed": count(states.placed),
        "contacts.home_orders": count(states.home_order),
        "contacts.awaiting": count(states.awaiting),
        "contacts.overdue": count(states.overdue) if rules.contacts_have_deadline else {},
    }


# ---- quarantine --------------------------------------------------------------------------


# which facilities each capacity kind takes (model.CAPACITY_KINDS)
def _capacity(kind: str) -> sa.ColumnElement[bool]:
    f = quarantine_facilities.c
    if kind == "standby":
        return f.status.in_(["standby", "activating"])
    return sa.and_(f.kind == kind, f.status == "open")


def _quarantine(conn: Connection, rules: FigureRules, cut: datetime) -> Counts:
    f, rm, b = quarantine_facilities.c, quarantine_rooms.c, quarantine_bookings.c
    in_service = rm.state != "out_of_service"
    held = sa.exists(
        select(b.id).where(
            b.room_id == rm.id, b.booked_at <= cut, sa.or_(b.freed_at.is_(None), b.freed_at > cut)
        )
    )
    rooms = quarantine_rooms.join(quarantine_facilities, f.id == rm.facility_id)

    def count(*where: sa.ColumnElement[bool]) -> dict[str, float]:
        return _grouped(
            conn,
            select(f.region_code, sa.func.count())
            .select_from(rooms)
            .where(in_service, *where)
            .group_by(f.region_code),
        )

    out: Counts = {}
    for kind in CAPACITY_KINDS:
        out[f"quarantine.capacity_{kind}"] = count(_capacity(kind))
        out[f"quarantine.occupied_{kind}"] = count(_capacity(kind), held)
    # days left (readiness): free rooms taking guests now ÷ centralised intake per day
    out[_FREE] = count(f.status.in_(rules.placeable_statuses), ~held)
    q = quarantine_placements.c
    since = cut - timedelta(days=rules.window_days)
    intake = _grouped(
        conn,
        select(f.region_code, sa.func.count())
        .select_from(quarantine_placements.join(quarantine_facilities, f.id == q.facility_id))
        .where(q.kind == "centralised", q.starts_at > since, q.starts_at <= cut)
        .group_by(f.region_code),
    )
    out[_INTAKE] = {r: n / rules.window_days for r, n in intake.items()}
    return out


# ---- risk areas, testing, arrivals, codes, work ---------------------------------------------


def _risk_areas(conn: Connection, cut: datetime) -> Counts:
    a = risk_areas.c
    by_level: Counts = {f"risk_areas.{lv}": {} for lv in AREA_LEVELS}
    for region, level, n in conn.execute(
        select(a.region_code, a.level, sa.func.count())
        .where(a.designated_at <= cut)
        .group_by(a.region_code, a.level)
    ):
        by_level[f"risk_areas.{level}"][str(region)] = float(n)
    return by_level


def _days_to_lift(conn: Connection, rules: FigureRules, cut: datetime) -> Counts:
    """Per level the pack lifts, per area's region: the whole days from ``cut`` to the
    area's lifting if no new infection comes (``riskareas.service.next_lifts``, the lifting
    job's rule; a lift due but not yet applied counts 0), the least of the region's areas."""
    out: Counts = {key: {} for key in LIFT_KEYS}
    by_level = {level: key for key, level in LIFT_KEYS.items()}
    for lift in next_lifts(conn, rules.risk_areas, rules.tz, at=cut, designated_by=cut):
        key = by_level.get(lift.level)
        if key is None:
            continue
        days = max(0, math.ceil((lift.lift_at - cut) / timedelta(days=1)))
        here = out[key]
        here[lift.region_code] = min(here.get(lift.region_code, days), days)
    return out


def _testing(conn: Connection, tree: RegionTree, start: datetime, cut: datetime) -> Counts:
    """Campaigns running on the day: the residents of their areas (each person once,
    by residence) and how many of them were sampled into a tube of a running campaign by
    ``cut``; tubes collected by ``cut`` flagged late or lost and still without a result
    (by sampling region)."""
    t, m, p, cp = tubes.c, tube_members.c, persons.c, campaigns.c
    running = conn.execute(
        select(cp.id, cp.region_code).where(
            cp.starts_at <= cut, sa.or_(cp.closed_at.is_(None), cp.closed_at > start)
        )
    ).all()
    by_parent: dict[str | None, list[str]] = defaultdict(list)
    for code, parent in tree.parent.items():
        by_parent[parent].append(code)
    area = sorted({c for _, region in running for c in _below(str(region), by_parent)})
    sampled = (
        select(m.person_id)
        .join(tubes, t.id == m.tube_id)
        .where(t.campaign_id.in_([int(i) for i, _ in running]), t.collected_at <= cut)
    )
    people: dict[str, float] = defaultdict(float)
    tested: dict[str, float] = defaultdict(float)
    for chunk in _chunks(area):
        inside = p.residence_code.in_(chunk)
        for into, where in ((people, inside), (tested, sa.and_(inside, p.id.in_(sampled)))):
            for r, n in conn.execute(
                select(p.residence_code, sa.func.count()).where(where).group_by(p.residence_code)
            ):
                into[str(r)] += n
    no_result = ~sa.exists(select(results.c.id).where(results.c.tube_id == t.id))
    late = _grouped(
        conn,
        select(t.region_code, sa.func.count())
        .where(t.flag.in_(LATE_FLAGS), t.collected_at <= cut, no_result)
        .group_by(t.region_code),
    )
    return {
        "testing.campaign_persons": dict(people),
        "testing.campaign_tested": dict(tested),
        "testing.late_tubes": late,
    }


def _below(code: str, by_parent: Mapping[str | None, list[str]]) -> list[str]:
    out, todo = [], [code]
    while todo:
        here = todo.pop()
        out.append(here)
        todo.extend(by_parent.get(here, []))
    return out


def _arrivals(conn: Connection, cut: datetime) -> Counts:
    tr = arrivals_travellers.c
    out: Counts = {f"arrivals.{s}": {} for s in OPEN_STAGES}
    for region, stage, n in conn.execute(
        select(tr.responsible_region, tr.stage, sa.func.count())
        .where(tr.stage.in_(OPEN_STAGES), tr.arrived_at <= cut)
        .group_by(tr.responsible_region, tr.stage)
    ):
        out[f"arrivals.{stage}"][str(region)] = float(n)
    out["arrivals.overdue"] = _grouped(
        conn,
        select(tr.responsible_region, sa.func.count())
        .where(tr.stage.in_(OPEN_STAGES), tr.due_at < cut, tr.arrived_at <= cut)
        .group_by(tr.responsible_region),
    )
    return out


def _codes(conn: Connection) -> Counts:
    h, p = health_codes.c, persons.c
    out: Counts = {f"codes.{c}": {} for c in ("green", "yellow", "red")}
    for region, colour, n in conn.execute(
        select(p.residence_code, h.colour, sa.func.count())
        .select_from(health_codes.join(persons, p.id == h.person_id))
        .group_by(p.residence_code, h.colour)
    ):
        if region is not None and f"codes.{colour}" in out:
            out[f"codes.{colour}"][str(region)] = float(n)
    return out


def _work(conn: Connection, start: datetime, end: datetime, cut: datetime) -> Counts:
    al, tk = alerts.c, command_tasks.c
    open_task = tk.status.in_(OPEN_STATUSES)

    def tasks(*where: sa.ColumnElement[bool]) -> dict[str, float]:
        return _grouped(
            conn,
            select(tk.region_code, sa.func.count())
            .where(open_task, *where)
            .group_by(tk.region_code),
        )

    return {
        "work.alerts_open": _grouped(
            conn,
            select(al.region_code, sa.func.count())
            .where(al.status.in_(sorted(ALERT_OPEN)))
            .group_by(al.region_code),
        ),
        "work.tasks_open": tasks(),
        "work.tasks_due_today": tasks(tk.deadline_at > start, tk.deadline_at <= end),
        "work.tasks_overdue": tasks(tk.deadline_at < cut),
    }


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
