"""Suggested areas (划定建议) from tracing: where recent cases live, where they stayed.

    cases sampled (or with onset) within the pack's window_days
      ├─ residence → its compound, or its village when the pack draws by community and
      │              the compound is rural → residence_level (high)
      └─ venues of their traced infectious stays (tracing_exposures, setting venue)
                   → the venue's compound (the smallest unit, also in a village), or its
                     community where the pack draws no compounds → venue_level (medium;
                     none in twenty-measures)
    per area the most severe level wins; areas already at that level or above are left out

Suggestions are advice for an epidemiologist, who designates (``service.designate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from fangkong import clock
from fangkong.healthcode.context import CodeContext
from fangkong.riskareas.rules import LEVEL_NAMES, RANK, RiskAreaRules
from fangkong.riskareas.tables import risk_areas
from fangkong.store.schema import persons, regions, venues
from fangkong.store.tx import Bind, write_transaction
from fangkong.tracing.tables import tracing_cases, tracing_exposures


@dataclass
class Suggestion:
    region_code: str
    name: str
    level: str
    current_level: str | None
    cases: set[int] = field(default_factory=set)  # traced case ids
    venues: set[str] = field(default_factory=set)  # venue codes where cases stayed

    @property
    def reason_zh(self) -> str:
        parts = []
        if self.cases:
            parts.append(f"近期病例 {len(self.cases)} 例相关")
        if self.venues:
            parts.append(f"病例到访场所 {len(self.venues)} 处")
        return f"建议划为{LEVEL_NAMES[self.level][0]}：" + "，".join(parts)

    @property
    def reason_en(self) -> str:
        parts = []
        if self.cases:
            parts.append(f"{len(self.cases)} recent case(s) linked")
        if self.venues:
            parts.append(f"{len(self.venues)} venue(s) visited by cases")
        return f"suggested {self.level} risk: " + ", ".join(parts)


def suggest(
    bind: Bind, ctx: CodeContext, *, now: datetime | None = None, within: str | None = None
) -> list[Suggestion]:
    """Areas the recent cases point at, most severe first (see the module docstring)."""
    from fangkong.auth.jurisdiction import subtree

    rules = RiskAreaRules.from_pack(ctx.pack)
    now = now or clock.now()
    first = (now.astimezone(ctx.tz) - timedelta(days=rules.window_days - 1)).date()
    day = func.coalesce(tracing_cases.c.sample_date, tracing_cases.c.onset_date)
    with write_transaction(bind) as conn:
        info: dict[str, tuple[str | None, str, str, str | None]] = {
            str(r.code): (r.parent_code, str(r.level), str(r.name), r.area_type)
            for r in conn.execute(
                select(
                    regions.c.code,
                    regions.c.parent_code,
                    regions.c.level,
                    regions.c.name,
                    regions.c.area_type,
                )
            )
        }
        recent = select(tracing_cases.c.id).where(day >= first)
        homes = conn.execute(
            select(tracing_cases.c.id, persons.c.residence_code)
            .join(persons, persons.c.id == tracing_cases.c.person_id)
            .where(tracing_cases.c.id.in_(recent))
        ).all()
        stays = conn.execute(
            select(tracing_exposures.c.case_id, venues.c.code, venues.c.region_code)
            .join(venues, venues.c.code == tracing_exposures.c.place_code)
            .where(tracing_exposures.c.setting == "venue", tracing_exposures.c.case_id.in_(recent))
            .distinct()
        ).all()
        current = {
            str(c): str(lv) for c, lv in conn.execute(select(risk_areas.c.code, risk_areas.c.level))
        }
        allowed: set[str] | None = None
        if within is not None:
            allowed = {str(c) for c in conn.execute(subtree(within)).scalars()}

    def area_of(code: str | None, *, village: bool = True) -> str | None:
        """The compound or village a region code falls in, at a granularity the pack draws.
        ``village``: a rural compound is drawn as its whole village (where cases live); a
        place a case stayed is drawn at the smallest unit (the compound) either way."""
        while code is not None and code in info:
            parent, level, _, _ = info[code]
            if level == "compound":
                up = info.get(parent or "")
                if village and "community" in rules.granularity and up and up[3] == "rural":
                    return parent  # a village (村) is drawn whole
                if "compound" in rules.granularity or "building" in rules.granularity:
                    return code
                return parent
            if level == "community":
                return code if "community" in rules.granularity else None
            return None
        return None

    found: dict[str, Suggestion] = {}

    def add(code: str | None, level: str | None, case: int, venue: str | None) -> None:
        if code is None or level is None or (allowed is not None and code not in allowed):
            return
        held = current.get(code)
        s = found.setdefault(code, Suggestion(code, info[code][2], level, held))
        if RANK[level] > RANK[s.level]:
            s.level = level
        s.cases.add(case)
        if venue is not None:
            s.venues.add(venue)

    for case_id, home in homes:
        add(area_of(home), rules.residence_level, int(case_id), None)
    for case_id, venue, region in stays:
        add(area_of(region, village=False), rules.venue_level, int(case_id), str(venue))

    def covered(s: Suggestion) -> bool:
        """Inside a larger area (a village) suggested or held at this level or above."""
        code = info[s.region_code][0]
        while code is not None and code in info:
            for level in (found[code].level if code in found else None, current.get(code)):
                if level is not None and RANK.get(level, 0) >= RANK[s.level]:
                    return True
            code = info[code][0]
        return False

    keep = [
        s for s in found.values()
        if (s.current_level is None or RANK[s.current_level] < RANK[s.level]) and not covered(s)
    ]  # fmt: skip
    return sorted(keep, key=lambda s: (-RANK[s.level], -len(s.cases), s.region_code))
