"""Derived region shapes: every Voronoi cell contains its own centroid and no other, cells
tile the box (areas add up), a stored boundary is kept as it is."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np

from fangkong.riskareas.geo import features, voronoi_cells


def _area(ring: list[tuple[float, float]]) -> float:
    x = np.array([p[0] for p in ring])
    y = np.array([p[1] for p in ring])
    return float(abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])) / 2)


def _signed_area(ring: list[tuple[float, float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairwise(ring)) / 2


def _inside(p: tuple[float, float], ring: list[tuple[float, float]]) -> bool:
    hit = False
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > p[1]) != (y2 > p[1]) and p[0] < x1 + (p[1] - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def test_cells_hold_their_points_and_tile_the_box() -> None:
    rng = np.random.default_rng(4)
    pts = [(112.5 + float(a), 37.8 + float(b)) for a, b in rng.uniform(0, 0.2, size=(30, 2))]
    cells = voronoi_cells(pts, margin=0.1)
    assert len(cells) == 30
    for i, (p, cell) in enumerate(zip(pts, cells, strict=True)):
        assert cell[0] == cell[-1]
        assert _signed_area(cell) < 0  # clockwise, as d3-geo wants an exterior ring
        assert _inside(p, cell)
        assert not any(_inside(q, cell) for j, q in enumerate(pts) if j != i)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    box = max(w * 1.2, w + 0.01) * max(h * 1.2, h + 0.01)
    assert np.isclose(sum(_area(c) for c in cells), box, rtol=1e-9)


def test_coincident_and_stored() -> None:
    cells = voronoi_cells([(1.0, 1.0), (1.0, 1.0), (2.0, 2.0), (1.0, 3.0)])
    assert cells[0] == cells[1]
    stored = json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]})
    out = features(
        [("A", stored, None), ("B", None, (5.0, 5.0)), ("C", None, (6.0, 5.5)), ("D", None, None)],
        [{"level": "high"}, {"level": "low"}, {"level": "medium"}, {"level": "low"}],
    )
    assert [f["id"] for f in out] == ["A", "B", "C"]  # D has neither shape nor centroid
    assert out[0]["geometry"] == json.loads(stored)
    assert out[0]["properties"] == {"code": "A", "derived": False, "level": "high"}
    assert out[1]["properties"]["derived"] is True
