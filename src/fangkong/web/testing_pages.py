"""Pages for testing (核酸检测): campaigns (plan, what-if, live progress, coverage by
compound, who has not been sampled), lab results and tube lookup, late and lost tubes.

Handlers parse the query or form, call one function of ``fangkong.testing.access`` (which
checks rights and jurisdiction and audits) and render a template. Forms that change
something carry the session's CSRF token.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.guard import Call
from fangkong.auth.rights import TESTING_MANAGE
from fangkong.errors import BadInput, FangkongError, NotFound
from fangkong.http.context import AppContext, check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.http.problems import status_of
from fangkong.testing.access.campaigns import (
    CAMPAIGN_SORTS,
    CampaignView,
    campaign_list,
    campaign_view,
    start_campaign,
)
from fangkong.testing.access.results import (
    BATCH_SORTS,
    OVERDUE_SORTS,
    RESULT_SORTS,
    flag_overdue_now,
    overdue_tubes,
    results_board,
)
from fangkong.testing.access.tubes import read_tube
from fangkong.testing.rules import TestingRules
from fangkong.testing.tables import FLAGS
from fangkong.web import forms, listing
from fangkong.web.i18n import translations
from fangkong.web.pages import PathId, QueryCount, page, page_lang, session_csrf_basis

testing_pages = APIRouter(include_in_schema=False)

CAMPAIGNS = listing.ListSpec(tuple(CAMPAIGN_SORTS))
RESULTS = listing.ListSpec(tuple(RESULT_SORTS))
BATCHES = listing.ListSpec(tuple(BATCH_SORTS), size=20, prefix="b")
OVERDUE = listing.ListSpec(tuple(OVERDUE_SORTS))


def _rules(ctx: AppContext) -> TestingRules:
    return TestingRules.from_pack(ctx.codes.pack)


# ---- campaigns ------------------------------------------------------------------------------


def _campaigns_page(
    request: Request, ctx: AppContext, call: Call, *, status: int = 200, **context: Any
) -> HTMLResponse:
    rules, actor = _rules(ctx), call.actor
    lst = listing.parse(request, CAMPAIGNS)
    rows, total = campaign_list(call, lst.bounded)
    return page(request, "testing/campaigns.html", status=max(status, lst.status), actor=actor,
                campaigns=rows, lst=lst, pager=lst.pager(total, len(rows)),
                pool_sizes=rules.pool_sizes,
                default_pool=rules.campaign.pool_size, target_hours=rules.campaign.target_hours,
                can_manage=actor.can(TESTING_MANAGE), **context)  # fmt: skip


@testing_pages.get("/testing")
def get_campaigns(request: Request, ctx: Ctx, call: CallDep) -> HTMLResponse:
    return _campaigns_page(request, ctx, call)


def campaign_fields(rules: TestingRules) -> tuple[forms.Field, ...]:
    return (
        forms.text("name", max_length=100, required=True),
        forms.region("region_code"),
        forms.instant("starts_at", "planned"),
        forms.choice("pool_size", [str(k) for k in rules.pool_sizes], required=False),
    )


@testing_pages.post("/testing/campaigns")
def post_campaign(request: Request, ctx: Ctx, call: CallDep, posted: forms.Posted) -> Response:
    """Start a campaign over a region (``testing.manage``); the local time of the form is
    read in the deployment's time zone."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    rules = _rules(ctx)
    got = forms.parse(campaign_fields(rules), posted.items, tz=call.tz)  # fmt: skip
    if got.run(lambda v: start_campaign(call, rules, v["name"], v["region_code"], v["starts_at"],
                                        pool_size=int(v["pool_size"]) if v["pool_size"] else None),
               (BadInput, NotFound)):  # fmt: skip
        return RedirectResponse(f"/testing/campaigns/{got.result}", status_code=303)
    status, context = got.refused("start-campaign", page_lang(request), None, _REGION_UNKNOWN)
    return _campaigns_page(request, ctx, call, status=status, **context)


ROW_PX = 22  # the height of a compound's bar in the progress chart


def progress_spec(view: CampaignView, lang: str = "en") -> str:
    """A Vega-Lite bar chart: share sampled per compound, the gap to everyone in grey."""
    values = [
        {"compound": f"{c.name} ({c.code})", "share": round(c.share, 4), "sampled": c.sampled,
         "residents": c.residents}
        for c in view.progress.compounds
    ]  # fmt: skip
    gettext = translations(lang).gettext
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "width": "container",
        # a height in pixels, not {"step": 22}: a width fitted to its container with a
        # stepped height makes Vega-Lite warn on the console (dropping "fit-y")
        "height": ROW_PX * max(1, len(values)),
        "data": {"values": values},
        "layer": [
            {"mark": {"type": "bar", "color": "#e3e7ec"},
             "encoding": {"y": {"field": "compound", "type": "nominal", "title": None,
                                "sort": None},
                          "x": {"datum": 1, "type": "quantitative"}}},
            {"mark": {"type": "bar", "color": "#2e7d32"},
             "encoding": {"y": {"field": "compound", "type": "nominal", "sort": None},
                          "x": {"field": "share", "type": "quantitative", "title": None,
                                "axis": {"format": "%"}, "scale": {"domain": [0, 1]}},
                          "tooltip": [{"field": "compound", "title": gettext("Compound")},
                                      {"field": "sampled", "title": gettext("Sampled")},
                                      {"field": "residents", "title": gettext("Residents")}]}},
        ],
    }  # fmt: skip
    # inside <script type="application/json">: keep "</" from closing the element
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


