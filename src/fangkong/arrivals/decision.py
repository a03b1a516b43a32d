"""The risk decision (精准赋码): travel history → origin risk → management, explained.

A traveller's origin risk is the most severe level among the places of the last
``history_days`` days before arrival::

    a country other than China                               → inbound (入境)
    a region inside (or equal to) a high / medium / low area  → that area's level, the most
                                                               severe it held while the
                                                               traveller was there
    a region whose ``enclosing_region_level`` region (county)
      held a high or medium area meanwhile                   → ``enclosing_level`` (low)
    a level the manifest declares for a place (the national
      list of areas, for places outside this registry)        → that level
    otherwise                                                → none

The pack's entry for that risk (``arrivals.risks.<risk>``, or the next less severe one the
pack keeps) gives the management and the sentence, filled with the place that decided it —
the same shape as a health code's reason: a rule id and a sentence in Chinese and English.
``decide`` is pure; ``AreaHistory`` loads the areas and their level changes once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from fangkong.arrivals.rules import RANK, ArrivalRules, RiskRule
from fangkong.riskareas.tables import risk_area_changes, risk_areas
from fangkong.store.schema import regions

AREA_LEVELS = ("high", "medium", "low")


@dataclass(frozen=True)
class Stay:
    """One place of the travel history (旅居史): a region code or a country (alpha-3)."""

    place: str
    start: datetime
    end: datetime
    declared: str | None = None  # high | medium | low from the manifest

    @property
    def abroad(self) -> bool:
        return self.place.isalpha()


@dataclass(frozen=True)
class PlaceLevel:
    stay: Stay
    name: str
    level: str  # one of RISKS


@dataclass(frozen=True)
class Decision:
    risk: str  # the origin risk found (before the pack's fallback)
    rule: RiskRule
    origin: str  # the place that decided it ("" for none)
    reason_zh: str
    reason_en: str
    places: tuple[PlaceLevel, ...]


@dataclass(frozen=True)
class Region:
    parent: str | None
    level: str
    name: str


class AreaHistory:
    """Risk areas with their level changes, and the region tree, for one batch of decisions."""

    def __init__(
        self,
        tree: Mapping[str, Region],
        areas: Mapping[str, list[tuple[int, list[tuple[datetime, str]]]]],
    ) -> None:
        self.tree = tree
        self.areas = areas  # region code → [(area id, [(at, level)] sorted)]

    @classmethod
    def load(cls, conn: Connection) -> AreaHistory:
        tree = {
            r.code: Region(r.parent_code, r.level, r.name)
            for r in conn.execute(
                select(regions.c.code, regions.c.parent_code, regions.c.level, regions.c.name)
            )
        }
        changes: dict[int, list[tuple[datetime, str]]] = {}
        for c in conn.execute(
            select(
                risk_area_changes.c.area_id, risk_area_changes.c.at, risk_area_changes.c.to_level
            )
        ):
            changes.setdefault(int(c.area_id), []).append((c.at, c.to_level))
        areas: dict[str, list[tuple[int, list[tuple[datetime, str]]]]] = {}
        for a in conn.execute(
            select(
                risk_areas.c.id, risk_areas.c.region_code, risk_areas.c.since, risk_areas.c.level
            )
        ):
            steps = sorted(changes.get(int(a.id)) or [(a.since, a.level)])
            areas.setdefault(a.region_code, []).append((int(a.id), steps))
        return cls(tree, areas)

    def ancestors(self, code: str) -> list[str]:
        """``code`` and the regions above it, nearest first."""
        out: list[str] = []
        node: str | None = code
        while node is not None and node in self.tree and len(out) < 16:
            out.append(node)
            node = self.tree[node].parent
        return out

    def at_level(self, code: str, level: str) -> str | None:
        for node in self.ancestors(code):
            if self.tree[node].level == level:
                return node
        return None

    def name(self, place: str) -> str:
        region = self.tree.get(place)
        return region.name if region is not None else place

    def level_during(self, code: str, start: datetime, end: datetime) -> str | None:
        """The most severe level an area drawn on region ``code`` held in [start, end]."""
        best: str | None = None
        for _, steps in self.areas.get(code, []):
            held = [lvl for at, lvl in steps if at <= start][-1:]  # in force at the start
            held += [lvl for at, lvl in steps if start < at <= end]
            for lvl in held:
                if best is None or RANK[lvl] > RANK[best]:
                    best = lvl
        return best

    def holds_area(self, root: str, start: datetime, end: datetime, levels: Sequence[str]) -> bool:
        """Whether an area inside ``root``'s subtree held one of ``levels`` in [start, end]."""
        for code in self.areas:
            if root in self.ancestors(code):
                lvl = self.level_during(code, start, end)
                if lvl in levels:
                    return True
        return False


def place_level(stay: Stay, history: AreaHistory, rules: ArrivalRules) -> PlaceLevel:
    """The origin risk of one stay (see the module docstring)."""
    if stay.abroad:
        return PlaceLevel(stay, stay.place, "inbound")
    levels = ["none"]
    if stay.declared is not None:
        levels.append(stay.declared)
    known = stay.place in history.tree
    if known:
        for node in history.ancestors(stay.place):
            lvl = history.level_during(node, stay.start, stay.end)
            if lvl is not None:
                levels.append(lvl)
        enclosing = history.at_level(stay.place, rules.enclosing_region_level) or stay.place
        if history.holds_area(enclosing, stay.start, stay.end, ("high", "medium")):
            levels.append(rules.enclosing_level)
    level = max(levels, key=lambda x: RANK[x])
    return PlaceLevel(stay, history.name(stay.place), level)


def decide(
    stays: Sequence[Stay],
    arrived: datetime,
    history: AreaHistory,
    rules: ArrivalRules,
    *,
    point_name: str,
    tz: ZoneInfo,
) -> Decision:
    """The management of one traveller and why (pure over the loaded ``history``)."""
    since = arrived - timedelta(days=rules.history_days)
    recent = [s for s in stays if s.end >= since and s.start <= arrived]
    places = tuple(place_level(s, history, rules) for s in recent)
    worst = max(places, key=lambda p: (RANK[p.level], p.stay.end), default=None)
    risk = worst.level if worst is not None else "none"
    rule = rules.rule_for(risk)
    local = arrived.astimezone(tz)
    if worst is not None and risk != "none":
        origin = worst.name
        a, b = worst.stay.start.astimezone(tz).date(), worst.stay.end.astimezone(tz).date()
        visited = a.isoformat() if a == b else f"{a.isoformat()}–{b.isoformat()}"
    else:
        origin, visited = "", ""
    values = {
        "origin": origin,
        "visited": visited,
        "arrived": local.strftime("%Y-%m-%d %H:%M"),
        "history_days": str(rules.history_days),
        "point": point_name,
    }
    return Decision(
        risk,
        rule,
        origin,
        rule.zh.format(**values),
        rule.en.format(**values),
        places,
    )
