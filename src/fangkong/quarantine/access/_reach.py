"""What the quarantine use cases share: the jurisdiction's region codes, a placement in
reach (or hidden as absent), names by rights, refusals of batch rows, and an audited
change whose facts go to codes after the commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select

from fangkong.auth.guard import Call, hidden, names, within
from fangkong.auth.jurisdiction import subtree
from fangkong.auth.model import Actor
from fangkong.auth.rights import PERSON_READ_FULL
from fangkong.errors import FieldProblem, InvalidFields, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.access import MAX_BATCH
from fangkong.quarantine.placed import Facts, PlacementUnknown, PlacementView, _view, send_codes
from fangkong.quarantine.tables import quarantine_facilities, quarantine_placements
from fangkong.store.schema import persons
from fangkong.store.tx import Bind

T = TypeVar("T")


def region_codes(bind: Bind, actor: Actor) -> list[str] | None:
    """The region codes of the actor's jurisdiction (None: everywhere)."""
    if actor.region_code is None:
        return None
    if isinstance(bind, Connection):
        return [str(c) for c in bind.execute(subtree(actor.region_code)).scalars()]
    with bind.connect() as conn:
        return [str(c) for c in conn.execute(subtree(actor.region_code)).scalars()]


def _placement_missing(placement_id: int) -> Problem:
    return Problem(
        "quarantine.placement_unknown",
        f"无此安置记录（{placement_id}）",
        f"no placement {placement_id}",
    )


def where_placed() -> Any:
    """The region a placement answers to: its facility's, else where the person is."""
    return func.coalesce(quarantine_facilities.c.region_code, quarantine_placements.c.region_code)


def where_alerted() -> Any:
    """The region an alert answers to: its placement's, else (not placed) the person's
    residence."""
    return func.coalesce(where_placed(), persons.c.residence_code)


def reachable(conn: Connection, actor: Actor, placement_id: int) -> PlacementView:
    """The placement, if it answers to a region of the jurisdiction (else as if absent)."""
    view = _view(conn, placement_id)
    if actor.region_code is None:
        return view
    q, f = quarantine_placements.c, quarantine_facilities.c
    found = conn.execute(
        select(q.id)
        .outerjoin(quarantine_facilities, f.id == q.facility_id)
        .where(q.id == placement_id, within(actor, where_placed()))
    ).first()
    if found is None:
        raise hidden(PlacementUnknown(_placement_missing(placement_id)))
    return view


def names_of(conn: Connection, actor: Actor, person_ids: Sequence[int]) -> dict[int, str]:
    """``guard.names`` in chunks of ``MAX_BATCH`` (a facility's occupants, open alerts)."""
    out: dict[int, str] = {}
    ids = sorted(set(person_ids))
    for i in range(0, len(ids), MAX_BATCH):
        out.update(names(conn, actor, ids[i : i + MAX_BATCH]))
    return out


def masked_note(actor: Actor) -> str:
    return "" if actor.can(PERSON_READ_FULL) else " masked"


def row_problem(i: int, field: str, problem: Problem) -> FieldProblem:
    return FieldProblem(f"rows.{i}.{field}", problem)


def refuse_rows(problems: Sequence[FieldProblem]) -> InvalidFields:
    n = len(problems)
    return InvalidFields(
        Problem("quarantine.rows_invalid", f"{n} 处错误，未写入任何记录",
                f"{n} problems: nothing was written"), problems)  # fmt: skip


def with_codes(
    call: Call, action: str, placement_id: int, right: str,
    change: Callable[[Connection], tuple[T, Facts, str]], at: datetime,
    codes: CodeContext | None,
) -> T:  # fmt: skip
    """An audited change of one placement; the facts it makes go to codes after commit."""
    facts: Facts = []

    def body(conn: Connection) -> tuple[T, str]:
        call.require(right)
        reachable(conn, call.actor, placement_id)
        result, made, detail = change(conn)
        facts.extend(made)
        return result, detail

    result = call.audited(action, "placement", str(placement_id), body)
    send_codes(call.engine, facts, call.actor.name, at, codes)
    return result