@testing_pages.get("/testing/campaigns/{campaign_id}")
def get_campaign(request: Request, ctx: Ctx, call: CallDep, campaign_id: PathId) -> HTMLResponse:
    view = campaign_view(call, _rules(ctx), campaign_id)
    p = view.progress
    deadline = p.starts_at + timedelta(hours=p.target_hours)
    predicted = None
    if view.projection is not None:
        predicted = p.starts_at + timedelta(hours=view.projection.results_hours)
    planned_at = None
    if view.plan is not None:
        planned_at = p.starts_at + timedelta(hours=view.plan.results_hours)
    return page(request, "testing/campaign.html", actor=call.actor, view=view, deadline=deadline,
                predicted=predicted, planned_at=planned_at,
                chart_spec=progress_spec(view, page_lang(request)))  # fmt: skip


# ---- results, tubes, overdue ----------------------------------------------------------------


@testing_pages.get("/testing/results")
def get_results(
    request: Request, call: CallDep,
    barcode: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:  # fmt: skip
    if barcode and barcode.strip():
        return RedirectResponse(f"/testing/tubes/{barcode.strip()}", status_code=303)
    return _results_page(request, call)


def _results_page(
    request: Request, call: Call, *, status: int = 200, **context: Any
) -> HTMLResponse:
    found, posted = listing.parse(request, RESULTS), listing.parse(request, BATCHES)
    board = results_board(call, results_page=found.bounded, batches_page=posted.bounded)
    return page(request, "testing/results.html", status=max(status, found.status, posted.status),
                actor=call.actor, board=board, found=found, posted=posted,
                found_pager=found.pager(board.not_negative_total, len(board.not_negative)),
                posted_pager=posted.pager(board.batches_total, len(board.batches)),
                **context)  # fmt: skip


@testing_pages.get("/testing/tubes/{barcode}")
def get_tube(request: Request, call: CallDep, barcode: str) -> HTMLResponse:
    try:
        detail = read_tube(call, barcode[:40])
    except NotFound as exc:
        return _results_page(request, call, status=404, error=exc.problem.text(page_lang(request)))
    return page(request, "testing/tube.html", actor=call.actor, d=detail)


def _overdue_page(
    request: Request, ctx: AppContext, call: Call, flag: str | None, *, status: int = 200,
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    rules, actor = _rules(ctx), call.actor
    chosen = flag if flag in FLAGS else None
    lst = listing.parse(request, OVERDUE)
    rows, total = overdue_tubes(call, flag=chosen, bounded=lst.bounded)
    return page(request, "testing/overdue.html", status=max(status, lst.status), actor=actor,
                tubes=rows, lst=lst, pager=lst.pager(total, len(rows)), flag=chosen,
                lost_hours=rules.lost_tube_hours, result_hours=rules.result_hours,
                can_manage=actor.can(TESTING_MANAGE), **context)  # fmt: skip


@testing_pages.get("/testing/overdue")
def get_overdue(
    request: Request, ctx: Ctx, call: CallDep,
    flag: Annotated[str | None, Query(max_length=10)] = None,
    lost: QueryCount = None,
    late: QueryCount = None,
) -> HTMLResponse:  # fmt: skip
    return _overdue_page(request, ctx, call, flag, flagged=(lost, late))


@testing_pages.post("/testing/overdue/flag")
def post_flag(
    request: Request, ctx: Ctx, call: CallDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """Run the late/lost check now (``testing.manage``)."""
    check_csrf(request, csrf_token, session_csrf_basis(request))
    try:
        out = flag_overdue_now(call, _rules(ctx))
    except FangkongError as exc:
        if status_of(exc) == 403:
            raise
        return _overdue_page(request, ctx, call, None, status=status_of(exc),
                             error=exc.problem.text(page_lang(request)))  # fmt: skip
    return RedirectResponse(f"/testing/overdue?lost={out.lost}&late={out.late}", status_code=303)


# absent, or outside the jurisdiction (the same answer): next to the field
_REGION_UNKNOWN = {"testing.region_unknown": "region_code"}
