"""Care fixtures: a small province with a sealed compound (high risk) and a medium-risk
one, residents, a transfer team with vehicles, and designated wards — on both backends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, Engine

from fangkong.arrivals.dispatch import save_team, save_vehicle
from fangkong.arrivals.rules import ArrivalRules
from fangkong.care.rules import CareRules
from fangkong.care.wards import WardIn, save_ward
from fangkong.command.rules import CommandRules
from fangkong.policy import load_pack
from fangkong.riskareas.tables import risk_areas
from fangkong.store.schema import persons, regions

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
H = timedelta(hours=1)
# code, parent, level, name, (lat, lon) of its centroid
TREE = (
    ("14", None, "province", "省", None),
    ("1401", "14", "city", "甲市", None),
    ("140101", "1401", "county", "甲县", None),
    ("140101001", "140101", "township", "甲镇", (37.870, 112.550)),
    ("140101002", "140101", "township", "乙镇", (37.900, 112.600)),
    ("1402", "14", "city", "乙市", None),
    ("140201", "1402", "county", "乙县", (36.100, 113.100)),
)


@dataclass(frozen=True)
class World:
    engine: Engine
    high: int  # area id: 甲镇, high risk (sealed)
    medium: int  # area id: 乙镇, medium risk
    low: int  # area id: 乙县, low risk (not served)
    residents: tuple[int, ...]  # of 甲镇
    medium_residents: tuple[int, ...]  # of 乙镇
    outsider: int  # lives in 乙县


def _point(lat: float, lon: float) -> str:
    return json.dumps({"type": "Point", "coordinates": [lon, lat]})


def _person(conn: Connection, n: int, home: str, name: str) -> int:
    key = conn.execute(persons.insert().values(
        doc_type="resident_id", doc_country="CHN", doc_hash=f"h{n:031d}".encode(),
        doc_sealed=b"s", name=name, sex="F", birth_date=date(1960, 1, 1),
        residence_code=home, occupation="other")).inserted_primary_key  # fmt: skip
    return int(key[0]) if key else 0


def _area(conn: Connection, code: str, level: str, name: str) -> int:
    key = conn.execute(risk_areas.insert().values(
        code=code, region_code=code, building=None, granularity="compound", name=name,
        level=level, origin="designated", since=T0 - 48 * H, reason="病例居住地",
        designated_at=T0 - 48 * H, designated_by="u", pack_name="protocol-9",
        pack_version="1")).inserted_primary_key  # fmt: skip
    return int(key[0]) if key else 0


def build_world(engine: Engine, *, wards: bool = True, vehicles: int = 2) -> World:
    with engine.begin() as conn:
        for code, parent, level, name, where in TREE:
            conn.execute(regions.insert().values(
                code=code, parent_code=parent, level=level, name=name,
                geojson=_point(*where) if where else None))  # fmt: skip
        high = _area(conn, "140101001", "high", "甲镇封控区")
        medium = _area(conn, "140101002", "medium", "乙镇管控区")
        low = _area(conn, "140201", "low", "乙县")
        residents = tuple(_person(conn, i, "140101001", f"张{i}") for i in range(3))
        mids = tuple(_person(conn, 10 + i, "140101002", f"李{i}") for i in range(2))
        outsider = _person(conn, 20, "140201", "王五")
    arrivals = ArrivalRules.from_pack(load_pack("protocol-9"))
    save_team(engine, "T1", "甲县转运专班", "transfer", "140101")
    for i in range(vehicles):  # the first near 甲镇, the second farther out
        save_vehicle(engine, arrivals, f"V{i + 1}", "ambulance", 2, "T1", 37.86 + 0.05 * i,
                     112.55 + 0.05 * i)  # fmt: skip
    if wards:
        save_ward(engine, WardIn("W-BUF", "省人民医院", "缓冲病区", "140101", 37.88, 112.56,
                                 ("dialysis", "emergency", "pregnancy", "other"), 10, 2, True),
                  by="u", at=T0)  # fmt: skip
        save_ward(engine, WardIn("W-GEN", "市中心医院", "血透室", "140101", 37.871, 112.551,
                                 ("dialysis", "chemotherapy"), 20, 5, False),
                  by="u", at=T0)  # fmt: skip
    return World(engine, high, medium, low, residents, mids, outsider)


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


@pytest.fixture
def care_rules() -> CareRules:
    return CareRules.from_pack(load_pack("protocol-9"))


@pytest.fixture
def command_rules() -> CommandRules:
    return CommandRules.from_pack(load_pack("protocol-9"))
