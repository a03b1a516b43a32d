"""Deliveries to sealed areas (无接触配送, 民生托底保障): planned from the residents and
the goods' needs per person, confirmed on delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from fangkong.errors import FieldProblem
from fangkong.riskareas.tables import risk_area_households, risk_areas
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.regions import subtree
from fangkong.store.schema import persons
from fangkong.store.tx import Bind, write_transaction
from fangkong.supply._common import (
    SUPPLY_BY,
    SupplyPolicy,
    SupplyUnknown,
    Tree,
    _p,
    amount_problem,
    invalid,
)
from fangkong.supply.days import delivery_quantity
from fangkong.supply.floors import FloorOutcome, delivery_floors
from fangkong.supply.tables import (
    supply_deliveries,
)

# ---- deliveries to sealed areas --------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    id: int
    area_id: int
    area_name: str
    region_code: str
    good: str
    planned_for: date
    people: int
    quantity_planned: float
    status: str
    delivered_at: datetime | None
    delivered_by: str | None
    quantity_delivered: float | None


def sealed_areas(conn: Connection, policy: SupplyPolicy, within: str | None = None) -> list[Any]:
    """The areas in force at a seal level (封控) — under ``within`` when given."""
    ra = risk_areas.c
    if not policy.seal_levels:
        return []
    q = select(ra.id, ra.name, ra.region_code, ra.building).where(
        ra.level.in_(list(policy.seal_levels)))  # fmt: skip
    if within is not None:
        q = q.where(ra.region_code.in_(subtree(within)))
    return list(conn.execute(q.order_by(ra.id)).all())


def residents_count(conn: Connection, area_id: int, region_code: str, building: str | None) -> int:
    """How many persons live in the area (its region's subtree, or its households)."""
    p = persons.c
    if building is not None:
        held = select(risk_area_households.c.household_code).where(
            risk_area_households.c.area_id == area_id)  # fmt: skip
        where = p.household_code.in_(held)
    else:
        where = p.residence_code.in_(subtree(region_code))
    return int(conn.execute(select(func.count()).select_from(persons).where(where)).scalar_one())


def plan_deliveries(
    conn: Bind, at: datetime, policy: SupplyPolicy, *, by: str = SUPPLY_BY,
    within: str | None = None,
) -> list[DeliveryView]:  # fmt: skip
    """For every sealed area in force, what to bring on the day ``delivery_lead_days``
    ahead of ``at``'s local day: residents × each good's ``per_person_day`` ×
    ``delivery_days``. Once per area × good × day: a second run plans nothing new (it
    returns the deliveries of that day, planned before or now). ``within``: only the
    areas under that region (a county's desk)."""
    rules = policy.supply
    day = policy.today(at) + timedelta(days=rules.delivery_lead_days)
    d = supply_deliveries.c
    with write_transaction(conn) as c:
        held = {(int(a), str(g)) for a, g in c.execute(
            select(d.area_id, d.good).where(d.planned_for == day))}  # fmt: skip
        new = []
        for area in sealed_areas(c, policy, within):
            people = residents_count(c, int(area.id), area.region_code, area.building)
            for good in rules.goods.values():
                if (int(area.id), good.key) in held or people <= 0:
                    continue
                qty = delivery_quantity(people, good.per_person_day, rules.delivery_days)
                new.append({"area_id": int(area.id), "good": good.key, "planned_for": day,
                            "people": people, "quantity_planned": qty, "planned_at": at,
                            "planned_by": by[:80], "status": "planned"})  # fmt: skip
        if new:
            c.execute(supply_deliveries.insert(), new)
        return list_deliveries(c, day=day, within=within)


def _delivery_query() -> Any:
    d, ra = supply_deliveries.c, risk_areas.c
    return select(supply_deliveries, ra.name.label("area_name"), ra.region_code).join(
        risk_areas, ra.id == d.area_id
    )


def _delivery_view(r: Any) -> DeliveryView:
    return DeliveryView(int(r.id), int(r.area_id), r.area_name, r.region_code, r.good,
                        r.planned_for, int(r.people), float(r.quantity_planned), r.status,
                        r.delivered_at, r.delivered_by, r.quantity_delivered)  # fmt: skip


def list_deliveries(
    conn: Connection, *, day: date | None = None, status: str | None = None,
    within: str | None = None,
) -> list[DeliveryView]:  # fmt: skip
    """Deliveries (a day's, of a status, of areas under ``within``), area then good."""
    d, ra = supply_deliveries.c, risk_areas.c
    q = _delivery_query()
    if day is not None:
        q = q.where(d.planned_for == day)
    if status is not None:
        q = q.where(d.status == status)
    if within is not None:
        q = q.where(ra.region_code.in_(subtree(within)))
    return [_delivery_view(r) for r in conn.execute(q.order_by(d.planned_for, d.area_id, d.good))]


def get_delivery(conn: Connection, delivery_id: int) -> DeliveryView:
    row = conn.execute(_delivery_query().where(supply_deliveries.c.id == delivery_id)).first()
    if row is None:
        raise SupplyUnknown(_p("supply.delivery_unknown", f"无此配送（{delivery_id}）",
                               f"no delivery {delivery_id}"))  # fmt: skip
    return _delivery_view(row)


def confirm_delivery(
    bind: Bind, policy: SupplyPolicy, delivery_id: int, *, by: str, at: datetime,
    quantity: float | None = None,
) -> DeliveryView:  # fmt: skip
    """Mark a planned delivery delivered (the quantity planned unless ``quantity``);
    a delivery confirmed already is returned as it is (a resent confirmation changes
    nothing). The area's delivery alert for the good closes when no delivery of it is
    late any more."""
    if quantity is not None:
        _, problem = amount_problem(quantity, "quantity")
        if problem is not None:
            raise invalid([FieldProblem("quantity", problem)])
    d = supply_deliveries.c
    with write_transaction(bind) as conn:
        found = get_delivery(conn, delivery_id)
        if found.status == "cancelled":
            raise invalid([FieldProblem("delivery", _p(
                "supply.delivery_cancelled", "该配送已取消", "the delivery was cancelled"))],
                "supply.delivery_cancelled")  # fmt: skip
        if found.status == "planned":
            conn.execute(update(supply_deliveries).where(d.id == delivery_id, d.status == "planned")
                         .values(status="delivered", delivered_at=at, delivered_by=by[:80],
                                 quantity_delivered=found.quantity_planned if quantity is None
                                 else quantity))  # fmt: skip
            tree = Tree.load(conn)
            delivery_floors(conn, policy, tree, at, by, FloorOutcome())
        return get_delivery(conn, delivery_id)


DELIVERY_SORTS: listing.Columns = {
    "day": supply_deliveries.c.planned_for, "area": risk_areas.c.name,
    "good": supply_deliveries.c.good, "status": supply_deliveries.c.status,
    "quantity": supply_deliveries.c.quantity_planned,
}  # fmt: skip


def page_deliveries(
    conn: Connection, bounded: Bounded | None, *, day: date | None = None,
    status: str | None = None, within: str | None = None, since: date | None = None,
) -> tuple[list[DeliveryView], int]:  # fmt: skip
    """One page of the deliveries (a day's, or from ``since`` on with every earlier one
    still planned — a late one stays in sight —, of a status, under ``within``)."""
    d, ra = supply_deliveries.c, risk_areas.c
    q = _delivery_query()
    if day is not None:
        q = q.where(d.planned_for == day)
    if since is not None:  # from that day on, and every one still not delivered
        q = q.where(or_(d.planned_for >= since, d.status == "planned"))
    if status is not None:
        q = q.where(d.status == status)
    if within is not None:
        q = q.where(ra.region_code.in_(subtree(within)))
    rows, total = listing.fetch(conn, q, bounded, DELIVERY_SORTS, [d.planned_for, d.area_id,
                                                                   d.good])  # fmt: skip
    return [_delivery_view(r) for r in rows], total
