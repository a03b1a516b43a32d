"""Site survey (方舱医院潜力调查): candidate sites, bed estimates, scores, ranked list.

Pure scoring, every number from the pack's ``[quarantine.survey]``::

    beds by area      = floor_area × usable_share ÷ m2_per_bed[site type]
                        (hotels: their rooms, when given)
    beds by sanitation = toilets × beds_per_toilet
    beds              = min(by area, by sanitation)
    factor scores in [0, 1]:
      beds        min(beds ÷ beds_for_full_score, 1)
      sanitation  min(by sanitation ÷ by area, 1)       (1: toilets enough for the area)
      power       pack's value for none / grid / grid_backup
      access      pack's value for poor / road / highway
      hospital    1 within hospital_km_full, 0 beyond hospital_km_zero, linear between
    score         100 × Σ weight × factor score (weights sum to 1)
    activation    activation_days[site type]; meets the target when ≤ target_activation_days

Sites are stored in ``quarantine_sites`` (CLI ``fangkong quarantine survey add|import|list``,
page ``/quarantine/survey``); a site's beds count as *convertible* in readiness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select, update

from fangkong import bounds, clock
from fangkong.errors import BadInput, ImportRejected, Problem, RowProblem
from fangkong.quarantine.rules import ACCESS, POWER, SITE_TYPES, SurveyRules
from fangkong.quarantine.tables import quarantine_sites
from fangkong.registry.model import ColumnSpec, FileFormat
from fangkong.registry.reader import Source, read_batches
from fangkong.registry.service import report_path_for, write_report
from fangkong.store.schema import regions
from fangkong.store.tx import Bind, write_transaction


@dataclass(frozen=True)
class SiteInput:
    code: str
    name: str
    site_type: str
    region_code: str
    floor_area_m2: float
    toilets: int
    power: str
    access: str
    hospital_km: float
    rooms: int | None = None
    address: str | None = None


@dataclass(frozen=True)
class SiteScore:
    site: SiteInput
    beds: int
    beds_by_area: int
    beds_by_sanitation: int
    factors: dict[str, float]
    score: float
    activation_days: int
    meets_target: bool


def score_site(site: SiteInput, rules: SurveyRules) -> SiteScore:
    if site.site_type == "hotel" and site.rooms:
        by_area = site.rooms
    else:
        by_area = math.floor(
            site.floor_area_m2 * rules.usable_share / rules.m2_per_bed[site.site_type]
        )
    by_toilets = site.toilets * rules.beds_per_toilet
    beds = min(by_area, by_toilets)
    span = rules.hospital_km_zero - rules.hospital_km_full
    hospital = min(1.0, max(0.0, (rules.hospital_km_zero - site.hospital_km) / span))
    factors = {
        "beds": min(beds / rules.beds_for_full_score, 1.0),
        "sanitation": 1.0 if by_area == 0 else min(by_toilets / by_area, 1.0),
        "power": rules.power[site.power],
        "access": rules.access[site.access],
        "hospital": hospital,
    }
    score = 100.0 * sum(rules.weights[k] * v for k, v in factors.items())
    days = rules.activation_days[site.site_type]
    return SiteScore(
        site,
        beds,
        by_area,
        by_toilets,
        factors,
        round(score, 2),
        days,
        days <= rules.target_activation_days,
    )


def rank_sites(sites: Sequence[SiteInput], rules: SurveyRules) -> list[SiteScore]:
    """Scores, best first (ties: more beds, then code)."""
    scored = [score_site(s, rules) for s in sites]
    return sorted(scored, key=lambda s: (-s.score, -s.beds, s.site.code))


def _bad(field: str, value: object, zh: str, en: str) -> BadInput:
    return BadInput(
        Problem(
            "quarantine.site_invalid",
            f"{field} 的值 {value!r} 无效：{zh}",
            f"{field} {value!r} is invalid: {en}",
        )
    )


def check_site(site: SiteInput) -> None:
    if not site.code or len(site.code) > 40:
        raise _bad("code", site.code, "应为 1 到 40 个字符", "must have 1 to 40 characters")
    if not site.name:
        raise _bad("name", site.name, "不能为空", "is required")
    for field, value, allowed in (
        ("site_type", site.site_type, SITE_TYPES),
        ("power", site.power, POWER),
        ("access", site.access, ACCESS),
    ):
        if value not in allowed:
            raise _bad(
                field,
                value,
                f"应为 {'、'.join(allowed)} 之一",
                f"must be one of {', '.join(allowed)}",
            )
    for field, number in (
        ("floor_area_m2", site.floor_area_m2),
        ("toilets", site.toilets),
        ("hospital_km", site.hospital_km),
    ):
        if not (number >= 0 and math.isfinite(number)):
            raise _bad(field, number, "应为不小于 0 的数", "must be a number ≥ 0")
    for field, count in (("toilets", site.toilets), ("rooms", site.rooms)):
        if count is not None and bounds.int_problem(count, field, lo=0) is not None:
            raise _bad(field, count, f"应在 0 到 {bounds.INT32_MAX} 之间",
                       f"must be between 0 and {bounds.INT32_MAX}")  # fmt: skip


def save_site(bind: Bind, site: SiteInput, *, by: str, at: datetime | None = None) -> int:
    """Add or update a candidate site (by code); returns its id."""
    check_site(site)
    t = quarantine_sites
    values = {
        "name": site.name,
        "site_type": site.site_type,
        "region_code": site.region_code,
        "address": site.address,
        "floor_area_m2": site.floor_area_m2,
        "rooms": site.rooms,
        "toilets": site.toilets,
        "power": site.power,
        "access": site.access,
        "hospital_km": site.hospital_km,
        "surveyed_at": at or clock.now(),
        "surveyed_by": by[:80],
    }
    with write_transaction(bind) as conn:
        if (
            conn.execute(select(regions.c.code).where(regions.c.code == site.region_code)).first()
            is None
        ):
            raise _bad(
                "region_code",
                site.region_code,
                "不存在：请先导入行政区划",
                "does not exist: import the regions first",
            )
        old = conn.execute(select(t.c.id).where(t.c.code == site.code)).scalar()
        if old is None:
            return int(
                conn.execute(
                    t.insert().values(code=site.code, **values).returning(t.c.id)
                ).scalar_one()
            )
        conn.execute(update(t).where(t.c.id == old).values(**values))
        return int(old)


def list_sites(bind: Bind, region_codes: Sequence[str] | None = None) -> list[SiteInput]:
    t = quarantine_sites.c
    with write_transaction(bind) as conn:
        q = select(quarantine_sites).order_by(t.code)
        if region_codes is not None:
            q = q.where(t.region_code.in_(list(region_codes)))
        rows = conn.execute(q).all()
    return [
        SiteInput(
            r.code,
            r.name,
            r.site_type,
            r.region_code,
            r.floor_area_m2,
            r.toilets,
            r.power,
            r.access,
            r.hospital_km,
            r.rooms,
            r.address,
        )
        for r in rows
    ]


def _col(name: str, required: bool, help: str, example: str) -> ColumnSpec:
    return ColumnSpec(name, required, help, example)


SITE_FORMAT = FileFormat(
    "sites",
    "code",
    (
        _col("code", True, "site code, up to 40 characters", "QS140105001"),
        _col("name", True, "name, up to 200 characters", "省体育馆"),
        _col("site_type", True, ", ".join(SITE_TYPES), "gym"),
        _col("region_code", True, "code of an imported region", "140105"),
        _col("floor_area_m2", True, "usable floor area in m², a number ≥ 0", "12000"),
        _col("rooms", False, "rooms (hotels: beds are the rooms)", ""),
        _col("toilets", True, "toilets, a whole number ≥ 0", "80"),
        _col("power", True, ", ".join(POWER), "grid_backup"),
        _col("access", True, ", ".join(ACCESS), "highway"),
        _col("hospital_km", True, "distance to the nearest hospital, km", "3.5"),
        _col("address", False, "street address, up to 300 characters", ""),
    ),
)


def import_sites(engine: Engine, path: Path, *, by: str) -> int:
    """Import candidate sites (CSV or Parquet) in one transaction; a bad row rejects the
    file (bilingual problems per row, an error report beside it). Returns rows saved."""
    problems: list[RowProblem] = []
    saved = 0
    source = Source(path, SITE_FORMAT)
    with write_transaction(engine) as conn:
        for batch in read_batches(source):
            for i in range(batch.length):
                number = batch.first_row + i
                cells = {k: v[i] for k, v in batch.columns.items()}
                try:
                    site = SiteInput(
                        code=cells.get("code") or "",
                        name=cells.get("name") or "",
                        site_type=cells.get("site_type") or "",
                        region_code=cells.get("region_code") or "",
                        floor_area_m2=_number(cells, "floor_area_m2"),
                        toilets=int(_number(cells, "toilets")),
                        power=cells.get("power") or "",
                        access=cells.get("access") or "",
                        hospital_km=_number(cells, "hospital_km"),
                        rooms=int(_number(cells, "rooms")) if cells.get("rooms") else None,
                        address=cells.get("address"),
                    )
                    if not problems:
                        save_site(conn, site, by=by)
                        saved += 1
                    else:
                        check_site(site)
                except BadInput as exc:
                    column = exc.problem.message_en.split(" ", 1)[0]
                    problems.append(RowProblem(number, column, exc.problem))
        problems += source.malformed  # control characters (NUL etc.) in any cell
        problems.sort(key=lambda p: p.row)
        if problems:
            report = report_path_for(path)
            write_report(report, problems)
            first = problems[0]
            raise ImportRejected(
                Problem(
                    "import.rejected",
                    f"{path}：{len(problems)} 行有误，未导入任何数据。错误报告：{report}"
                    f"（首个：第 {first.row} 行：{first.problem.message_zh}）",
                    f"{path}: {len(problems)} invalid rows; nothing was imported. "
                    f"Error report: {report} (first: row {first.row}: "
                    f"{first.problem.message_en})",
                ),
                path=str(path),
                report_path=str(report),
                problems=problems,
                rows_read=saved,
            )
    return saved


def _number(cells: dict[str, str | None], column: str) -> float:
    value = cells.get(column)
    try:
        number = float(value or "")
    except ValueError:
        raise _bad(column, value, "应为数字", "must be a number") from None
    if not (math.isfinite(number) and number >= 0):
        raise _bad(column, value, "应为不小于 0 的数", "must be a number ≥ 0")
    return number
