"""Region shapes for the risk-area map, with no online tiles (区域边界).

A region drawn on the map uses its own boundary when the registry holds one (``regions.
geojson``). The synthetic registry holds none, so the others get a derived shape: the
Voronoi cell of its centroid among the centroids of the regions drawn with it (centroids
from ``fangkong.quarantine.regions``: the mean position of the venues below a region),
clipped to the box around them. Cells are convex, so clipping to the box is exact. The
shapes are approximations — each compound owns the land nearer to it than to any other —
and the page says so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.spatial import QhullError, Voronoi

Point = tuple[float, float]  # (lon, lat)


def _clip(poly: list[Point], box: tuple[float, float, float, float]) -> list[Point]:
    """Sutherland–Hodgman clip of a convex polygon to (west, south, east, north)."""
    west, south, east, north = box
    out = poly
    # (axis, bound, keep points above the bound?)
    for axis, bound, above in ((0, west, True), (0, east, False), (1, south, True),
                               (1, north, False)):  # fmt: skip
        src, out = out, []
        for k, cur in enumerate(src):
            prev = src[k - 1]
            cur_in = (cur[axis] >= bound) if above else (cur[axis] <= bound)
            prev_in = (prev[axis] >= bound) if above else (prev[axis] <= bound)
            if cur_in != prev_in:
                out.append(_cross(prev, cur, axis, bound))
            if cur_in:
                out.append(cur)
        if not out:
            break
    return out


def _cross(a: Point, b: Point, axis: int, bound: float) -> Point:
    t = (bound - a[axis]) / (b[axis] - a[axis])
    x, y = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
    return (bound, y) if axis == 0 else (x, bound)


def voronoi_cells(points: Sequence[Point], margin: float = 0.1) -> list[list[Point]]:
    """A closed ring per point: its Voronoi cell clipped to the points' box (widened by
    ``margin`` of its size, at least 0.005°). Coincident points share a cell."""
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) == 0:
        return []
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = np.maximum((hi - lo) * margin, 0.005)
    box = (lo[0] - pad[0], lo[1] - pad[1], hi[0] + pad[0], hi[1] + pad[1])
    unique, inverse = np.unique(pts, axis=0, return_inverse=True)
    span = float(max(box[2] - box[0], box[3] - box[1]))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    far = [(cx - 10 * span, cy - 10 * span), (cx + 10 * span, cy - 10 * span),
           (cx - 10 * span, cy + 10 * span), (cx + 10 * span, cy + 10 * span)]  # fmt: skip
    cells: list[list[Point]] = []
    try:
        vor = Voronoi(np.vstack([unique, far]))
    except QhullError:  # all points on a line: fall back to the whole box for each
        ring = [(box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3])]
        return [[*ring, ring[0]] for _ in points]
    for k in range(len(unique)):
        region = vor.regions[vor.point_region[k]]
        poly = [(float(vor.vertices[v][0]), float(vor.vertices[v][1])) for v in region]
        centre = unique[k]
        # clockwise: d3-geo (Vega) takes a counter-clockwise ring for the rest of the globe
        poly.sort(key=lambda p: -float(np.arctan2(p[1] - centre[1], p[0] - centre[0])))
        clipped = _clip(poly, box)
        cells.append([*clipped, clipped[0]] if clipped else [])
    return [cells[int(i)] for i in np.ravel(inverse)]


def features(
    shapes: Sequence[tuple[str, str | None, Point | None]], properties: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """GeoJSON features: each (code, stored geojson or None, centroid or None) with its
    properties; derived cells for those without a stored boundary."""
    derived = [(i, c) for i, (_, g, c) in enumerate(shapes) if not g and c is not None]
    cells = voronoi_cells([c for _, c in derived])
    by_index = {i: cell for (i, _), cell in zip(derived, cells, strict=True)}
    out: list[dict[str, Any]] = []
    for i, (code, stored, _) in enumerate(shapes):
        geometry: Any = None
        if stored:
            data = json.loads(stored)
            geometry = data.get("geometry", data) if isinstance(data, dict) else None
        elif by_index.get(i):
            geometry = {"type": "Polygon", "coordinates": [[list(p) for p in by_index[i]]]}
        if geometry is not None:
            out.append({"type": "Feature", "id": code, "geometry": geometry,
                        "properties": {"code": code, "derived": not stored,
                                       **properties[i]}})  # fmt: skip
    return out
