"""The command centre's pages (指挥调度). Handlers parse the query, call one guarded
function of ``fangkong.command`` and render a template under ``templates/command/``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, Response

from fangkong.command.access_accountability import MAX_DAYS, accountability
from fangkong.command.accountability import role_label, what_label
from fangkong.command.model import MEASURES
from fangkong.command.timeliness import DEFAULT_DAYS
from fangkong.http.deps import CallDep, Ctx
from fangkong.web.pages import page, page_lang

command_pages = APIRouter(include_in_schema=False)


# ---- accountability (守土有责) ------------------------------------------------------------

Region = Annotated[str | None, Query(max_length=15)]
Days = Annotated[int, Query(ge=1, le=MAX_DAYS)]


@command_pages.get("/command/accountability")
def get_accountability(
    request: Request, ctx: Ctx, call: CallDep, region: Region = None, days: Days = DEFAULT_DAYS,
    last: date | None = None,
) -> HTMLResponse:  # fmt: skip
    """Counties ranked by timeliness and tasks on time, the measures per county with
    their labels, the ten worst gaps with their owners, a period filter and the CSV."""
    lang = page_lang(request)
    report = accountability(call, ctx.codes.pack, region=region or None, days=days, last=last)
    gaps = [
        {"gap": g, "what": what_label(g, lang), "role": role_label(g.role, lang)}
        for g in report.gaps
    ]
    return page(request, "command/accountability.html", actor=call.actor, report=report,
                t=report.timeliness, measures=MEASURES, gaps=gaps, region=region or "",
                days=days, last=last, max_days=MAX_DAYS,
                role_label=lambda r: role_label(r, lang))  # fmt: skip


@command_pages.get("/command/accountability.csv")
def get_accountability_csv(
    request: Request, ctx: Ctx, call: CallDep, region: Region = None, days: Days = DEFAULT_DAYS,
    last: date | None = None,
) -> Response:  # fmt: skip
    """The ranking and the gaps as CSV for the meeting (labels in the page's language)."""
    report = accountability(call, ctx.codes.pack, region=region or None, days=days, last=last)
    p = report.timeliness.period
    name = f"accountability-{report.timeliness.region_code}-{p.first}-{p.last}.csv"
    return Response(
        "\ufeff" + report.to_csv(page_lang(request)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
