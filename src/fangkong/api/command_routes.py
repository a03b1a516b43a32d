"""The command centre's API (指挥调度, ``/api/v1/command``): the board, daily briefings,
tasks and accountability.

Routes parse the request and call one function of ``fangkong.command.access*`` (rights,
jurisdiction, audit) — the same the pages and the CLI call. The board's numbers are
aggregates: ``command.read`` suffices; a record of another region answers 404 like one
that does not exist; writes are audited. Staff use the session cookie and
``X-CSRF-Token`` on POST; a unit's duty terminal (a device token of scope ``tasks``,
bound to a region and optionally a role) the bearer token on the same task routes, and
resends a change safely with its ``ref``. Every key comes with its label in the language
asked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from fangkong import bounds
from fangkong.api.routes import ERRORS
from fangkong.command import access_tasks
from fangkong.command.access_accountability import MAX_DAYS
from fangkong.command.access_accountability import accountability as read_accountability
from fangkong.command.access_board import board
from fangkong.command.access_briefing import (
    BriefingEntry,
    briefing_numbers,
    list_briefings,
    write_briefing,
)
from fangkong.command.briefing import AreaChange
from fangkong.command.model import KIND, MEASURES, STATUS, TASK_KINDS, TASK_STATUSES, beyond
from fangkong.command.rules import CommandRules
from fangkong.command.tables import EVIDENCE_MAX, REF_MAX
from fangkong.command.tasks import DETAIL_MAX, NOTE_MAX, TITLE_MAX, Change, TaskView
from fangkong.command.timeliness import DEFAULT_DAYS, MeasureStat, RegionTimeliness, TaskStat
from fangkong.http.deps import CallDep, Ctx
from fangkong.http.problems import negotiate

command_api = APIRouter(prefix="/api/v1/command", tags=["command"])

_PROBLEM = {"model": dict[str, Any], "description": "problem+json (RFC 9457)"}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {**ERRORS, 400: _PROBLEM, 409: _PROBLEM}
TaskId = Annotated[int, Path(**bounds.ID_BOUNDS, description="the task's id")]
_KINDS = " | ".join(k.key for k in TASK_KINDS)
_STATUSES = " | ".join(s.key for s in TASK_STATUSES)


def _lang(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


# ---- tasks (任务) ---------------------------------------------------------------------------


class TaskOut(BaseModel):
    id: int
    kind: str = Field(description=_KINDS)
    kind_label: str
    title: str = Field(description="a manual task's title, else the kind's label")
    source_type: str | None
    source_id: str | None
    region_code: str = Field(description="the unit that owes the task now")
    origin_region_code: str = Field(description="the unit it was first set to")
    role: str | None
    params: dict[str, Any]
    status: str = Field(description=_STATUSES)
    status_label: str
    raised_at: datetime
    raised_by: str
    deadline_at: datetime
    escalation_level: int
    escalated_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    evidence: str | None
    overdue: bool = Field(description="still open past its deadline")
    late: bool = Field(description="done after its deadline")
    missed: bool = Field(description="逾期: late, or open past the deadline")


class TasksOut(BaseModel):
    total: int
    limit: int
    offset: int
    tasks: list[TaskOut]


class ChangeOut(BaseModel):
    at: datetime
    changed_by: str
    from_status: str | None
    to_status: str
    from_region: str | None
    to_region: str | None
    note: str
    ref: str | None = Field(description="the sender's change id, when it gave one")


class TaskDetailOut(TaskOut):
    history: list[ChangeOut]


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region_code: bounds.Line = Field(min_length=1, max_length=15, description="a unit below yours")
    role: bounds.Line | None = Field(None, max_length=40, description="a role within the unit")
    title: bounds.Line = Field(min_length=1, max_length=TITLE_MAX)
    detail: bounds.Text = Field("", max_length=DETAIL_MAX)
    deadline_at: bounds.PlannedInstant | None = Field(
        None, description="ISO 8601 with offset; default: the pack's manual deadline_hours"
    )


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: bounds.Line = Field(max_length=12, description=_STATUSES)
    note: bounds.Text | None = Field(None, max_length=NOTE_MAX, description="needed to cancel")
    evidence: bounds.Text | None = Field(
        None, max_length=EVIDENCE_MAX,
        description="what the unit did; needed to close as done; with the task's own (open) "
        "status: new evidence, the status kept",
    )  # fmt: skip
    ref: bounds.Line | None = Field(
        None, min_length=1, max_length=REF_MAX,
        description="idempotency key: the sender's id of this change; resent, the change is "
        "not made again (the task is answered as it stands)",
    )  # fmt: skip


def _task_out(task: TaskView, lang: str) -> dict[str, Any]:
    kind, status = KIND.get(task.kind), STATUS.get(task.status)
    return {
        **{name: getattr(task, name) for name in TaskOut.model_fields if hasattr(task, name)},
        "params": dict(task.params),
        "kind_label": kind.label(lang) if kind else task.kind,
        "status_label": status.label(lang) if status else task.status,
        "title": task.title(lang),
    }


def _change_out(change: Change) -> ChangeOut:
    return ChangeOut(**{name: getattr(change, name) for name in ChangeOut.model_fields})


@command_api.get("/tasks", response_model=TasksOut, responses=ERRORS)
def get_tasks(
    request: Request,
    call: CallDep,
    region: Annotated[bounds.Line | None, Query(max_length=15, description="a region")] = None,
    status: Annotated[bounds.Line | None, Query(max_length=12, description=_STATUSES)] = None,
    open_only: Annotated[bool, Query(description="open, acknowledged, in progress")] = False,
    kind: Annotated[bounds.Line | None, Query(max_length=24, description=_KINDS)] = None,
    overdue: Annotated[bool, Query(description="open tasks past their deadline")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=bounds.INT32_MAX)] = 0,
) -> TasksOut:  # fmt: skip
    """Tasks of the caller's jurisdiction (first or current unit inside it), by deadline:
    staff's, or a unit's duty terminal's (its region's subtree; bound to a role: that
    role's tasks and the unit's). ``task.read``; audited."""
    rows, total = access_tasks.list_tasks(
        call, region=region, status=status, open_only=open_only, kind=kind, overdue=overdue,
        limit=limit, offset=offset,
    )  # fmt: skip
    lang = _lang(request)
    return TasksOut(total=total, limit=limit, offset=offset,
                    tasks=[TaskOut(**_task_out(t, lang)) for t in rows])  # fmt: skip


@command_api.get("/tasks/{task_id}", response_model=TaskDetailOut, responses=ERRORS)
def get_task(request: Request, call: CallDep, task_id: TaskId) -> TaskDetailOut:
    """One task with its history; a task outside the jurisdiction answers 404.
    ``task.read``; audited."""
    detail = access_tasks.read_task(call, task_id)
    return TaskDetailOut(**_task_out(detail.task, _lang(request)),
                         history=[_change_out(c) for c in detail.history])  # fmt: skip


@command_api.post("/tasks", response_model=TaskOut, responses=WRITE_ERRORS, status_code=201)
def post_task(request: Request, ctx: Ctx, call: CallDep, body: AssignIn) -> TaskOut:
    """Set a task by hand (交办) for a unit strictly below the caller's region.
    ``task.assign``; audited. Errors: ``command.region_not_below`` 400."""
    task = access_tasks.assign_task(
        call, CommandRules.from_pack(ctx.codes.pack), region_code=body.region_code,
        role=body.role, title=body.title, detail=body.detail, deadline_at=body.deadline_at,
    )  # fmt: skip
    return TaskOut(**_task_out(task, _lang(request)))


@command_api.post("/tasks/{task_id}/status", response_model=TaskOut, responses=WRITE_ERRORS)
def post_task_status(request: Request, call: CallDep, task_id: TaskId, body: StatusIn) -> TaskOut:
    """Acknowledge (签收), work on, close with evidence (办结) or cancel (``task.assign``)
    a task; staff by session, a unit's duty terminal by device token (scope ``tasks``).
    ``task.change``; audited. A change made before — the same ``ref``, or the status the
    task has (with the same evidence) — answers the task as it stands and writes nothing,
    so an offline device may resend its queue. Errors: ``command.status_move``
    409, ``command.ref_reused`` 409 (the ``ref`` made another move),
    ``command.evidence_missing`` / ``command.note_missing`` 400."""
    task = access_tasks.change_status(
        call, task_id, body.status, note=body.note, evidence=body.evidence, ref=body.ref
    )
    return TaskOut(**_task_out(task, _lang(request)))


class MeasureOut(BaseModel):
    key: str
    label_zh: str
    label_en: str
    target_hours: float
    events: int
    on_time: int
    late: int
    pending: int
    overdue: int
    median_hours: float | None


class TaskStatsOut(BaseModel):
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
    tasks: TaskStatsOut
    measures: list[MeasureOut]


class UnitOut(BaseModel):
    region_code: str
    region_name: str
    role: str | None
    county: str
    tasks: TaskStatsOut


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


def _tasks(t: TaskStat) -> TaskStatsOut:
    return TaskStatsOut(total=t.total, on_time=t.on_time, late=t.late, open_overdue=t.open_overdue,
                    open=t.open, cancelled=t.cancelled, missed=t.missed,
                    median_delay_hours=t.median_delay_hours)  # fmt: skip


def _measure(s: MeasureStat) -> MeasureOut:
    m = next(m for m in MEASURES if m.key == s.key)
    return MeasureOut(key=s.key, label_zh=m.zh, label_en=m.en,
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


class BoardRegionOut(BaseModel):
    code: str
    name: str
    level: str


class FigureOut(BaseModel):
    key: str
    group: str
    unit: str
    zh: str
    en: str
    value: float | None = Field(
        description="null: not computed for the day, or past its bound (more_than)"
    )
    previous: float | None = Field(description="the day before; null as value")
    change: float | None
    more_than: float | None = Field(
        description="set when the figure lies past this bound (days of capacity left: "
        "the pack's [command] days_left_horizon, the demand forecast's horizon): read "
        '"> more_than"; value and change are then null'
    )
    link: str | None


class GroupOut(BaseModel):
    key: str
    zh: str
    en: str


class CurvePointOut(BaseModel):
    day: date
    new: float
    controlled: float
    community: float


class ChildOut(BoardRegionOut):
    figures: dict[str, float | None] = Field(description="null: absent, or past its bound")
    more_than: dict[str, float] = Field(description="the figures past their bound, and it")


class BoardOut(BaseModel):
    region: BoardRegionOut
    day: date | None
    computed_at: str | None
    figures: list[FigureOut]
    groups: list[GroupOut]
    curve: list[CurvePointOut]
    children: list[ChildOut]
    trail: list[BoardRegionOut]


@command_api.get("/board", response_model=BoardOut)
def get_board(
    ctx: Ctx,
    call: CallDep,
    region: Annotated[str | None, Query(max_length=15, description="default: your region")] = None,
    day: Annotated[date | None, Query(description="default: the latest computed day")] = None,
) -> BoardOut:
    """The board of a region (``command.read``; a region outside your jurisdiction is
    answered as absent, 404 ``command.region_unknown``): each figure on the day with its
    change from the day before and the list behind it (only when you may open it), the
    curve of new cases found under control and in the community, and the same figures for
    each child region. ``day`` null in the answer: no figures computed yet."""
    view = board(call, CommandRules.from_pack(ctx.codes.pack), region=region, day=day)
    return BoardOut.model_validate(view.board.as_json(view.links))


# ---- daily briefings (日报) ------------------------------------------------------------------

BriefingId = Annotated[int, Path(**bounds.ID_BOUNDS, description="the briefing's id")]
Lang = Literal["zh", "en"]


class BriefingOut(BaseModel):
    id: int
    region_code: str
    region_name: str
    region_level: str
    day: date
    written_at: datetime
    written_by: str


def _entry(e: BriefingEntry) -> BriefingOut:
    return BriefingOut(id=e.id, region_code=e.region_code, region_name=e.region_name,
                       region_level=e.region_level, day=e.day, written_at=e.written_at,
                       written_by=e.written_by)  # fmt: skip


class BriefingFigureOut(BaseModel):
    key: str = Field(description="a figure key of the board (docs/command.md)")
    label: str
    unit: str = Field(description="count, beds, days, or percent (0…100)")
    today: float | None = Field(description="null: absent, or past its bound (more_than)")
    yesterday: float | None = Field(description="the day before; null as today")
    change: float | None
    more_than: float | None = Field(
        description='set when today\'s value lies past this bound: read "> more_than"'
    )


class OverdueOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    status_label: str
    region_code: str = Field(description="the unit that owes it now")
    region_name: str
    role: str | None
    role_label: str
    deadline_at: datetime
    hours_overdue: float
    escalation_level: int


class AreaChangeOut(BaseModel):
    area_id: int
    area_name: str
    region_code: str
    at: datetime
    from_level: str | None
    to_level: str


class CapacityOut(BaseModel):
    kind: str
    label: str
    occupied: float | None
    capacity: float | None


class CurveOut(BaseModel):
    day: date
    controlled: float
    community: float


class BriefingDetailOut(BriefingOut):
    lang: Lang
    figures: list[BriefingFigureOut]
    curve: list[CurveOut]
    capacity: list[CapacityOut]
    days_left: float | None = Field(
        description="days of capacity left; null: nobody came in, or past days_left_more_than"
    )
    days_left_more_than: float | None = Field(
        description="set when days left lie past this bound (the pack's [command] "
        'days_left_horizon, the demand forecast\'s horizon): read "> days_left_more_than"'
    )
    overdue: list[OverdueOut]
    overdue_total: int
    designated: list[AreaChangeOut]
    lifted: list[AreaChangeOut]


class BriefingIn(BaseModel):
    region_code: bounds.Line = Field(max_length=15)
    lang: Lang = "zh"
    cities: bool = Field(False, description="also one briefing per child city (各市分会场)")


class WrittenOut(BaseModel):
    region_code: str
    id: int


@command_api.get("/briefings", response_model=list[BriefingOut], responses=ERRORS)
def get_briefings(call: CallDep) -> list[BriefingOut]:
    """Past briefings of the caller's jurisdiction, newest day first (``command.read``)."""
    return [_entry(e) for e in list_briefings(call)]


