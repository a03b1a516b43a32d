"""Quarantine pages (集中隔离): readiness per region against the norm, facilities with an
edit form, the site survey's ranked list; a facility's occupants, a placement's follow-up
(health checks, tests, release, period changes, absconding) and the open alerts.
Handlers parse, call ``fangkong.quarantine.access`` (rights, jurisdiction, masking,
audit) and render; every form carries the session's CSRF token."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong import bounds, clock
from fangkong.auth.guard import Call
from fangkong.auth.rights import QUARANTINE_MANAGE, QUARANTINE_PLACE
from fangkong.errors import BadInput, FangkongError, Problem
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.http.problems import status_of
from fangkong.quarantine.access.alerts import alerts_view, resolve_alert
from fangkong.quarantine.access.checks import record_check
from fangkong.quarantine.access.facilities import (
    facilities_view,
    facility_view,
    occupants_view,
    save_facility,
)
from fangkong.quarantine.access.placements import placement_view
from fangkong.quarantine.access.readiness import readiness_view, sites_view
from fangkong.quarantine.access.release import abscond, change_period, release
from fangkong.quarantine.access.tests import record_test
from fangkong.quarantine.facilities import FACILITY_FORMAT
from fangkong.quarantine.facility_form import check_facility_form
from fangkong.quarantine.rules import FACILITY_KINDS, FACILITY_STATUSES, QuarantineRules
from fangkong.web.pages import PathId, QueryId, page, page_lang, session_csrf_basis

quarantine_pages = APIRouter(include_in_schema=False)


def _rules(ctx: Ctx) -> QuarantineRules:
    return QuarantineRules.from_pack(ctx.codes.pack)


@quarantine_pages.get("/quarantine")
def get_readiness(
    request: Request,
    ctx: Ctx,
    call: CallDep,
    level: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    rules = _rules(ctx)
    rows = readiness_view(call, rules, level, forecast=ctx.codes)
    total = {
        k: sum(getattr(r, k) for r in rows)
        for k in ("population", "available", "occupied", "standby", "convertible", "rooms",
                  "activating", "fangcang", "awaiting", "overdue")
    }  # fmt: skip
    return page(
        request,
        "quarantine/readiness.html",
        actor=call.actor,
        rows=rows,
        total=total,
        norm=rules.readiness.rooms_per_10000,
        level=level or rules.readiness.level,
    )


@quarantine_pages.get("/quarantine/facilities")
def get_facilities(request: Request, call: CallDep) -> HTMLResponse:
    actor = call.actor
    found = facilities_view(call)
    return page(
        request,
        "quarantine/facilities.html",
        actor=actor,
        facilities=found,
        kinds=FACILITY_KINDS,
        statuses=FACILITY_STATUSES,
        can_manage=actor.can(QUARANTINE_MANAGE),
        form={},
        errors={},
    )


@quarantine_pages.get("/quarantine/facilities/{code}")
def get_facility(request: Request, call: CallDep, code: str) -> HTMLResponse:
    actor = call.actor
    found = facility_view(call, code)
    form = {
        "code": found.code,
        "name": found.name,
        "kind": found.kind,
        "region_code": found.region_code,
        "status": found.status,
        "single_rooms": found.rooms["single"],
        "family_rooms": found.rooms["family"],
        "accessible_rooms": found.rooms["accessible"],
        "zones": len(found.zones) or 1,
        "staff": found.staff,
        "latitude": found.latitude or "",
        "longitude": found.longitude or "",
        "address": found.address or "",
    }
    return page(
        request,
        "quarantine/facility.html",
        actor=actor,
        facility=found,
        form=form,
        kinds=FACILITY_KINDS,
        statuses=FACILITY_STATUSES,
        errors={},
        can_manage=actor.can(QUARANTINE_MANAGE),
    )


@quarantine_pages.post("/quarantine/facilities")
async def post_facility(
    request: Request,
    ctx: Ctx,
    call: CallDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Add or change a facility (the same checks as a file row, errors per field)."""
    actor = call.actor
    check_csrf(request, csrf_token, session_csrf_basis(request))
    data = await request.form()
    cells = {c: (str(data.get(c) or "").strip() or None) for c in FACILITY_FORMAT.names}
    lang = page_lang(request)
    try:
        facility, problems = check_facility_form(call, cells)
        if facility is None:
            errors = {col: p.text(lang) for col, p in problems}
            first = problems[0][1] if problems else Problem("value.invalid", "无效", "invalid")
            raise _FormError(first, errors)
        save_facility(call, facility)
    except _FormError as exc:
        return page(
            request,
            "quarantine/facilities.html",
            status=422,
            actor=actor,
            facilities=facilities_view(call),
            kinds=FACILITY_KINDS,
            statuses=FACILITY_STATUSES,
            can_manage=actor.can(QUARANTINE_MANAGE),
            form=cells,
            errors=exc.errors,
            error=exc.problem.text(lang),
        )
    except FangkongError as exc:
        return page(
            request,
            "quarantine/facilities.html",
            status=status_of(exc),
            actor=actor,
            facilities=facilities_view(call),
            kinds=FACILITY_KINDS,
            statuses=FACILITY_STATUSES,
            can_manage=actor.can(QUARANTINE_MANAGE),
            form=cells,
            errors={},
            error=exc.problem.text(lang),
        )
    return RedirectResponse(f"/quarantine/facilities/{facility.code}", status_code=303)


