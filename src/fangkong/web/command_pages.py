"""Pages of the command centre (指挥调度). Each room keeps its routes in its own functions.

The situation board (态势看板): ``/command`` — the board of the reader's region, ``?region=``
to drill down (province → city → county → township), ``?day=`` for another day; every
number links to the list behind it when the reader may open it. ``/command/wall`` — the
command room's wall: large type, refreshed every ``wall_refresh_seconds``, figures only
(no names, not even the reader's), ``command.read`` and nothing else.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from fangkong.command.access_board import BoardView, board
from fangkong.command.board import Board
from fangkong.command.model import FIGURE, FIGURE_GROUPS, FIGURES
from fangkong.command.rules import CommandRules
from fangkong.http.deps import CallDep, Ctx
from fangkong.web.pages import page, page_lang

command_pages = APIRouter(include_in_schema=False)

RegionQuery = Annotated[str | None, Query(max_length=15)]
DayQuery = Annotated[date | None, Query()]
# the columns of the drill-down table (every figure is on the child's own board)
CHILD_KEYS = ("cases.new", "cases.cumulative", "cases.found_community", "contacts.awaiting",
              "contacts.overdue", "risk_areas.high", "testing.late_tubes", "arrivals.overdue",
              "work.tasks_overdue")  # fmt: skip


# ---- the situation board (态势看板) -----------------------------------------------------


def shown(value: float | None, unit: str) -> str:
    """A figure as people read it: counts whole, shares in percent, days to one decimal."""
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "days":
        return f"{value:.1f}"
    return f"{round(value):,}"


def curve_spec(b: Board, lang: str) -> str:
    """Vega-Lite: new cases per day, stacked: found under control and in the community."""
    controlled = FIGURE["cases.found_controlled"].label(lang)
    community = FIGURE["cases.found_community"].label(lang)
    values = [
        {"day": p.day.isoformat(), "found": name, "cases": n}
        for p in b.curve
        for name, n in ((controlled, p.controlled), (community, p.community))
    ]
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": "container", "height": 220, "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "day", "type": "ordinal", "title": None,
                  "axis": {"labelAngle": -45}},
            "y": {"field": "cases", "type": "quantitative",
                  "title": FIGURE["cases.new"].label(lang)},
            "color": {"field": "found", "type": "nominal", "title": None,
                      "scale": {"domain": [controlled, community],
                                "range": ["#7a8699", "#c62828"]},
                      "legend": {"orient": "top"}},
        },
    }  # fmt: skip
    # inside <script type="application/json">: keep "</" from closing the element
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


def _view(ctx: Ctx, call: CallDep, region: str | None, day: date | None, *,
          wall: bool) -> BoardView:  # fmt: skip
    return board(call, CommandRules.from_pack(ctx.codes.pack), region=region, day=day, wall=wall)


@command_pages.get("/command")
def get_board(
    request: Request, ctx: Ctx, call: CallDep, region: RegionQuery = None, day: DayQuery = None
) -> HTMLResponse:
    view = _view(ctx, call, region, day, wall=False)
    lang = page_lang(request)
    return page(request, "command/board.html", actor=call.actor, view=view, b=view.board,
                groups=FIGURE_GROUPS, figures=FIGURES, child_keys=CHILD_KEYS, figure=FIGURE,
                shown=shown, spec=curve_spec(view.board, lang))  # fmt: skip


@command_pages.get("/command/wall")
def get_wall(request: Request, ctx: Ctx, call: CallDep, region: RegionQuery = None) -> HTMLResponse:
    view = _view(ctx, call, region, None, wall=True)
    lang = page_lang(request)
    return page(request, "command/wall.html", actor=None, view=view, b=view.board,
                groups=FIGURE_GROUPS, figures=FIGURES, shown=shown,
                spec=curve_spec(view.board, lang))  # fmt: skip
