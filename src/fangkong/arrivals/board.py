"""The arrivals board (闭环看板): per arrival point, how many at each stage, who is overdue.

``board`` reads counts and the overdue travellers (ids, risk, stage, deadline, the team
alerted, and the stage's command task: the region that owes it now and its escalation
level — the closed loop escalates through its tasks) — no names: pages add names by the
reader's rights (``access``). ``traveller``
is one traveller's closed loop: the decision and its reason, stages with who confirmed
them, the landing test's tube and result, the trip, the hand-off and alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from fangkong.arrivals.tables import (
    STAGES,
    alerts,
    handoffs,
    manifests,
    stage_changes,
    teams,
    travellers,
    trips,
)
from fangkong.command.tasks import TaskView, tasks_for_sources
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.schema import regions as region_table
from fangkong.store.schema import venues
from fangkong.store.tx import Bind, write_transaction
from fangkong.testing.tables import results, tubes


@dataclass(frozen=True)
class OverdueRow:
    traveller_id: int
    person_id: int
    risk: str
    stage: str
    due_at: datetime
    team: str | None
    notified: tuple[str, ...]  # the teams the alert told when it was raised
    task_region: str | None  # the region that owes the stage's task now (None: no task yet)
    task_region_name: str | None
    escalation_level: int | None  # the task's level above its first unit
    notified_names: tuple[str, ...] = ()  # the teams told, by name (a code without one)


@dataclass(frozen=True)
class PointBoard:
    point: str
    name: str
    stages: dict[str, int]
    overdue: list[OverdueRow]
    pending_handoffs: int
    total: int
    late: int = 0  # overdue travellers (``overdue``: their rows, when read)


@dataclass(frozen=True)
class TravellerView:
    id: int
    person_id: int
    point: str
    carrier: str
    arrived_at: datetime
    risk: str
    management: str
    rule_id: str
    reason_zh: str
    reason_en: str
    stage: str
    due_at: datetime | None
    destination_region: str
    destination_name: str | None
    tube: str | None
    tube_result: str | None
    trip: dict[str, Any] | None
    history: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    handoff: dict[str, Any] | None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    """Names of the teams the alerts told and of the hand-off's regions, by code: a page
    shows 晋昌区接收专班, not RCV-140102."""


def board(
    conn: Connection, *, regions: Any = None, at: datetime, with_overdue: bool = True
) -> list[PointBoard]:
    """Every arrival point with travellers (within ``regions``: a subquery of region codes
    the reader may see, or None for all), most overdue first; ``with_overdue`` False
    leaves the overdue lists empty (a page reads them a page at a time:
    :func:`overdue_page`) and counts them only."""
    t = travellers.c
    where = [] if regions is None else [t.responsible_region.in_(regions)]
    counts: dict[str, dict[str, int]] = {}
    for point, stage, n in conn.execute(
        select(t.point_code, t.stage, func.count()).where(*where).group_by(t.point_code, t.stage)
    ):
        counts.setdefault(point, dict.fromkeys(STAGES, 0))[stage] = int(n)
    late_by_point: dict[str, int] = dict(
        conn.execute(
            select(t.point_code, func.count())
            .where(t.due_at < at, t.stage != "released", *where)
            .group_by(t.point_code)
        ).all()
    )
    late = _overdue_rows(conn, _overdue(regions, at).order_by(t.due_at, t.id), at) if (
        with_overdue) else []  # fmt: skip
    pending: dict[str, int] = dict(
        conn.execute(
            select(t.point_code, func.count())
            .join(handoffs, handoffs.c.traveller_id == t.id)
            .where(handoffs.c.acknowledged_at.is_(None), *where)
            .group_by(t.point_code)
        ).all()
    )
    names = {
        r.code: r.name
        for r in conn.execute(
            select(venues.c.code, venues.c.name).where(venues.c.code.in_(list(counts)))
        )
    }
    boards = []
    for point, stages in counts.items():
        boards.append(
            PointBoard(
                point,
                names.get(point, point),
                stages,
                [o for p, o in late if p == point],
                int(pending.get(point, 0)),
                sum(stages.values()),
                int(late_by_point.get(point, 0)),
            )
        )
    return sorted(boards, key=lambda b: (-b.late, b.point))


# what the overdue travellers may be sorted by (their whitelist)
OVERDUE_SORTS: listing.Columns = {
    "point": travellers.c.point_code, "risk": travellers.c.risk,
    "stage": travellers.c.stage, "due": travellers.c.due_at,
}  # fmt: skip


def overdue_page(
    conn: Connection, bounded: Bounded, *, regions: Any = None, at: datetime,
    point: str | None = None,
) -> tuple[list[tuple[str, OverdueRow]], int]:  # fmt: skip
    """One page of the overdue travellers (of one ``point``, or all) with their points,
    longest overdue first unless sorted by a key of :data:`OVERDUE_SORTS`; and how many."""
    query = _overdue(regions, at)
    if point is not None:
        query = query.where(travellers.c.point_code == point)
    own = (travellers.c.due_at, travellers.c.id)
    rows, total = listing.fetch(conn, query, bounded, OVERDUE_SORTS, own)
    return _overdue_rows(conn, rows, at), total


def _overdue(regions: Any, at: datetime) -> Select[Any]:
    """Travellers past their stage's deadline, not released, with the overdue alert."""
    t = travellers.c
    where = [] if regions is None else [t.responsible_region.in_(regions)]
    return (
        select(t.id, t.person_id, t.risk, t.stage, t.due_at, t.point_code, alerts.c.team_code,
               alerts.c.notified)
        .outerjoin(alerts, (alerts.c.traveller_id == t.id) & alerts.c.active.is_(True)
                   & (alerts.c.kind == "overdue"))
        .where(t.due_at < at, t.stage != "released", *where)
    )  # fmt: skip


