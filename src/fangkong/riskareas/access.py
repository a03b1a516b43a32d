"""Risk areas and needs as staff reach them: rights, jurisdiction, masking, audit.

Designation (``riskarea.designate``) is refused outside the actor's jurisdiction (as a
region that does not exist) and audited either way; the management view
(``riskarea.read``) shows suggestions, areas with reasons and their history.

``need.manage`` lists and moves tasks of areas inside the actor's jurisdiction; names are
masked without ``person.read_full``; every view and change writes one audit row (ids
only). A task of another jurisdiction answers as one that does not exist.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine, select

from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.jurisdiction import in_subtree
from fangkong.auth.model import Actor
from fangkong.auth.rights import NEED_MANAGE, PERSON_READ_FULL, RISKAREA_DESIGNATE, RISKAREA_READ
from fangkong.errors import FangkongError
from fangkong.healthcode.context import CodeContext
from fangkong.identity.masking import mask_name
from fangkong.riskareas.errors import DesignationInvalid, NeedUnknown, problem
from fangkong.riskareas.needs import NeedView, list_needs, set_need_status
from fangkong.riskareas.service import (
    AreaView,
    ChangeResult,
    ChangeView,
    area_history,
    designate,
    list_areas,
)
from fangkong.riskareas.suggest import Suggestion, suggest
from fangkong.riskareas.tables import risk_area_needs, risk_areas


def needs_view(
    engine: Engine, key: bytes, actor: Actor, address: str, *, open_only: bool = True,
    now: datetime | None = None,
) -> list[NeedView]:  # fmt: skip
    """The tasks of the actor's jurisdiction, overdue first, names masked by rights."""
    actor.require(NEED_MANAGE)
    rows = list_needs(engine, now=now, open_only=open_only, within=actor.region_code)
    if not actor.can(PERSON_READ_FULL):
        rows = [replace(r, person_name=mask_name(r.person_name)) for r in rows]
    with transaction(engine) as conn:
        record(conn, key, AuditEvent(actor.name, "needs.view", "ok", address, "need", None,
                                     f"{len(rows)} tasks"))  # fmt: skip
    return rows


def change_need(
    engine: Engine, key: bytes, actor: Actor, address: str, need_id: int, status: str,
    note: str, *, now: datetime | None = None,
) -> None:  # fmt: skip
    """Move a task on, if it lies in the actor's jurisdiction (audited either way)."""
    outcome = "ok"
    try:
        actor.require(NEED_MANAGE)
        with engine.connect() as conn:
            region = conn.execute(
                select(risk_areas.c.region_code)
                .join(risk_area_needs, risk_area_needs.c.area_id == risk_areas.c.id)
                .where(risk_area_needs.c.id == need_id)
            ).scalar_one_or_none()
            hidden = region is None or (
                actor.region_code is not None and not in_subtree(conn, actor.region_code, region)
            )
        if hidden:
            outcome = "not_found" if region is None else "out_of_jurisdiction"
            raise NeedUnknown(problem("need_unknown", f"无此需求（{need_id}）",
                                      f"no need {need_id}"))  # fmt: skip
        set_need_status(engine, need_id, status, by=actor.name, note=note, now=now)
    except FangkongError as exc:
        if outcome == "ok":
            outcome = exc.code[:20]
        raise
    finally:
        with transaction(engine) as conn:
            record(conn, key, AuditEvent(actor.name, "needs.change", outcome, address, "need",
                                         str(need_id), status[:20]))  # fmt: skip


# ---- designation from the pages ---------------------------------------------------------------


def manage_view(
    engine: Engine, ctx: CodeContext, actor: Actor, *, now: datetime | None = None
) -> tuple[list[Suggestion], list[AreaView], list[ChangeView]]:
    """Suggestions, areas (every level) and recent changes of the actor's jurisdiction
    (``riskarea.read``): reasons included, no persons."""
    actor.require(RISKAREA_READ)
    within = actor.region_code
    found = suggest(engine, ctx, now=now, within=within)
    areas = list_areas(engine, ctx, levels=("high", "medium", "low"), within_region=within)
    ids = {a.id for a in areas}
    history = [h for h in area_history(engine, limit=200) if h.area_id in ids]
    return found, areas, history


def designate_area(
    engine: Engine, key: bytes, ctx: CodeContext, actor: Actor, address: str, *,
    region_code: str, level: str, reason: str,
) -> ChangeResult:  # fmt: skip
    """Designate inside the actor's jurisdiction (``riskarea.designate``), audited."""
    outcome = "ok"
    try:
        actor.require(RISKAREA_DESIGNATE)
        if actor.region_code is not None:
            with engine.connect() as conn:
                inside = in_subtree(conn, actor.region_code, region_code)
            if not inside:
                outcome = "out_of_jurisdiction"
                missing = problem("region_unknown", f"无此区划（{region_code}）",
                                  f"no region {region_code}")  # fmt: skip
                raise DesignationInvalid(missing)
        return designate(engine, ctx, region_code=region_code, level=level, reason=reason,
                         by=actor.name)  # fmt: skip
    except FangkongError as exc:
        if outcome == "ok":
            outcome = exc.code[:20]
        raise
    finally:
        with transaction(engine) as conn:
            record(conn, key, AuditEvent(actor.name, "riskarea.designate", outcome, address,
                                         "region", region_code[:80], level[:20]))  # fmt: skip
