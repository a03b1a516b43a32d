"""The pages: login/logout, home, person lookup, person, health codes, corrections queue,
audit log, language switch.

Handlers parse the form or query, call one service function and render a template.
Typed errors raised here are rendered by ``fangkong.server.app`` (a login page for
``Unauthenticated``, an error page otherwise), in the page's language.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong import bounds
from fangkong.audit.log import AUDIT_SORTS
from fangkong.auth.audit_reads import audit_page
from fangkong.auth.guard import Call
from fangkong.auth.model import Actor
from fangkong.auth.records import (
    Summary,
    lookup_person,
    read_person,
    read_summary,
)
from fangkong.auth.rights import CODE_READ, PERSON_READ
from fangkong.auth.sessions import SESSION_EXPIRED, login, logout
from fangkong.errors import (
    BadInput,
    Conflict,
    FangkongError,
    Forbidden,
    InvalidFields,
    NotFound,
    Unauthenticated,
)
from fangkong.healthcode.access import (
    CORRECTION_SORTS,
    CodeView,
    ColourSummary,
    colour_summary,
    correction_queue,
    decide_code_correction,
    file_code_correction,
    lookup_code,
    read_code,
)
from fangkong.healthcode.evaluator import fmt_time
from fangkong.http.context import (
    LANG_COOKIE,
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    AppContext,
    app_context,
    check_csrf,
    csrf_token,
    current_actor,
    session_csrf,
)
from fangkong.http.deps import Address, CallDep, Caller, Ctx
from fangkong.http.problems import status_of
from fangkong.search.places import RegionNames
from fangkong.web import forms, listing
from fangkong.web.i18n import DEFAULT_LANG, LANGS, render, translations

pages = APIRouter(include_in_schema=False)

PathId = Annotated[int, Path(**bounds.ID_BOUNDS)]
"""A row id in a page's path: 1 … 2**31−1, the column's range (else 422, never a 500)."""
QueryId = Annotated[int | None, Query(**bounds.ID_BOUNDS)]
"""A row id in a page's query (``?filed=``, ``?resolved=``), bounded likewise."""
QueryCount = Annotated[int | None, Query(**bounds.OFFSET_BOUNDS)]
"""A count or offset in a page's query: 0 … 2**31−1."""


def page_lang(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANG)
    return lang if lang in LANGS else DEFAULT_LANG


def safe_next(value: str | None) -> str:
    """A local path to go back to; anything else (another site) becomes the home page."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def signed_in(request: Request) -> Actor | None:
    """The person whose session this is, or None: for the public pages (the risk-area list
    and map), which show the navigation to a signed-in reader like every other page."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return current_actor(request)
    except Unauthenticated:
        return None


