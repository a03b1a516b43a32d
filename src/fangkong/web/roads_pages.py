"""The road-status page (道路通行状态): a map of the checkpoints coloured by state, each a
link to its page, and the list of states (``road.read``; jurisdiction). Handlers parse the
query, call ``fangkong.roads.access`` and render."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong.errors import BadInput, NotFound
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep
from fangkong.roads.access import STATUS_SORTS, read_road_status, report_road
from fangkong.roads.map import COLOURS, project
from fangkong.roads.rules import AUTHORITY_LEVELS
from fangkong.roads.state import REPORT_STATUSES, STATES
from fangkong.roads.status import MAX_WAIT_MINUTES, MAX_WAITING, ReportIn
from fangkong.roads.tables import AUTHORITY_MAX, REASON_MAX
from fangkong.web import forms, listing
from fangkong.web.pages import page, page_lang, session_csrf_basis

roads_pages = APIRouter(include_in_schema=False)

STATUS_LIST = listing.ListSpec(tuple(STATUS_SORTS))
MAP_WIDTH, MAP_HEIGHT = 640, 480


REPORT_FIELDS = (
    forms.text("checkpoint", max_length=40, required=True),
    forms.text("ref", max_length=64, required=True),
    forms.choice("status", REPORT_STATUSES),
    forms.integer("vehicles_waiting", lo=0, hi=MAX_WAITING),
    forms.integer("wait_minutes", lo=0, hi=MAX_WAIT_MINUTES, required=False),
    forms.integer("lanes_open", lo=0, hi=1000),
    forms.choice("authority_level", AUTHORITY_LEVELS, required=False),
    forms.text("authority", max_length=AUTHORITY_MAX),
    forms.text("reason", max_length=REASON_MAX),
)
# a service refusal → the field it is about, drawn next to it
REPORT_FIELD_OF = {"roads.checkpoint_unknown": "checkpoint", "roads.checkpoint_forbidden":
                   "checkpoint", "roads.closed_lanes": "lanes_open",
                   "value.out_of_range": "lanes_open"}  # fmt: skip


@roads_pages.get("/roads")
def get_roads(
    request: Request,
    call: CallDep,
    state: Annotated[str | None, Query(max_length=24)] = None,
    reported: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The map of every checkpoint in the jurisdiction and one page of the list."""
    return _page(request, call, state, reported=reported)


@roads_pages.post("/roads/report")
def post_report(request: Request, call: CallDep, posted: forms.Posted) -> Response:
    """A checkpoint's report from the page (卡口自报, a desk on a phone): the form's own ref
    makes a second press of the button harmless."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(REPORT_FIELDS, posted.items, tz=call.tz)
    if got.run(lambda v: report_road(call, ReportIn(
        v["checkpoint"], v["ref"], call.now(), v["vehicles_waiting"], v["wait_minutes"],
        v["lanes_open"], v["status"], v["authority_level"], v["authority"], v["reason"],
    ), via="form"), (BadInput, NotFound)):  # fmt: skip
        return RedirectResponse(f"/roads?reported={got.values['checkpoint']}", status_code=303)
    code, context = got.refused("road-report", page_lang(request), fields_of=REPORT_FIELD_OF)
    return _page(request, call, None, code=code, **context)


def _page(request: Request, call: CallDep, state: str | None, *, code: int = 200,
          **context: Any) -> HTMLResponse:  # fmt: skip
    chosen = state if state in STATES else None
    lst = listing.parse(request, STATUS_LIST)
    everything, _ = read_road_status(call)
    rows, total = read_road_status(call, state=chosen, bounded=lst.bounded)
    points = project([(r.code, r.latitude, r.longitude) for r in everything],
                     width=MAP_WIDTH, height=MAP_HEIGHT)  # fmt: skip
    by_code = {r.code: r for r in everything}
    counts = {s: sum(r.state == s for r in everything) for s in STATES}
    as_of = max((r.as_of for r in everything if r.as_of is not None), default=None)
    return page(request, "roads/status.html", status=max(code, lst.status), actor=call.actor,
                points=[(p, by_code[p.code]) for p in points], colours=COLOURS,
                states=STATES, counts=counts, rows=rows, total=total, chosen=chosen,
                as_of=as_of, lst=lst, pager=lst.pager(total, len(rows)),
                width=MAP_WIDTH, height=MAP_HEIGHT, new_ref=secrets.token_hex(8),
                statuses=REPORT_STATUSES, levels=AUTHORITY_LEVELS,
                limits={"authority": AUTHORITY_MAX, "reason": REASON_MAX}, **context)  # fmt: skip
