"""The closed loop (闭环管理): stages, deadlines, confirmations, hand-offs, alerts.

Each traveller is a state machine; the stages a traveller passes depend on the pack's
entry for their risk::

    registered ─(landing test)─▶ sampled ─(transfer)─▶ boarded ─▶ handed_over ─▶ managed ─▶ released
         │ no landing test ───────────────┘  │ no transfer: released at sampling
         └ neither: released at registration ┘

Every stage but the last has a deadline from ``[arrivals.deadlines]``: registered counts
from the arrival, boarded from the trip's estimated arrival, managed from the planned end
of the quarantine period, the others from entering the stage. Who confirms what:

    sampled       the landing test's sample (``sample`` → testing.collect, purpose landing)
    boarded       the transfer team (scan of the ID card or a form)
    handed_over   the receiving side: quarantine hotel or community (scan or form)
    managed       the first quarantine health check of the placement (``check`` syncs it),
                  or a form
    released      the end of the quarantine placement chain (``check``), or a form

``check`` (the job ``fangkong arrivals check``, also run when the board is read) raises an
alert for anyone past their deadline — to the team answering for the stage and its
superior — the closed loop's own record of the event. A traveller whose destination lies
in another jurisdiction (the pack's ``handoff_level``) is handed to it; until that
jurisdiction acknowledges, no transfer is planned, and past ``handoff_ack_hours`` the
hand-off alerts the same way.

Escalation is not here: each overdue stage and late hand-off is a command task
(``closed_loop_overdue``, source ``<traveller>/<stage>`` or ``<traveller>/handoff``,
raised by ``command.raising``), and the task climbs the region tree when it stays
overdue (``command.tasks.escalate_overdue``, ``[command.escalation]``). Confirming the
next stage or acknowledging the hand-off closes the task in the same transaction. The
alerts' ``level`` / ``escalated_at`` columns keep what the former team escalation wrote;
a new alert stays at level 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, update

from fangkong import clock
from fangkong.arrivals.rules import STAGE_NAMES, ArrivalRules
from fangkong.arrivals.tables import alerts, handoffs, stage_changes, teams, travellers, trips
from fangkong.command.tasks import close_for_source
from fangkong.errors import Conflict, NotFound, Problem
from fangkong.quarantine.tables import quarantine_checks, quarantine_placements
from fangkong.store.schema import regions, venues
from fangkong.store.tx import write_transaction

Bind = Engine | Connection
ORDER = ("registered", "sampled", "boarded", "handed_over", "managed", "released")


class TravellerUnknown(NotFound):
    """arrivals.traveller_unknown: no such traveller (or outside the caller's jurisdiction)."""


class StageRefused(Conflict):
    """arrivals.stage_refused: the confirmation does not follow the traveller's stage."""


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(f"arrivals.{code}", zh, en)


def next_stage(t: Any, stage: str) -> str | None:
    """The stage that must follow ``stage`` for traveller row ``t`` (None after released)."""
    if stage == "registered":
        return "sampled" if t.landing_test else "boarded" if t.transfer else "released"
    if stage == "sampled":
        return "boarded" if t.transfer else "released"
    if stage == "released":
        return None
    return ORDER[ORDER.index(stage) + 1]


def _due(
    conn: Connection, t: Any, stage: str, rules: ArrivalRules, at: datetime
) -> datetime | None:
    hours = rules.deadlines.get(stage)
    if hours is None or next_stage(t, stage) in (None,):
        return None
    if stage == "registered":
        arrived: datetime = t.arrived_at
        return max(arrived, at) + timedelta(hours=hours)
    if stage == "boarded" and t.trip_id is not None:
        eta = conn.execute(select(trips.c.eta).where(trips.c.id == t.trip_id)).scalar_one()
        eta_at: datetime = eta
        return max(eta_at, at) + timedelta(hours=hours)
    if stage == "managed":
        end = None
        if t.placement_id is not None:
            end = conn.execute(
                select(quarantine_placements.c.planned_end).where(
                    quarantine_placements.c.id == t.placement_id
                )
            ).scalar_one_or_none()
        return None if end is None else end + timedelta(hours=hours)
    return at + timedelta(hours=hours)


def _row(conn: Connection, tid: int) -> Any:
    t = conn.execute(select(travellers).where(travellers.c.id == tid)).first()
    if t is None:
        raise TravellerUnknown(_p("traveller_unknown", f"无此旅客 {tid}", f"no traveller {tid}"))
    return t


def enter_stage(
    conn: Connection,
    tid: int,
    from_stage: str | None,
    to_stage: str,
    rules: ArrivalRules,
    *,
    at: datetime,
    by: str,
    via: str,
    note: str | None = None,
) -> None:
    """Record one step (history row, stage, its deadline) and close the alerts it answers;
    a stage with nothing after it for this traveller goes on to ``released`` at once."""
    conn.execute(
        stage_changes.insert().values(
            traveller_id=tid,
            from_stage=from_stage,
            to_stage=to_stage,
            at=at,
            by=by[:80],
            via=via,
            note=note and note[:200],
        )
    )
    conn.execute(
        update(travellers).where(travellers.c.id == tid).values(stage=to_stage, stage_since=at)
    )
    if from_stage is not None:  # the overdue stage's task (command) closes: it moved on
        done = f"已确认：{_zh(to_stage)} / confirmed: {_en(to_stage)}"
        close_for_source(conn, "closed_loop_overdue", "arrival", f"{tid}/{from_stage}", by=by,
                         at=at, note=done)  # fmt: skip
    t = _row(conn, tid)
    conn.execute(
        update(travellers)
        .where(travellers.c.id == tid)
        .values(due_at=_due(conn, t, to_stage, rules, at))
    )
    conn.execute(
        update(alerts)
        .where(
            alerts.c.traveller_id == tid,
            alerts.c.kind == "overdue",
            alerts.c.active.is_(True),
            alerts.c.stage != to_stage,
        )
        .values(active=None, resolved_at=at)
    )
    follow = next_stage(t, to_stage)
    if to_stage in ("registered", "sampled") and follow == "released":
        reason = "无需转运 / no transfer" if to_stage == "sampled" else "无需管理 / not managed"
        enter_stage(conn, tid, to_stage, "released", rules, at=at, by=by, via=via, note=reason)


def _zh(stage: str | None) -> str:
    """A stage as a person reads it, in Chinese (a refusal names stages, never keys)."""
    return STAGE_NAMES.get(str(stage), (str(stage), str(stage)))[0]


def _en(stage: str | None) -> str:
    return STAGE_NAMES.get(str(stage), (str(stage), str(stage)))[1]


def advance(
    bind: Bind,
    rules: ArrivalRules,
    tid: int,
    to_stage: str,
    *,
    by: str,
    via: str,
    at: datetime | None = None,
    note: str | None = None,
) -> str:
    """Confirm that traveller ``tid`` reached ``to_stage``; the same confirmation twice is
    harmless (a re-scan). Returns the stage the traveller is at afterwards."""
    at = at or clock.now()
    with write_transaction(bind) as conn:
        t = _row(conn, tid)
        if t.stage == to_stage or (
            to_stage in ORDER and ORDER.index(t.stage) > ORDER.index(to_stage)
        ):
            return str(t.stage)
        expected = next_stage(t, t.stage)
        if expected != to_stage:
            raise StageRefused(
                _p(
                    "stage_refused",
                    f"旅客处于“{_zh(t.stage)}”，下一步应为“{_zh(expected)}”，"
                    f"不能确认“{_zh(to_stage)}”",
                    f"the traveller is {_en(t.stage)}; the next step is {_en(expected)}, "
                    f"not {_en(to_stage)}",
                )
            )
        if to_stage == "boarded" and t.trip_id is None:
            raise StageRefused(_p("no_trip", "尚未安排转运车辆", "no vehicle is planned yet"))
        if to_stage != "released" and _pending_handoff(conn, tid):
            raise StageRefused(
                _p(
                    "handoff_pending",
                    "跨地区移交尚未被接收地确认",
                    "the hand-off is not acknowledged yet",
                )
            )
        enter_stage(conn, tid, t.stage, to_stage, rules, at=at, by=by, via=via, note=note)
        if to_stage == "handed_over" and t.trip_id is not None:
            _close_trip(conn, int(t.trip_id))
        return str(_row(conn, tid).stage)


def _close_trip(conn: Connection, trip_id: int) -> None:
    left = conn.execute(
        select(func.count())
        .select_from(travellers)
        .where(
            travellers.c.trip_id == trip_id,
            travellers.c.stage.in_(("sampled", "boarded", "registered")),
        )
    ).scalar_one()
    if not left:
        conn.execute(update(trips).where(trips.c.id == trip_id).values(status="done"))


# ---- hand-offs between jurisdictions (跨地区移交) ---------------------------------------------


def _pending_handoff(conn: Connection, tid: int) -> bool:
    row = conn.execute(
        select(handoffs.c.acknowledged_at).where(handoffs.c.traveller_id == tid)
    ).first()
    return row is not None and row.acknowledged_at is None


def open_handoff(
    conn: Connection,
    tid: int,
    from_region: str,
    to_region: str,
    rules: ArrivalRules,
    *,
    at: datetime,
) -> None:
    conn.execute(
        handoffs.insert().values(
            traveller_id=tid,
            from_region=from_region,
            to_region=to_region,
            requested_at=at,
            due_at=at + timedelta(hours=rules.handoff_ack_hours),
        )
    )


def acknowledge(bind: Bind, tid: int, *, by: str, at: datetime | None = None) -> bool:
    """The receiving jurisdiction takes the traveller over (接收确认); from now on it answers
    for them. Returns False when it was acknowledged before."""
    at = at or clock.now()
    with write_transaction(bind) as conn:
        h = conn.execute(select(handoffs).where(handoffs.c.traveller_id == tid)).first()
        if h is None:
            raise TravellerUnknown(
                _p(
                    "handoff_unknown",
                    f"旅客 {tid} 无跨地区移交",
                    f"traveller {tid} has no hand-off",
                )
            )
        if h.acknowledged_at is not None:
            return False
        conn.execute(
            update(handoffs)
            .where(handoffs.c.id == h.id)
            .values(acknowledged_at=at, acknowledged_by=by[:80])
        )
        conn.execute(
            update(travellers).where(travellers.c.id == tid).values(responsible_region=h.to_region)
        )
        conn.execute(
            update(alerts)
            .where(
                alerts.c.traveller_id == tid, alerts.c.kind == "handoff", alerts.c.active.is_(True)
            )
            .values(active=None, resolved_at=at)
        )
        close_for_source(conn, "closed_loop_overdue", "arrival", f"{tid}/handoff", by=by,
                         at=at, note="接收地已确认 / the hand-off was acknowledged")  # fmt: skip
        return True


# ---- teams ----------------------------------------------------------------------------------


def _parents(conn: Connection) -> dict[str, str | None]:
    return {r[0]: r[1] for r in conn.execute(select(regions.c.code, regions.c.parent_code))}


def _team_for_region(
    conn: Connection, region: str, kinds: Sequence[str], parents: dict[str, str | None]
) -> str | None:
    node: str | None = region
    seen = 0
    while node is not None and seen < 16:
        found = conn.execute(
            select(teams.c.kind, teams.c.code)
            .where(teams.c.region_code == node, teams.c.kind.in_(list(kinds)))
            .order_by(teams.c.code)
        ).all()
        for kind in kinds:  # the first kind asked for wins, then the code
            codes = [str(code) for k, code in found if k == kind]
            if codes:
                return codes[0]
        node = parents.get(node)
        seen += 1
    return None


def responsible_team(
    conn: Connection, t: Any, stage: str, parents: dict[str, str | None]
) -> str | None:
    """The team answering for ``stage`` of traveller row ``t`` (None: no team set up)."""
    if stage in ("registered", "sampled"):
        at_point = (
            conn.execute(
                select(teams.c.code)
                .where(teams.c.venue_code == t.point_code)
                .order_by(teams.c.code)
            )
            .scalars()
            .first()
        )
        if at_point is not None:
            return str(at_point)
        region = conn.execute(
            select(venues.c.region_code).where(venues.c.code == t.point_code)
        ).scalar_one()
        return _team_for_region(conn, region, ("checkpoint", "command"), parents)
    if stage == "boarded" and t.trip_id is not None:
        from fangkong.arrivals.tables import vehicles

        return conn.execute(
            select(vehicles.c.team_code)
            .join(trips, trips.c.vehicle_code == vehicles.c.code)
            .where(trips.c.id == t.trip_id)
        ).scalar_one_or_none()
    return _team_for_region(conn, t.destination_region, ("receiving", "command"), parents)


def superiors(conn: Connection, team: str | None, n: int) -> list[str]:
    """Up to ``n`` superiors of ``team``, nearest first."""
    out: list[str] = []
    while team is not None and len(out) < n:
        team = conn.execute(
            select(teams.c.superior_code).where(teams.c.code == team)
        ).scalar_one_or_none()
        if team is not None and team not in out:
            out.append(team)
    return out


# ---- the job --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    managed: int = 0  # handed over → managed (first health check at the site)
    released: int = 0  # managed → released (the placement chain ended)
    raised: int = 0
    handoff_alerts: int = 0
    overdue: tuple[int, ...] = field(default=())  # travellers past their deadline


def check(
    bind: Bind, rules: ArrivalRules, *, at: datetime | None = None, by: str = "job:arrivals"
) -> CheckOutcome:
    """Sync with quarantine and raise alerts (idempotent: run it as often as you like; an
    alert is raised once per traveller and stage). Escalation is the alerts' command
    tasks' (``fangkong command escalate``), not this job's."""
    at = at or clock.now()
    with write_transaction(bind) as conn:
        managed, released = _sync_quarantine(conn, rules, at, by)
        parents = _parents(conn)
        raised = 0
        overdue_rows = conn.execute(
            select(travellers).where(travellers.c.due_at < at, travellers.c.stage != "released")
        ).all()
        for t in overdue_rows:
            open_one = conn.execute(
                select(alerts.c.id).where(
                    alerts.c.traveller_id == t.id,
                    alerts.c.kind == "overdue",
                    alerts.c.stage == t.stage,
                    alerts.c.active.is_(True),
                )
            ).first()
            if open_one is None:
                team = responsible_team(conn, t, t.stage, parents)
                _raise(conn, t.id, "overdue", t.stage, t.responsible_region, team, t.due_at, at)
                raised += 1
        hand = 0
        late = conn.execute(
            select(handoffs).where(handoffs.c.acknowledged_at.is_(None), handoffs.c.due_at < at)
        ).all()
        for h in late:
            exists = conn.execute(
                select(alerts.c.id).where(
                    alerts.c.traveller_id == h.traveller_id,
                    alerts.c.kind == "handoff",
                    alerts.c.active.is_(True),
                )
            ).first()
            if exists is None:
                team = _team_for_region(conn, h.to_region, ("receiving", "command"), parents)
                _raise(
                    conn, h.traveller_id, "handoff", "registered", h.to_region, team, h.due_at, at
                )
                hand += 1
    return CheckOutcome(managed, released, raised, hand, tuple(int(t.id) for t in overdue_rows))


def _raise(
    conn: Connection,
    tid: int,
    kind: str,
    stage: str,
    region: str,
    team: str | None,
    due: datetime,
    at: datetime,
) -> None:
    told = [team, *superiors(conn, team, 1)] if team else []
    conn.execute(
        alerts.insert().values(
            traveller_id=tid,
            kind=kind,
            stage=stage,
            region_code=region,
            team_code=team,
            notified=told,
            level=1,
            due_at=due,
            raised_at=at,
            escalated_at=None,
            resolved_at=None,
            active=True,
        )
    )


def _sync_quarantine(
    conn: Connection, rules: ArrivalRules, at: datetime, by: str
) -> tuple[int, int]:
    q, c = quarantine_placements.c, quarantine_checks.c
    managed = (
        conn.execute(
            select(travellers.c.id).where(
                travellers.c.stage == "handed_over",
                travellers.c.placement_id.is_not(None),
                select(c.id).where(c.placement_id == travellers.c.placement_id).exists(),
            )
        )
        .scalars()
        .all()
    )
    for tid in managed:
        enter_stage(
            conn,
            int(tid),
            "handed_over",
            "managed",
            rules,
            at=at,
            by=by,
            via="job",
            note="隔离点首次健康监测 / first health check at the site",
        )
    released = 0
    rows = conn.execute(
        select(travellers.c.id, travellers.c.person_id, travellers.c.placement_id)
        .join(quarantine_placements, q.id == travellers.c.placement_id)
        .where(travellers.c.stage == "managed", or_(q.active.is_(None), q.active.is_(False)))
    ).all()
    for r in rows:
        nxt = (
            conn.execute(
                select(q.id)
                .where(q.person_id == r.person_id, q.active.is_(True))
                .order_by(q.id.desc())
            )
            .scalars()
            .first()
        )
        if nxt is not None:  # the next phase (e.g. home monitoring after the hotel)
            conn.execute(update(travellers).where(travellers.c.id == r.id).values(placement_id=nxt))
            t = _row(conn, int(r.id))
            conn.execute(
                update(travellers)
                .where(travellers.c.id == r.id)
                .values(due_at=_due(conn, t, "managed", rules, at))
            )
            continue
        enter_stage(
            conn,
            int(r.id),
            "managed",
            "released",
            rules,
            at=at,
            by=by,
            via="job",
            note="隔离/监测结束 / the period ended",
        )
        released += 1
    return len(managed), released


def open_alerts(bind: Bind, *, point: str | None = None) -> list[Any]:
    with write_transaction(bind) as conn:
        query = (
            select(alerts, travellers.c.point_code)
            .join(travellers, travellers.c.id == alerts.c.traveller_id)
            .where(alerts.c.active.is_(True))
            .order_by(alerts.c.due_at, alerts.c.id)
        )
        if point is not None:
            query = query.where(travellers.c.point_code == point)
        return list(conn.execute(query).all())
