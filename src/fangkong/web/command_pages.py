"""Command pages (指挥调度): the daily briefings of the jurisdiction (``command.read``).

Handlers parse the query or form, call one function of ``fangkong.command.access*`` and
render a template.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong import bounds
from fangkong.command.access_briefing import list_briefings, read_briefing, write_briefing
from fangkong.command.rules import CommandRules
from fangkong.errors import BadInput, NotFound
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.http.problems import status_of
from fangkong.web.pages import PathId, page, page_lang, session_csrf_basis

command_pages = APIRouter(include_in_schema=False)

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
