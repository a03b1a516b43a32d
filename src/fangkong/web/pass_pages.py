"""Pages of key-freight passes (重点物资运输车辆通行证).

``/passes`` — the passes issued in the reader's jurisdiction (status at now, plate),
paged and sorted through the list layer; ``/passes/new`` — the issue form (``pass.issue``:
vehicle, cargo, route, period, one or two drivers with their test time and code);
``/passes/{serial}`` — one pass: its QR (inline SVG, the signed token), its status in
words, route, period and drivers, and the revoke form. Handlers parse the query or form,
call one function of ``fangkong.passes.access`` and render a template.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from markupsafe import Markup
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong import bounds
from fangkong.auth.guard import Call
from fangkong.auth.rights import PASS_ISSUE
from fangkong.errors import BadInput, FieldProblem, InvalidFields
from fangkong.http.context import app_context, check_csrf
from fangkong.http.deps import CallDep
from fangkong.passes import access
from fangkong.passes.access import PassDesk
from fangkong.passes.model import (
    CARGO_CLASSES,
    CARRIER_MAX,
    PLATE_MAX,
    REASON_MAX,
    REGION_CODE_MAX,
    SERIAL_MAX,
    VEHICLE_KINDS,
)
from fangkong.passes.service import PASS_SORTS, STATUSES, DriverIn, PassRequest
from fangkong.web import forms, listing
from fangkong.web.labels import names
from fangkong.web.pages import page, page_lang, session_csrf_basis

pass_pages = APIRouter(include_in_schema=False)

Serial = Annotated[str, Path(min_length=1, max_length=SERIAL_MAX, pattern=r"^[0-9A-Za-z-]+$")]
PASSES = listing.ListSpec(tuple(PASS_SORTS), size=50)
COLOURS = ("green", "yellow", "red")
DRIVER_SLOTS = 2  # the form offers two drivers (the pack may allow fewer)


def _desk(request: Request) -> PassDesk:
    ctx = app_context(request)
    return PassDesk.of(ctx.codes.pack, ctx.sealer, ctx.settings.home)


def _labels(lang: str) -> dict[str, Any]:
    return {
        "kind_names": names("vehicle_kind", lang),
        "cargo_names": names("cargo_class", lang),
        "status_names": names("pass_status", lang),
        "colour_names": names("crossing_colour", lang),
    }


# ---- the list ------------------------------------------------------------------------------


@pass_pages.get("/passes")
def get_passes(
    request: Request, call: CallDep,
    status: Annotated[str | None, Query(max_length=8)] = None,
    plate: Annotated[str | None, Query(max_length=PLATE_MAX + 4)] = None,
) -> HTMLResponse:  # fmt: skip
    lang = page_lang(request)
    lst = listing.parse(request, PASSES)
    code, error = lst.status, None
    filters = {"status": status or None, "plate": plate or None}
    try:
        bounds.refuse(*(bounds.text_problem(v or "", k) for k, v in filters.items()))
        rows, total = access.read_passes(call, **filters, bounded=lst.bounded)
    except BadInput as exc:
        code, error = 422, exc.problem.text(lang)
        rows, total = access.read_passes(call, bounded=replace(lst.bounded, offset=0))
    return page(request, "passes/list.html", status=code, actor=call.actor, rows=rows,
                total=total, filters=filters, lst=lst, pager=lst.pager(total, len(rows)),
                statuses=STATUSES, now=call.now(), error=error, **_labels(lang))  # fmt: skip


# ---- issue ---------------------------------------------------------------------------------


def issue_fields() -> tuple[forms.Field, ...]:
    drivers = []
    for n in range(1, DRIVER_SLOTS + 1):
        first = n == 1
        drivers += [
            forms.text(f"driver{n}_id_number", max_length=40, required=first),
            forms.text(f"driver{n}_name", max_length=50, required=first),
            forms.instant(f"driver{n}_tested_at", "event", required=first),
            forms.choice(f"driver{n}_code_colour", COLOURS, required=False),
            forms.choice(f"driver{n}_from_risk_area", ("true",), required=False),
        ]
    return (
        forms.text("plate", max_length=PLATE_MAX + 4, required=True),
        forms.choice("vehicle_kind", VEHICLE_KINDS),
        forms.choice("cargo_class", CARGO_CLASSES),
        forms.text("carrier", max_length=CARRIER_MAX),
        forms.text("origin_region", max_length=REGION_CODE_MAX, required=True),
        forms.text("destination_region", max_length=REGION_CODE_MAX, required=True),
        forms.text("via", max_length=200),
        forms.instant("valid_from", "planned"),
        forms.instant("valid_until", "planned"),
        forms.region("region_code"),
        *drivers,
    )


def _request(v: dict[str, Any]) -> PassRequest:
    drivers = tuple(
        DriverIn(v[f"driver{n}_id_number"], v[f"driver{n}_name"] or "",
                 v[f"driver{n}_tested_at"], code_colour=v[f"driver{n}_code_colour"] or "green",
                 from_risk_area=v[f"driver{n}_from_risk_area"] == "true")
        for n in range(1, DRIVER_SLOTS + 1) if v[f"driver{n}_id_number"]
    )  # fmt: skip
    via = tuple((v["via"] or "").replace("，", ",").replace(",", " ").split())
    return PassRequest(v["plate"], v["vehicle_kind"], v["cargo_class"], v["origin_region"],
                       v["destination_region"], v["valid_from"], v["valid_until"],
                       v["region_code"], drivers, via, v["carrier"])  # fmt: skip


def _form_names(exc: InvalidFields) -> InvalidFields:
    """The service's field names (``drivers.0.tested_at``) as the form's (``driver1_…``)."""

    def name(field: str) -> str:
        parts = field.split(".")
        if len(parts) == 3 and parts[0] == "drivers" and parts[1].isdigit():
            column = {"id_type": "id_number", "id_country": "id_number"}.get(parts[2], parts[2])
            return f"driver{int(parts[1]) + 1}_{column}"
        return "driver1_id_number" if field == "drivers" else field

    return InvalidFields(exc.problem, [FieldProblem(name(f.field), f.problem) for f in exc.fields])


def _issue_page(request: Request, call: Call, *, code: int = 200, **context: Any) -> HTMLResponse:
    call.require(PASS_ISSUE)
    desk = _desk(request)
    return page(request, "passes/issue.html", status=code, actor=call.actor,
                rules=desk.rules, kinds=VEHICLE_KINDS, cargos=CARGO_CLASSES, colours=COLOURS,
                slots=range(1, DRIVER_SLOTS + 1), **_labels(page_lang(request)),
                **context)  # fmt: skip


@pass_pages.get("/passes/new")
def get_issue(request: Request, call: CallDep) -> HTMLResponse:
    return _issue_page(request, call, form=None)


@pass_pages.post("/passes")
def post_issue(request: Request, call: CallDep, posted: forms.Posted) -> Response:
    """签发: the pack's rules decide; each refusal goes next to its field."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(issue_fields(), posted.items, tz=call.tz)
    desk = _desk(request)

    def issue(v: dict[str, Any]) -> Any:
        try:
            return access.issue_pass(call, desk, _request(v))
        except InvalidFields as exc:
            raise _form_names(exc) from exc

    if got.run(issue, (BadInput,)):
        return RedirectResponse(f"/passes/{got.result.serial}?issued=1", status_code=303)
    code, context = got.refused("issue", page_lang(request))
    return _issue_page(request, call, code=code, form=context["shown"].typed, **context)


