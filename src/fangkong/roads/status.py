"""Road status (道路通行状态): record checkpoints' reports, refresh every checkpoint's state,
raise and clear the alerts (services on a Connection, ``at`` the business time).

::

    record_report ──▶ roads_reports (idempotent on checkpoint + ref)
    refresh(at) ── 3 queries, one pass over the window ──▶ state.road_state per checkpoint
         │   checkpoints · latest report ≤ at · crossings in (at − window, at]
         ├──▶ roads_status (one row per checkpoint, replaced)
         └──▶ conditions breached (queue, wait, closure_unauthorised)
                new ─▶ roads_alerts row (open_key set) + command task ``road_alert`` to the
                       checkpoint's county, due [roads.task_hours] later (escalated by
                       command.tasks.escalate_overdue like any task)
                gone ─▶ cleared_at, open_key NULL; its task closed ("已解除 / cleared")

One condition holds one open alert however often the status is refreshed; a later
episode is a new alert and a new task.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from fangkong import bounds
from fangkong.command.tasks import close_for_source, raise_task
from fangkong.errors import BadInput, NotFound, Problem
from fangkong.logistics.tables import checkpoints, crossings
from fangkong.roads.rules import AUTHORITY_LEVELS, RoadRules
from fangkong.roads.state import REPORT_STATUSES, Report, RoadState, road_state
from fangkong.roads.tables import (
    AUTHORITY_MAX,
    REASON_MAX,
    REF_MAX,
    REPORT_VIAS,
    road_alerts,
    road_reports,
    road_status,
)
from fangkong.store.schema import regions

TASK_KIND = "road_alert"
REFRESHED_BY = "job:roads"
MAX_WAITING = 100_000  # vehicles: a queue of hundreds of kilometres still fits
MAX_WAIT_MINUTES = 7 * 24 * 60


class CheckpointUnknown(NotFound):
    """roads.checkpoint_unknown: no checkpoint with this code."""


@dataclass(frozen=True)
class ReportIn:
    """A checkpoint's report of itself, as sent (bounded by ``record_report``)."""

    checkpoint_code: str
    ref: str
    at: datetime
    vehicles_waiting: int
    wait_minutes: int | None
    lanes_open: int
    status: str
    authority_level: str | None = None
    authority: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ReportOut:
    id: int
    created: bool  # False: the same ref was recorded before (nothing changed)


def _bad(code: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem(f"roads.{code}", zh, en))


def _clean(text: str | None, field: str, limit: int) -> str | None:
    if text is None or not text.strip():
        return None
    bounds.refuse(bounds.text_problem(text, field))
    if len(text.strip()) > limit:
        raise _bad("text_too_long", f"{field} 不能超过 {limit} 个字符",
                   f"{field}: at most {limit} characters")  # fmt: skip
    return text.strip()


def _check(r: ReportIn, lanes: int, at: datetime) -> None:
    bounds.refuse(
        bounds.text_problem(r.ref, "ref"),
        bounds.int_problem(r.vehicles_waiting, "vehicles_waiting", lo=0, hi=MAX_WAITING),
        None if r.wait_minutes is None else bounds.int_problem(
            r.wait_minutes, "wait_minutes", lo=0, hi=MAX_WAIT_MINUTES),
        bounds.int_problem(r.lanes_open, "lanes_open", lo=0, hi=lanes),
        bounds.instant_problem(r.at, "device", "at", now=at),
    )  # fmt: skip
    if not r.ref.strip() or len(r.ref) > REF_MAX:
        raise _bad("ref", f"ref 应为 1–{REF_MAX} 个字符", f"ref: 1 to {REF_MAX} characters")
    if r.status not in REPORT_STATUSES:
        raise _bad("status", "状态应为 open（畅通）、restricted（限流）或 closed（关闭）",
                   "status must be open, restricted or closed")  # fmt: skip
    if r.authority_level is not None and r.authority_level not in AUTHORITY_LEVELS:
        raise _bad("authority_level",
                   f"决定机关层级应为 {'、'.join(AUTHORITY_LEVELS)} 之一",
                   f"authority_level must be one of {', '.join(AUTHORITY_LEVELS)}")  # fmt: skip
    if r.status == "closed" and r.lanes_open:
        raise _bad(
            "closed_lanes", "关闭的卡口不应有开放车道", "a closed checkpoint has no lane open"
        )


def checkpoint_region(conn: Connection, code: str) -> str:
    """The region of checkpoint ``code`` (its county answers for it)."""
    region = conn.execute(
        select(checkpoints.c.region_code).where(checkpoints.c.code == code)
    ).scalar()
    if region is None:
        raise CheckpointUnknown(Problem("roads.checkpoint_unknown", f"无此卡口（{code}）",
                                        f"no checkpoint {code}"))  # fmt: skip
    return str(region)


