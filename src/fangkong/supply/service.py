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
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, func, select, update

from fangkong.command.rules import CommandRules
from fangkong.command.tasks import close_for_source, raise_task
from fangkong.errors import FieldProblem, InvalidFields, NotFound, Problem
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.riskareas.tables import risk_area_households, risk_areas
from fangkong.settings import default_tz
from fangkong.store.regions import subtree, subtrees
from fangkong.store.schema import persons, regions, venues
from fangkong.store.tx import Bind, write_transaction
from fangkong.supply.days import Report, Supply, below_floor, delivery_quantity, window
from fangkong.supply.days import days_of_supply as _days
from fangkong.supply.rules import SupplyRules
from fangkong.supply.tables import (
    OUTLET_KINDS,
    VIA,
    supply_alerts,
    supply_deliveries,
    supply_outlets,
    supply_reports,
)

SUPPLY_BY = "job:supply"
MAX_AMOUNT = 10_000_000.0  # one outlet's stock or sales of one good for a day, in its unit
CODE_MAX = 40
NAME_MAX = 100
_CHUNK = 500


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(code, zh, en)


class SupplyUnknown(NotFound):
    """An outlet or a delivery that is not there (or outside the caller's jurisdiction)."""


@dataclass(frozen=True)
class SupplyPolicy:
    """What the services read from a pack: ``[supply]``, ``[command]`` (the task's
    rules), ``[risk_areas]`` seal levels (what a sealed area is), and the zone."""

    supply: SupplyRules
    command: CommandRules
    seal_levels: tuple[str, ...]
    tz: tzinfo

    @classmethod
    def from_pack(cls, pack: Any, tz: tzinfo | None = None) -> SupplyPolicy:
        return cls(SupplyRules.from_pack(pack), CommandRules.from_pack(pack),
                   RiskAreaRules.from_pack(pack).seal_levels, tz or default_tz())  # fmt: skip

    def today(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()


# ---- outlets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutletIn:
    code: str
    name: str
    kind: str
    region_code: str
    venue_code: str | None = None


def outlet_problems(conn: Connection, o: OutletIn) -> list[FieldProblem]:
    """What is wrong with an outlet to add (each field named), empty when it may be."""
    out: list[FieldProblem] = []
    if not o.code or len(o.code) > CODE_MAX or not o.code.isprintable():
        out.append(FieldProblem("code", _p("supply.code_invalid", "编码应为 1–40 个可打印字符",
                                           "code: 1 to 40 printable characters")))  # fmt: skip
    if not o.name.strip() or len(o.name) > NAME_MAX or not o.name.isprintable():
        out.append(FieldProblem("name", _p("supply.name_invalid", "名称应为 1–100 个字符",
                                           "name: 1 to 100 characters")))  # fmt: skip
    if o.kind not in OUTLET_KINDS:
        out.append(FieldProblem("kind", _p(
            "supply.kind_invalid", f"类型应为 {'、'.join(OUTLET_KINDS)} 之一",
            f"kind must be one of {', '.join(OUTLET_KINDS)}")))  # fmt: skip
    if conn.execute(select(regions.c.code).where(regions.c.code == o.region_code)).first() is None:
        out.append(FieldProblem("region_code", _p(
            "region.unknown", f"区划代码 {o.region_code[:20]} 不在登记中",
            f"region code {o.region_code[:20]} is not in the registry")))  # fmt: skip
    if o.venue_code:
        v = venues.c
        if conn.execute(select(v.code).where(v.code == o.venue_code)).first() is None:
            out.append(FieldProblem("venue_code", _p(
                "venue.unknown", f"场所 {o.venue_code[:40]} 不在登记中",
                f"venue {o.venue_code[:40]} is not in the registry")))  # fmt: skip
        held = conn.execute(select(supply_outlets.c.code).where(
            supply_outlets.c.venue_code == o.venue_code,
            supply_outlets.c.code != o.code)).first()  # fmt: skip
        if held is not None:
            out.append(FieldProblem("venue_code", _p(
                "supply.venue_taken", f"该场所已属于网点 {held[0]}",
                f"the venue belongs to outlet {held[0]} already")))  # fmt: skip
    if conn.execute(select(supply_outlets.c.code).where(supply_outlets.c.code == o.code)).first():
        out.append(FieldProblem("code", _p("supply.code_taken", f"网点 {o.code[:40]} 已存在",
                                           f"outlet {o.code[:40]} exists already")))  # fmt: skip
    return out


def invalid(fields: Sequence[FieldProblem], code: str = "supply.invalid") -> InvalidFields:
    """Bad fields of a request, the first one named in the message."""
    first, more = fields[0], len(fields) - 1
    zh = f"{first.field}：{first.problem.message_zh}" + (f"（另有 {more} 处）" if more else "")
    en = f"{first.field}: {first.problem.message_en}" + (f" (and {more} more)" if more else "")
    return InvalidFields(_p(code, zh, en), fields)


def add_outlet(bind: Bind, outlet: OutletIn, *, by: str, at: datetime) -> None:
    """Add a market, supermarket, supplier or pharmacy (every field checked first)."""
    o = OutletIn(outlet.code.strip(), outlet.name.strip(), outlet.kind, outlet.region_code,
                 (outlet.venue_code or "").strip() or None)  # fmt: skip
    with write_transaction(bind) as conn:
        problems = outlet_problems(conn, o)
        if problems:
            raise invalid(problems)
        conn.execute(supply_outlets.insert().values(
            code=o.code, name=o.name, kind=o.kind, region_code=o.region_code,
            venue_code=o.venue_code, created_at=at, created_by=by[:80]))  # fmt: skip


# ---- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportIn:
    """One outlet's stock (end of day) and sales of one good for one local day."""

    outlet_code: str
    day: date
    good: str
    stock: float
    sales: float


@dataclass(frozen=True)
class ReportResult:
    rows: int
    inserted: int
    updated: int
    floors: FloorOutcome

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated


def amount_problem(value: Any, name: str) -> tuple[float | None, Problem | None]:
    """A stock or sales figure: a number from 0 to MAX_AMOUNT (text or a number)."""
    try:
        n = float(str(value).strip()) if not isinstance(value, int | float) else float(value)
    except ValueError:
        n = math.nan
    if isinstance(value, bool) or not math.isfinite(n) or not 0 <= n <= MAX_AMOUNT:
        shown = str(value)[:20]
        return None, _p("supply.amount_invalid", f"{name} {shown!r} 应为 0 至 {MAX_AMOUNT:g} 的数",
                        f"{name} {shown!r} must be a number from 0 to {MAX_AMOUNT:g}")  # fmt: skip
    return n, None


def parse_report(rules: SupplyRules, raw: Mapping[str, Any], *, at: datetime, tz: tzinfo
                 ) -> tuple[list[tuple[str, Problem]], ReportIn | None]:  # fmt: skip
    """One report's cells (``outlet_code``, ``date``, ``good``, ``stock``, ``sales``) as
    text or values: the problems (field, problem) or the clean report."""
    from fangkong import bounds

    out: list[tuple[str, Problem]] = []
    outlet = str(raw.get("outlet_code") or "").strip()
    if not outlet or len(outlet) > CODE_MAX:
        out.append(("outlet_code", _p("supply.outlet_invalid", "网点编码应为 1–40 个字符",
                                      "outlet_code: 1 to 40 characters")))  # fmt: skip
    day_raw = raw.get("date")
    day: date | None = day_raw if isinstance(day_raw, date) else None
    if day is None:
        text = str(day_raw or "").strip()
        try:
            day = date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            day = None
        if day is None:
            out.append(("date", _p("date.invalid", f"日期 {text[:20]!r} 应为 YYYY-MM-DD",
                                   f"date {text[:20]!r} must be YYYY-MM-DD")))  # fmt: skip
    if day is not None and (problem := bounds.date_problem(day, "event", "date", now=at, tz=tz)):
        out.append(("date", problem))
        day = None
    good = str(raw.get("good") or "").strip()
    if good not in rules.goods:
        names = ", ".join(rules.goods)
        out.append(("good", _p("supply.good_unknown", f"未知的物资 {good[:24]!r}（可用：{names}）",
                               f"unknown good {good[:24]!r} (one of: {names})")))  # fmt: skip
    stock, p1 = amount_problem(raw.get("stock"), "stock")
    sales, p2 = amount_problem(raw.get("sales"), "sales")
    out += [(f, p) for f, p in (("stock", p1), ("sales", p2)) if p is not None]
    if out or day is None or stock is None or sales is None:
        return out, None
    return out, ReportIn(outlet, day, good, stock, sales)


def unknown_outlets(conn: Connection, codes: Iterable[str]) -> set[str]:
    wanted = sorted(set(codes))
    found: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        found.update(conn.execute(select(supply_outlets.c.code).where(
            supply_outlets.c.code.in_(wanted[i : i + _CHUNK]))).scalars())  # fmt: skip
    return set(wanted) - found


def no_outlet(code: str) -> Problem:
    return _p("supply.outlet_unknown", f"无此网点（{code[:40]}）", f"no outlet {code[:40]}")


def record_report(
    bind: Bind, policy: SupplyPolicy, reports: Sequence[ReportIn], *, by: str, via: str,
    at: datetime,
) -> ReportResult:  # fmt: skip
    """Store the reports (all or none): a new (outlet, day, good) is inserted, a resend
    with other figures replaces the row, the same figures change nothing. An unknown
    outlet raises ``InvalidFields`` naming ``reports[i].outlet_code``. The floors of the
    units the outlets lie in are checked in the same transaction (a restock closes its
    alert at once)."""
    if via not in VIA:
        raise ValueError(f"via must be one of {VIA}")
    last: dict[tuple[str, date, str], ReportIn] = {}
    for r in reports:  # the last report of a key in one batch wins
        last[(r.outlet_code, r.day, r.good)] = r
    with write_transaction(bind) as conn:
        unknown = unknown_outlets(conn, (r.outlet_code for r in reports))
        if unknown:
            raise invalid([FieldProblem(f"reports[{i}].outlet_code", no_outlet(r.outlet_code))
                           for i, r in enumerate(reports) if r.outlet_code in unknown])  # fmt: skip
        inserted = updated = 0
        stored = _stored_reports(conn, list(last))
        new = []
        s = supply_reports.c
        for key, r in last.items():
            held = stored.get(key)
            values = {"stock": r.stock, "sales": r.sales, "reported_at": at,
                      "reported_by": by[:80], "via": via}  # fmt: skip
            if held is None:
                new.append({"outlet_code": r.outlet_code, "day": r.day, "good": r.good, **values})
            elif (held[1], held[2]) != (r.stock, r.sales):
                conn.execute(update(supply_reports).where(s.id == held[0]).values(**values))
                updated += 1
        if new:
            conn.execute(supply_reports.insert(), new)
            inserted = len(new)
        units = _units_of_outlets(conn, policy, {r.outlet_code for r in reports})
        floors = check_floors(conn, policy, at=at, units=units, deliveries=False)
    return ReportResult(len(reports), inserted, updated, floors)


def _stored_reports(conn: Connection, keys: Sequence[tuple[str, date, str]]
                    ) -> dict[tuple[str, date, str], tuple[int, float, float]]:  # fmt: skip
    s = supply_reports.c
    out: dict[tuple[str, date, str], tuple[int, float, float]] = {}
    outlets = sorted({k[0] for k in keys})
    days = sorted({k[1] for k in keys})
    for i in range(0, len(outlets), _CHUNK):
        rows = conn.execute(select(s.id, s.outlet_code, s.day, s.good, s.stock, s.sales).where(
            s.outlet_code.in_(outlets[i : i + _CHUNK]), s.day.in_(days))).all()  # fmt: skip
        out.update({(r.outlet_code, r.day, r.good): (int(r.id), r.stock, r.sales) for r in rows})
    return out


# ---- the region tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    parent: Mapping[str, str | None]
    level: Mapping[str, str]
    name: Mapping[str, str]

    @classmethod
    def load(cls, conn: Connection) -> Tree:
        r = regions.c
        rows = conn.execute(select(r.code, r.parent_code, r.level, r.name)).all()
        return cls({x.code: x.parent_code for x in rows}, {x.code: x.level for x in rows},
                   {x.code: x.name for x in rows})  # fmt: skip

    def at_level(self, code: str | None, level: str) -> str | None:
        for _ in range(16):
            if code is None or code not in self.level:
                return None
            if self.level[code] == level:
                return code
            code = self.parent[code]
        return None


def _units_of_outlets(conn: Connection, policy: SupplyPolicy, codes: Collection[str]) -> set[str]:
    tree = Tree.load(conn)
    o = supply_outlets.c
    found = conn.execute(select(o.region_code).where(o.code.in_(sorted(codes)))).scalars()
    return {u for c in found if (u := tree.at_level(c, policy.supply.alert_level))}


# ---- days of supply --------------------------------------------------------------------------


def days_of_supply(
    conn: Connection, at: datetime, policy: SupplyPolicy, *,
    within: Collection[str] | None = None, tree: Tree | None = None,
) -> dict[tuple[str, str], Supply]:  # fmt: skip
    """(region, good) → Supply on the local day of ``at`` (the window ending that day):
    every region holding or above an outlet that reported in the window. ``within``:
    only the outlets under these regions (their figures are whole: a region's subtree
    lies under it)."""
    tree = tree or Tree.load(conn)
    first, last = window(policy.today(at), policy.supply.window_days)
    s, o = supply_reports.c, supply_outlets.c
    q = (select(s.outlet_code, o.region_code, s.good, s.day, s.stock, s.sales)
         .join(supply_outlets, o.code == s.outlet_code)
         .where(s.day >= first, s.day <= last))  # fmt: skip
    if within is not None:
        if not within:
            return {}
        sub = subtrees(sorted(within))
        q = q.where(o.region_code.in_(select(sub.c.code)))
    rows = [Report(r.outlet_code, r.region_code, r.good, r.day, r.stock, r.sales)
            for r in conn.execute(q)]  # fmt: skip
    return _days(rows, tree.parent, day=last, window_days=policy.supply.window_days)


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
           unit: str, good: str, days: float, at: datetime, by: str) -> int:  # fmt: skip
    rules = policy.supply
    due = at + timedelta(hours=rules.task_deadline_hours)
    floor = rules.goods[good].floor_days
    alert_id = conn.execute(supply_alerts.insert().values(
        region_code=region, good=good, cause=cause, open_key=f"{cause}/{region}/{good}",
        status="open", floor_days=floor, days_at_raise=days, days_now=days, raised_at=at,
        due_at=due)).inserted_primary_key  # fmt: skip
    aid = int(alert_id[0]) if alert_id is not None else 0
    raise_task(conn, policy.command, kind="supply_floor", source_type="supply_alert",
               source_id=str(aid), region_code=unit, role=None,
               params={"cause": cause, "good": good, "region": tree.name.get(region, region),
                       "days": round(days, 1), "floor": floor},
               deadline_at=due, by=by, at=at)  # fmt: skip
    return aid


