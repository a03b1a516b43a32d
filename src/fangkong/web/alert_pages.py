"""Pages of early warning (预警): the alert list with filters, one alert with its series
and threshold drawn (Vega-Lite) and its lifecycle buttons (CSRF), the four-earlies board.
Devices send signal counts to ``POST /api/v1/signals`` (``fangkong.api.alerts_routes``).

Handlers parse the query or form, call one function of ``fangkong.alerts.access`` (rights,
jurisdiction, audit) and render a template. An alert's escalation is its command task's
(who owes it now, level, deadline), shown next to the alert.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong import bounds
from fangkong.alerts.access import (
    ALERT_SORTS,
    AlertDetail,
    Filters,
    change_alert,
    list_alerts,
    read_alert,
    read_board,
)
from fangkong.alerts.model import KINDS, SEVERITIES, SIGNALS, STATUSES
from fangkong.alerts.rules import AlertRules
from fangkong.auth.guard import Call
from fangkong.errors import BadInput
from fangkong.http.context import app_context, check_csrf
from fangkong.http.deps import CallDep
from fangkong.web import forms, listing
from fangkong.web.i18n import translations
from fangkong.web.labels import names
from fangkong.web.pages import PathId, page, page_lang, session_csrf_basis

alert_pages = APIRouter(include_in_schema=False)

Filter = Annotated[str | None, Query(max_length=64)]
ALERTS = listing.ListSpec(tuple(ALERT_SORTS))


@alert_pages.get("/alerts")
def get_alerts(
    request: Request, call: CallDep,
    status: Filter = None, severity: Filter = None, kind: Filter = None, rule: Filter = None,
    region: Filter = None, escalated: Annotated[bool, Query()] = False,
) -> HTMLResponse:  # fmt: skip
    filters = Filters(status, severity, kind, rule, region, escalated)
    lst = listing.parse(request, ALERTS)
    code, error = lst.status, None
    try:
        bounds.refuse(*(bounds.text_problem(v or "", name) for name, v in
                        (("status", status), ("severity", severity), ("kind", kind),
                         ("rule", rule), ("region", region))))  # fmt: skip
        view = list_alerts(call, filters, lst.bounded)
    except BadInput as exc:
        code, error = 422, exc.problem.text(page_lang(request))
        view = list_alerts(call, Filters(), lst.bounded)
    return page(request, "alerts/list.html", status=code, actor=call.actor, view=view, error=error,
                lst=lst, pager=lst.pager(view.total, len(view.rows)),
                statuses=STATUSES, severities=SEVERITIES, kinds=KINDS,
                rule_names=rule_names(request))  # fmt: skip


def rule_names(request: Request) -> dict[str, str]:
    """The pack's alert rules (triggers and detectors) by id, in the page's language: its
    ``label_zh`` / ``label_en`` (a rule the pack no longer has shows its id)."""
    rules = AlertRules.from_pack(app_context(request).codes.pack)
    zh = page_lang(request) == "zh"
    found: dict[str, tuple[str, str]] = {
        **{k: (r.label_zh, r.label_en) for k, r in rules.triggers.items()},
        **{k: (r.label_zh, r.label_en) for k, r in rules.detectors.items()},
    }
    return {key: names[0] if zh else names[1] for key, names in found.items()}


@alert_pages.get("/alerts/board")
def get_board(request: Request, call: CallDep) -> HTMLResponse:
    return page(request, "alerts/board.html", actor=call.actor, board=read_board(call))


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
    bars = {"mark": {"type": "bar", "tooltip": True},
            "encoding": {"x": x, "y": {"field": "count", "type": "quantitative", "title": count},
                         "color": {"condition": {"test": "datum.alarm", "value": "#c62828"},
                                   "value": "#7a8699"}}}  # fmt: skip
    line = {"transform": [{"filter": "datum.threshold != null"}],
            "mark": {"type": "line", "interpolate": "step-after", "color": "#f2b01e",
                     "strokeWidth": 2, "tooltip": True},
            "encoding": {"x": x, "y": {"field": "threshold", "type": "quantitative",
                                       "title": f"{count} / {bound}"}}}  # fmt: skip
    # a trigger (a count reached, no method) has no threshold: a line layer over no data
    # would give Vega empty extents ("Infinite extent") and draw nothing
    has_line = any(v["threshold"] is not None for v in values)
    spec = {"width": "container", "height": 260, "data": {"values": values},
            "layer": [bars, line] if has_line else [bars]}  # fmt: skip
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


def _detail_page(request: Request, call: Call, alert_id: int, *, code: int = 200,
                 **context: Any) -> HTMLResponse:  # fmt: skip
    detail = read_alert(call, alert_id)
    lang = page_lang(request)
    return page(request, "alerts/detail.html", status=code, actor=call.actor, d=detail,
                spec=series_spec(detail, lang), signal_names=SIGNALS,
                task_status_names=names("task_status", lang),
                **context)  # fmt: skip


@alert_pages.get("/alerts/{alert_id}")
def get_alert(
    request: Request, call: CallDep, alert_id: PathId,
    changed: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:  # fmt: skip
    return _detail_page(request, call, alert_id, changed=changed)


STATUS_FIELDS = (forms.choice("status", STATUSES), forms.multiline("note", required=True))


@alert_pages.post("/alerts/{alert_id}/status")
def post_status(
    request: Request, call: CallDep, alert_id: PathId, posted: forms.Posted
) -> Response:
    """A lifecycle step (核实 / 调查 / 结案 / 排除) with a note."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(STATUS_FIELDS, posted.items, tz=call.tz)
    if got.run(lambda v: change_alert(call, alert_id, v["status"], v["note"])):
        status = got.values["status"]
        return RedirectResponse(f"/alerts/{alert_id}?changed={status}", status_code=303)
    code, context = got.refused("lifecycle", page_lang(request))
    return _detail_page(request, call, alert_id, code=code, **context)
