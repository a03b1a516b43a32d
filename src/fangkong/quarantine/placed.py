"""A placement once made, as follow-up (随访) sees it: read it, refuse it closed, end it.

``PlacementView`` and its readers (``get_placement``, ``placements_of``); ``_open`` (an
active placement, else ``quarantine.placement_closed``); ``_end`` (the placement ends,
its room is freed when the last of a family leaves); the code facts that follow every
change (``Facts``, recorded after the commit by ``send_codes``): a new ``period`` fact
that starts at the change (so it is the latest) and ends at the new end — at the change
itself when the placement ended (``_ended_fact``). The follow-up use cases are in
``checks``, ``scheduled_tests``, ``ending``, ``periods`` and ``alerts``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, update

from fangkong import clock
from fangkong.errors import Conflict, NotFound, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.feed import record_facts
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.writer import FactInput
from fangkong.quarantine.tables import (
    quarantine_bookings,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.quarantine.terms import period_fact
from fangkong.store.tx import Bind, write_transaction


class PlacementUnknown(NotFound):
    """quarantine.placement_unknown: no placement with this id."""


class PlacementClosed(Conflict):
    """quarantine.placement_closed: the placement has ended; nothing more can be recorded."""


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(code, zh, en)


@dataclass(frozen=True)
class PlacementView:
    id: int
    person_id: int
    kind: str
    risk_group: str
    status: str
    facility_id: int | None
    facility_name: str | None
    room_code: str | None
    zone: str | None
    region_code: str | None
    starts_at: datetime
    planned_end: datetime | None
    ended_at: datetime | None
    test_days: tuple[int, ...]
    follows_id: int | None
    booking_id: int | None
    period_from: datetime | None = None

    @property
    def day_one(self) -> datetime:
        """The time day 1 of the period holds (test day N counts from it)."""
        return self.period_from or self.starts_at


def _view(conn: Connection, placement_id: int) -> PlacementView:
    q, f, r = quarantine_placements.c, quarantine_facilities.c, quarantine_rooms.c
    row = conn.execute(
        select(quarantine_placements, f.name.label("fname"), r.code.label("rcode"), r.zone)
        .outerjoin(quarantine_facilities, f.id == q.facility_id)
        .outerjoin(quarantine_rooms, r.id == q.room_id)
        .where(q.id == placement_id)
    ).first()
    if row is None:
        raise PlacementUnknown(
            _p(
                "quarantine.placement_unknown",
                f"无此安置记录（{placement_id}）",
                f"no placement {placement_id}",
            )
        )
    return PlacementView(
        row.id,
        row.person_id,
        row.kind,
        row.risk_group,
        row.status,
        row.facility_id,
        row.fname,
        row.rcode,
        row.zone,
        row.region_code,
        row.starts_at,
        row.planned_end,
        row.ended_at,
        tuple(json.loads(row.test_days)),
        row.follows_id,
        row.booking_id,
        row.period_from,
    )


def get_placement(bind: Bind, placement_id: int) -> PlacementView:
    with write_transaction(bind) as conn:
        return _view(conn, placement_id)


def placements_of(bind: Bind, person_id: int) -> list[PlacementView]:
    q = quarantine_placements.c
    with write_transaction(bind) as conn:
        ids = conn.execute(select(q.id).where(q.person_id == person_id).order_by(q.id)).scalars()
        return [_view(conn, int(i)) for i in ids]


def _open(conn: Connection, placement_id: int) -> PlacementView:
    view = _view(conn, placement_id)
    if view.status != "active":
        raise PlacementClosed(
            _p(
                "quarantine.placement_closed",
                f"安置记录 {placement_id} 已结束（{view.status}）",
                f"placement {placement_id} has ended ({view.status})",
            )
        )
    return view


def _end(conn: Connection, view: PlacementView, status: str, at: datetime, reason: str) -> None:
    q, b, r = quarantine_placements, quarantine_bookings, quarantine_rooms
    conn.execute(
        update(q)
        .where(q.c.id == view.id)
        .values(status=status, active=None, ended_at=at, end_reason=reason)
    )
    if view.booking_id is None:
        return
    sharing = conn.execute(
        select(func.count())
        .select_from(q)
        .where(q.c.booking_id == view.booking_id, q.c.active.is_(True))
    ).scalar_one()
    if sharing == 0:  # the last of the family leaves: the room is free again
        conn.execute(update(b).where(b.c.id == view.booking_id).values(active=None, freed_at=at))
        room = conn.execute(select(b.c.room_id).where(b.c.id == view.booking_id)).scalar()
        conn.execute(update(r).where(r.c.id == room).values(state="free"))


def send_codes(
    engine: Engine,
    facts: Sequence[tuple[int, FactInput]],
    by: str,
    at: datetime,
    codes: CodeContext | None,
) -> None:
    if facts:
        record_facts(engine, facts, recorded_by=by[:80], now=at)
        if codes is not None:
            recompute_all(engine, codes, at, trigger="quarantine")


def _place_name(view: PlacementView) -> str:
    return view.facility_name or "居家 / home"


def _now(at: datetime | None) -> datetime:
    return at or clock.now()


Facts = list[tuple[int, FactInput]]


def _ended_fact(view: PlacementView, at: datetime) -> FactInput:
    start = max(view.starts_at, at)
    return period_fact(view.id, view.kind, start, start, _place_name(view), version="-end")


__all__ = [
    "Facts",
    "PlacementClosed",
    "PlacementUnknown",
    "PlacementView",
    "get_placement",
    "placements_of",
    "send_codes",
]