def record_report(
    conn: Connection, report: ReportIn, *, at: datetime, by: str, via: str
) -> ReportOut:
    """Store a checkpoint's report once per (checkpoint, ref); the same ref again returns
    the stored report and changes nothing. Bad values are refused (zh/en) before anything
    is stored. A closure is stored whatever its authority: the refresh judges it."""
    if via not in REPORT_VIAS:
        raise ValueError(f"via {via!r}")
    cp = checkpoints.c
    lanes = conn.execute(select(cp.lanes).where(cp.code == report.checkpoint_code)).scalar()
    if lanes is None:
        checkpoint_region(conn, report.checkpoint_code)  # raises the unknown checkpoint
    _check(report, int(lanes or 0), at)
    authority = _clean(report.authority, "authority", AUTHORITY_MAX)
    reason = _clean(report.reason, "reason", REASON_MAX)
    r = road_reports.c
    found = conn.execute(select(r.id).where(r.checkpoint_code == report.checkpoint_code,
                                            r.ref == report.ref)).scalar()  # fmt: skip
    if found is not None:
        return ReportOut(int(found), False)
    new = conn.execute(insert(road_reports).values(
        checkpoint_code=report.checkpoint_code, ref=report.ref, at=report.at,
        vehicles_waiting=report.vehicles_waiting, wait_minutes=report.wait_minutes,
        lanes_open=report.lanes_open, status=report.status,
        authority_level=report.authority_level, authority=authority, reason=reason,
        reported_by=by[:80], via=via, recorded_at=at,
    )).inserted_primary_key  # fmt: skip
    return ReportOut(int(new[0]) if new is not None else 0, True)


# ---- refresh -----------------------------------------------------------------------------


def _latest_reports(conn: Connection, at: datetime) -> dict[str, Report]:
    """Each checkpoint's latest report at or before ``at`` (one query; ties: the last id)."""
    r = road_reports.c
    last = (select(r.checkpoint_code, func.max(r.at).label("at")).where(r.at <= at)
            .group_by(r.checkpoint_code).subquery())  # fmt: skip
    rows = conn.execute(
        select(r.id, r.checkpoint_code, r.at, r.vehicles_waiting, r.wait_minutes, r.lanes_open,
               r.status, r.authority_level, r.authority)
        .join(last, and_(last.c.checkpoint_code == r.checkpoint_code, last.c.at == r.at))
        .order_by(r.id)
    ).all()  # fmt: skip
    return {
        x.checkpoint_code: Report(x.at, x.vehicles_waiting, x.wait_minutes, x.lanes_open,
                                  x.status, x.authority_level, x.authority)
        for x in rows
    }  # fmt: skip


Window = tuple[dict[str, int], dict[str, list[int]]]


def _window(conn: Connection, since: datetime, at: datetime) -> Window:
    """Per checkpoint, the crossings in (since, at] and their measured waits (one query)."""
    c = crossings.c
    counts: dict[str, int] = defaultdict(int)
    waited: dict[str, list[int]] = defaultdict(list)
    for code, minutes in conn.execute(
        select(c.checkpoint_code, c.waited_minutes).where(c.at > since, c.at <= at)
    ):
        counts[code] += 1
        if minutes is not None:
            waited[code].append(int(minutes))
    return counts, waited


def compute(conn: Connection, *, at: datetime, rules: RoadRules) -> list[RoadState]:
    """Every checkpoint's state at ``at`` (reads only)."""
    codes = list(conn.execute(select(checkpoints.c.code).order_by(checkpoints.c.code)).scalars())
    reports = _latest_reports(conn, at)
    counts, waited = _window(conn, at - timedelta(minutes=rules.throughput_window_minutes), at)
    return [road_state(code, reports.get(code), waited.get(code, ()), counts.get(code, 0),
                       at=at, rules=rules) for code in codes]  # fmt: skip


def _store(conn: Connection, states: Sequence[RoadState]) -> None:
    conn.execute(delete(road_status))
    if states:
        conn.execute(insert(road_status), [
            {"checkpoint_code": s.checkpoint_code, "as_of": s.as_of, "state": s.state,
             "status": s.status, "waiting": s.waiting, "wait_minutes": s.wait_minutes,
             "wait_median": s.wait_median, "throughput_hour": s.throughput_hour,
             "crossings": s.crossings, "authority_level": s.authority_level,
             "authority": s.authority, "report_at": s.report_at}
            for s in states
        ])  # fmt: skip


