"""Regions as quarantine reads them: the tree, populations and centroids (区域中心点).

A region's centroid is the mean of its GeoJSON boundary's points when it has one, else
the mean position of the venues in its subtree (every venue counts once at each level
above it), else its parent's. Distances for placement are measured between centroids
and facility positions (a facility without coordinates sits at its region's centroid).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from fangkong.store.schema import regions, venues


@dataclass(frozen=True)
class RegionInfo:
    code: str
    parent: str | None
    level: str
    name: str
    population: int


@dataclass(frozen=True)
class RegionIndex:
    info: dict[str, RegionInfo]
    centroid: dict[str, tuple[float, float]]

    def ancestor(self, code: str | None, level: str) -> str | None:
        """The region at ``level`` that ``code`` lies in (itself if at that level)."""
        seen = 0
        while code is not None and code in self.info and seen < 12:
            if self.info[code].level == level:
                return code
            code = self.info[code].parent
            seen += 1
        return None

    def point(self, code: str | None) -> tuple[float, float]:
        """(lat, lon) of a region's centroid, or NaNs when nothing locates it."""
        seen = 0
        while code is not None and seen < 12:
            if code in self.centroid:
                return self.centroid[code]
            info = self.info.get(code)
            code = info.parent if info else None
            seen += 1
        return (float("nan"), float("nan"))


def _geojson_points(text: str) -> list[tuple[float, float]]:
    try:
        data: Any = json.loads(text)
    except ValueError:
        return []
    points: list[tuple[float, float]] = []

    def walk(node: Any) -> None:
        if (
            isinstance(node, list)
            and len(node) >= 2
            and all(isinstance(v, int | float) for v in node[:2])
        ):
            points.append((float(node[1]), float(node[0])))  # GeoJSON is lon, lat
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key in ("geometry", "coordinates", "features", "geometries"):
                if key in node:
                    walk(node[key])

    walk(data)
    return points


def load_regions(conn: Connection) -> RegionIndex:
    info: dict[str, RegionInfo] = {}
    sums: dict[str, list[float]] = {}
    for r in conn.execute(
        select(
            regions.c.code,
            regions.c.parent_code,
            regions.c.level,
            regions.c.name,
            regions.c.population,
            regions.c.geojson,
        )
    ):
        info[r.code] = RegionInfo(r.code, r.parent_code, r.level, r.name, int(r.population or 0))
        if r.geojson:
            pts = _geojson_points(r.geojson)
            if pts:
                lat = sum(p[0] for p in pts) / len(pts)
                lon = sum(p[1] for p in pts) / len(pts)
                sums[r.code] = [lat, lon, 1.0, 1.0]  # last: fixed by a boundary
    venue_sums = conn.execute(
        select(
            venues.c.region_code,
            func.sum(venues.c.latitude),
            func.sum(venues.c.longitude),
            func.count(venues.c.latitude),
        )
        .where(venues.c.latitude.is_not(None))
        .group_by(venues.c.region_code)
    ).all()
    for code, lat, lon, n in venue_sums:
        seen = 0
        while code is not None and seen < 12:
            acc = sums.setdefault(code, [0.0, 0.0, 0.0, 0.0])
            if acc[3] == 0.0:
                acc[0] += float(lat)
                acc[1] += float(lon)
                acc[2] += float(n)
            parent = info.get(code)
            code = parent.parent if parent else None
            seen += 1
    centroid = {
        code: (acc[0], acc[1]) if acc[3] else (acc[0] / acc[2], acc[1] / acc[2])
        for code, acc in sums.items()
        if acc[3] or acc[2]
    }
    return RegionIndex(info, centroid)