def _overdue_rows(conn: Connection, late: Any, at: datetime) -> list[tuple[str, OverdueRow]]:
    """(point, row) of overdue travellers (a query or rows read), with the stage's task:
    who owes it now and its level, and the teams told by name."""
    if isinstance(late, Select):
        late = conn.execute(late).all()
    tasks = stage_tasks(conn, [f"{r.id}/{r.stage}" for r in late], at)
    owners = _region_names(conn, {t.region_code for t in tasks.values()})
    team_names = _team_names(conn, {code for r in late for code in r.notified or ()})
    out = []
    for r in late:
        task = tasks.get(f"{r.id}/{r.stage}")
        out.append((r.point_code, OverdueRow(
            int(r.id), int(r.person_id), r.risk, r.stage, r.due_at, r.team_code,
            tuple(r.notified or ()), task.region_code if task else None,
            owners.get(task.region_code) if task else None,
            task.escalation_level if task else None,
            tuple(team_names.get(c, c) for c in r.notified or ()))))  # fmt: skip
    return out


def stage_tasks(conn: Connection, keys: list[str], at: datetime) -> dict[str, TaskView]:
    """The command tasks of overdue stages and late hand-offs, by ``<traveller>/<stage>``
    (``<traveller>/handoff``)."""
    return tasks_for_sources(conn, "closed_loop_overdue", "arrival", keys, at=at)


def _names(conn: Connection, table: Any, codes: set[str]) -> dict[str, str]:
    """Names by code of rows of ``table`` (regions, teams)."""
    if not codes:
        return {}
    c = table.c
    return {x.code: x.name for x in conn.execute(
        select(c.code, c.name).where(c.code.in_(sorted(codes))))}  # fmt: skip


def _region_names(conn: Connection, codes: set[str]) -> dict[str, str]:
    return _names(conn, region_table, codes)


def _team_names(conn: Connection, codes: set[str]) -> dict[str, str]:
    return _names(conn, teams, codes)


def point_boards(bind: Bind, *, at: datetime) -> list[PointBoard]:
    """:func:`board` of every arrival point, in its own transaction (the CLI's board)."""
    with write_transaction(bind) as conn:
        return board(conn, at=at)


def traveller(conn: Connection, tid: int, *, at: datetime) -> TravellerView | None:
    r = conn.execute(
        select(travellers, manifests.c.carrier)
        .join(manifests, manifests.c.id == travellers.c.manifest_id)
        .where(travellers.c.id == tid)
    ).first()
    if r is None:
        return None
    result = None
    if r.tube_barcode:
        result = conn.execute(
            select(results.c.outcome)
            .join(tubes, tubes.c.id == results.c.tube_id)
            .where(tubes.c.barcode == r.tube_barcode)
            .order_by(results.c.tested_at.desc())
        ).scalar()
    trip = None
    if r.trip_id is not None:
        x = conn.execute(select(trips).where(trips.c.id == r.trip_id)).one()
        trip = {
            "id": x.id,
            "vehicle": x.vehicle_code,
            "departs_at": x.departs_at,
            "eta": x.eta,
            "distance_km": x.distance_km,
            "status": x.status,
        }
    steps = [
        {
            "from": s.from_stage,
            "to": s.to_stage,
            "at": s.at,
            "by": s.by,
            "via": s.via,
            "note": s.note,
        }
        for s in conn.execute(
            select(stage_changes)
            .where(stage_changes.c.traveller_id == tid)
            .order_by(stage_changes.c.at, stage_changes.c.id)
        )
    ]
    h = conn.execute(select(handoffs).where(handoffs.c.traveller_id == tid)).first()
    handoff = (
        None
        if h is None
        else {
            "from": h.from_region,
            "to": h.to_region,
            "due_at": h.due_at,
            "acknowledged_at": h.acknowledged_at,
            "acknowledged_by": h.acknowledged_by,
        }
    )
    rows = conn.execute(
        select(alerts).where(alerts.c.traveller_id == tid).order_by(alerts.c.id)
    ).all()
    key = {a.id: f"{tid}/{'handoff' if a.kind == 'handoff' else a.stage}" for a in rows}
    tasks = stage_tasks(conn, list(key.values()), at)
    owners = _region_names(conn, {t.region_code for t in tasks.values()})
    alert_rows = []
    for a in rows:
        task = tasks.get(key[a.id])
        alert_rows.append({
            "kind": a.kind, "stage": a.stage, "team": a.team_code,
            "notified": list(a.notified), "raised_at": a.raised_at,
            "resolved_at": a.resolved_at,
            "task": None if task is None else {
                "id": task.id, "status": task.status, "region": task.region_code,
                "region_name": owners.get(task.region_code),
                "escalation_level": task.escalation_level, "deadline_at": task.deadline_at},
        })  # fmt: skip
    told = {code for a in rows for code in a.notified or ()}
    names = _team_names(conn, told) | _region_names(
        conn, set() if h is None else {h.from_region, h.to_region}
    )
    return TravellerView(
        int(r.id),
        int(r.person_id),
        r.point_code,
        r.carrier,
        r.arrived_at,
        r.risk,
        r.management,
        r.rule_id,
        r.reason_zh,
        r.reason_en,
        r.stage,
        r.due_at,
        r.destination_region,
        r.destination_name,
        r.tube_barcode,
        result,
        trip,
        list(r.history),
        steps,
        handoff,
        alert_rows,
        names,
    )