# ---- one pass ------------------------------------------------------------------------------


def _pass_page(request: Request, call: Call, serial: str, *, code: int = 200,
               **context: Any) -> HTMLResponse:  # fmt: skip
    got = access.read_pass(call, _desk(request), serial)
    return page(request, "passes/pass.html", status=code, actor=call.actor, p=got.view,
                status_key=got.status, token=got.token, qr=Markup(got.svg),  # noqa: S704 - segno's SVG
                route=(got.view.origin_region, *got.view.via, got.view.destination_region),
                limits={"reason": REASON_MAX}, **_labels(page_lang(request)),
                **context)  # fmt: skip


@pass_pages.get("/passes/{serial}")
def get_pass(
    request: Request, call: CallDep, serial: Serial,
    issued: Annotated[bool, Query()] = False, revoked: Annotated[bool, Query()] = False,
) -> HTMLResponse:  # fmt: skip
    return _pass_page(request, call, serial, issued=issued, revoked=revoked)


REVOKE_FIELDS = (forms.multiline("reason", max_length=REASON_MAX, required=True),)


@pass_pages.post("/passes/{serial}/revoke")
def post_revoke(request: Request, call: CallDep, serial: Serial, posted: forms.Posted) -> Response:
    """撤销, with a reason; checkpoints see it at their next verification."""
    check_csrf(request, posted.csrf, session_csrf_basis(request))
    got = forms.parse(REVOKE_FIELDS, posted.items, tz=call.tz)
    if got.run(lambda v: access.revoke_pass(call, serial, v["reason"])):
        return RedirectResponse(f"/passes/{got.result.serial}?revoked=1", status_code=303)
    code, context = got.refused("revoke", page_lang(request))
    return _pass_page(request, call, serial, code=code, **context)
