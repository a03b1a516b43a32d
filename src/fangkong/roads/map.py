"""The road-status map's geometry (pure): checkpoints' latitude/longitude onto an SVG box.

An equirectangular projection scaled by the cosine of the middle latitude (a province is
a few hundred kilometres across: the distortion is small and no tiles are needed, the
page works air-gapped), fitted into ``width`` × ``height`` with a margin, north up, the
aspect kept. The page draws each point as a link coloured by its state (``COLOURS``,
named in words by the legend).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# state → fill colour (the legend names each state in words beside its colour)
COLOURS = {
    "normal": "#2e7d32",
    "congested": "#ef6c00",
    "closed_authorised": "#455a64",
    "closed_unauthorised": "#c62828",
    "no_data": "#9e9e9e",
}


@dataclass(frozen=True)
class Point:
    code: str
    x: float
    y: float


def project(
    coords: Sequence[tuple[str, float, float]], *, width: int = 640, height: int = 480,
    margin: int = 24,
) -> list[Point]:  # fmt: skip
    """``(code, latitude, longitude)`` → points in the box (one point: the middle)."""
    if not coords:
        return []
    lats = [c[1] for c in coords]
    lons = [c[2] for c in coords]
    k = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = (max(lons) - min(lons)) * k
    span_y = max(lats) - min(lats)
    inner_w, inner_h = width - 2 * margin, height - 2 * margin
    scale = min(inner_w / span_x if span_x else math.inf, inner_h / span_y if span_y else math.inf)
    if math.isinf(scale):
        scale = 0.0
    off_x = margin + (inner_w - span_x * scale) / 2
    off_y = margin + (inner_h - span_y * scale) / 2
    return [
        Point(code, round(off_x + (lon - min(lons)) * k * scale, 1),
              round(off_y + (max(lats) - lat) * scale, 1))
        for code, lat, lon in coords
    ]  # fmt: skip
