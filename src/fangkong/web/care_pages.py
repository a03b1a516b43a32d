"""Care pages (急需就医保障): the medical-needs desk — open needs by deadline with the time
left in words, plan / complete buttons, a registration form, the wards with free beds —
and one need's page with its transfer, history and actions. Thin callers of
``fangkong.care.access``; usable on a phone (cards under 720 px)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.guard import Call
from fangkong.care import access
from fangkong.care.rules import CareRules
from fangkong.care.tables import DETAIL_MAX, NOTE_MAX, OUTCOMES
from fangkong.care.views import NEED_SORTS
from fangkong.errors import BadInput, Conflict, NotFound
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.web import forms, listing
from fangkong.web.i18n import translations
from fangkong.web.pages import PathId, page, page_lang, session_csrf_basis

care_pages = APIRouter(include_in_schema=False)

NEEDS = listing.ListSpec(tuple(NEED_SORTS))
REFUSALS = (BadInput, Conflict, NotFound)


def time_left(due: datetime, now: datetime, lang: str) -> str:
    """The time to a deadline in words: "还剩 3 小时 20 分钟" / "3 h 20 min left", or
    "已逾期 45 分钟" / "overdue by 45 min"."""
    gettext = translations(lang).gettext
    minutes = int(abs((due - now).total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        span = gettext("%(d)s d %(h)s h") % {"d": days, "h": hours}
    elif hours:
        span = gettext("%(h)s h %(m)s min") % {"h": hours, "m": mins}
    else:
        span = gettext("%(m)s min") % {"m": mins}
    if due < now:
        return gettext("overdue by %(span)s") % {"span": span}
    return gettext("%(span)s left") % {"span": span}


def _rules(ctx: Any) -> CareRules:
    return CareRules.from_pack(ctx.codes.pack)


def _desk(request: Request, ctx: Any, call: Call, *, status: int = 200,
          **context: Any) -> HTMLResponse:  # fmt: skip
    lst = listing.parse(request, NEEDS)
    rows, total = access.read_needs(call, bounded=lst.bounded)
    wards = access.read_wards(call)
    now, lang = call.now(), page_lang(request)
    rules = _rules(ctx)
    return page(request, "care/desk.html", status=max(status, lst.status), actor=call.actor,
                rows=rows, left={n.id: time_left(n.due_at, now, lang) for n in rows},
                wards=wards, kinds=list(rules.kinds), transfer_kinds=[
                    k for k, v in rules.kinds.items() if v.ward],
                outcomes=OUTCOMES, lst=lst, pager=lst.pager(total, len(rows)),
                detail_max=DETAIL_MAX, **context)  # fmt: skip


@care_pages.get("/care")
def get_desk(request: Request, ctx: Ctx, call: CallDep) -> HTMLResponse:
    """The medical-needs desk of the actor's jurisdiction (care.read)."""
    return _desk(request, ctx, call)


def register_fields(kinds: list[str]) -> tuple[forms.Field, ...]:
    return (forms.integer("person_id", lo=1, hi=2**31 - 1), forms.choice("kind", kinds),
            forms.multiline("detail", max_length=DETAIL_MAX))  # fmt: skip


@care_pages.post("/care/needs")
def post_register(request: Request, ctx: Ctx, call: CallDep, posted: forms.Posted) -> Response:
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    rules = _rules(ctx)
    got = forms.parse(register_fields(list(rules.kinds)), posted.items, tz=call.tz)
    if got.run(lambda v: access.register(call, rules, person_id=v["person_id"], kind=v["kind"],
                                         detail=v["detail"] or ""), REFUSALS):  # fmt: skip
        return RedirectResponse(f"/care/needs/{got.result}", status_code=303)
    status, context = got.refused("register", page_lang(request), None,
                                  {"care.person_unknown": "person_id", "care.no_area": "person_id",
                                   "care.need_kind": "kind"})  # fmt: skip
    return _desk(request, ctx, call, status=status, **context)


def _need_page(request: Request, ctx: Any, call: Call, need_id: int, *, status: int = 200,
               **context: Any) -> HTMLResponse:  # fmt: skip
    detail = access.read_need(call, need_id)
    rules = _rules(ctx)
    kind = rules.kinds.get(detail.need.kind)
    return page(request, "care/need.html", status=status, actor=call.actor, d=detail,
                n=detail.need, left=time_left(detail.need.due_at, call.now(), page_lang(request)),
                transfer=kind is not None and kind.ward, outcomes=OUTCOMES,
                note_max=NOTE_MAX, **context)  # fmt: skip


@care_pages.get("/care/needs/{need_id}")
def get_need(request: Request, ctx: Ctx, call: CallDep, need_id: PathId) -> HTMLResponse:
    """One need: the patient (masked by rights), deadline, transfer, history, actions."""
    return _need_page(request, ctx, call, need_id)


PLAN_FIELDS = (forms.choice("late", ("", "yes"), required=False),
               forms.choice("back", ("desk", "need"), required=False))  # fmt: skip


@care_pages.post("/care/needs/{need_id}/plan")
def post_plan(
    request: Request, ctx: Ctx, call: CallDep, need_id: PathId, posted: forms.Posted
) -> Response:
    """Plan the green channel; a refusal (no ward, no vehicle, too late) is said on the
    need's page with the way to plan late anyway."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(PLAN_FIELDS, posted.items, tz=call.tz)
    late = got.values.get("late") == "yes"
    if got.run(lambda v: access.plan(call, _rules(ctx), need_id, allow_late=late), REFUSALS):
        back = "/care" if got.values.get("back") == "desk" else f"/care/needs/{need_id}"
        return RedirectResponse(back, status_code=303)
    status, context = got.refused("plan", page_lang(request))
    return _need_page(request, ctx, call, need_id, status=status, refused=got.refusal,
                      **context)  # fmt: skip


MOVE_FIELDS = (forms.choice("status", ("in_transfer", "done", "cancelled")),
               forms.choice("outcome", OUTCOMES, required=False),
               forms.multiline("note", max_length=NOTE_MAX),
               forms.choice("back", ("desk", "need"), required=False))  # fmt: skip


@care_pages.post("/care/needs/{need_id}/status")
def post_status(
    request: Request, ctx: Ctx, call: CallDep, need_id: PathId, posted: forms.Posted
) -> Response:
    """Start the transfer, complete the need (an outcome) or cancel it (a note)."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(MOVE_FIELDS, posted.items, tz=call.tz)
    if got.run(lambda v: access.move(call, _rules(ctx), need_id, v["status"],
                                     outcome=v.get("outcome") or "", note=v["note"] or ""),
               REFUSALS):  # fmt: skip
        back = "/care" if got.values.get("back") == "desk" else f"/care/needs/{need_id}"
        return RedirectResponse(back, status_code=303)
    fields_of = {"care.outcome": "outcome", "care.note_missing": "note"}
    status, context = got.refused("move", page_lang(request), None, fields_of)
    return _need_page(request, ctx, call, need_id, status=status, **context)