def page(
    request: Request,
    template: str,
    *,
    status: int = 200,
    actor: Actor | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = page_lang(request)
    ctx = app_context(request)
    tz = ctx.codes.tz
    html = render(
        lang,
        template,
        request_path=request.url.path,
        # the language switch comes back here, query and all (?page=2&status=open)
        request_here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        actor=actor,
        csrf=session_csrf(request),
        when=lambda t: "—" if t is None else fmt_time(t, tz),
        # a region shown by its name (web/links.py), looked up on first use
        region_name=RegionNames(ctx.engine),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def _cookie(response: Response, ctx: AppContext, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, secure=ctx.settings.cookie_secure, samesite="strict", path="/"
    )


# ---- login / logout ----------------------------------------------------------------------


def _login_page(
    request: Request,
    ctx: AppContext,
    *,
    status: int = 200,
    message: str | None = None,
    next_path: str = "/",
    username: str = "",
) -> HTMLResponse:
    pre = request.cookies.get(PRESESSION_COOKIE) or secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        status=status,
        message=message,
        next_path=next_path,
        username=username,
        login_csrf=csrf_token(ctx.keys, "p:" + pre),
    )
    _cookie(response, ctx, PRESESSION_COOKIE, pre)
    return response


@pages.get("/login")
def get_login(
    request: Request, ctx: Ctx, next: str | None = None, reason: str | None = None
) -> HTMLResponse:
    lang = page_lang(request)
    message = SESSION_EXPIRED.text(lang) if reason == SESSION_EXPIRED.code else None
    return _login_page(request, ctx, message=message, next_path=safe_next(next))


LOGIN_FIELDS = (
    forms.text("username", max_length=64),  # empty: the service's answer, as before
    forms.Field("password", "text", False, 200),  # its length only; never echoed
)


@pages.post("/login")
def post_login(request: Request, ctx: Ctx, address: Address, posted: forms.Posted) -> Response:
    pre = request.cookies.get(PRESESSION_COOKIE)
    check_csrf(request, posted.csrf, "p:" + pre if pre else None)
    username, password, next = posted.get("username"), posted.get("password"), posted.get("next")
    next = next[:500] or "/"
    got = forms.parse(LOGIN_FIELDS[:1], posted.items, tz=UTC)
    if len(password) > LOGIN_FIELDS[1].max_length:
        got.fail("password", forms.too_long(LOGIN_FIELDS[1].max_length, len(password)))
    if not got.ok:  # the login page again, the name as typed, the problem said
        lang = page_lang(request)
        message = " ".join(p.text(lang) for p in got.errors.values())
        return _login_page(request, ctx, status=422, message=message,
                           next_path=safe_next(next), username=username[:64])  # fmt: skip
    try:
        token = login(ctx.engine, ctx.keys.audit, ctx.policy, username.strip(), password, address)
    except FangkongError as exc:
        return _login_page(
            request,
            ctx,
            status=status_of(exc),
            message=exc.problem.text(page_lang(request)),
            next_path=safe_next(next),
            username=username,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    _cookie(response, ctx, SESSION_COOKIE, token)
    response.delete_cookie(PRESESSION_COOKIE, path="/")
    return response


@pages.post("/logout")
def post_logout(
    request: Request,
    ctx: Ctx,
    address: Address,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    check_csrf(request, csrf_token, "s:" + token if token else None)
    if token:
        logout(ctx.engine, ctx.keys.audit, token, address)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@pages.get("/lang/{lang}")
def get_lang(lang: str, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


# ---- home --------------------------------------------------------------------------------


COLOURS = ("green", "yellow", "red")
_COLOUR_HEX = ("#2e7d32", "#f2b01e", "#c62828", "#b8c0cc")


def _chart_spec(summary: Summary, colours: ColourSummary | None, lang: str) -> str:
    """Persons per area; with code rights, each bar split by code colour (the rest: none)."""
    encoding: dict[str, Any] = {
        "y": {"field": "name", "type": "nominal", "sort": "-x", "title": None},
        "x": {"field": "persons", "type": "quantitative", "title": None, "stack": "zero"},
    }
    values: list[dict[str, Any]] = [asdict(a) for a in summary.by_area]
    if colours is not None:
        gettext = translations(lang).gettext
        labels = [gettext(n) for n in ("Green code", "Yellow code", "Red code", "No code yet")]
        coded = {a.code: a for a in colours.by_area}
        values = []
        for area in summary.by_area:
            c = coded.get(area.code)
            counts = [c.green, c.yellow, c.red] if c else [0, 0, 0]
            counts.append(area.persons - sum(counts))
            values += [
                {"name": area.name, "persons": n, "colour": label, "order": i}
                for i, (label, n) in enumerate(zip(labels, counts, strict=True))
            ]
        encoding["color"] = {
            "field": "colour", "type": "nominal", "title": None,
            "scale": {"domain": labels, "range": list(_COLOUR_HEX)},
            "legend": {"orient": "bottom"},
        }  # fmt: skip
        encoding["order"] = {"field": "order", "type": "quantitative"}
    spec = {
        "width": "container",
        # a height in pixels, 32 per area: a height by step beside a width that fits the
        # container makes Vega-Lite warn 'Dropping "fit-y"' in the console
        "height": 32 * max(1, len(summary.by_area)),
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": encoding,
    }
    # inside <script type="application/json">: keep "</" from closing the element
    return json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")


@pages.get("/")
def get_home(request: Request, call: CallDep) -> HTMLResponse:
    actor = call.actor
    summary = read_summary(call)
    colours = colour_summary(call) if actor.can(CODE_READ) else None
    return page(
        request,
        "home.html",
        actor=actor,
        summary=summary,
        colours=colours,
        chart_spec=_chart_spec(summary, colours, page_lang(request)),
    )


@pages.get("/partials/summary")
def get_summary_partial(request: Request, call: CallDep) -> HTMLResponse:
    """The key numbers alone, for htmx to refresh in place."""
    return page(request, "_numbers.html", actor=call.actor, summary=read_summary(call))


# ---- persons -----------------------------------------------------------------------------


@pages.get("/persons/lookup")
def get_person_lookup(request: Request, actor: Caller) -> HTMLResponse:
    actor.require(PERSON_READ)
    return page(request, "person_lookup.html", actor=actor)


LOOKUP_FIELDS = (forms.text("id_number", max_length=40, required=True),)


@pages.post("/persons/lookup")
def post_person_lookup(request: Request, ctx: Ctx, call: CallDep, posted: forms.Posted) -> Response:
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    id_number = posted.get("id_number")
    found = _lookup(
        request,
        id_number,
        lambda: lookup_person(call, ctx.sealer, id_number),
        lambda status, **ctx_: page(request, "person_lookup.html", status=status,
                                    actor=call.actor, **ctx_),
    )  # fmt: skip
    if isinstance(found, Response):
        return found
    return page(request, "person_lookup.html", actor=call.actor, person=found)


def _lookup(
    request: Request, id_number: str, find: Callable[[], Any], answer: Callable[..., HTMLResponse]
) -> Any:
    """Run a lookup by ID number; a bad number (422) or no match (404) is answered on the
    lookup page itself, in the page's language."""
    lang = page_lang(request)
    got = forms.parse(LOOKUP_FIELDS, [("id_number", id_number)], tz=UTC)
    if not got.ok:
        return answer(422, errors={k: p.text(lang) for k, p in got.errors.items()})
    try:
        return find()
    except InvalidFields as exc:
        return answer(422, errors={f.field: f.problem.text(lang) for f in exc.fields})
    except NotFound as exc:
        return answer(404, not_found=exc.problem.text(lang))


def session_csrf_basis(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return "s:" + token if token else None


@pages.get("/persons/{person_id}")
def get_person(request: Request, ctx: Ctx, call: CallDep, person_id: PathId) -> HTMLResponse:
    person = read_person(call, ctx.sealer, person_id)
    return page(request, "person.html", actor=call.actor, person=person)


# ---- health codes (健康码) and corrections (纠错) ---------------------------------------------


def _code_page(
    request: Request, actor: Actor, *, status: int = 200, code: CodeView | None = None,
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    return page(request, "codes.html", status=status, actor=actor, code=code, **context)


@pages.get("/codes")
def get_codes(request: Request, actor: Caller) -> HTMLResponse:
    actor.require(CODE_READ)
    return _code_page(request, actor)


@pages.post("/codes/lookup")
def post_code_lookup(request: Request, ctx: Ctx, call: CallDep, posted: forms.Posted) -> Response:
    """Find by ID number (in the body, never the URL), then show the code by row id."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    id_number = posted.get("id_number")
    found = _lookup(
        request,
        id_number,
        lambda: lookup_code(call, ctx.codes, id_number),
        lambda status, **ctx_: _code_page(request, call.actor, status=status, **ctx_),
    )
    if isinstance(found, Response):
        return found
    return RedirectResponse(f"/codes/{found}", status_code=303)


@pages.get("/codes/{person_id}")
def get_code(
    request: Request,
    ctx: Ctx,
    call: CallDep,
    person_id: PathId,
    filed: QueryId = None,
) -> HTMLResponse:
    code = read_code(call, ctx.codes, person_id)
    return _code_page(request, call.actor, code=code, filed=filed)


CORRECTION_FORM = ("correction-form", (forms.multiline("reason", required=True),))
DECIDE_FIELDS = (forms.choice("decision", ("upheld", "rejected")),
                 forms.multiline("reason", required=True))  # fmt: skip


@pages.post("/codes/{person_id}/corrections")
def post_correction(
    request: Request, ctx: Ctx, call: CallDep, person_id: PathId, posted: forms.Posted
) -> Response:
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    form_id, fields = CORRECTION_FORM
    got = forms.parse(fields, posted.items, tz=call.tz)
    if got.run(lambda v: file_code_correction(call, person_id, v["reason"]), (BadInput,)):
        return RedirectResponse(f"/codes/{person_id}?filed={got.result}", status_code=303)
    code = read_code(call, ctx.codes, person_id)
    exc = got.refusal  # every refusal of the service is about the reason
    status, context = got.refused(form_id, page_lang(request), None,
                                  {exc.code: "reason"} if exc else None)  # fmt: skip
    return _code_page(request, call.actor, status=status, code=code, **context)


def _queue_page(request: Request, call: Call, *, status: int = 200, **context: Any) -> HTMLResponse:
    lst = listing.parse(request, CORRECTIONS)
    items, total = correction_queue(call, lst.bounded)
    return page(request, "corrections.html", status=max(status, lst.status), actor=call.actor,
                items=items, lst=lst, pager=lst.pager(total, len(items)), **context)  # fmt: skip


CORRECTIONS = listing.ListSpec(tuple(CORRECTION_SORTS), size=20)


@pages.get("/corrections")
def get_corrections(request: Request, call: CallDep, decided: QueryId = None) -> HTMLResponse:
    return _queue_page(request, call, decided=decided)


@pages.post("/corrections/{correction_id}/decide")
def post_decide(
    request: Request, ctx: Ctx, call: CallDep, correction_id: PathId, posted: forms.Posted
) -> Response:
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(DECIDE_FIELDS, posted.items, tz=call.tz)
    exc: FangkongError | None = None
    if got.ok:
        try:
            decide_code_correction(call, ctx.codes, correction_id,
                                   upheld=got.values["decision"] == "upheld",
                                   reason=got.values["reason"])  # fmt: skip
        except (BadInput, Conflict) as error:
            exc = error
        except Forbidden as error:
            if error.code == "auth.forbidden":
                raise
            exc = error
        else:
            return RedirectResponse(f"/corrections?decided={correction_id}", status_code=303)
    status, context = got.refused(f"decide-{correction_id}", page_lang(request), exc)
    return _queue_page(request, call, status=status, failed=correction_id, **context)


# ---- admin -------------------------------------------------------------------------------


@pages.get("/admin/audit")
def get_audit(
    request: Request,
    call: CallDep,
    person: QueryId = None,
    user: Annotated[str | None, Query(max_length=80)] = None,
) -> HTMLResponse:
    bounds.refuse(bounds.text_problem(user or "", "user"))
    lst = listing.parse(request, AUDIT)
    rows, more = audit_page(call, lst.bounded, person=person, user=user or None)
    return page(request, "audit.html", status=lst.status, actor=call.actor, rows=rows,
                person=person, user=user or "", lst=lst,
                pager=lst.pager(None, len(rows), more=more))  # fmt: skip


AUDIT = listing.ListSpec(tuple(AUDIT_SORTS))
