"""Quarantine pages (集中隔离): readiness per region against the norm, facilities with an
edit form, the site survey's ranked list; a facility's occupants, a placement's follow-up
(health checks, tests, release, period changes, absconding) and the open alerts.
Handlers parse, call ``fangkong.quarantine.access`` (rights, jurisdiction, masking,
audit) and render; every form carries the session's CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong import bounds, clock
from fangkong.auth.guard import Call
from fangkong.auth.rights import QUARANTINE_MANAGE, QUARANTINE_PLACE
from fangkong.command.rules import CommandRules
from fangkong.errors import FangkongError, Problem
from fangkong.http.context import check_csrf
from fangkong.http.deps import CallDep, Ctx
from fangkong.http.problems import status_of
from fangkong.quarantine.access.alerts import ALERT_SORTS, alerts_page, resolve_alert
from fangkong.quarantine.access.checks import record_check
from fangkong.quarantine.access.facilities import (
    OCCUPANT_SORTS,
    facilities_view,
    facility_view,
    occupants_view,
    save_facility,
)
from fangkong.quarantine.access.placements import placement_view
from fangkong.quarantine.access.readiness import readiness_view, sites_view
from fangkong.quarantine.access.release import abscond, change_period, release
from fangkong.quarantine.access.tests import record_test
from fangkong.quarantine.checks import TEMPERATURE_RANGE
from fangkong.quarantine.facilities import FACILITY_FORMAT, FACILITY_SORTS
from fangkong.quarantine.facility_form import check_facility_form
from fangkong.quarantine.rules import FACILITY_KINDS, FACILITY_STATUSES, QuarantineRules
from fangkong.quarantine.tables import TEST_RESULTS
from fangkong.web import forms, listing
from fangkong.web.pages import PathId, QueryId, page, page_lang, session_csrf_basis

quarantine_pages = APIRouter(include_in_schema=False)

FACILITIES = listing.ListSpec(tuple(FACILITY_SORTS))
OCCUPANTS = listing.ListSpec(tuple(OCCUPANT_SORTS))
ALERTS = listing.ListSpec(tuple(ALERT_SORTS))


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
        # days of capacity left past the forecast's horizon read "> N", as on the board
        days_left_horizon=CommandRules.from_pack(ctx.codes.pack).days_left_horizon,
    )


@quarantine_pages.get("/quarantine/facilities")
def get_facilities(request: Request, call: CallDep) -> HTMLResponse:
    actor = call.actor
    lst = listing.parse(request, FACILITIES)
    found, total = facilities_view(call, lst.bounded)
    return page(
        request,
        "quarantine/facilities.html",
        status=lst.status,
        actor=actor,
        facilities=found,
        lst=lst,
        pager=lst.pager(total, len(found)),
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


_FACILITY_INPUT = {"family_beds": "family_rooms"}  # a column the form has no input for


@quarantine_pages.post("/quarantine/facilities")
def post_facility(request: Request, call: CallDep, posted: forms.Posted) -> Response:
    """Add or change a facility (the same checks as a file row, errors per field)."""
    actor = call.actor
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    typed = {c: posted.get(c) for c in FACILITY_FORMAT.names}
    cells = {c: (v.strip() or None) for c, v in typed.items()}
    lang = page_lang(request)
    got = forms.Parsed(typed=dict(typed))
    exc: FangkongError | None = None
    try:
        facility, problems = check_facility_form(call, cells)
        for col, problem in problems:
            got.fail(_FACILITY_INPUT.get(col, col) if col in typed else "code", problem)
        if facility is None and got.ok:
            got.fail("code", Problem("value.invalid", "无效", "invalid"))
        if facility is not None and got.ok:
            save_facility(call, facility)
            return RedirectResponse(f"/quarantine/facilities/{facility.code}", status_code=303)
    except FangkongError as error:
        if status_of(error) == 403:
            raise
        exc = error
    status, context = got.refused("facility-form", lang, exc)
    shown = context["shown"]
    lst = listing.parse(request, FACILITIES)
    found, total = facilities_view(call, lst.bounded)
    return page(
        request,
        "quarantine/facilities.html",
        status=status,
        actor=actor,
        facilities=found,
        lst=lst,
        pager=lst.pager(total, len(found)),
        kinds=FACILITY_KINDS,
        statuses=FACILITY_STATUSES,
        can_manage=actor.can(QUARANTINE_MANAGE),
        form=typed,
        errors=shown.errors,
        **context,
    )


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
    lst = listing.parse(request, OCCUPANTS)
    view = occupants_view(call, code, bounded=lst.bounded)
    return page(
        request,
        "quarantine/occupants.html",
        status=lst.status,
        actor=call.actor,
        view=view,
        lst=lst,
        pager=lst.pager(view.total, len(view.occupants)),
    )


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


FormSpec = tuple[str, tuple[forms.Field, ...]]  # a form's id and fields


def _act(
    request: Request, ctx: Ctx, call: Call, placement_id: int, posted: forms.PostedForm,
    form: FormSpec, action: Callable[[dict[str, Any]], tuple[str, int | None]],
) -> Response:  # fmt: skip
    """Run a follow-up action with the values of its form; back to the placement (303), or
    its page with the form as typed and the errors next to their fields."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    form_id, fields = form
    got = forms.parse(fields, posted.items, tz=call.tz)
    if got.run(action, (FangkongError,)):
        done, ref = got.result
        query = urlencode({"done": done} | ({"ref": ref} if ref else {}))
        return RedirectResponse(f"/quarantine/placements/{placement_id}?{query}",
                                status_code=303)  # fmt: skip
    status, context = got.refused(form_id, page_lang(request), None, _FIELD_OF)
    return _placement_page(request, ctx, call, placement_id, status=status, **context)


