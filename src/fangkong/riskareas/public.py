"""What anyone may see (公示): current areas and the map — names, levels, dates; never a
person, a case or a designation's reason (which may describe cases).

The map draws the compounds of every county that holds an area (or, with no area, of the
whole store up to ``MAX_SHAPES``) with the shapes of ``riskareas.geo``; a compound takes
the level of the area covering it (its own, its village's, or one of its buildings').
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.regions import load_regions
from fangkong.riskareas.geo import features
from fangkong.riskareas.rules import RANK
from fangkong.riskareas.service import page_areas
from fangkong.riskareas.tables import risk_areas
from fangkong.store.listing import Bounded
from fangkong.store.schema import regions
from fangkong.store.tx import Bind, write_transaction

MAX_SHAPES = 3000


@dataclass(frozen=True)
class PublicArea:
    name: str
    code: str
    level: str
    since: datetime
    expected_lift_at: datetime | None
    expected_lift_to: str | None


def public_areas(
    bind: Bind, ctx: CodeContext, bounded: Bounded | None = None
) -> tuple[list[PublicArea], int]:
    """Current high and medium areas, most severe first unless sorted by a key of
    ``AREA_SORTS`` (no reasons, no persons): one page with ``bounded``, else all; and how
    many there are."""
    areas, total = page_areas(bind, ctx, bounded)
    return [
        PublicArea(a.name, a.code, a.level, a.since, a.expected_lift_at, a.expected_lift_to)
        for a in areas
    ], total


def map_features(bind: Bind, level_text: dict[str, str]) -> list[dict[str, Any]]:
    """GeoJSON features of the compounds to draw, each with ``level`` (high, medium, low,
    or none when no area covers it), ``level_text`` and ``name``."""
    with write_transaction(bind) as conn:
        index = load_regions(conn)
        areas = conn.execute(select(risk_areas.c.region_code, risk_areas.c.level)).all()
        stored = {
            str(c): str(g)
            for c, g in conn.execute(
                select(regions.c.code, regions.c.geojson).where(regions.c.geojson.is_not(None))
            )
            if g
        }
    counties = {index.ancestor(code, "county") for code, _ in areas} - {None}
    compounds = sorted(
        code for code, info in index.info.items()
        if info.level == "compound"
        and (not counties or index.ancestor(code, "county") in counties)
    )[:MAX_SHAPES]  # fmt: skip
    level_of: dict[str, str] = {}
    for code, level in areas:  # an area covers its own compound or its village's compounds
        for c in compounds:
            if c == code or index.info[c].parent == code:
                held = level_of.get(c)
                if held is None or RANK[level] > RANK[held]:
                    level_of[c] = level
    shapes = []
    props = []
    for c in compounds:
        lat, lon = index.point(c)
        point = None if lat != lat else (lon, lat)  # NaN: nothing locates it
        shapes.append((c, stored.get(c), point))
        level = level_of.get(c, "none")
        props.append({"name": index.info[c].name, "level": level,
                      "level_text": level_text[level]})  # fmt: skip
    return features(shapes, props)
