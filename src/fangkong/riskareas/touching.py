"""Which places of a travel history touched a risk area (行程卡带星), for other capabilities.

A checkpoint reads a driver's travel history as a list of region codes (the itinerary
card's precision: a city or county). A region touched a risk area over a window when an
area drawn on the region itself, on a region around it, or on a region inside it held a
level at some moment of the window — the level then in force (``risk_areas.since``) or
one it changed to (``risk_area_changes``). The answer is the most severe such level per
region code and the area's name; regions that touched none are absent. Codes outside the
registry (another province) touch nothing here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from fangkong.riskareas.rules import RANK
from fangkong.riskareas.tables import risk_area_changes, risk_areas
from fangkong.store.fast import DriverSelect
from fangkong.store.schema import regions

_AREAS = select(
    risk_areas.c.id, risk_areas.c.region_code, risk_areas.c.name, risk_areas.c.level,
    risk_areas.c.since,
).where(risk_areas.c.since <= bindparam("until"))  # fmt: skip
_CHANGES = (
    select(risk_area_changes.c.area_id, risk_area_changes.c.at, risk_area_changes.c.to_level)
    .where(risk_area_changes.c.at <= bindparam("until"))
    .order_by(risk_area_changes.c.at)
)


# read for every checkpoint crossing (usually no area at all): on the driver connection
_FAST_AREAS = DriverSelect(lambda: _AREAS)
_FAST_CHANGES = DriverSelect(lambda: _CHANGES)


def _ancestors(conn: Connection, codes: Sequence[str]) -> dict[str, set[str]]:
    """Each code → itself and every region above it."""
    up = (
        select(regions.c.code.label("start"), regions.c.code, regions.c.parent_code)
        .where(regions.c.code.in_(list(codes)))
        .cte("up", recursive=True)
    )
    up = up.union_all(
        select(up.c.start, regions.c.code, regions.c.parent_code).where(
            regions.c.code == up.c.parent_code
        )
    )
    out: dict[str, set[str]] = {}
    for start, code in conn.execute(select(up.c.start, up.c.code)):
        out.setdefault(str(start), set()).add(str(code))
    return out


def levels_touching(
    conn: Connection, region_codes: Sequence[str], since: datetime, until: datetime
) -> dict[str, tuple[str, str]]:
    """Region code → (the most severe level, the area's name) of the risk areas it touched
    in [since, until] (see the module docstring)."""
    wanted = sorted(set(region_codes))
    if not wanted:
        return {}
    areas = _FAST_AREAS.rows(conn, until=until)
    if not areas:
        return {}
    steps: dict[int, list[tuple[datetime, str]]] = {}
    for c in _FAST_CHANGES.rows(conn, until=until):
        steps.setdefault(int(c.area_id), []).append((c.at, c.to_level))
    held: dict[int, str] = {}
    for a in areas:
        changes = steps.get(int(a.id)) or [(a.since, a.level)]
        levels = [lvl for at, lvl in changes if at <= since][-1:]  # in force at the start
        levels += [lvl for at, lvl in changes if since < at <= until]
        if levels:
            held[int(a.id)] = max(levels, key=lambda lvl: RANK.get(lvl, 0))
    if not held:
        return {}
    area_regions = sorted({str(a.region_code) for a in areas if int(a.id) in held})
    above = _ancestors(conn, [*wanted, *area_regions])
    out: dict[str, tuple[str, str]] = {}
    for a in areas:
        level = held.get(int(a.id))
        if level is None:
            continue
        around = above.get(str(a.region_code), {str(a.region_code)})
        for code in wanted:
            if code in around or str(a.region_code) in above.get(code, set()):
                best = out.get(code)
                if best is None or RANK.get(level, 0) > RANK.get(best[0], 0):
                    out[code] = (level, str(a.name))
    return out
