"""Risk-area pages: the public list and map (no login, no personal data), the demand
forecast (quarantine.read) and the needs of sealed areas (need.manage, audited).

Handlers parse the query or form, call one function and render a template.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.guard import Call
from fangkong.errors import BadInput, Conflict, NotFound
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.http.problems import status_of
from fangkong.quarantine.forecast import (
    ForecastOptions,
    forecast_view,
    run_out_order,
)
from fangkong.riskareas.access import (
    change_need,
    designate_area,
    read_needs,
    read_risk_areas,
)
from fangkong.riskareas.charts import forecast_rows, forecast_spec, map_spec
from fangkong.riskareas.needs import NEED_SORTS
from fangkong.riskareas.public import map_features, public_areas
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.riskareas.service import AREA_SORTS
from fangkong.web import forms, listing
from fangkong.web.i18n import translations
from fangkong.web.pages import PathId, page, page_lang, session_csrf_basis, signed_in

riskarea_pages = APIRouter(include_in_schema=False)

AREAS = listing.ListSpec(tuple(AREA_SORTS))
# the suggestions are computed (riskareas.suggest), not stored: paged on the computed list,
# in the order the suggester gives (high before medium, then by region)
SUGGESTIONS = listing.ListSpec((), size=50, prefix="s")
NEEDS = listing.ListSpec(tuple(NEED_SORTS))

LEVEL_MSGIDS = {"high": "High risk", "medium": "Medium risk", "low": "Low risk",
                "none": "Not a risk area", "name": "Name", "level": "Risk level"}  # fmt: skip


def _json(spec: dict[str, Any]) -> str:
    # inside <script type="application/json">: keep "</" from closing the element
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


@riskarea_pages.get("/risk-areas")
def get_public_list(request: Request, ctx: Ctx) -> HTMLResponse:
    """The public list of current high and medium areas (公示), no login."""
    lst = listing.parse(request, AREAS)
    areas, total = public_areas(ctx.engine, ctx.codes, lst.bounded)
    return page(request, "riskareas/list.html", status=lst.status, actor=signed_in(request),
                areas=areas, lst=lst, pager=lst.pager(total, len(areas)))  # fmt: skip


@riskarea_pages.get("/risk-areas/map")
def get_map(request: Request, ctx: Ctx) -> HTMLResponse:
    """Areas on a map of region shapes drawn from the registry (no tiles), no login."""
    gettext = translations(page_lang(request)).gettext
    labels = {k: gettext(v) for k, v in LEVEL_MSGIDS.items()}
    shapes = map_features(ctx.engine, labels)
    derived = any(f["properties"]["derived"] for f in shapes)
    return page(request, "riskareas/map.html", actor=signed_in(request),
                map_spec=_json(map_spec(shapes, labels)),
                shapes=len(shapes), derived=derived)  # fmt: skip


@riskarea_pages.get("/forecast")
def get_forecast(
    request: Request, ctx: Ctx, call: CallDep,
    region: Annotated[str | None, Query(max_length=15)] = None,
    rt_factor: Annotated[float, Query(ge=0, le=5)] = 1.0,
    standby: bool = False,
) -> HTMLResponse:  # fmt: skip
    """Rooms needed per region for the next 14 days against capacity (what-ifs in the
    query: Rt factor, standby rooms opened)."""
    opts = ForecastOptions(r_factor=rt_factor, include_standby=standby, draws=300)
    rf = forecast_view(call, ctx.codes.pack, opts)
    run_out = rf.forecast.run_out_day()
    order = run_out_order(rf)
    chosen = rf.regions.index(region) if region in rf.regions else (order[0] if order else None)
    days = rf.days()
    rows = [
        {"code": rf.regions[i], "name": rf.names[i], "capacity": int(rf.forecast.capacity[i]),
         "rt": None if rf.rt_mean[i] != rf.rt_mean[i] else round(float(rf.rt_mean[i]), 2),
         "last": forecast_rows(rf, i)[-1] if days else None,
         "runs_out": days[run_out[i] - 1] if run_out[i] else None}
        for i in order
    ]  # fmt: skip
    spec = None
    if chosen is not None:
        title = f"{rf.names[chosen]} ({rf.regions[chosen]})"
        gettext = translations(page_lang(request)).gettext
        labels = {"day": gettext("Day"), "rooms": gettext("Rooms"),
                  "median": gettext("Rooms needed (median)"), "low": gettext("Low (1 in 20)"),
                  "high": gettext("High (19 in 20)"),
                  "p_exceed": gettext("Chance the rooms run out")}  # fmt: skip
        spec = _json(forecast_spec(rf, chosen, title, labels))
    return page(request, "riskareas/forecast.html", actor=call.actor, rows=rows, spec=spec,
                chosen=None if chosen is None else rf.regions[chosen], pack=rf.pack,
                rt_factor=rt_factor, standby=standby, draws=rf.forecast.draws)  # fmt: skip


def _needs_page(request: Request, ctx: Any, call: Call, *, code: int = 200,
                error: str | None = None) -> HTMLResponse:  # fmt: skip
    lst = listing.parse(request, NEEDS)
    rows, total = read_needs(call, bounded=lst.bounded)
    kinds = RiskAreaRules.from_pack(ctx.codes.pack).need_kinds
    return page(request, "riskareas/needs.html", status=max(code, lst.status), actor=call.actor,
                rows=rows, kinds=kinds, error=error, lst=lst,
                pager=lst.pager(total, len(rows)))  # fmt: skip


@riskarea_pages.get("/risk-areas/needs")
def get_needs(request: Request, ctx: Ctx, call: CallDep) -> HTMLResponse:
    """Open needs of residents of sealed areas in the actor's jurisdiction, overdue first."""
    return _needs_page(request, ctx, call)


