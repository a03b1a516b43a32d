"""Validation of a regions file (行政区划): statistical codes whose shape gives the level
and the parent (GB/T 2260 and the 12/15-digit codes), names, optional GeoJSON.
"""

from __future__ import annotations

import json

from fangkong.registry.model import AreaType, RegionLevel
from fangkong.registry.reader import Batch, control_problems
from fangkong.registry.validate.cells import Checked, Context, _p, _Row, _rows

PROVINCE_PREFIXES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)
_GEOJSON_TYPES = frozenset(
    [
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
        "Feature",
        "FeatureCollection",
    ]
)


def region_level_of(code: str) -> RegionLevel | None:
    """The level a statistical code's shape implies, or None when the shape fits none."""
    if not code.isascii() or not code.isdigit():
        return None
    if len(code) == 6:
        if code.endswith("0000"):
            return RegionLevel.PROVINCE
        return RegionLevel.CITY if code.endswith("00") else RegionLevel.COUNTY
    if len(code) == 12 and code[6:9] != "000":
        return RegionLevel.TOWNSHIP if code.endswith("000") else RegionLevel.COMMUNITY
    if len(code) == 15 and not code.endswith("000") and code[9:12] != "000":
        return RegionLevel.COMPOUND
    return None


def region_parent_of(code: str, level: RegionLevel) -> str | None:
    """The parent code a statistical code implies (the GB/T 2260 and 12-digit rules)."""
    return {
        RegionLevel.PROVINCE: None,
        RegionLevel.CITY: code[:2] + "0000",
        RegionLevel.COUNTY: code[:4] + "00",
        RegionLevel.TOWNSHIP: code[:6],
        RegionLevel.COMMUNITY: code[:9] + "000",
        RegionLevel.COMPOUND: code[:12],
    }[level]


def check_regions(batch: Batch, ctx: Context) -> Checked:
    checked = Checked(problems=control_problems(batch))
    for number, cells in _rows(batch):
        row = _Row(number, cells, checked.problems)
        code = row.required("code", 15)
        level = row.choice("level", row.required("level", 12), RegionLevel)
        name = row.required("name", 100)
        parent = cells.get("parent_code")
        population = row.whole_number("population")
        area_type = row.choice("area_type", cells.get("area_type"), AreaType)
        geojson = _geojson(row, cells.get("geojson"))
        if code is not None:
            shape = region_level_of(code)
            if shape is None:
                row.bad(
                    "code",
                    _p(
                        "region.code_shape",
                        f"区划代码 {code} 格式不对："
                        "省市县 6 位，乡镇街道与社区村 12 位，小区 15 位",
                        f"region code {code} has no valid shape: 6 digits for province, city and "
                        "county, 12 for township and community, 15 for compound",
                    ),
                )
            elif code[:2] not in PROVINCE_PREFIXES:
                row.bad(
                    "code",
                    _p(
                        "region.province_unknown",
                        f"区划代码 {code} 的省级前缀 {code[:2]} 不存在",
                        f"region code {code}: province prefix {code[:2]} does not exist",
                    ),
                )
            elif level is not None and shape != level:
                row.bad(
                    "level",
                    _p(
                        "region.level_mismatch",
                        f"代码 {code} 是{shape.value}级，不是 {level}",
                        f"code {code} is a {shape.value} code, not a {level}",
                    ),
                )
            else:
                expected = region_parent_of(code, shape)
                if parent != expected:
                    row.bad(
                        "parent_code",
                        _p(
                            "region.parent_mismatch",
                            f"代码 {code} 的上级应为 {expected or '(空)'}，"
                            f"而不是 {parent or '(空)'}",
                            f"the parent of {code} must be {expected or '(empty)'}, "
                            f"not {parent or '(empty)'}",
                        ),
                    )
            row.once(ctx, ("region", code), "code", f"区划代码 {code} / region code {code}")
        if row.ok:
            checked.rows.append(
                {
                    "_row": number,
                    "code": code,
                    "parent_code": parent,
                    "level": level,
                    "name": name,
                    "population": population,
                    "area_type": area_type,
                    "geojson": geojson,
                }
            )
    return checked


def _geojson(row: _Row, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        row.bad(
            "geojson",
            _p(
                "geojson.invalid",
                f"geojson 不是有效的 JSON：{exc.msg}",
                f"geojson is not valid JSON: {exc.msg}",
            ),
        )
        return None
    if not isinstance(data, dict) or data.get("type") not in _GEOJSON_TYPES:
        row.bad(
            "geojson",
            _p(
                "geojson.invalid",
                "geojson 应为带 type 的 GeoJSON 对象",
                "geojson must be a GeoJSON object with a type",
            ),
        )
        return None
    return value
