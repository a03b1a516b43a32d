"""Validation of a venues file (场所): place codes, types, the region each is in,
capacity and coordinates.
"""

from __future__ import annotations

import re

from fangkong.registry.model import VenueType
from fangkong.registry.reader import Batch, control_problems
from fangkong.registry.validate.cells import Checked, Context, _p, _Row, _rows

_VENUE_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")


def check_venues(batch: Batch, ctx: Context) -> Checked:
    checked = Checked(problems=control_problems(batch))
    for number, cells in _rows(batch):
        row = _Row(number, cells, checked.problems)
        code = row.required("code", 40)
        if code is not None and not _VENUE_CODE.fullmatch(code):
            row.bad(
                "code",
                _p(
                    "venue.code_shape",
                    f"场所码 {code!r} 只能含字母、数字、- 和 _",
                    f"place code {code!r} may hold only letters, digits, - and _",
                ),
            )
        name = row.required("name", 200)
        vtype = row.choice("type", row.required("type", 24), VenueType)
        region = row.required("region_code", 15)
        row.reference("region_code", region, ctx.region_codes, "区划 / regions")
        capacity = row.whole_number("capacity")
        lat, lon = _coordinates(row)
        address = row.optional("address", 300)
        if code is not None:
            row.once(ctx, ("venue", code), "code", f"场所码 {code} / place code {code}")
        if row.ok:
            checked.rows.append(
                {
                    "_row": number,
                    "code": code,
                    "name": name,
                    "type": vtype,
                    "region_code": region,
                    "capacity": capacity,
                    "latitude": lat,
                    "longitude": lon,
                    "address": address,
                }
            )
    return checked


def _degrees(row: _Row, column: str, limit: float) -> float | None:
    value = row.cells.get(column)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not -limit <= number <= limit:
        row.bad(
            column,
            _p(
                "coordinate.invalid",
                f"{column} 应为 -{limit:g} 到 {limit:g} 之间的度数：{value!r}",
                f"{column} must be degrees between -{limit:g} and {limit:g}: {value!r}",
            ),
        )
        return None
    return number


def _coordinates(row: _Row) -> tuple[float | None, float | None]:
    lat = _degrees(row, "latitude", 90)
    lon = _degrees(row, "longitude", 180)
    if (row.cells.get("latitude") is None) != (row.cells.get("longitude") is None):
        row.bad(
            "latitude",
            _p(
                "coordinate.half",
                "经纬度须同时填写",
                "latitude and longitude go together",
            ),
        )
    return lat, lon