class _FormError(BadInput):
    def __init__(self, problem: Problem, errors: dict[str, str]) -> None:
        super().__init__(problem)
        self.errors = errors


@quarantine_pages.get("/quarantine/survey")
def get_survey(request: Request, ctx: Ctx, call: CallDep) -> HTMLResponse:
    rules = _rules(ctx)
    ranked = sites_view(call, rules)
    return page(
        request,
        "quarantine/survey.html",
        actor=call.actor,
        sites=ranked,
        target=rules.survey.target_activation_days,
        weights=rules.survey.weights,
    )


# ---- occupants, placements, alerts ----------------------------------------------------------

PlacementId = PathId
Csrf = Annotated[str, Form(max_length=100)]


@quarantine_pages.get("/quarantine/facilities/{code}/occupants")
def get_occupants(request: Request, call: CallDep, code: str) -> HTMLResponse:
    view = occupants_view(call, code)
    return page(request, "quarantine/occupants.html", actor=call.actor, view=view)


_DONE = {  # what the page says after an action; %s: a number (next placement, alert)
    "check": ("已记录健康监测。", "Health check recorded."),
    "abnormal": (
        "已记录健康监测：异常或未完成，已发出预警。",
        "Health check recorded: abnormal or not done, an alert was raised.",
    ),
    "test": ("已记录检测结果。", "Test recorded."),
    "converted": ("检测阳性：已转为病例。", "Positive: converted to a case."),
    "released": ("已解除。", "Released."),
    "next": ("已解除，下一阶段：安置记录 %s。", "Released; the next phase is placement %s."),
    "period": ("隔离期已调整。", "Period changed."),
    "absconded": ("已记录脱管，预警 %s。", "Absconding recorded: alert %s."),
}


def _placement_page(
    request: Request, ctx: Ctx, call: Call, placement_id: int,
    *, status: int = 200, **context: Any,
) -> HTMLResponse:  # fmt: skip
    view = placement_view(call, placement_id, _rules(ctx))
    today = clock.today(call.tz)
    return page(request, "quarantine/placement.html", status=status, actor=call.actor, view=view,
                today=today, **context)  # fmt: skip


@quarantine_pages.get("/quarantine/placements/{placement_id}")
def get_placement(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId,
    done: Annotated[str | None, Query(max_length=20)] = None,
    ref: QueryId = None,
) -> HTMLResponse:  # fmt: skip
    message = None
    if done in _DONE:
        zh, en = _DONE[done]
        text = zh if page_lang(request) == "zh" else en
        message = text % ref if "%s" in text else text
    return _placement_page(request, ctx, call, placement_id, done=message)


def _act(
    request: Request, ctx: Ctx, call: Call, placement_id: int, csrf: str,
    action: Callable[[], tuple[str, int | None]],
) -> Response:  # fmt: skip
    """Run a follow-up action; back to the placement (303), or its page with the error."""
    check_csrf(request, csrf, session_csrf_basis(request))
    try:
        done, ref = action()
    except FangkongError as exc:
        error = exc.problem.text(page_lang(request))
        return _placement_page(request, ctx, call, placement_id, status=status_of(exc),
                               error=error)  # fmt: skip
    query = urlencode({"done": done} | ({"ref": ref} if ref else {}))
    return RedirectResponse(f"/quarantine/placements/{placement_id}?{query}", status_code=303)


def _bad(field: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem(f"quarantine.{field}_invalid", zh, en))


def _number(text: str, field: str, kind: Callable[[str], Any]) -> Any:
    try:
        return kind(text.strip())
    except ValueError:
        raise _bad(field, f"无法识别的数值 {text.strip()!r}（{field}）",
                   f"not a number: {text.strip()!r} ({field})") from None  # fmt: skip


@quarantine_pages.post("/quarantine/placements/{placement_id}/check")
def post_check(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId,
    day: Annotated[str, Form(max_length=10)] = "",
    status: Annotated[str, Form(max_length=12)] = "done",
    temperature: Annotated[str, Form(max_length=10)] = "",
    symptoms: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Csrf = "",
) -> Response:  # fmt: skip
    """Record a day's health check (temperature, symptoms; done / not done)."""

    def action() -> tuple[str, int | None]:
        try:
            when = date.fromisoformat(day)
        except ValueError:
            raise _bad("check", f"无法识别的日期 {day!r}", f"not a date: {day!r}") from None
        temp = _number(temperature, "temperature", float) if temperature.strip() else None
        if temp is not None and not math.isfinite(temp):
            raise _bad("temperature", "体温应为有限数值", "the temperature must be a finite number")
        bounds.refuse(bounds.date_problem(when, "event", "day"),
                      bounds.text_problem(symptoms, "symptoms", multiline=True))  # fmt: skip
        stored = record_check(call, placement_id, _rules(ctx), day=when, status=status,
                              temperature=temp, symptoms=symptoms)  # fmt: skip
        return ("check" if stored == "done" else "abnormal"), None

    return _act(request, ctx, call, placement_id, csrf_token, action)


