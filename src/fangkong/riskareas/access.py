"""Needs of sealed areas as staff reach them: rights, jurisdiction, masking, audit.

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
from fangkong.auth.rights import NEED_MANAGE, PERSON_READ_FULL
from fangkong.errors import FangkongError
from fangkong.identity.masking import mask_name
from fangkong.riskareas.errors import NeedUnknown, problem
from fangkong.riskareas.needs import NeedView, list_needs, set_need_status
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
