"""Pass fixtures: a small region tree in twin-style codes (140000 province → 140100 city →
140105 county → township), two registry persons, protocol-9's ``[passes]`` rules and a
pass key pair made for the test (never the home's)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert

from fangkong.passes.rules import PassRules
from fangkong.passes.token import PassKeys
from fangkong.policy import load_pack
from fangkong.store.schema import persons
from tests.regions_tree import insert_tree

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2022, 4, 12, 9, 0, tzinfo=TZ)
TREE = (
    ("140000", None, "province", "山西省"),
    ("140100", "140000", "city", "太原市"),
    ("140105", "140100", "county", "小店区"),
    ("140105001", "140105", "township", "坞城街道"),
    ("140200", "140000", "city", "大同市"),
    ("140212", "140200", "county", "新荣区"),
)


@pytest.fixture
def tree(engine: Engine) -> Engine:
    with engine.begin() as conn:
        insert_tree(conn, TREE)
    return engine


def add_person(engine: Engine, pid: int, region: str = "140105") -> int:
    with engine.begin() as conn:
        conn.execute(
            insert(persons).values(
                id=pid, doc_type="resident_id", doc_country="CHN",
                doc_hash=hashlib.sha256(str(pid).encode()).digest(), doc_sealed=b"x",
                name=f"司机{pid}", sex="M", birth_date=date(1980, 1, 1),
                residence_code=region, occupation="other",
            )
        )  # fmt: skip
    return pid


@pytest.fixture
def rules() -> PassRules:
    return PassRules.from_pack(load_pack("protocol-9"))


@pytest.fixture(scope="session")
def keys() -> PassKeys:
    return PassKeys.generate()


def resident_id(region6: str, seq: int) -> str:
    from fangkong.identity.resident_id import check_character

    first17 = f"{region6}19800101{seq:03d}"
    return first17 + check_character(first17)
