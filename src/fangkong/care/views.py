"""The register as staff read it: needs by deadline (a page of them), one need, its history.

Open needs come first, the most urgent (earliest deadline) first, overdue ones at the
top; finished ones after. ``within`` keeps areas in a region's subtree (the caller's
jurisdiction). Names are returned as stored: the guarded caller masks them by rights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, case, select

from fangkong.auth.jurisdiction import subtree
from fangkong.care.tables import CLOSED_STATUSES, care_need_changes, care_needs, care_wards
from fangkong.riskareas.tables import risk_areas
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.schema import persons
from fangkong.store.tx import Bind, write_transaction


@dataclass(frozen=True)
class NeedView:
    id: int
    person_id: int
    person_name: str  # as stored: callers mask it by rights
    area_id: int
    area_name: str
    region_code: str  # the area's region (its unit owes the task)
    area_level: str
    kind: str
    detail: str
    status: str
    raised_at: datetime
    raised_by: str
    due_at: datetime
    ward_code: str | None
    ward_name: str | None
    vehicle_code: str | None
    departs_at: datetime | None
    arrives_at: datetime | None
    distance_km: float | None
    closed_at: datetime | None
    outcome: str | None
    overdue: bool

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES


@dataclass(frozen=True)
class NeedChange:
    at: datetime
    from_status: str | None
    to_status: str
    changed_by: str
    note: str


# what the needs may be sorted by (their whitelist)
NEED_SORTS: listing.Columns = {
    "due": care_needs.c.due_at, "kind": care_needs.c.kind, "status": care_needs.c.status,
    "area": risk_areas.c.name, "raised": care_needs.c.raised_at,
}  # fmt: skip


def _query() -> Any:
    n = care_needs.c
    return (
        select(care_needs, risk_areas.c.name.label("area_name"),
               risk_areas.c.region_code, risk_areas.c.level.label("area_level"),
               persons.c.name.label("person_name"),
               (care_wards.c.hospital + " " + care_wards.c.name).label("ward_name"))
        .join(risk_areas, risk_areas.c.id == n.area_id)
        .join(persons, persons.c.id == n.person_id)
        .outerjoin(care_wards, care_wards.c.code == n.ward_code)
    )  # fmt: skip


def _view(r: Row[Any], at: datetime) -> NeedView:
    return NeedView(
        r.id, r.person_id, r.person_name, r.area_id, r.area_name, r.region_code, r.area_level,
        r.kind, r.detail, r.status, r.raised_at, r.raised_by, r.due_at, r.ward_code,
        r.ward_name, r.vehicle_code, r.departs_at, r.arrives_at, r.distance_km, r.closed_at,
        r.outcome, r.status not in CLOSED_STATUSES and r.due_at < at,
    )  # fmt: skip


def page_needs(
    bind: Bind, bounded: Bounded | None, *, at: datetime, status: str | None = None,
    open_only: bool = False, kind: str | None = None, within: str | None = None,
) -> tuple[list[NeedView], int]:  # fmt: skip
    """One page of needs (all of them when ``bounded`` is None) and how many there are;
    ``within``: areas in that region's subtree only."""
    n = care_needs.c
    query = _query()
    if status is not None:
        query = query.where(n.status == status)
    if open_only:
        query = query.where(n.status.not_in(CLOSED_STATUSES))
    if kind is not None:
        query = query.where(n.kind == kind)
    if within is not None:
        query = query.where(risk_areas.c.region_code.in_(subtree(within)))
    finished = case((n.status.in_(CLOSED_STATUSES), 1), else_=0)
    late = case((and_(n.status.not_in(CLOSED_STATUSES), n.due_at < at), 0), else_=1)
    with write_transaction(bind) as conn:
        rows, total = listing.fetch(conn, query, bounded, NEED_SORTS,
                                    (finished, late, n.due_at, n.id))  # fmt: skip
    return [_view(r, at) for r in rows], total


def get_need(bind: Bind, need_id: int, *, at: datetime) -> NeedView | None:
    with write_transaction(bind) as conn:
        row = conn.execute(_query().where(care_needs.c.id == need_id)).first()
    return None if row is None else _view(row, at)


def need_history(bind: Bind, need_id: int) -> list[NeedChange]:
    c = care_need_changes.c
    with write_transaction(bind) as conn:
        rows = conn.execute(select(care_need_changes).where(c.need_id == need_id)
                            .order_by(c.at, c.id)).all()  # fmt: skip
    return [NeedChange(r.at, r.from_status, r.to_status, r.changed_by, r.note) for r in rows]
