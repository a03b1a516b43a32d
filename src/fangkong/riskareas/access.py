"""Risk areas and needs as staff reach them: rights, jurisdiction, masking, audit.

Designation (``riskarea.designate``) is refused outside the actor's jurisdiction (as a
region that does not exist) and audited either way; the management view
(``riskarea.read``) shows suggestions, areas with reasons and their history.

``need.manage`` lists and moves tasks of areas inside the actor's jurisdiction; names are
masked without ``person.read_full``; every view and change writes one audit row (ids
only). A task of another jurisdiction answers as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select

from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.guard import Call, inside
from fangkong.auth.rights import NEED_MANAGE, PERSON_READ_FULL, RISKAREA_DESIGNATE, RISKAREA_READ
from fangkong.errors import FangkongError
from fangkong.healthcode.context import CodeContext
from fangkong.identity.masking import mask_name
from fangkong.riskareas.errors import DesignationInvalid, NeedUnknown, problem
from fangkong.riskareas.needs import NeedView, page_needs, set_need_status
from fangkong.riskareas.service import (
    AreaView,
    ChangeResult,
    ChangeView,
    area_history,
    designate,
    page_areas,
)
from fangkong.riskareas.suggest import Suggestion, suggest
from fangkong.riskareas.tables import risk_area_needs, risk_areas
from fangkong.store import listing
from fangkong.store.listing import Bounded


def _record(call: Call, action: str, outcome: str, target_type: str, target_id: str | None,
            detail: str) -> None:  # fmt: skip
    with transaction(call.engine) as conn:
        record(conn, call.key, AuditEvent(call.actor.name, action, outcome, call.address,
                                          target_type, target_id, detail))  # fmt: skip


def read_needs(
    call: Call, *, open_only: bool = True, bounded: Bounded = listing.FIRST_PAGE
) -> tuple[list[NeedView], int]:
    """One page of the tasks of the actor's jurisdiction, overdue first unless sorted by a
    key of ``NEED_SORTS``, names masked by rights; and how many there are."""
    actor = call.actor
    call.require(NEED_MANAGE)
    rows, total = page_needs(call.engine, bounded, now=call.at, open_only=open_only,
                             within=actor.region_code)  # fmt: skip
    if not actor.can(PERSON_READ_FULL):
        rows = [replace(r, person_name=mask_name(r.person_name)) for r in rows]
    _record(call, "needs.view", "ok", "need", None, f"{len(rows)} tasks")
    return rows, total


def change_need(call: Call, need_id: int, status: str, note: str) -> None:
    """Move a task on, if it lies in the actor's jurisdiction (audited either way)."""
    outcome = "ok"
    try:
        call.require(NEED_MANAGE)
        with call.engine.connect() as conn:
            region = conn.execute(
                select(risk_areas.c.region_code)
                .join(risk_area_needs, risk_area_needs.c.area_id == risk_areas.c.id)
                .where(risk_area_needs.c.id == need_id)
            ).scalar_one_or_none()
            hidden = region is None or not inside(conn, call.actor, region)
        if hidden:
            outcome = "not_found" if region is None else "out_of_jurisdiction"
            raise NeedUnknown(problem("need_unknown", f"无此需求（{need_id}）",
                                      f"no need {need_id}"))  # fmt: skip
        set_need_status(call.engine, need_id, status, by=call.actor.name, note=note, now=call.at)
    except FangkongError as exc:
        if outcome == "ok":
            outcome = exc.code[:20]
        raise
    finally:
        _record(call, "needs.change", outcome, "need", str(need_id), status[:20])


# ---- designation from the pages ---------------------------------------------------------------


@dataclass(frozen=True)
class RiskAreasView:
    suggestions: list[Suggestion]
    areas: list[AreaView]  # one page
    total: int  # areas in all
    history: list[ChangeView]


def read_risk_areas(
    call: Call, codes: CodeContext, bounded: Bounded = listing.FIRST_PAGE
) -> RiskAreasView:
    """Suggestions, one page of the areas (every level) and the recent changes of the
    actor's jurisdiction (``riskarea.read``): reasons included, no persons."""
    call.require(RISKAREA_READ)
    within, levels = call.actor.region_code, ("high", "medium", "low")
    found = suggest(call.engine, codes, now=call.at, within=within)
    areas, total = page_areas(call.engine, codes, bounded, levels=levels, within_region=within)
    history = area_history(call.engine, limit=200, within_region=within, levels=levels)
    return RiskAreasView(found, areas, total, history)


def designate_area(
    call: Call, codes: CodeContext, *, region_code: str, level: str, reason: str
) -> ChangeResult:
    """Designate inside the actor's jurisdiction (``riskarea.designate``), audited."""
    outcome = "ok"
    try:
        call.require(RISKAREA_DESIGNATE)
        if call.actor.region_code is not None:
            with call.engine.connect() as conn:
                allowed = inside(conn, call.actor, region_code)
            if not allowed:
                outcome = "out_of_jurisdiction"
                missing = problem("region_unknown", f"无此区划（{region_code}）",
                                  f"no region {region_code}")  # fmt: skip
                raise DesignationInvalid(missing)
        return designate(call.engine, codes, region_code=region_code, level=level,
                         reason=reason, by=call.actor.name)  # fmt: skip
    except FangkongError as exc:
        if outcome == "ok":
            outcome = exc.code[:20]
        raise
    finally:
        _record(call, "riskarea.designate", outcome, "region", region_code[:80], level[:20])
