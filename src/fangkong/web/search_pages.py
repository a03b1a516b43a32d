"""The search page (issue 19, point 2): ``/search?q=…`` and the header's search box.

The header's box posts the query (an ID or phone number then stays out of the address bar,
the browser's history and the access log, as the person lookup does); ``GET /search?q=``
answers the same for a link or a bookmark. Thin caller of ``search.service``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from fangkong.auth.guard import Call
from fangkong.auth.rights import PERSON_READ
from fangkong.errors import BadInput
from fangkong.http.context import AppContext, check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.search.service import MAX_QUERY, search
from fangkong.web import forms
from fangkong.web.pages import page, page_lang, session_csrf_basis

search_pages = APIRouter(include_in_schema=False)

# a query longer than the service's bound is still read (and refused with a clear message,
# what was typed kept) rather than answered with a bare 422 page
_RAW_LIMIT = 4 * MAX_QUERY


def _answer(request: Request, ctx: AppContext, call: Call, q: str) -> HTMLResponse:
    call.require(PERSON_READ)
    kept = q[:_RAW_LIMIT]
    if not kept.strip():
        return page(request, "search.html", actor=call.actor, q="", found=None)
    try:
        found = search(call, ctx.sealer, kept, phone_region=ctx.settings.phone_region)
    except BadInput as exc:
        return page(request, "search.html", status=422, actor=call.actor, q=kept,
                    found=None, error=exc.problem.text(page_lang(request)))  # fmt: skip
    return page(request, "search.html", actor=call.actor, q=kept, found=found)


@search_pages.get("/search")
def get_search(
    request: Request,
    ctx: Ctx,
    call: CallDep,
    q: Annotated[str, Query(max_length=_RAW_LIMIT)] = "",
) -> HTMLResponse:
    return _answer(request, ctx, call, q)


@search_pages.post("/search")
def post_search(request: Request, ctx: Ctx, call: CallDep, posted: forms.Posted) -> HTMLResponse:
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    return _answer(request, ctx, call, posted.get("q"))
