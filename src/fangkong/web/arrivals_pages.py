"""Arrivals pages: the board per arrival point (stages, overdue, hand-offs) and one
traveller's closed loop with a confirmation form. Thin callers of ``arrivals.access``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong import bounds
from fangkong.arrivals.access import (
    confirm_stage,
    read_board,
    read_traveller,
)
from fangkong.arrivals.rules import STAGES, ArrivalRules
from fangkong.auth.guard import Call
from fangkong.errors import BadInput, Conflict, NotFound
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.http.problems import status_of
from fangkong.web.pages import PathId, page, page_lang, session_csrf_basis

arrivals_pages = APIRouter(include_in_schema=False)


@arrivals_pages.get("/arrivals")
def get_board(request: Request, ctx: Ctx, call: CallDep) -> HTMLResponse:
    view = read_board(call, ArrivalRules.from_pack(ctx.codes.pack))
    return page(request, "arrivals/board.html", actor=call.actor, view=view, stages=STAGES)


def _traveller_page(
    request: Request,
    call: Call,
    tid: int,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    view, name = read_traveller(call, tid)
    return page(
        request,
        "arrivals/traveller.html",
        status=status,
        actor=call.actor,
        t=view,
        name=name,
        error=error,
        stages=STAGES,
    )


@arrivals_pages.get("/arrivals/travellers/{tid}")
def get_traveller(request: Request, call: CallDep, tid: PathId) -> HTMLResponse:
    return _traveller_page(request, call, tid)


@arrivals_pages.post("/arrivals/travellers/{tid}/confirm")
def post_confirm_form(
    request: Request,
    ctx: Ctx,
    call: CallDep,
    tid: PathId,
    stage: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The receiving side confirms by form (the API takes scans)."""
    check_csrf(request, csrf_token, session_csrf_basis(request))
    try:
        bounds.refuse(bounds.text_problem(stage, "stage"))
        confirm_stage(call, ctx.codes, stage, traveller_id=tid, via="form")
    except (BadInput, Conflict, NotFound) as exc:
        return _traveller_page(
            request,
            call,
            tid,
            status=status_of(exc),
            error=exc.problem.text(page_lang(request)),
        )
    return RedirectResponse(f"/arrivals/travellers/{tid}", status_code=303)
