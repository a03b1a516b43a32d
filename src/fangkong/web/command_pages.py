"""Pages of the command centre (指挥调度). Each room keeps its routes in its own functions.

The situation board (态势看板): ``/command`` — the board of the reader's region, ``?region=``
to drill down (province → city → county → township), ``?day=`` for another day; every
number links to the list behind it when the reader may open it. ``/command/wall`` — the
command room's wall: large type, refreshed every ``wall_refresh_seconds``, figures only
(no names, not even the reader's), ``command.read`` and nothing else.

Daily briefings (日报): ``/command/briefings`` — the jurisdiction's past briefings and a
button writing today's (CSRF, audited); ``/command/briefings/{id}`` the stored file as
written, ``…/csv`` its tables.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong import bounds
from fangkong.command.access_board import BoardView, board
from fangkong.command.access_briefing import list_briefings, read_briefing, write_briefing
from fangkong.command.board import Board
from fangkong.command.model import FIGURE, FIGURE_GROUPS, FIGURES
from fangkong.command.rules import CommandRules
from fangkong.errors import BadInput, NotFound
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.http.problems import status_of
from fangkong.web.pages import PathId, page, page_lang, session_csrf_basis

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


# ---- daily briefings (日报) ------------------------------------------------------------------

# the stored file is a whole document of its own: it may style itself and show its inline
# SVG, and nothing else (no script, no fetch, no form)
BRIEFING_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                "frame-ancestors 'none'; form-action 'none'; base-uri 'none'")  # fmt: skip


def _briefings_page(request: Request, call: CallDep, *, status: int = 200,
                    **context: object) -> HTMLResponse:  # fmt: skip
    rows = list_briefings(call)
    return page(request, "command/briefings.html", status=status, actor=call.actor, rows=rows,
                region=call.actor.region_code or "", **context)  # fmt: skip


@command_pages.get("/command/briefings")
def get_briefings(
    request: Request, call: CallDep,
    written: Annotated[int | None, Query(ge=0, le=10_000)] = None,
) -> HTMLResponse:  # fmt: skip
    """Past briefings of the jurisdiction, newest day first; a button writes today's."""
    return _briefings_page(request, call, written=written)


@command_pages.post("/command/briefings")
def post_briefing(
    request: Request, ctx: Ctx, call: CallDep,
    region: Annotated[str, Form(max_length=15)] = "",
    cities: Annotated[bool, Form()] = False,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """Write today's briefing (the system clock's day) of a region, in the page's language."""
    check_csrf(request, csrf_token, session_csrf_basis(request))
    lang = page_lang(request)
    try:
        bounds.refuse(bounds.text_problem(region, "region"))
        rules = CommandRules.from_pack(ctx.codes.pack)
        done = write_briefing(call, rules, region_code=region, lang=lang, cities=cities)
    except (BadInput, NotFound) as exc:
        return _briefings_page(request, call, status=status_of(exc),
                               error=exc.problem.text(lang))  # fmt: skip
    return RedirectResponse(f"/command/briefings?written={len(done)}", status_code=303)


@command_pages.get("/command/briefings/{briefing_id}")
def get_briefing(call: CallDep, briefing_id: PathId) -> HTMLResponse:
    """The stored briefing file as written (self-contained HTML)."""
    stored = read_briefing(call, briefing_id)
    return HTMLResponse(stored.html, headers={"Content-Security-Policy": BRIEFING_CSP})


@command_pages.get("/command/briefings/{briefing_id}/csv")
def get_briefing_csv(call: CallDep, briefing_id: PathId) -> Response:
    """The stored briefing's tables as CSV (for the meeting's spreadsheet)."""
    stored = read_briefing(call, briefing_id)
    name = f"briefing-{stored.entry.region_code}-{stored.entry.day.isoformat()}.csv"
    return Response("\ufeff" + stored.csv, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
