"""A realistic facility file for a province in the store (the twin's, after its import).

Per county: open quarantine hotels of 40–300 rooms (mostly single, some family and
accessible rooms, 1–4 zones) until the county holds ``coverage`` × the pack's norm (20
rooms per 10,000 people), then standby hotels beyond it until they hold the pack's
``[quarantine.surge] standby_share`` × the norm (备用); per city one fangcang hospital on
standby (beds from the county population) and one designated hospital. Positions near
the county's centroid (venues' mean). Candidate sites for the survey: gyms, exhibition
halls, schools and warehouses, a few per county. Seeded: the same seed gives the same file.

A demo feed, not a quarantine rule: the province loop (``demo.quarantine``,
``demo.arrivals``) and ``fangkong quarantine generate`` use it; the quarantine desk
imports real facility files through ``quarantine.facilities``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from fangkong.quarantine.facilities import FACILITY_FORMAT, FacilityInput
from fangkong.quarantine.regions import load_regions
from fangkong.quarantine.rules import SITE_TYPES, QuarantineRules
from fangkong.quarantine.survey import SiteInput


def generate(
    engine: Engine, rules: QuarantineRules, *, seed: int = 1, coverage: float = 1.0
) -> tuple[list[FacilityInput], list[SiteInput]]:
    rng = np.random.default_rng(seed)
    with engine.connect() as conn:
        index = load_regions(conn)
    facilities: list[FacilityInput] = []
    sites: list[SiteInput] = []
    counties = sorted(c for c, i in index.info.items() if i.level == "county")
    per_city: dict[str, int] = {}
    for county in counties:
        info = index.info[county]
        lat, lon = index.point(county)
        city = info.parent or county
        per_city[city] = per_city.get(city, 0) + info.population
        norm = info.population * rules.readiness.rooms_per_10000 / 10_000
        n = 0
        for status, share in (("open", coverage), ("standby", rules.surge.standby_share)):
            need = math.ceil(norm * share)
            while need > 0:
                n += 1
                rooms = min(need, int(rng.integers(40, 301)))
                family = int(rooms * rng.uniform(0.05, 0.15))
                accessible = max(1, rooms // 50) if rooms >= 20 else 0  # tiny hotel: singles
                single = max(rooms - family - accessible, 0)
                facilities.append(
                    FacilityInput(
                        code=f"QH{county}{n:03d}",
                        name=f"{info.name}第{n}隔离酒店",
                        kind="hotel",
                        region_code=county,
                        status=status,
                        single_rooms=single,
                        family_rooms=family,
                        family_beds=3,
                        accessible_rooms=accessible,
                        zones=int(rng.integers(1, 5)),
                        staff=max(5, rooms // 8),
                        latitude=(pos := _near(rng, lat, lon))[0],
                        longitude=pos[1],
                    )
                )
                need -= rooms
        for k, kind in enumerate(rng.choice(SITE_TYPES[:4], size=3)):
            area = float(rng.uniform(2_000, 20_000))
            sites.append(
                SiteInput(
                    code=f"QS{county}{k + 1:02d}",
                    name=f"{info.name}备选场地{k + 1}",
                    site_type=str(kind),
                    region_code=county,
                    floor_area_m2=round(area),
                    toilets=int(area / rng.uniform(60, 200)),
                    power=str(rng.choice(["grid", "grid_backup", "none"], p=[0.6, 0.3, 0.1])),
                    access=str(rng.choice(["road", "highway", "poor"], p=[0.6, 0.3, 0.1])),
                    hospital_km=round(float(rng.uniform(1, 40)), 1),
                )
            )
    for city, population in sorted(per_city.items()):
        if city not in index.info:
            continue
        lat, lon = index.point(city)
        beds = max(200, population // 2_000)
        facilities.append(
            FacilityInput(
                code=f"QF{city}",
                name=f"{index.info[city].name}方舱医院",
                kind="fangcang",
                region_code=city,
                status="standby",
                single_rooms=beds,
                zones=4,
                staff=beds // 5,
                latitude=(pos := _near(rng, lat, lon))[0],
                longitude=pos[1],
            )
        )
        facilities.append(
            FacilityInput(
                code=f"QD{city}",
                name=f"{index.info[city].name}定点医院",
                kind="designated_hospital",
                region_code=city,
                status="open",
                single_rooms=max(50, beds // 4),
                accessible_rooms=10,
                zones=2,
                staff=max(50, beds // 4),
                latitude=(pos := _near(rng, lat, lon))[0],
                longitude=pos[1],
            )
        )
    return facilities, sites


def _near(rng: np.random.Generator, lat: float, lon: float) -> tuple[float | None, float | None]:
    if math.isnan(lat):
        return None, None
    return (round(lat + float(rng.normal(0, 0.03)), 6), round(lon + float(rng.normal(0, 0.03)), 6))


def write_facilities(path: Path, facilities: Sequence[FacilityInput]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(FACILITY_FORMAT.names))
        writer.writeheader()
        for f in facilities:
            writer.writerow({k: "" if v is None else v for k, v in asdict(f).items()})


SITE_COLUMNS = (
    "code",
    "name",
    "site_type",
    "region_code",
    "floor_area_m2",
    "rooms",
    "toilets",
    "power",
    "access",
    "hospital_km",
    "address",
)


def write_sites(path: Path, sites: Sequence[SiteInput]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(SITE_COLUMNS))
        writer.writeheader()
        for s in sites:
            writer.writerow({k: "" if v is None else v for k, v in asdict(s).items()})
