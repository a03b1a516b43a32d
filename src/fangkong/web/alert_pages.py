"""Pages of early warning (预警): the alert list with filters, one alert with its series
and threshold drawn (Vega-Lite) and its lifecycle buttons (CSRF), the four-earlies board;
and the HTTP endpoint devices send signal counts to.

Handlers parse the query or form, call one function of ``fangkong.alerts.access`` (rights,
jurisdiction, escalation on read, audit) and render a template.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong import bounds, clock
from fangkong.alerts.access import (
    AlertDetail,
    Filters,
    board,
    change_alert,
    list_alerts,
    show_alert,
    submit_signals,
)
from fangkong.alerts.model import KINDS, SEVERITIES, SIGNALS, STATUSES
from fangkong.errors import BadInput, Conflict, NotFound
from fangkong.http.context import check_csrf
from fangkong.http.deps import Address, Caller, Ctx
from fangkong.http.problems import status_of
from fangkong.web.i18n import translations
from fangkong.web.pages import PathId, page, page_lang, session_csrf_basis

alert_pages = APIRouter(include_in_schema=False)
signals_api = APIRouter(prefix="/api/v1", tags=["signals"])

Filter = Annotated[str | None, Query(max_length=64)]


@alert_pages.get("/alerts")
def get_alerts(
    request: Request, ctx: Ctx, actor: Caller, address: Address,
    status: Filter = None, severity: Filter = None, kind: Filter = None, rule: Filter = None,
    region: Filter = None, escalated: Annotated[bool, Query()] = False,
) -> HTMLResponse:  # fmt: skip
    filters = Filters(status, severity, kind, rule, region, escalated)
    code, error = 200, None
    try:
        bounds.refuse(*(bounds.text_problem(v or "", name) for name, v in
                        (("status", status), ("severity", severity), ("kind", kind),
                         ("rule", rule), ("region", region))))  # fmt: skip
        view = list_alerts(ctx.engine, ctx.keys.audit, actor, address, filters, clock.now())
    except BadInput as exc:
        code, error = 422, exc.problem.text(page_lang(request))
        view = list_alerts(ctx.engine, ctx.keys.audit, actor, address, Filters(), clock.now())
    return page(request, "alerts/list.html", status=code, actor=actor, view=view, error=error,
                statuses=STATUSES, severities=SEVERITIES, kinds=KINDS)  # fmt: skip


@alert_pages.get("/alerts/board")
def get_board(request: Request, ctx: Ctx, actor: Caller, address: Address) -> HTMLResponse:
    b = board(ctx.engine, ctx.keys.audit, actor, address, clock.now(), ctx.codes.tz)
    return page(request, "alerts/board.html", actor=actor, board=b)


def series_spec(detail: AlertDetail, lang: str) -> str:
    """Vega-Lite: the counts as bars, the method's threshold as a line, alarms marked."""
    gettext = translations(lang).gettext
    ev = detail.evidence
    count, bound = gettext("Observed"), gettext("Threshold")
    values = [
        {"period": p, "count": c, "threshold": t, "alarm": a}
        for p, c, t, a in zip(ev["periods"], ev["counts"], ev["thresholds"], ev["alarms"],
                              strict=True)
    ]  # fmt: skip
    x = {"field": "period", "type": "temporal", "title": None}
    spec = {
        "width": "container", "height": 260, "data": {"values": values},
        "layer": [
            {"mark": {"type": "bar", "tooltip": True},
             "encoding": {"x": x, "y": {"field": "count", "type": "quantitative",
                                        "title": count},
                          "color": {"condition": {"test": "datum.alarm", "value": "#c62828"},
                                    "value": "#7a8699"}}},
            {"transform": [{"filter": "datum.threshold != null"}],
             "mark": {"type": "line", "interpolate": "step-after", "color": "#f2b01e",
                      "strokeWidth": 2, "tooltip": True},
             "encoding": {"x": x, "y": {"field": "threshold", "type": "quantitative",
                                        "title": f"{count} / {bound}"}}},
        ],
    }  # fmt: skip
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


def _detail_page(request: Request, ctx: Ctx, actor: Any, address: str, alert_id: int,
                 *, code: int = 200, **context: Any) -> HTMLResponse:  # fmt: skip
    detail = show_alert(ctx.engine, ctx.keys.audit, actor, alert_id, address, clock.now())
    lang = page_lang(request)
    return page(request, "alerts/detail.html", status=code, actor=actor, d=detail,
                spec=series_spec(detail, lang), signal_names=SIGNALS, **context)  # fmt: skip


@alert_pages.get("/alerts/{alert_id}")
def get_alert(
    request: Request, ctx: Ctx, actor: Caller, address: Address, alert_id: PathId,
    changed: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:  # fmt: skip
    return _detail_page(request, ctx, actor, address, alert_id, changed=changed)


@alert_pages.post("/alerts/{alert_id}/status")
def post_status(
    request: Request, ctx: Ctx, actor: Caller, address: Address, alert_id: PathId,
    status: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    """A lifecycle step (核实 / 调查 / 结案 / 排除) with a note."""
    check_csrf(request, csrf_token, session_csrf_basis(request))
    try:
        bounds.refuse(bounds.text_problem(status, "status"),
                      bounds.text_problem(note, "note", multiline=True))  # fmt: skip
        change_alert(ctx.engine, ctx.keys.audit, actor, alert_id, status, note, address,
                     clock.now())  # fmt: skip
    except (BadInput, Conflict) as exc:
        return _detail_page(request, ctx, actor, address, alert_id, code=status_of(exc),
                            error=exc.problem.text(page_lang(request)))  # fmt: skip
    except NotFound:
        raise
    return RedirectResponse(f"/alerts/{alert_id}?changed={status}", status_code=303)


class SignalIn(BaseModel):
    signal: bounds.Line = Field(max_length=32, description=f"one of: {', '.join(SIGNALS)}")
    date: bounds.EventDateText = Field(
        max_length=10, description="the local day counted, YYYY-MM-DD"
    )
    count: bounds.Count = Field(description="the count for that day")
    region_code: bounds.Line | None = Field(
        None, max_length=15, description="default: the region of the device's venue"
    )
    event_id: bounds.Line | None = Field(
        None, max_length=64, description="the sender's id of the report"
    )


class SignalsIn(BaseModel):
    signals: list[SignalIn] = Field(min_length=1, max_length=5000)


class SignalsOut(BaseModel):
    rows: int
    inserted: int
    updated: int
    unchanged: int


@signals_api.post("/signals", response_model=SignalsOut)
def post_signals(ctx: Ctx, actor: Caller, body: SignalsIn) -> SignalsOut:
    """Counts from a reporting point (device token of scope ``signals``, or a user with
    ``signal.submit``): all or none. A resent count changes nothing; a corrected one
    replaces it. Errors: ``signals.invalid`` 422 naming ``signals[i].field``,
    ``auth.forbidden`` 403."""
    r = submit_signals(ctx.engine, actor, [s.model_dump() for s in body.signals])
    return SignalsOut(rows=r.rows, inserted=r.inserted, updated=r.updated, unchanged=r.unchanged)
