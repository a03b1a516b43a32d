"""Necessities as use cases on a connection (民生物资保供): reports, days of supply,
floors, deliveries to sealed areas.

::

    report (device, file, form) ─▶ record_report ─▶ supply_reports (one row per outlet ×
         day × good; a resend replaces it) ─▶ check_floors for the outlets' units
    days_of_supply(conn, at, policy) ─▶ days.py over the window ─▶ (region, good) → Supply
    check_floors ─▶ a unit (alert_level) below a good's floor: one open supply_alert and
                    its command task (supply_floor, the unit, due task_deadline_hours);
                    back above the floor: the alert and its task closed
    plan_deliveries ─▶ every sealed area in force (risk_areas at [risk_areas] seal_levels):
                    residents × per_person_day × delivery_days per good for the day
                    delivery_lead_days ahead, once per area × good × day
    confirm_delivery ─▶ delivered (quantity, by, at); the area's delivery alert closes

Every function takes ``at`` (business time, the one clock's instant) and a
``SupplyPolicy`` (the pack's ``[supply]``, ``[command]`` and the seal levels, the zone).

This module is the capability's public face (the names others call: the CLI, the
shells' access layer, ``fangkong.demo``); the work is done in ``reports`` (outlets and
reports), ``floors`` (alerts and their tasks), ``deliveries`` and ``_common`` (the
policy, the region tree, days of supply read from the store). Stable API: add
parameters with defaults, do not rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from fangkong.supply._common import (
    MAX_AMOUNT,
    SUPPLY_BY,
    SupplyPolicy,
    SupplyUnknown,
    Tree,
    amount_problem,
    days_of_supply,
    invalid,
)
from fangkong.supply.days import Supply, below_floor
from fangkong.supply.deliveries import (
    DELIVERY_SORTS,
    DeliveryView,
    confirm_delivery,
    get_delivery,
    list_deliveries,
    page_deliveries,
    plan_deliveries,
    residents_count,
    sealed_areas,
)
from fangkong.supply.floors import FloorOutcome, check_floors, open_alerts
from fangkong.supply.reports import (
    OUTLET_SORTS,
    OutletIn,
    ReportIn,
    ReportResult,
    add_outlet,
    no_outlet,
    outlet_problems,
    page_outlets,
    parse_report,
    record_report,
    unknown_outlets,
)

__all__ = [
    "DELIVERY_SORTS", "MAX_AMOUNT", "OUTLET_SORTS", "SUPPLY_BY", "DeliveryView", "FloorOutcome",
    "OutletIn", "RegionRow", "ReportIn", "ReportResult", "Supply", "SupplyPolicy",
    "SupplyUnknown", "Tree", "add_outlet", "amount_problem", "check_floors", "confirm_delivery",
    "days_of_supply", "get_delivery", "invalid", "list_deliveries", "no_outlet", "open_alerts",
    "outlet_problems", "page_deliveries", "page_outlets", "parse_report", "plan_deliveries",
    "record_report", "residents_count", "sealed_areas", "supply_table", "unknown_outlets",
]  # fmt: skip

# ---- what the desk shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: str
    cells: Mapping[str, Supply | None]  # good → its supply (None: no report in the window)
    low: frozenset[str]  # goods below their floor


def supply_table(conn: Connection, at: datetime, policy: SupplyPolicy, root: str | None
                 ) -> list[RegionRow]:  # fmt: skip
    """The desk's table: ``root`` (the province when None) and its children, each good's
    days of supply with the floors breached marked."""
    tree = Tree.load(conn)
    if root is None:
        root = next((c for c, p in tree.parent.items() if p is None), None)
        if root is None:
            return []
    codes = [root, *sorted(c for c, p in tree.parent.items() if p == root)]
    supplies = days_of_supply(conn, at, policy, within=[root], tree=tree)
    goods = policy.supply.goods
    out = []
    for code in codes:
        cells = {g: supplies.get((code, g)) for g in goods}
        low = frozenset(g for g, s in cells.items()
                        if s is not None and below_floor(s, goods[g].floor_days))  # fmt: skip
        out.append(RegionRow(code, tree.name.get(code, code), tree.level.get(code, ""), cells, low))
    return out
