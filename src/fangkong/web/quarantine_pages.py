"""Quarantine pages (集中隔离): readiness per region against the norm, facilities with an
edit form, the site survey's ranked list. Handlers parse, call ``fangkong.quarantine.access``
(rights, jurisdiction, audit) and render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy import select
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fangkong.api.context import check_csrf
from fangkong.api.problems import status_of
from fangkong.auth.rights import QUARANTINE_MANAGE
from fangkong.errors import BadInput, FangkongError, Problem
from fangkong.quarantine.access import (
    facilities_view,
    facility_view,
    readiness_view,
    save_facility_as,
    sites_view,
)
from fangkong.quarantine.facilities import FACILITY_FORMAT, check_facility
from fangkong.quarantine.rules import FACILITY_KINDS, FACILITY_STATUSES, QuarantineRules
from fangkong.store.schema import regions
from fangkong.web.pages import Address, Caller, Ctx, page, page_lang, session_csrf_basis

quarantine_pages = APIRouter(include_in_schema=False)


def _rules(ctx: Ctx) -> QuarantineRules:
    return QuarantineRules.from_pack(ctx.codes.pack)


@quarantine_pages.get("/quarantine")
def get_readiness(
    request: Request,
    ctx: Ctx,
    actor: Caller,
    level: Annotated[str | None, Query(max_length=12)] = None,
) -> HTMLResponse:
    rules = _rules(ctx)
    rows = readiness_view(ctx.engine, actor, rules, level)
    total = {
        k: sum(getattr(r, k) for r in rows)
        for k in ("population", "available", "occupied", "standby", "convertible", "rooms")
    }
    return page(
        request,
        "quarantine/readiness.html",
        actor=actor,
        rows=rows,
        total=total,
        norm=rules.readiness.rooms_per_10000,
        level=level or rules.readiness.level,
    )


@quarantine_pages.get("/quarantine/facilities")
def get_facilities(request: Request, ctx: Ctx, actor: Caller) -> HTMLResponse:
    found = facilities_view(ctx.engine, actor)
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
def get_facility(request: Request, ctx: Ctx, actor: Caller, code: str) -> HTMLResponse:
    found = facility_view(ctx.engine, actor, code)
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
    actor: Caller,
    address: Address,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Add or change a facility (the same checks as a file row, errors per field)."""
    check_csrf(request, csrf_token, session_csrf_basis(request))
    data = await request.form()
    cells = {c: (str(data.get(c) or "").strip() or None) for c in FACILITY_FORMAT.names}
    lang = page_lang(request)
    try:
        with ctx.engine.connect() as conn:
            known = {cells["region_code"]} & set(
                conn.execute(
                    select(regions.c.code).where(regions.c.code == cells["region_code"])
                ).scalars()
            )
        facility, problems = check_facility(cells, {str(c) for c in known if c})
        if facility is None:
            errors = {col: p.text(lang) for col, p in problems}
            first = problems[0][1] if problems else Problem("value.invalid", "无效", "invalid")
            raise _FormError(first, errors)
        save_facility_as(ctx.engine, ctx.keys.audit, actor, facility, address)
    except _FormError as exc:
        return page(
            request,
            "quarantine/facilities.html",
            status=422,
            actor=actor,
            facilities=facilities_view(ctx.engine, actor),
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
            facilities=facilities_view(ctx.engine, actor),
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
def get_survey(request: Request, ctx: Ctx, actor: Caller) -> HTMLResponse:
    rules = _rules(ctx)
    ranked = sites_view(ctx.engine, actor, rules)
    return page(
        request,
        "quarantine/survey.html",
        actor=actor,
        sites=ranked,
        target=rules.survey.target_activation_days,
        weights=rules.survey.weights,
    )
