"""The command centre's API (指挥调度, ``/api/v1/command``).

Routes parse the query and call one function of ``fangkong.command.access*`` (rights,
jurisdiction, audit). The board's numbers are aggregates: ``command.read`` suffices.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from fangkong.command.access_board import board
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