@quarantine_pages.post("/quarantine/placements/{placement_id}/test")
def post_test(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId,
    day_number: Annotated[str, Form(max_length=4)] = "",
    sampled_at: Annotated[str, Form(max_length=20)] = "",
    result: Annotated[str, Form(max_length=12)] = "",
    csrf_token: Csrf = "",
) -> Response:  # fmt: skip
    """Record a scheduled test; a positive converts the person to a case."""
    from fangkong.tracing.rules import ContactRules

    def action() -> tuple[str, int | None]:
        n = _number(day_number, "day_number", int)
        try:
            sampled = datetime.fromisoformat(sampled_at).replace(tzinfo=call.tz)
        except ValueError:
            raise _bad("test", f"无法识别的采样时间 {sampled_at!r}",
                       f"not a sampling time: {sampled_at!r}") from None  # fmt: skip
        bounds.refuse(bounds.int_problem(n, "day_number", lo=0),
                      bounds.instant_problem(sampled, "event", "sampled_at"))  # fmt: skip
        done = record_test(call, placement_id, day_number=n, sampled_at=sampled, result=result,
                           contact_rules=ContactRules.from_pack(ctx.codes.pack),
                           codes=ctx.codes)  # fmt: skip
        return ("converted" if done.converted else "test"), None

    return _act(request, ctx, call, placement_id, csrf_token, action)


@quarantine_pages.post("/quarantine/placements/{placement_id}/release")
def post_release(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId,
    csrf_token: Csrf = "",
) -> Response:  # fmt: skip
    """Release; refused with the reason while the period runs or the final test is missing."""

    def action() -> tuple[str, int | None]:
        done = release(call, placement_id, _rules(ctx), codes=ctx.codes,
                       pack_ref=ctx.codes.pack.ref)  # fmt: skip
        return ("next" if done.next_placement_id else "released"), done.next_placement_id

    return _act(request, ctx, call, placement_id, csrf_token, action)


@quarantine_pages.post("/quarantine/placements/{placement_id}/period")
def post_period(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId,
    days: Annotated[str, Form(max_length=6)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Csrf = "",
) -> Response:  # fmt: skip
    """Extend (days > 0) or shorten (days < 0) with a reason, kept in the history."""

    def action() -> tuple[str, int | None]:
        n = _number(days, "days", int)
        most = bounds.windows().future_days
        bounds.refuse(bounds.int_problem(n, "days", lo=-most, hi=most),
                      bounds.text_problem(reason, "reason", multiline=True))  # fmt: skip
        change_period(call, placement_id, days=n, reason=reason, codes=ctx.codes,
                      rules=_rules(ctx))  # fmt: skip
        return "period", None

    return _act(request, ctx, call, placement_id, csrf_token, action)


@quarantine_pages.post("/quarantine/placements/{placement_id}/abscond")
def post_abscond(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId,
    note: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Csrf = "",
) -> Response:  # fmt: skip
    """The person left without release (脱管): an alert is raised."""

    def action() -> tuple[str, int | None]:
        bounds.refuse(bounds.text_problem(note, "note", multiline=True))
        alert = abscond(call, placement_id, note=note)
        return "absconded", alert

    return _act(request, ctx, call, placement_id, csrf_token, action)


def _alerts_page(
    request: Request, call: Call, *, status: int = 200, **context: Any
) -> HTMLResponse:
    rows = alerts_view(call)
    return page(request, "quarantine/alerts.html", status=status, actor=call.actor, rows=rows,
                can_resolve=call.actor.can(QUARANTINE_PLACE), **context)  # fmt: skip


@quarantine_pages.get("/quarantine/alerts")
def get_alerts(request: Request, call: CallDep, resolved: QueryId = None) -> HTMLResponse:
    return _alerts_page(request, call, resolved=resolved)


@quarantine_pages.post("/quarantine/alerts/{alert_id}/resolve")
def post_resolve(
    request: Request, call: CallDep, alert_id: PathId, csrf_token: Csrf = ""
) -> Response:
    check_csrf(request, csrf_token, session_csrf_basis(request))
    try:
        resolve_alert(call, alert_id)
    except FangkongError as exc:
        return _alerts_page(request, call, status=status_of(exc),
                            error=exc.problem.text(page_lang(request)))  # fmt: skip
    return RedirectResponse(f"/quarantine/alerts?resolved={alert_id}", status_code=303)
