"""Outlets (保供网点) and their daily reports of stock and sales (每日监测)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, select, update

from fangkong.errors import FieldProblem, Problem
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.regions import subtree
from fangkong.store.schema import regions, venues
from fangkong.store.tx import Bind, write_transaction
from fangkong.supply._common import (
    _CHUNK,
    CODE_MAX,
    NAME_MAX,
    SupplyPolicy,
    Tree,
    _p,
    amount_problem,
    invalid,
)
from fangkong.supply.floors import FloorOutcome, check_floors
from fangkong.supply.rules import SupplyRules
from fangkong.supply.tables import (
    OUTLET_KINDS,
    VIA,
    supply_outlets,
    supply_reports,
)

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
        tree = Tree.load(conn)
        units = _units_of_outlets(conn, policy, tree, {r.outlet_code for r in reports})
        floors = check_floors(conn, policy, at=at, units=units, deliveries=False, tree=tree)
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


def _units_of_outlets(conn: Connection, policy: SupplyPolicy, tree: Tree, codes: Collection[str]
                      ) -> set[str]:  # fmt: skip
    o = supply_outlets.c
    found = conn.execute(select(o.region_code).where(o.code.in_(sorted(codes)))).scalars()
    return {u for c in found if (u := tree.at_level(c, policy.supply.alert_level))}


# ---- lists (paged by the list layer) ---------------------------------------------------------

OUTLET_SORTS: listing.Columns = {
    "code": supply_outlets.c.code, "name": supply_outlets.c.name,
    "kind": supply_outlets.c.kind, "region": supply_outlets.c.region_code,
}  # fmt: skip


def page_outlets(conn: Connection, bounded: Bounded | None, *, within: str | None = None,
                 kind: str | None = None) -> tuple[list[Any], int]:  # fmt: skip
    """One page of the outlets (under ``within``, of ``kind``), by code."""
    o = supply_outlets.c
    q = select(supply_outlets)
    if within is not None:
        q = q.where(o.region_code.in_(subtree(within)))
    if kind is not None:
        q = q.where(o.kind == kind)
    return listing.fetch(conn, q, bounded, OUTLET_SORTS, [o.code])
