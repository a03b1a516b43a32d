"""What the supply services share: the policy read from a pack, errors, the region
tree, the bound on amounts and days of supply read from the store (``days.py`` over the
window's reports)."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, func, select

from fangkong.command.rules import CommandRules
from fangkong.errors import FieldProblem, InvalidFields, NotFound, Problem
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.settings import default_tz
from fangkong.store.regions import subtrees
from fangkong.store.schema import regions
from fangkong.supply.days import Supply, ancestors, roll_up, window
from fangkong.supply.rules import SupplyRules
from fangkong.supply.tables import (
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


def invalid(fields: Sequence[FieldProblem], code: str = "supply.invalid") -> InvalidFields:
    """Bad fields of a request, the first one named in the message."""
    first, more = fields[0], len(fields) - 1
    zh = f"{first.field}：{first.problem.message_zh}" + (f"（另有 {more} 处）" if more else "")
    en = f"{first.field}: {first.problem.message_en}" + (f" (and {more} more)" if more else "")
    return InvalidFields(_p(code, zh, en), fields)


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


# ---- the region tree -------------------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    """The registry's regions as the floors read them: each code's parent, level, name."""

    parent: Mapping[str, str | None]
    level: Mapping[str, str]
    name: Mapping[str, str]

    @classmethod
    def load(cls, conn: Connection) -> Tree:
        r = regions.c
        rows = conn.execute(select(r.code, r.parent_code, r.level, r.name)).all()
        parent = {x.code: x.parent_code for x in rows}
        return cls(parent, {x.code: x.level for x in rows}, {x.code: x.name for x in rows})

    def at_level(self, code: str | None, level: str) -> str | None:
        """The region at ``level`` that ``code`` lies in (itself when at that level)."""
        if code is None:
            return None
        return next((c for c in ancestors(code, self.parent) if self.level.get(c) == level), None)


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
    where = [s.day >= first, s.day <= last]
    if within is not None:
        if not within:
            return {}
        sub = subtrees(sorted(within))
        outlets_within = select(o.code).where(o.region_code.in_(select(sub.c.code)))
        where.append(s.outlet_code.in_(outlets_within))
    # per outlet and good: the sales summed, the days reported, the last day reported …
    agg = (select(s.outlet_code, s.good, func.sum(s.sales).label("sales"),
                  func.count().label("days"), func.max(s.day).label("last"))
           .where(*where).group_by(s.outlet_code, s.good).subquery())  # fmt: skip
    # … and the stock of that last day (one row: UNIQUE(outlet, day, good))
    last_row = supply_reports.alias("last_row")
    q = (select(agg.c.good, o.region_code, last_row.c.stock, agg.c.sales, agg.c.days)
         .join(last_row, (last_row.c.outlet_code == agg.c.outlet_code)
               & (last_row.c.good == agg.c.good) & (last_row.c.day == agg.c.last))
         .join(supply_outlets, o.code == agg.c.outlet_code))  # fmt: skip
    rows = conn.execute(q).all()
    return roll_up(((r.good, r.region_code, float(r.stock), float(r.sales) / int(r.days))
                    for r in rows), tree.parent)  # fmt: skip
