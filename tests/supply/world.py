"""A small hand-made province for the supply tests: two counties, townships, a sealed
compound with residents, outlets (rows written straight into the tables)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert

from fangkong.policy.loader import load_pack
from fangkong.riskareas.tables import risk_areas
from fangkong.store.schema import persons, regions, venues
from fangkong.supply.service import OutletIn, SupplyPolicy, add_outlet

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2022, 4, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2022, 4, 10)
PROVINCE, CITY = "140000", "140100"
K1, K2 = "140105", "140106"  # counties
T1, T2, T3 = "140105001", "140105002", "140106001"  # townships (T1, T2 in K1)
COMPOUND = "140105001001"  # a compound in T1
REGIONS = [
    (PROVINCE, None, "province", "山西省"),
    (CITY, PROVINCE, "city", "太原市"),
    (K1, CITY, "county", "小店区"),
    (K2, CITY, "county", "迎泽区"),
    (T1, K1, "township", "坞城街道"),
    (T2, K1, "township", "营盘街道"),
    (T3, K2, "township", "柳巷街道"),
    (COMPOUND, T1, "compound", "康宁小区"),
]


def policy() -> SupplyPolicy:
    return SupplyPolicy.from_pack(load_pack("protocol-9"), TZ)


def build(engine: Engine, residents: int = 215) -> None:
    """The regions, ``residents`` persons in the compound, a venue, three outlets."""
    with engine.begin() as conn:
        conn.execute(insert(regions), [{"code": c, "parent_code": p, "level": lv, "name": n}
                                       for c, p, lv, n in REGIONS])  # fmt: skip
        conn.execute(insert(persons), [
            {"id": i, "doc_type": "resident_id", "doc_country": "CHN",
             "doc_hash": hashlib.sha256(str(i).encode()).digest(), "doc_sealed": b"x",
             "name": f"居民{i}", "sex": "F", "birth_date": date(1980, 1, 1),
             "residence_code": COMPOUND, "occupation": "other"}
            for i in range(1, residents + 1)
        ])  # fmt: skip
        conn.execute(insert(venues).values(code="V-MKT-1", name="坞城农贸市场", type="market",
                                           region_code=T1))  # fmt: skip
    for code, name, kind, region, venue in (
        ("M1", "坞城农贸市场", "market", T1, "V-MKT-1"),
        ("S1", "营盘超市", "supermarket", T2, None),
        ("S2", "柳巷超市", "supermarket", T3, None),
    ):
        add_outlet(engine, OutletIn(code, name, kind, region, venue), by="test", at=NOW)


def seal(engine: Engine, region: str = COMPOUND, level: str = "high") -> int:
    with engine.begin() as conn:
        found = conn.execute(insert(risk_areas).values(
            code=region, region_code=region, granularity="compound", name="康宁小区",
            level=level, origin="designated", since=NOW - timedelta(days=1), reason="测试",
            designated_at=NOW - timedelta(days=1), designated_by="test", pack_name="protocol-9",
            pack_version="1")).inserted_primary_key  # fmt: skip
    assert found is not None
    return int(found[0])