def refresh(
    conn: Connection, *, at: datetime, rules: RoadRules, by: str = REFRESHED_BY
) -> list[RoadState]:
    """Compute every checkpoint's state at ``at``, store it, and raise or clear the alerts
    (with their tasks) in the caller's transaction."""
    states = compute(conn, at=at, rules=rules)
    _store(conn, states)
    _follow_alerts(conn, states, at=at, rules=rules, by=by)
    return states


# ---- alerts ------------------------------------------------------------------------------


def _observed(s: RoadState, condition: str, rules: RoadRules) -> tuple[float | None, float | None]:
    if condition == "queue":
        return s.waiting, rules.queue_limit_vehicles
    if condition == "wait":
        return s.wait_minutes, rules.wait_limit_minutes
    return None, None


def _county(conn: Connection, code: str) -> str:
    """The county a region lies in (the region itself above county level)."""
    rg = regions.c
    here: str | None = code
    for _ in range(12):
        row = conn.execute(select(rg.level, rg.parent_code).where(rg.code == here)).first()
        if row is None:
            return code
        if row.level in ("county", "city", "province") or row.parent_code is None:
            return str(here)
        here = row.parent_code
    return code


def _open_alerts(conn: Connection) -> dict[str, Any]:
    a = road_alerts.c
    rows = conn.execute(select(road_alerts).where(a.open_key.is_not(None))).all()
    return {str(r.open_key): r for r in rows}


def _follow_alerts(
    conn: Connection, states: Iterable[RoadState], *, at: datetime, rules: RoadRules, by: str
) -> None:
    wanted = {f"{s.checkpoint_code}|{c}": (s, c) for s in states for c in s.conditions}
    held = _open_alerts(conn)
    a = road_alerts.c
    for key in sorted(set(held) - set(wanted)):
        row = held[key]
        conn.execute(update(road_alerts).where(a.id == row.id)
                     .values(open_key=None, cleared_at=at))  # fmt: skip
        close_for_source(conn, TASK_KIND, TASK_KIND, str(row.id), by=by, at=at,
                         note="已解除 / cleared")  # fmt: skip
    new = sorted(set(wanted) - set(held))
    if not new:
        return
    cp = checkpoints.c
    names = dict(conn.execute(select(cp.code, cp.name).where(
        cp.code.in_({wanted[k][0].checkpoint_code for k in new}))).all())  # fmt: skip
    region = dict(conn.execute(select(cp.code, cp.region_code).where(
        cp.code.in_({wanted[k][0].checkpoint_code for k in new}))).all())  # fmt: skip
    for key in new:
        s, condition = wanted[key]
        _raise(
            conn,
            s,
            condition,
            names.get(s.checkpoint_code, s.checkpoint_code),
            _county(conn, region[s.checkpoint_code]),
            at=at,
            rules=rules,
            by=by,
        )


def _raise(
    conn: Connection, s: RoadState, condition: str, name: str, county: str, *,
    at: datetime, rules: RoadRules, by: str,
) -> None:  # fmt: skip
    observed, limit = _observed(s, condition, rules)
    deadline = at + timedelta(hours=rules.task_hours[condition])
    new = conn.execute(insert(road_alerts).values(
        checkpoint_code=s.checkpoint_code, condition=condition,
        open_key=f"{s.checkpoint_code}|{condition}", region_code=county, opened_at=at,
        observed=observed, limit=limit, deadline_at=deadline,
    )).inserted_primary_key  # fmt: skip
    alert_id = int(new[0]) if new is not None else 0
    command = rules.command
    if command is None:
        raise TypeError("RoadRules.from_pack(pack) carries the [command] rules a task needs")
    if not command.tasks[TASK_KIND].automatic:
        return
    params: dict[str, Any] = {"checkpoint": s.checkpoint_code, "checkpoint_name": name,
                              "condition": condition}  # fmt: skip
    if observed is not None:
        params |= {"observed": observed, "limit": limit}
    if condition == "closure_unauthorised" and s.authority:
        params["authority"] = s.authority
    raise_task(conn, command, kind=TASK_KIND, source_type=TASK_KIND, source_id=str(alert_id),
               region_code=county, role=None, params=params, deadline_at=deadline, by=by,
               at=at)  # fmt: skip


def read_status(conn: Connection) -> dict[str, Mapping[str, Any]]:
    """The stored status of every checkpoint (as the last refresh found it)."""
    return {str(r.checkpoint_code): dict(r._mapping) for r in conn.execute(select(road_status))}
