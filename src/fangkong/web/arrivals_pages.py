"""Arrivals pages: the board per arrival point (stages, overdue, hand-offs) and one
traveller's closed loop with a confirmation form. Thin callers of ``arrivals.access``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong.arrivals.access import (
    confirm_stage,
    read_board,
    read_traveller,
)
from fangkong.arrivals.board import OVERDUE_SORTS
from fangkong.arrivals.rules import STAGES, ArrivalRules
from fangkong.auth.guard import Call
from fangkong.errors import BadInput, Conflict, FangkongError, NotFound, Problem
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.web import forms, listing
from fangkong.web.pages import PathId, page, page_lang, session_csrf_basis

arrivals_pages = APIRouter(include_in_schema=False)


OVERDUE = listing.ListSpec(tuple(OVERDUE_SORTS))


@arrivals_pages.get("/arrivals")
def get_board(
    request: Request, ctx: Ctx, call: CallDep,
    point: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:  # fmt: skip
    """The points' stage counts and one page of the overdue travellers (of one point)."""
    lst = listing.parse(request, OVERDUE)
    view = read_board(call, ArrivalRules.from_pack(ctx.codes.pack), lst.bounded,
                      point=point or None)  # fmt: skip
    return page(request, "arrivals/board.html", status=lst.status, actor=call.actor, view=view,
                stages=STAGES, lst=lst, point=point or "",
                point_names={p.point: p.name for p in view.points},
                pager=lst.pager(view.overdue_total, len(view.overdue)))  # fmt: skip


def _traveller_page(
    request: Request, call: Call, tid: int, *, status: int = 200, **context: Any
) -> HTMLResponse:
    view, name = read_traveller(call, tid)
    return page(request, "arrivals/traveller.html", status=status, actor=call.actor, t=view,
                name=name, stages=STAGES, **context)  # fmt: skip


@arrivals_pages.get("/arrivals/travellers/{tid}")
def get_traveller(request: Request, call: CallDep, tid: PathId) -> HTMLResponse:
    return _traveller_page(request, call, tid)


CONFIRM_FIELDS = (
    forms.choice("stage", STAGES[2:]),  # what a receiving side confirms
    forms.choice("seen", STAGES),  # the stage the page showed when the form was drawn
)
PASSED = Problem(
    "arrivals.stage_passed",
    "旅客已处于此阶段或之后，未作任何变更",
    "the traveller is already at or past this stage; nothing was changed",
)


@arrivals_pages.post("/arrivals/travellers/{tid}/confirm")
def post_confirm_form(
    request: Request, ctx: Ctx, call: CallDep, tid: PathId, posted: forms.Posted
) -> Response:
    """The receiving side confirms by form (the API takes scans). A stage the traveller
    has already passed is refused on the form: a re-scan is harmless, a form is a mistake."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(CONFIRM_FIELDS, posted.items, tz=call.tz)
    exc: FangkongError | None = None
    if got.ok:
        wanted = got.values["stage"]
        now = None  # a stage at or before the one the page showed has passed
        try:
            if STAGES.index(wanted) > STAGES.index(got.values["seen"]):
                _, now = confirm_stage(call, ctx.codes, wanted, traveller_id=tid, via="form")
        except (BadInput, Conflict, NotFound) as error:
            exc = error
        else:
            if now == wanted:
                return RedirectResponse(f"/arrivals/travellers/{tid}", status_code=303)
            got.fail("stage", PASSED)
            status, context = got.refused("confirm", page_lang(request))
            return _traveller_page(request, call, tid, status=409, **context)
    status, context = got.refused(
        "confirm", page_lang(request), exc, {"arrivals.stage_refused": "stage"}
    )
    return _traveller_page(request, call, tid, status=status, **context)