@command_api.get("/briefings/{briefing_id}", response_model=BriefingDetailOut,
                 responses=ERRORS)  # fmt: skip
def get_briefing(
    call: CallDep, ctx: Ctx, briefing_id: BriefingId, lang: Annotated[Lang, Query()] = "zh"
) -> BriefingDetailOut:
    """A briefing's numbers and tables (rebuilt from the stored figures of its region and
    day as of when it was written); 404 outside the jurisdiction."""
    rules = CommandRules.from_pack(ctx.codes.pack)
    entry, b = briefing_numbers(call, rules, briefing_id, lang)
    return BriefingDetailOut(
        **_entry(entry).model_dump(), lang=lang,
        figures=[BriefingFigureOut(key=f.key, label=f.label, unit=f.unit,
                                   today=None if f.more_than else f.today,
                                   yesterday=None if beyond(f.yesterday, f.bound)
                                   else f.yesterday,
                                   change=f.change, more_than=f.more_than)
                 for f in b.figures],
        curve=[CurveOut(day=p.day, controlled=p.controlled, community=p.community)
               for p in b.curve],
        capacity=[CapacityOut(kind=o.kind, label=o.label, occupied=o.occupied,
                              capacity=o.capacity) for o in b.occupancy],
        days_left=None if beyond(b.days_left, b.days_left_bound) else b.days_left,
        days_left_more_than=(b.days_left_bound if beyond(b.days_left, b.days_left_bound)
                             else None),
        overdue=[OverdueOut(id=t.id, kind=t.kind, kind_label=t.kind_label,
                            status_label=t.status_label, region_code=t.region_code,
                            region_name=t.region_name, role=t.role, role_label=t.role_label,
                            deadline_at=t.deadline_at, hours_overdue=t.hours_overdue,
                            escalation_level=t.escalation_level) for t in b.overdue],
        overdue_total=b.overdue_total,
        designated=[_area(c) for c in b.designated], lifted=[_area(c) for c in b.lifted],
    )  # fmt: skip


def _area(c: AreaChange) -> AreaChangeOut:
    return AreaChangeOut(area_id=c.area_id, area_name=c.area_name, region_code=c.region_code,
                         at=c.at, from_level=c.from_level, to_level=c.to_level)  # fmt: skip


@command_api.post("/briefings", response_model=list[WrittenOut], status_code=201,
                  responses=ERRORS)  # fmt: skip
def post_briefing(call: CallDep, ctx: Ctx, body: BriefingIn) -> list[WrittenOut]:
    """Write (or rewrite) today's briefing (the system clock's day) of a region of the
    jurisdiction, with ``cities`` one per child city too; audited."""
    rules = CommandRules.from_pack(ctx.codes.pack)
    done = write_briefing(call, rules, region_code=body.region_code, lang=body.lang,
                          cities=body.cities)  # fmt: skip
    return [WrittenOut(region_code=w.region_code, id=w.briefing_id) for w in done]