NEED_FIELDS = (forms.text("status", max_length=20, required=True),
               forms.multiline("note", max_length=2000))  # fmt: skip


@riskarea_pages.post("/risk-areas/needs/{need_id}")
def post_need(
    request: Request, ctx: Ctx, call: CallDep, need_id: PathId, posted: forms.Posted
) -> Response:
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(NEED_FIELDS, posted.items, tz=call.tz)
    if got.ok:
        try:
            change_need(call, need_id, got.values["status"], got.values["note"] or "")
        except (BadInput, Conflict, NotFound) as exc:
            return _needs_page(request, ctx, call, code=status_of(exc),
                               error=exc.problem.text(page_lang(request)))  # fmt: skip
        return RedirectResponse("/risk-areas/needs", status_code=303)
    # one small form per row: the errors, each with its field's name, above the list
    lang = page_lang(request)
    error = " ".join(p.text(lang) for p in got.errors.values())
    return _needs_page(request, ctx, call, code=422, error=error)


def _manage_page(request: Request, ctx: Any, call: Call, *, code: int = 200,
                 error: str | None = None, done: str | None = None,
                 shown: forms.Shown | None = None) -> HTMLResponse:  # fmt: skip
    lst = listing.parse(request, AREAS)
    view = read_risk_areas(call, ctx.codes, lst.bounded)
    levels = RiskAreaRules.from_pack(ctx.codes.pack).levels
    slst = listing.parse(request, SUGGESTIONS)
    found = view.suggestions[slst.bounded.offset : slst.bounded.offset + slst.bounded.limit]
    return page(request, "riskareas/manage.html", status=max(code, lst.status, slst.status),
                actor=call.actor, found=found, slst=slst,
                spager=slst.pager(len(view.suggestions), len(found)), areas=view.areas,
                history=view.history, levels=levels,
                error=error, done=done, shown=shown, lst=lst,
                pager=lst.pager(view.total, len(view.areas)))  # fmt: skip


@riskarea_pages.get("/risk-areas/manage")
def get_manage(
    request: Request, ctx: Ctx, call: CallDep,
    done: Annotated[str | None, Query(max_length=80)] = None,
) -> HTMLResponse:  # fmt: skip
    """Suggestions, areas with reasons and history; the designation form."""
    return _manage_page(request, ctx, call, done=done)


def designate_fields(levels: Iterable[str]) -> tuple[forms.Field, ...]:
    return (forms.region("region_code"), forms.choice("level", levels),
            forms.multiline("reason", required=True))  # fmt: skip


@riskarea_pages.post("/risk-areas/designate")
def post_designate(request: Request, ctx: Ctx, call: CallDep, posted: forms.Posted) -> Response:
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    levels = RiskAreaRules.from_pack(ctx.codes.pack).levels
    got = forms.parse(designate_fields(levels), posted.items, tz=call.tz)  # fmt: skip
    if got.run(lambda v: designate_area(call, ctx.codes, region_code=v["region_code"],
                                        level=v["level"], reason=v["reason"]),
               (BadInput, Conflict, NotFound)):  # fmt: skip
        done = got.values["region_code"]
        return RedirectResponse(f"/risk-areas/manage?done={done}", status_code=303)
    code, context = got.refused("designate", page_lang(request), None, _REGION_UNKNOWN)
    return _manage_page(request, ctx, call, code=code, **context)


# absent, or outside the jurisdiction (the same answer): next to the field
_REGION_UNKNOWN = {"riskarea.region_unknown": "region_code"}
