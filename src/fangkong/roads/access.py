"""Guarded road-status use cases (pages, the API and the CLI call these with a ``Call``).

- ``read_road_status`` (``road.read``): the checkpoints of the caller's jurisdiction with
  their stored state, coordinates and open alerts' tasks — counts and names of places
  only, so no audit row (as the risk-area map and the places' pages);
- ``report_road`` (``road.report``): a checkpoint's report — a ``checkpoint`` device only
  for the checkpoint of its venue, a person only inside the jurisdiction — audited
  ``roads.report`` either way;
- ``refresh_roads`` (``road.report``): the refresh job by hand (the CLI), audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select

from fangkong.auth.guard import Call, hidden, inside, within
from fangkong.auth.rights import ROAD_READ, ROAD_REPORT
from fangkong.errors import FangkongError, Forbidden, Problem
from fangkong.logistics.tables import checkpoints
from fangkong.roads.rules import RoadRules
from fangkong.roads.state import RoadState
from fangkong.roads.status import (
    CheckpointUnknown,
    ReportIn,
    ReportOut,
    checkpoint_region,
    record_report,
    refresh,
)
from fangkong.roads.tables import road_alerts, road_status
from fangkong.store import listing
from fangkong.store.listing import Bounded

STATUS_SORTS = {
    "code": checkpoints.c.code,
    "name": checkpoints.c.name,
    "state": road_status.c.state,
    "waiting": road_status.c.waiting,
    "wait": road_status.c.wait_minutes,
    "throughput": road_status.c.throughput_hour,
}


@dataclass(frozen=True)
class CheckpointRow:
    """A checkpoint on the map and in the list (its state as the last refresh found it)."""

    code: str
    name: str
    kind: str
    road: str
    region_code: str
    latitude: float
    longitude: float
    state: str  # no_data until the first refresh
    status: str | None
    waiting: int | None
    wait_minutes: int | None
    wait_median: int | None
    throughput_hour: float | None
    authority: str | None
    as_of: datetime | None
    alerts: tuple[str, ...]  # the conditions with an open alert


def _alerts(conn: Connection, codes: Sequence[str]) -> dict[str, tuple[str, ...]]:
    a = road_alerts.c
    found: dict[str, list[str]] = {}
    for i in range(0, len(codes), 500):
        for code, condition in conn.execute(
            select(a.checkpoint_code, a.condition)
            .where(a.open_key.is_not(None), a.checkpoint_code.in_(list(codes[i : i + 500])))
            .order_by(a.condition)
        ):
            found.setdefault(code, []).append(condition)
    return {k: tuple(v) for k, v in found.items()}


def read_road_status(
    call: Call, *, state: str | None = None, bounded: Bounded | None = None
) -> tuple[list[CheckpointRow], int]:
    """The checkpoints of the caller's jurisdiction with their state (``state``: only
    those in it); ``bounded`` one page of the list (None: all, the map and the API)."""
    call.require(ROAD_READ)
    cp, st = checkpoints.c, road_status.c
    query = (
        select(cp.code, cp.name, cp.kind, cp.road, cp.region_code, cp.latitude, cp.longitude,
               st.state, st.status, st.waiting, st.wait_minutes, st.wait_median,
               st.throughput_hour, st.authority, st.as_of)
        .select_from(checkpoints.outerjoin(road_status, st.checkpoint_code == cp.code))
        .where(within(call.actor, cp.region_code))
    )  # fmt: skip
    if state == "no_data":
        query = query.where((st.state == "no_data") | st.state.is_(None))
    elif state is not None:
        query = query.where(st.state == state)
    with call.engine.connect() as conn:
        rows, total = listing.fetch(conn, query, bounded, STATUS_SORTS, [cp.code])
        alerts = _alerts(conn, [r.code for r in rows])
    return [
        CheckpointRow(r.code, r.name, r.kind, r.road, r.region_code, r.latitude, r.longitude,
                      r.state or "no_data", r.status, r.waiting, r.wait_minutes,
                      r.wait_median, r.throughput_hour, r.authority, r.as_of,
                      alerts.get(r.code, ()))
        for r in rows
    ], total  # fmt: skip


def _may_report(conn: Connection, call: Call, code: str) -> None:
    actor = call.actor
    if actor.kind == "device":
        venue = conn.execute(
            select(checkpoints.c.venue_code).where(checkpoints.c.code == code)
        ).scalar()
        if venue is None or venue != actor.venue_code:
            raise Forbidden(Problem("roads.checkpoint_forbidden", "此设备令牌不属于该卡口",
                                    "this device token belongs to another checkpoint"))  # fmt: skip
        return
    region = checkpoint_region(conn, code)
    if not inside(conn, actor, region):
        unknown = Problem(
            "roads.checkpoint_unknown", f"无此卡口（{code}）", f"no checkpoint {code}"
        )
        raise hidden(CheckpointUnknown(unknown))


def report_road(call: Call, report: ReportIn, *, via: str) -> ReportOut:
    """Record a checkpoint's report (``road.report``), audited ``roads.report``."""
    call.require(ROAD_REPORT)

    def body(conn: Connection) -> tuple[ReportOut, str | None]:
        _may_report(conn, call, report.checkpoint_code)
        out = record_report(conn, report, at=call.now(), by=call.actor.name, via=via)
        return out, f"{report.status} {'new' if out.created else 'again'}"

    return call.audited("roads.report", "checkpoint", report.checkpoint_code, body)


def report_file(call: Call, reports: Sequence[ReportIn]) -> list[ReportOut]:
    """A file of reports (``road.report``): all stored or none, a refusal naming its row
    (counted from the header's line, 1), audited ``roads.report`` once."""
    call.require(ROAD_REPORT)

    def body(conn: Connection) -> tuple[list[ReportOut], str | None]:
        out = []
        for row, report in enumerate(reports, start=2):
            try:
                _may_report(conn, call, report.checkpoint_code)
                out.append(record_report(conn, report, at=call.now(), by=call.actor.name,
                                         via="file"))  # fmt: skip
            except FangkongError as exc:
                p = exc.problem
                exc.problem = Problem(p.code, f"第 {row} 行：{p.message_zh}",
                                      f"row {row}: {p.message_en}")  # fmt: skip
                raise
        return out, f"{len(out)} rows, {sum(o.created for o in out)} new"

    return call.audited("roads.report", None, None, body)


def refresh_roads(call: Call, rules: RoadRules) -> list[RoadState]:
    """Refresh every checkpoint's state now (the job, by hand), audited ``roads.refresh``."""
    call.require(ROAD_REPORT)

    def body(conn: Connection) -> tuple[list[RoadState], str | None]:
        states = refresh(conn, at=call.now(), rules=rules, by=call.actor.name)
        return states, f"{len(states)} checkpoints"

    return call.audited("roads.refresh", None, None, body)


def checkpoint_codes_within(call: Call) -> list[str]:
    """The checkpoints the caller may report for (a form's choices)."""
    call.require(ROAD_REPORT)
    cp = checkpoints.c
    with call.engine.connect() as conn:
        return list(conn.execute(select(cp.code).where(and_(within(call.actor, cp.region_code)))
                                 .order_by(cp.code)).scalars())  # fmt: skip


def as_dict(row: CheckpointRow) -> dict[str, Any]:
    return {k: getattr(row, k) for k in CheckpointRow.__dataclass_fields__}
