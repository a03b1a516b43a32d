"""Days of supply (可供应天数) and deliveries' quantities: the pure core, no database.

::

    reports (outlet, region, good, day, stock, sales), the window [day − w + 1, day]
        │  per outlet and good: the stock of its last day reported in the window,
        │  the mean of its daily sales over the days it reported (a day missing is
        │  unknown, not zero)
        ▼
    per outlet ──▶ added to its region and every region above it (a county's figure is
        │          its townships' outlets)
        ▼
    days of supply = stock ÷ mean daily sales   (no sales: None, "no demand seen")

An outlet that reported nothing in the window counts nowhere: an old stock figure says
nothing about today's shelves. A delivery to a sealed compound brings its residents ×
the good's daily need per person × the days it must last, rounded up to a tenth of
the unit (never short by a rounding).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Report:
    """One outlet's figures for one good on one local day."""

    outlet: str
    region: str
    good: str
    day: date
    stock: float
    sales: float


@dataclass(frozen=True)
class Supply:
    """A region's stock and mean daily sales of a good, and what they make in days."""

    stock: float
    daily_sales: float
    outlets: int

    @property
    def days(self) -> float | None:
        """Days the stock lasts at the mean daily sales (None: no sales in the window)."""
        return None if self.daily_sales <= 0 else self.stock / self.daily_sales


def window(day: date, window_days: int) -> tuple[date, date]:
    """The first and last local day the figures of ``day`` average."""
    return day - timedelta(days=window_days - 1), day


def per_outlet(reports: Iterable[Report], day: date, window_days: int
               ) -> dict[tuple[str, str], tuple[str, float, float]]:  # fmt: skip
    """(outlet, good) → (region, stock of the last day reported, mean daily sales) over
    the window ending ``day`` (reports outside it are ignored)."""
    first, last = window(day, window_days)
    latest: dict[tuple[str, str], tuple[date, float]] = {}
    sales: dict[tuple[str, str], tuple[float, int]] = {}
    region: dict[tuple[str, str], str] = {}
    for r in reports:
        if not first <= r.day <= last:
            continue
        key = (r.outlet, r.good)
        region[key] = r.region
        if key not in latest or r.day > latest[key][0]:
            latest[key] = (r.day, r.stock)
        total, n = sales.get(key, (0.0, 0))
        sales[key] = (total + r.sales, n + 1)
    return {k: (region[k], latest[k][1], sales[k][0] / sales[k][1]) for k in latest}


def ancestors(code: str, parents: Mapping[str, str | None]) -> list[str]:
    """``code`` and every region above it (the tree is at most a dozen levels deep)."""
    out: list[str] = []
    at: str | None = code
    while at is not None and at not in out and len(out) < 16:
        out.append(at)
        at = parents.get(at)
    return out


def days_of_supply(
    reports: Iterable[Report], parents: Mapping[str, str | None], *, day: date,
    window_days: int,
) -> dict[tuple[str, str], Supply]:  # fmt: skip
    """(region, good) → its Supply on ``day``, for every region holding or above an
    outlet that reported in the window (the outlet's region and all regions above it)."""
    figures = per_outlet(reports, day, window_days)
    return roll_up(((good, *f) for (_, good), f in figures.items()), parents)


def roll_up(
    outlets: Iterable[tuple[str, str, float, float]], parents: Mapping[str, str | None]
) -> dict[tuple[str, str], Supply]:
    """Each outlet's (good, region, stock, mean daily sales) added to its region and every
    region above it: (region, good) → Supply. The store computes the outlets' figures in
    SQL and hands them here (``supply._common.days_of_supply``)."""
    stock: dict[tuple[str, str], float] = {}
    sales: dict[tuple[str, str], float] = {}
    count: dict[tuple[str, str], int] = {}
    for good, region, s, mean in outlets:
        for code in ancestors(region, parents):
            key = (code, good)
            stock[key] = stock.get(key, 0.0) + s
            sales[key] = sales.get(key, 0.0) + mean
            count[key] = count.get(key, 0) + 1
    return {k: Supply(stock[k], sales[k], count[k]) for k in stock}


def below_floor(supply: Supply, floor_days: float) -> bool:
    """The floor is breached when the stock lasts fewer days than ``floor_days`` (no
    sales seen: never breached — nothing says the stock runs out)."""
    days = supply.days
    return days is not None and days < floor_days


def delivery_quantity(people: int, per_person_day: float, days: int) -> float:
    """What a delivery brings: residents × need per person per day × days it lasts,
    rounded up to a tenth of the unit."""
    if people <= 0 or per_person_day <= 0 or days <= 0:
        return 0.0
    exact = people * per_person_day * days
    return math.ceil(round(exact * 10, 6)) / 10