def _close_alert(conn: Connection, alert_id: int, *, at: datetime, by: str, note: str) -> None:
    a = supply_alerts.c
    conn.execute(update(supply_alerts).where(a.id == alert_id, a.status == "open").values(
        status="closed", open_key=None, closed_at=at, closed_by=by[:80]))  # fmt: skip
    close_for_source(conn, "supply_floor", "supply_alert", str(alert_id), by=by, at=at, note=note)


def check_floors(
    bind: Bind, policy: SupplyPolicy, *, at: datetime, by: str = SUPPLY_BY,
    units: Collection[str] | None = None, deliveries: bool = True,
) -> FloorOutcome:  # fmt: skip
    """Hold every unit (a region at ``alert_level``; ``units``: only these) to the goods'
    floors: a breach without an open alert raises one and its task; an open alert whose
    unit is back at or above the floor is closed with its task (a unit with no report in
    the window keeps its alert: nothing says the shelves were filled). With
    ``deliveries``, a sealed area's delivery still planned ``delivery_grace_hours`` into
    its day is a breach too, closed when confirmed (or cancelled)."""
    out = FloorOutcome()
    with write_transaction(bind) as conn:
        tree = Tree.load(conn)
        _stock_floors(conn, policy, tree, at, by, units, out)
        if deliveries:
            _delivery_floors(conn, policy, tree, at, by, out)
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
            out.alerts.append(_raise(conn, policy, tree, cause="stock", region=region,
                                     unit=region, good=good, days=days, at=at, by=by))  # fmt: skip
            out.raised += 1


