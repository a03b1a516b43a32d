"""The command centre's API (指挥调度, ``/api/v1/command``): the board, daily briefings.

Routes parse the query and call one function of ``fangkong.command.access*`` (rights,
jurisdiction, audit) — the same the pages and the CLI call. The board's numbers are
aggregates: ``command.read`` suffices; a briefing of another region answers 404 like one
that does not exist; writes are audited. Staff use the session cookie (and
``X-CSRF-Token`` on POST).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from fangkong import bounds
from fangkong.api.routes import ERRORS
from fangkong.command.access_board import board
from fangkong.command.access_briefing import (
    BriefingEntry,
    briefing_numbers,
    list_briefings,
    write_briefing,
)
from fangkong.command.briefing import AreaChange
from fangkong.command.rules import CommandRules
from fangkong.http.deps import CallDep, Ctx

command_api = APIRouter(prefix="/api/v1/command", tags=["command"])


# ---- the situation board (态势看板) -----------------------------------------------------


class RegionOut(BaseModel):
    code: str
    name: str
    level: str


class FigureOut(BaseModel):
    key: str
    group: str
    unit: str
    zh: str
    en: str
    value: float | None
    previous: float | None
    change: float | None
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


class ChildOut(RegionOut):
    figures: dict[str, float | None]


class BoardOut(BaseModel):
    region: RegionOut
    day: date | None
    computed_at: str | None
    figures: list[FigureOut]
    groups: list[GroupOut]
    curve: list[CurvePointOut]
    children: list[ChildOut]
    trail: list[RegionOut]


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
    today: float | None
    yesterday: float | None
    change: float | None


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
    days_left: float | None
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
        figures=[BriefingFigureOut(key=f.key, label=f.label, unit=f.unit, today=f.today,
                           yesterday=f.yesterday, change=f.change) for f in b.figures],
        curve=[CurveOut(day=p.day, controlled=p.controlled, community=p.community)
               for p in b.curve],
        capacity=[CapacityOut(kind=o.kind, label=o.label, occupied=o.occupied,
                              capacity=o.capacity) for o in b.occupancy],
        days_left=b.days_left,
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