_FIELD_OF = {"quarantine.check_invalid": "temperature"}  # the service's one unnamed refusal

CHECK_FORM = ("check-form", (
    forms.day("day", "event"), forms.choice("status", ("done", "not_done")),
    forms.number("temperature", lo=TEMPERATURE_RANGE[0], hi=TEMPERATURE_RANGE[1]),
    forms.multiline("symptoms", max_length=200),
))  # fmt: skip
TEST_FORM = ("test-form", (
    forms.integer("day_number", lo=0, hi=bounds.INT32_MAX),
    forms.instant("sampled_at", "event"), forms.choice("result", TEST_RESULTS),
))  # fmt: skip
RELEASE_FORM: FormSpec = ("release-form", ())
ABSCOND_FORM = ("abscond-form", (forms.multiline("note", max_length=500),))


def period_form() -> FormSpec:
    most = bounds.windows().future_days  # the input window of the settings
    return ("period-form", (forms.integer("days", lo=-most, hi=most),
                            forms.multiline("reason", required=True)))  # fmt: skip


@quarantine_pages.post("/quarantine/placements/{placement_id}/check")
def post_check(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId, posted: forms.Posted,
) -> Response:  # fmt: skip
    """Record a day's health check (temperature, symptoms; done / not done)."""

    def action(v: dict[str, Any]) -> tuple[str, int | None]:
        stored = record_check(call, placement_id, _rules(ctx), day=v["day"], status=v["status"],
                              temperature=v["temperature"],
                              symptoms=v["symptoms"] or "")  # fmt: skip
        return ("check" if stored == "done" else "abnormal"), None

    return _act(request, ctx, call, placement_id, posted, CHECK_FORM, action)


@quarantine_pages.post("/quarantine/placements/{placement_id}/test")
def post_test(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId, posted: forms.Posted,
) -> Response:  # fmt: skip
    """Record a scheduled test; a positive converts the person to a case."""
    from fangkong.tracing.rules import ContactRules

    def action(v: dict[str, Any]) -> tuple[str, int | None]:
        done = record_test(call, placement_id, day_number=v["day_number"],
                           sampled_at=v["sampled_at"], result=v["result"],
                           contact_rules=ContactRules.from_pack(ctx.codes.pack),
                           codes=ctx.codes)  # fmt: skip
        return ("converted" if done.converted else "test"), None

    return _act(request, ctx, call, placement_id, posted, TEST_FORM, action)


@quarantine_pages.post("/quarantine/placements/{placement_id}/release")
def post_release(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId, posted: forms.Posted,
) -> Response:  # fmt: skip
    """Release; refused with the reason while the period runs or the final test is missing."""

    def action(_: dict[str, Any]) -> tuple[str, int | None]:
        done = release(call, placement_id, _rules(ctx), codes=ctx.codes,
                       pack_ref=ctx.codes.pack.ref)  # fmt: skip
        return ("next" if done.next_placement_id else "released"), done.next_placement_id

    return _act(request, ctx, call, placement_id, posted, RELEASE_FORM, action)


@quarantine_pages.post("/quarantine/placements/{placement_id}/period")
def post_period(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId, posted: forms.Posted,
) -> Response:  # fmt: skip
    """Extend (days > 0) or shorten (days < 0) with a reason, kept in the history."""

    def action(v: dict[str, Any]) -> tuple[str, int | None]:
        change_period(call, placement_id, days=v["days"], reason=v["reason"], codes=ctx.codes,
                      rules=_rules(ctx))  # fmt: skip
        return "period", None

    return _act(request, ctx, call, placement_id, posted, period_form(), action)


@quarantine_pages.post("/quarantine/placements/{placement_id}/abscond")
def post_abscond(
    request: Request, ctx: Ctx, call: CallDep, placement_id: PlacementId, posted: forms.Posted,
) -> Response:  # fmt: skip
    """The person left without release (脱管): an alert is raised."""

    def action(v: dict[str, Any]) -> tuple[str, int | None]:
        alert = abscond(call, placement_id, note=v["note"] or "")
        return "absconded", alert

    return _act(request, ctx, call, placement_id, posted, ABSCOND_FORM, action)


def _alerts_page(
    request: Request, call: Call, *, status: int = 200, **context: Any
) -> HTMLResponse:
    lst = listing.parse(request, ALERTS)
    rows, total = alerts_page(call, bounded=lst.bounded)
    return page(request, "quarantine/alerts.html", status=max(status, lst.status),
                actor=call.actor, rows=rows, lst=lst, pager=lst.pager(total, len(rows)),
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