def _delivery_floors(conn: Connection, policy: SupplyPolicy, tree: Tree, at: datetime, by: str,
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
        out.alerts.append(_raise(conn, policy, tree, cause="delivery", region=region, unit=unit,
                                 good=good, days=0.0, at=at, by=by))  # fmt: skip
        out.raised += 1


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


def sealed_areas(conn: Connection, policy: SupplyPolicy) -> list[Any]:
    """The areas in force at a seal level (封控), with their residents counted."""
    ra = risk_areas.c
    if not policy.seal_levels:
        return []
    return list(conn.execute(
        select(ra.id, ra.name, ra.region_code, ra.building)
        .where(ra.level.in_(list(policy.seal_levels))).order_by(ra.id)
    ).all())  # fmt: skip


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
    conn: Bind, at: datetime, policy: SupplyPolicy, *, by: str = SUPPLY_BY
) -> list[DeliveryView]:
    """For every sealed area in force, what to bring on the day ``delivery_lead_days``
    ahead of ``at``'s local day: residents × each good's ``per_person_day`` ×
    ``delivery_days``. Once per area × good × day: a second run plans nothing new (it
    returns the deliveries of that day, planned before or now)."""
    rules = policy.supply
    day = policy.today(at) + timedelta(days=rules.delivery_lead_days)
    d = supply_deliveries.c
    with write_transaction(conn) as c:
        held = {(int(a), str(g)) for a, g in c.execute(
            select(d.area_id, d.good).where(d.planned_for == day))}  # fmt: skip
        new = []
        for area in sealed_areas(c, policy):
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
        return list_deliveries(c, day=day)


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
            _delivery_floors(conn, policy, tree, at, by, FloorOutcome())
        return get_delivery(conn, delivery_id)


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


def open_alerts(conn: Connection, *, within: str | None = None) -> list[Any]:
    """The open floor alerts (under ``within``), the longest open first."""
    a = supply_alerts.c
    q = select(supply_alerts).where(a.status == "open")
    if within is not None:
        q = q.where(a.region_code.in_(subtree(within)))
    return list(conn.execute(q.order_by(a.raised_at, a.id)).all())
