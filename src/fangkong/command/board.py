"""The situation board (态势看板) of one region, read from ``command_figures``.

::

    command_figures ─▶ the region's figures on the day (default: the latest computed day
                       on or before the clock's today) and on the day before (the change)
                    ─▶ the curve: cases.new split found_controlled / found_community over
                       the pack's curve_days
                    ─▶ the same figures for each child region (drill-down, one query)

Only counts: no person is named here. The lists behind the numbers (``LINKS``) keep
their own rights; ``access_board`` offers a link only to a reader holding them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from fangkong.auth.rights import (
    ALERT_READ,
    ARRIVAL_READ,
    CODE_READ,
    FACT_RECORD,
    PERSON_READ,
    QUARANTINE_READ,
    RISKAREA_READ,
    TASK_READ,
    TESTING_READ,
)
from fangkong.command.figures import KEPT_LEVELS
from fangkong.command.model import FIGURE, FIGURE_GROUPS, FIGURES, beyond
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_figures
from fangkong.store.schema import regions

__all__ = [
    "LINKS",
    "Board",
    "Child",
    "CurvePoint",
    "Link",
    "Region",
    "bounds_of",
    "latest_day",
    "read_board",
    "region_of",
    "top_region",
]


@dataclass(frozen=True)
class Link:
    """The list behind a figure: its page (``{region}`` filled in) and the rights it needs."""

    path: str
    rights: tuple[str, ...]


_TRACING = Link("/tracing/chains", (PERSON_READ, FACT_RECORD))
_READINESS = Link("/quarantine", (QUARANTINE_READ,))
_FACILITIES = Link("/quarantine/facilities", (QUARANTINE_READ,))
_AREAS = Link("/risk-areas/manage", (RISKAREA_READ,))
_CAMPAIGNS = Link("/testing", (TESTING_READ,))
# the tasks' figures count the unfinished tasks a region owes now (after escalation): their
# list opens with the same filters
_TASKS = Link("/command/tasks?region={region}&owing=true&open_only=true", (TASK_READ,))
LINKS: dict[str, Link] = {
    **{f.key: _TRACING for f in FIGURES if f.group == "cases"},
    "contacts.identified": _TRACING,
    **dict.fromkeys(("contacts.placed", "contacts.home_orders", "contacts.awaiting",
                     "contacts.overdue"), _READINESS),
    **{f.key: _FACILITIES for f in FIGURES if f.group == "quarantine"},
    "quarantine.days_left": _READINESS,
    **{f.key: _AREAS for f in FIGURES if f.group == "risk_areas"},
    **{f.key: _CAMPAIGNS for f in FIGURES if f.group == "testing"},
    "testing.late_tubes": Link("/testing/overdue", (TESTING_READ,)),
    **{f.key: Link("/arrivals", (ARRIVAL_READ,)) for f in FIGURES if f.group == "arrivals"},
    **{f.key: Link("/codes", (CODE_READ,)) for f in FIGURES if f.group == "codes"},
    "work.alerts_open": Link("/alerts?status=open&region={region}", (ALERT_READ,)),
    "work.tasks_open": _TASKS,
    "work.tasks_due_today": _TASKS,
    "work.tasks_overdue": Link(
        "/command/tasks?region={region}&owing=true&open_only=true&overdue=true", (TASK_READ,)
    ),
}  # fmt: skip


def bounds_of(rules: CommandRules) -> dict[str, float]:
    """Figures read only up to a bound, beyond it as "> N": days of capacity left (free
    rooms ÷ the last week's intake) say nothing past the demand forecast's horizon — the
    demo's fangcang with almost no intake gave 57,428 days."""
    return {"quarantine.days_left": float(rules.days_left_horizon)}


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str
    parent_code: str | None


@dataclass(frozen=True)
class CurvePoint:
    day: date
    new: float
    controlled: float
    community: float


@dataclass(frozen=True)
class Child:
    region: Region
    figures: dict[str, float]


@dataclass(frozen=True)
class Board:
    """A region's board on ``day`` (None: no figures computed yet)."""

    region: Region
    day: date | None
    computed_at: datetime | None
    figures: dict[str, float]
    previous: dict[str, float]  # the day before (empty when not computed)
    curve: list[CurvePoint]
    children: list[Child]
    trail: list[Region] = field(default_factory=list)  # breadcrumbs, the top first
    bounds: dict[str, float] = field(default_factory=dict)  # ``bounds_of``: shown as "> N"

    def change(self, key: str) -> float | None:
        """The change from the day before (None when either day lacks the figure or lies
        past its bound)."""
        if key not in self.figures or key not in self.previous:
            return None
        bound = self.bounds.get(key)
        if beyond(self.figures[key], bound) or beyond(self.previous[key], bound):
            return None
        return self.figures[key] - self.previous[key]

    def more_than(self, key: str, figures: dict[str, float] | None = None) -> float | None:
        """The bound the figure lies past (of ``figures``, default the region's), else None."""
        bound = self.bounds.get(key)
        shown = self.figures if figures is None else figures
        return bound if beyond(shown.get(key), bound) else None

    def _value(self, key: str, figures: dict[str, float]) -> float | None:
        return None if self.more_than(key, figures) is not None else figures.get(key)

    def as_json(self, links: dict[str, str] | None = None) -> dict[str, Any]:
        def region(r: Region) -> dict[str, Any]:
            return {"code": r.code, "name": r.name, "level": r.level}

        links = links or {}
        return {
            "region": region(self.region),
            "day": self.day.isoformat() if self.day else None,
            "computed_at": self.computed_at.isoformat() if self.computed_at else None,
            "figures": [
                {
                    "key": f.key,
                    "group": f.group,
                    "unit": f.unit,
                    "zh": f.zh,
                    "en": f.en,
                    "value": self._value(f.key, self.figures),
                    "previous": self._value(f.key, self.previous),
                    "change": self.change(f.key),
                    "more_than": self.more_than(f.key),
                    "link": links.get(f.key),
                }
                for f in FIGURES
            ],
            "groups": [{"key": g.key, "zh": g.zh, "en": g.en} for g in FIGURE_GROUPS],
            "curve": [
                {
                    "day": p.day.isoformat(),
                    "new": p.new,
                    "controlled": p.controlled,
                    "community": p.community,
                }
                for p in self.curve
            ],
            "children": [
                {
                    **region(c.region),
                    "figures": {k: self._value(k, c.figures) for k in FIGURE},
                    "more_than": {k: b for k in self.bounds if (b := self.more_than(k, c.figures))},
                }
                for c in self.children
            ],
            "trail": [region(r) for r in self.trail],
        }


def region_of(conn: Connection, code: str) -> Region | None:
    r = regions.c
    row = conn.execute(select(r.code, r.name, r.level, r.parent_code).where(r.code == code)).first()
    return None if row is None else Region(str(row[0]), str(row[1]), str(row[2]), row[3])


def top_region(conn: Connection) -> Region | None:
    """The root of the region tree (the province)."""
    r = regions.c
    code = conn.execute(
        select(r.code).where(r.parent_code.is_(None)).order_by(r.code).limit(1)
    ).scalar()
    return None if code is None else region_of(conn, str(code))


def latest_day(conn: Connection, region_code: str, on_or_before: date) -> date | None:
    f = command_figures.c
    day = conn.execute(
        select(func.max(f.day)).where(f.region_code == region_code, f.day <= on_or_before)
    ).scalar()
    return day if isinstance(day, date) else None


def _figures(conn: Connection, codes: list[str], day: date) -> dict[str, dict[str, float]]:
    f = command_figures.c
    out: dict[str, dict[str, float]] = {c: {} for c in codes}
    for code, key, value in conn.execute(
        select(f.region_code, f.key, f.value).where(f.region_code.in_(codes), f.day == day)
    ):
        if key in FIGURE:
            out[str(code)][str(key)] = float(value)
    return out


def read_board(
    conn: Connection, region: Region, *, day: date | None, today: date, curve_days: int,
    top: str | None = None, bounds: dict[str, float] | None = None,
) -> Board:  # fmt: skip
    """The board of ``region`` on ``day`` (None: the latest computed day ≤ ``today``);
    breadcrumbs from ``top`` (the reader's own region; None: the root) down; ``bounds``
    (``bounds_of``) past which figures read "> N"."""
    shown = day if day is not None else latest_day(conn, region.code, today)
    trail = _trail(conn, region, top)
    bounds = dict(bounds or {})
    if shown is None:
        return Board(region, None, None, {}, {}, [], [], trail, bounds)
    f = command_figures.c
    computed = conn.execute(
        select(func.max(f.computed_at)).where(f.region_code == region.code, f.day == shown)
    ).scalar()
    mine = _figures(conn, [region.code], shown)[region.code]
    before = _figures(conn, [region.code], shown - timedelta(days=1))[region.code]
    r = regions.c
    kids = [
        Region(str(c), str(n), str(lv), region.code)
        for c, n, lv in conn.execute(
            select(r.code, r.name, r.level)
            .where(r.parent_code == region.code, r.level.in_(KEPT_LEVELS))
            .order_by(r.code)
        )
    ]
    theirs = _figures(conn, [k.code for k in kids], shown) if kids else {}
    children = [Child(k, theirs.get(k.code, {})) for k in kids]
    return Board(region, shown, computed, mine, before, _curve(conn, region.code, shown,
                 curve_days), children, trail, bounds)  # fmt: skip


_CURVE_KEYS = ("cases.new", "cases.found_controlled", "cases.found_community")


def _curve(conn: Connection, code: str, last: date, days: int) -> list[CurvePoint]:
    f = command_figures.c
    first = last - timedelta(days=days - 1)
    found: dict[date, dict[str, float]] = {}
    for day, key, value in conn.execute(
        select(f.day, f.key, f.value).where(
            f.region_code == code, f.day >= first, f.day <= last, f.key.in_(_CURVE_KEYS)
        )
    ):
        found.setdefault(day, {})[str(key)] = float(value)
    out = []
    for i in range(days):
        d = first + timedelta(days=i)
        v = found.get(d, {})
        out.append(CurvePoint(d, v.get("cases.new", 0.0), v.get("cases.found_controlled", 0.0),
                              v.get("cases.found_community", 0.0)))  # fmt: skip
    return out


def _trail(conn: Connection, region: Region, top: str | None) -> list[Region]:
    """The regions from ``top`` (or the root) down to ``region``, both included."""
    out = [region]
    seen = {region.code}
    current = region
    while current.parent_code is not None and current.code != top:
        parent = region_of(conn, current.parent_code)
        if parent is None or parent.code in seen:
            break
        out.append(parent)
        seen.add(parent.code)
        current = parent
    return list(reversed(out))
