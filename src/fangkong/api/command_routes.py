"""The command centre's API (指挥调度, ``/api/v1/command``): JSON for the same figures the
pages show. Routes parse the query and call one guarded function of ``fangkong.command``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from fangkong.command.access_accountability import MAX_DAYS
from fangkong.command.access_accountability import accountability as read_accountability
from fangkong.command.model import MEASURES
from fangkong.command.timeliness import DEFAULT_DAYS, MeasureStat, RegionTimeliness, TaskStat
from fangkong.http.deps import CallDep, Ctx

command_api = APIRouter(prefix="/api/v1/command", tags=["command"])


# ---- accountability (守土有责) ------------------------------------------------------------


class MeasureOut(BaseModel):
    key: str
    label_zh: str
    label_en: str
    recorded: bool  # False: no stored timestamp yet (无记录), counts are empty
    target_hours: float
    events: int
    on_time: int
    late: int
    pending: int
    overdue: int
    median_hours: float | None


class TasksOut(BaseModel):
    total: int
    on_time: int
    late: int
    open_overdue: int
    open: int
    cancelled: int
    missed: int
    median_delay_hours: float | None


class RegionOut(BaseModel):
    code: str
    name: str
    level: str
    rank: int | None  # counties only
    score: float | None  # 0..1, counties only
    tasks: TasksOut
    measures: list[MeasureOut]


class UnitOut(BaseModel):
    region_code: str
    region_name: str
    role: str | None
    county: str
    tasks: TasksOut


class GapOut(BaseModel):
    kind: str  # task | measure
    what: str  # a task kind or a measure key
    what_zh: str
    what_en: str
    region_code: str
    region_name: str
    role: str | None
    excess_hours: float
    count: int
    task_id: int | None
    now_region_code: str | None


class AccountabilityOut(BaseModel):
    region_code: str
    first_day: date
    last_day: date
    counties: list[RegionOut]
    rollups: list[RegionOut]
    units: list[UnitOut]
    gaps: list[GapOut]


def _tasks(t: TaskStat) -> TasksOut:
    return TasksOut(total=t.total, on_time=t.on_time, late=t.late, open_overdue=t.open_overdue,
                    open=t.open, cancelled=t.cancelled, missed=t.missed,
                    median_delay_hours=t.median_delay_hours)  # fmt: skip


def _measure(s: MeasureStat) -> MeasureOut:
    m = next(m for m in MEASURES if m.key == s.key)
    return MeasureOut(key=s.key, label_zh=m.zh, label_en=m.en, recorded=s.recorded,
                      target_hours=s.target_hours, events=s.events, on_time=s.on_time,
                      late=s.late, pending=s.pending, overdue=s.overdue,
                      median_hours=s.median_hours)  # fmt: skip


def _region(r: RegionTimeliness, rank: int | None, score: float | None) -> RegionOut:
    return RegionOut(code=r.code, name=r.name, level=r.level, rank=rank, score=score,
                     tasks=_tasks(r.tasks),
                     measures=[_measure(r.measures[m.key]) for m in MEASURES])  # fmt: skip


@command_api.get("/accountability", response_model=AccountabilityOut)
def get_accountability(
    call: CallDep,
    ctx: Ctx,
    region: Annotated[str | None, Query(max_length=15, description="default: yours")] = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS,
    last: Annotated[date | None, Query(description="last day; default today")] = None,
) -> AccountabilityOut:
    """Timeliness measures and tasks per county (and city/province), the county ranking
    and the ten worst gaps (查漏补短). Right ``command.read``; counties under ``region``
    (in your jurisdiction). Errors: ``auth.forbidden`` 403, ``command.region_unknown``
    404, ``command.days_invalid`` / ``command.date_invalid`` 422."""
    from fangkong.command.accountability import what_label

    a = read_accountability(call, ctx.codes.pack, region=region, days=days, last=last)
    t = a.timeliness
    return AccountabilityOut(
        region_code=t.region_code, first_day=t.period.first, last_day=t.period.last,
        counties=[_region(r.county, r.rank, r.score) for r in a.ranks],
        rollups=[_region(r, None, None) for r in t.rollups],
        units=[UnitOut(region_code=u.region_code, region_name=u.region_name, role=u.role,
                       county=u.county, tasks=_tasks(u.tasks)) for u in t.units],
        gaps=[GapOut(kind=g.kind, what=g.what, what_zh=what_label(g, "zh"),
                     what_en=what_label(g, "en"), region_code=g.region_code,
                     region_name=g.region_name, role=g.role, excess_hours=g.excess_hours,
                     count=g.count, task_id=g.task_id, now_region_code=g.now_region_code)
              for g in a.gaps],
    )  # fmt: skip
