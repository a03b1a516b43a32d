"""Necessities as staff and devices reach them: rights, jurisdiction, audit (保供).

::

    actor ─▶ right? ── no ─▶ Forbidden (403)
             region (outlet's, area's) inside the actor's subtree? ── no ─▶ as absent
                 ▼ the service in one transaction, one audit row (ids and counts only)

Rights: ``supply.read`` (the desk: days of supply, outlets, deliveries, alerts),
``supply.report`` (stock and sales: a device token of scope ``supply`` reports for the
outlet of its venue only; a user for outlets in the jurisdiction), ``supply.manage``
(outlets, deliveries planned and confirmed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from fangkong.auth.guard import Call, hidden, inside
from fangkong.auth.rights import SUPPLY_MANAGE, SUPPLY_READ, SUPPLY_REPORT
from fangkong.errors import FieldProblem, Problem
from fangkong.riskareas.tables import risk_areas
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.supply import service
from fangkong.supply.days import Supply
from fangkong.supply.service import (
    DeliveryView,
    OutletIn,
    RegionRow,
    ReportIn,
    ReportResult,
    SupplyPolicy,
    SupplyUnknown,
    invalid,
)
from fangkong.supply.tables import supply_deliveries, supply_outlets


def _outside(code: str) -> Problem:
    return Problem("supply.outside", f"区划 {code[:20]} 不在您的辖区内",
                   f"region {code[:20]} is outside your jurisdiction")  # fmt: skip


# ---- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    """The supply desk of a region: its days of supply and its children's, the open
    alerts below it, today's and tomorrow's deliveries."""

    root: str | None
    rows: list[RegionRow]
    alerts: list[Any]
    deliveries: list[DeliveryView]
    deliveries_total: int
    today: date


def read_desk(
    call: Call, policy: SupplyPolicy, *, region: str | None = None,
    bounded: Bounded = listing.FIRST_PAGE, status: str | None = None,
) -> Desk:  # fmt: skip
    """The desk for ``region`` (default the actor's; the province without one), inside
    the jurisdiction or answered as absent."""
    call.require(SUPPLY_READ)
    root = region or call.actor.region_code
    at = call.now()

    def body(conn: Connection) -> tuple[Desk, str]:
        if root is not None and not inside(conn, call.actor, root):
            raise hidden(SupplyUnknown(Problem("supply.region_unknown", f"无此区划（{root}）",
                                               f"no region {root}")))  # fmt: skip
        rows = service.supply_table(conn, at, policy, root)
        alerts = service.open_alerts(conn, within=root)
        deliveries, total = service.page_deliveries(conn, bounded, within=root, status=status,
                                                    since=policy.today(at))  # fmt: skip
        desk = Desk(root, rows, alerts, deliveries, total, policy.today(at))
        return desk, f"{len(rows)} regions, {len(alerts)} alerts"

    return call.audited("supply.read", "region", root, body)


def read_days(call: Call, policy: SupplyPolicy) -> dict[tuple[str, str], Supply]:
    """Days of supply of every region in the jurisdiction × good (the CLI's table)."""
    call.require(SUPPLY_READ)
    root = call.actor.region_code
    at = call.now()

    def body(conn: Connection) -> tuple[dict[tuple[str, str], Supply], str]:
        found = service.days_of_supply(conn, at, policy, within=None if root is None else [root])
        if root is not None:
            from fangkong.auth.jurisdiction import subtree

            reach = {str(c) for c in conn.execute(subtree(root)).scalars()}
            found = {k: v for k, v in found.items() if k[0] in reach}
        return found, f"{len(found)} figures"

    return call.audited("supply.read", "region", root, body)


def read_outlets(
    call: Call, *, kind: str | None = None, bounded: Bounded | None = listing.FIRST_PAGE
) -> tuple[list[Any], int]:
    """One page of the outlets of the jurisdiction."""
    call.require(SUPPLY_READ)
    with call.engine.connect() as conn:
        return service.page_outlets(conn, bounded, within=call.actor.region_code, kind=kind)


# ---- outlets and reports ----------------------------------------------------------------------


def add_outlet(call: Call, outlet: OutletIn) -> None:
    """Add an outlet in the jurisdiction (``supply.manage``), audited."""
    call.require(SUPPLY_MANAGE)

    def body(conn: Connection) -> tuple[None, str]:
        if not inside(conn, call.actor, outlet.region_code):
            raise invalid([FieldProblem("region_code", _outside(outlet.region_code))])
        service.add_outlet(conn, outlet, by=call.actor.name, at=call.now())
        return None, outlet.kind

    call.audited("supply.outlet_add", "outlet", outlet.code[:40], body)


def device_outlet(conn: Connection, call: Call) -> str | None:
    """The outlet of a device's venue (None for people and devices without one)."""
    venue = call.actor.venue_code
    if venue is None:
        return None
    o = supply_outlets.c
    return conn.execute(select(o.code).where(o.venue_code == venue)).scalar_one_or_none()


def submit_reports(
    call: Call, policy: SupplyPolicy, rows: Sequence[Mapping[str, Any]], *, via: str
) -> ReportResult:
    """Reports from a device, a form or a file's rows (``supply.report``): all or none.
    A device reports for its venue's outlet only (``outlet_code`` may be left out); a
    user for outlets in the jurisdiction. Each bad field is named ``reports[i].field``."""
    call.require(SUPPLY_REPORT)
    at = call.now()

    def body(conn: Connection) -> tuple[ReportResult, str]:
        mine = device_outlet(conn, call) if call.actor.kind == "device" else None
        if call.actor.kind == "device" and mine is None:
            raise invalid([FieldProblem("outlet_code", Problem(
                "supply.device_unbound", "本设备未绑定保供网点的场所",
                "this device's venue is no outlet's"))])  # fmt: skip
        problems: list[FieldProblem] = []
        clean: list[ReportIn] = []
        for i, raw in enumerate(rows):
            filled = dict(raw)
            if mine is not None and not filled.get("outlet_code"):
                filled["outlet_code"] = mine
            found, report = service.parse_report(policy.supply, filled, at=at, tz=policy.tz)
            problems += [FieldProblem(f"reports[{i}].{f}", p) for f, p in found]
            if report is not None:
                if mine is not None and report.outlet_code != mine:
                    problems.append(FieldProblem(f"reports[{i}].outlet_code", Problem(
                        "supply.outlet_other", "设备只能上报本网点", "a device reports for its "
                        "own outlet only")))  # fmt: skip
                clean.append(report)
        problems += _outside_outlets(conn, call, clean)
        if problems:
            raise invalid(problems)
        done = service.record_report(conn, policy, clean, by=call.actor.name, via=via, at=at)
        return done, f"{done.rows} rows, {done.inserted} new, {done.updated} replaced"

    return call.audited("supply.report", "outlet", None, body)


def _outside_outlets(conn: Connection, call: Call, reports: Sequence[ReportIn]
                     ) -> list[FieldProblem]:  # fmt: skip
    if call.actor.region_code is None or not reports:
        return []
    o = supply_outlets.c
    codes = sorted({r.outlet_code for r in reports})
    region = dict(conn.execute(select(o.code, o.region_code).where(o.code.in_(codes))).all())
    out = []
    for i, r in enumerate(reports):
        code = region.get(r.outlet_code)
        if code is None or not inside(conn, call.actor, code):  # unknown or outside: absent
            out.append(FieldProblem(f"reports[{i}].outlet_code", service.no_outlet(r.outlet_code)))
    return out


# ---- deliveries -------------------------------------------------------------------------------


def plan(call: Call, policy: SupplyPolicy) -> list[DeliveryView]:
    """Plan the deliveries to the sealed areas of the jurisdiction (``supply.manage``)."""
    call.require(SUPPLY_MANAGE)
    at = call.now()

    def body(conn: Connection) -> tuple[list[DeliveryView], str]:
        done = service.plan_deliveries(conn, at, policy, by=call.actor.name,
                                       within=call.actor.region_code)  # fmt: skip
        return done, f"{len(done)} deliveries"

    return call.audited("supply.plan", "region", call.actor.region_code, body)


def confirm(call: Call, policy: SupplyPolicy, delivery_id: int,
            quantity: float | None = None) -> DeliveryView:  # fmt: skip
    """Confirm a delivery to an area in the jurisdiction (``supply.manage``)."""
    call.require(SUPPLY_MANAGE)

    def body(conn: Connection) -> tuple[DeliveryView, str]:
        d, ra = supply_deliveries.c, risk_areas.c
        region = conn.execute(select(ra.region_code).join(supply_deliveries, d.area_id == ra.id)
                              .where(d.id == delivery_id)).scalar_one_or_none()  # fmt: skip
        missing = SupplyUnknown(Problem("supply.delivery_unknown", f"无此配送（{delivery_id}）",
                                        f"no delivery {delivery_id}"))  # fmt: skip
        if region is None:
            raise missing
        if not inside(conn, call.actor, region):
            raise hidden(missing)
        done = service.confirm_delivery(conn, policy, delivery_id, by=call.actor.name,
                                        at=call.now(), quantity=quantity)  # fmt: skip
        return done, done.status

    return call.audited("supply.confirm", "delivery", str(delivery_id), body)


def check(call: Call, policy: SupplyPolicy) -> service.FloorOutcome:
    """Hold the units of the province to the floors (``supply.manage``, the daily job)."""
    call.require(SUPPLY_MANAGE)

    def body(conn: Connection) -> tuple[service.FloorOutcome, str]:
        out = service.check_floors(conn, policy, at=call.now(), by=call.actor.name)
        return out, f"{out.raised} raised, {out.closed} closed"

    return call.audited("supply.check", "region", None, body)
