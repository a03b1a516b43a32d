"""Floors (保供底线): a unit's days of supply of a good below the pack's floor, or a
sealed area's delivery late, raise one open ``supply_alerts`` row and its command task
(``supply_floor``, owed by the unit at ``alert_level``); the alert and its task close
when the unit is back at or above the floor, or the delivery is made."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from fangkong.command.tasks import close_for_source, raise_task
from fangkong.riskareas.tables import risk_areas
from fangkong.store.regions import subtree
from fangkong.store.tx import Bind, write_transaction
from fangkong.supply._common import SUPPLY_BY, SupplyPolicy, Tree, days_of_supply
from fangkong.supply.days import below_floor
from fangkong.supply.tables import (
    supply_alerts,
    supply_deliveries,
)

# ---- floors ----------------------------------------------------------------------------------


@dataclass
class FloorOutcome:
    raised: int = 0
    closed: int = 0
    still_open: int = 0
    alerts: list[int] = field(default_factory=list)  # ids raised


def _open_alerts(conn: Connection, cause: str, units: Collection[str] | None) -> list[Any]:
    a = supply_alerts.c
    q = select(supply_alerts).where(a.status == "open", a.cause == cause)
    if units is not None:
        q = q.where(a.region_code.in_(sorted(units)))
    return list(conn.execute(q).all())


def _raise(conn: Connection, policy: SupplyPolicy, tree: Tree, *, cause: str, region: str,
           unit: str, good: str, days: float, at: datetime, by: str, out: FloorOutcome,
           ) -> None:  # fmt: skip
    """One open alert and its task; nothing when another transaction raised the same
    breach first (PostgreSQL: two reports at once — the unique open key refuses the second)."""
    rules = policy.supply
    due = at + timedelta(hours=rules.task_deadline_hours)
    floor = rules.goods[good].floor_days
    try:
        with conn.begin_nested():
            alert_id = conn.execute(supply_alerts.insert().values(
                region_code=region, good=good, cause=cause, open_key=f"{cause}/{region}/{good}",
                status="open", floor_days=floor, days_at_raise=days, days_now=days,
                raised_at=at, due_at=due)).inserted_primary_key  # fmt: skip
    except IntegrityError:
        out.still_open += 1
        return
    aid = int(alert_id[0]) if alert_id is not None else 0
    out.alerts.append(aid)
    out.raised += 1
    raise_task(conn, policy.command, kind="supply_floor", source_type="supply_alert",
               source_id=str(aid), region_code=unit, role=None,
               params={"cause": cause, "good": good, "region": tree.name.get(region, region),
                       "days": round(days, 1), "floor": floor},
               deadline_at=due, by=by, at=at)  # fmt: skip


def _close_alert(conn: Connection, alert_id: int, *, at: datetime, by: str, note: str) -> None:
    a = supply_alerts.c
    conn.execute(update(supply_alerts).where(a.id == alert_id, a.status == "open").values(
        status="closed", open_key=None, closed_at=at, closed_by=by[:80]))  # fmt: skip
    close_for_source(conn, "supply_floor", "supply_alert", str(alert_id), by=by, at=at, note=note)


def check_floors(
    bind: Bind, policy: SupplyPolicy, *, at: datetime, by: str = SUPPLY_BY,
    units: Collection[str] | None = None, deliveries: bool = True, tree: Tree | None = None,
) -> FloorOutcome:  # fmt: skip
    """Hold every unit (a region at ``alert_level``; ``units``: only these) to the goods'
    floors: a breach without an open alert raises one and its task; an open alert whose
    unit is back at or above the floor is closed with its task (a unit with no report in
    the window keeps its alert: nothing says the shelves were filled). With
    ``deliveries``, a sealed area's delivery still planned ``delivery_grace_hours`` into
    its day is a breach too, closed when confirmed (or cancelled). ``tree``: the regions
    when the caller read them already."""
    out = FloorOutcome()
    with write_transaction(bind) as conn:
        tree = tree or Tree.load(conn)
        _stock_floors(conn, policy, tree, at, by, units, out)
        if deliveries:
            delivery_floors(conn, policy, tree, at, by, out)
    return out


def _stock_floors(conn: Connection, policy: SupplyPolicy, tree: Tree, at: datetime, by: str,
                  units: Collection[str] | None, out: FloorOutcome) -> None:  # fmt: skip
    rules = policy.supply
    level = rules.alert_level
    supplies = days_of_supply(conn, at, policy, within=units, tree=tree)
    breached: dict[tuple[str, str], float] = {}
    seen: dict[tuple[str, str], float | None] = {}
    for (region, good), sup in supplies.items():
        if tree.level.get(region) != level or good not in rules.goods:
            continue
        if units is not None and region not in units:
            continue
        seen[(region, good)] = sup.days
        if below_floor(sup, rules.goods[good].floor_days):
            breached[(region, good)] = float(sup.days or 0.0)
    held = {(r.region_code, r.good): r for r in _open_alerts(conn, "stock", units)}
    a = supply_alerts.c
    for key, row in held.items():
        if key in breached:
            conn.execute(update(supply_alerts).where(a.id == row.id)
                         .values(days_now=breached[key]))  # fmt: skip
            out.still_open += 1
        elif key in seen:
            days = seen[key]
            if days is not None:
                conn.execute(update(supply_alerts).where(a.id == row.id).values(days_now=days))
            _close_alert(conn, int(row.id), at=at, by=by,
                         note="库存已恢复至底线以上 / stock back above the floor")  # fmt: skip
            out.closed += 1
        else:
            out.still_open += 1
    for (region, good), days in sorted(breached.items()):
        if (region, good) not in held:
            _raise(conn, policy, tree, cause="stock", region=region, unit=region, good=good,
                   days=days, at=at, by=by, out=out)  # fmt: skip


def delivery_floors(conn: Connection, policy: SupplyPolicy, tree: Tree, at: datetime, by: str,
                     out: FloorOutcome) -> None:  # fmt: skip
    """A planned delivery still not made ``delivery_grace_hours`` into its day: the
    area's residents are without the good (0 days)."""
    d, ra = supply_deliveries.c, risk_areas.c
    grace = timedelta(hours=policy.supply.delivery_grace_hours)
    # the latest day whose grace has run out by ``at``
    local = at.astimezone(policy.tz)
    latest = (local - grace).date()
    late = conn.execute(
        select(ra.region_code, d.good).distinct()
        .join(risk_areas, ra.id == d.area_id)
        .where(d.status == "planned", d.planned_for <= latest)
    ).all()  # fmt: skip
    breached = {(r.region_code, r.good) for r in late}
    held = {(r.region_code, r.good): r for r in _open_alerts(conn, "delivery", None)}
    for key, row in held.items():
        if key in breached:
            out.still_open += 1
        else:
            _close_alert(conn, int(row.id), at=at, by=by,
                         note="配送已送达 / the delivery was made")  # fmt: skip
            out.closed += 1
    level = policy.supply.alert_level
    for region, good in sorted(breached - set(held)):
        unit = tree.at_level(region, level) or region
        _raise(conn, policy, tree, cause="delivery", region=region, unit=unit, good=good,
               days=0.0, at=at, by=by, out=out)  # fmt: skip


def open_alerts(conn: Connection, *, within: str | None = None) -> list[Any]:
    """The open floor alerts (under ``within``), the longest open first."""
    a = supply_alerts.c
    q = select(supply_alerts).where(a.status == "open")
    if within is not None:
        q = q.where(a.region_code.in_(subtree(within)))
    return list(conn.execute(q.order_by(a.raised_at, a.id)).all())
