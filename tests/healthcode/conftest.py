"""Fixtures for the health-code service tests: a context and a tiny registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys
from fangkong.identity.resident_id import check_character
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.store.schema import persons, regions, venues

NOW = datetime(2022, 6, 1, 2, 0, tzinfo=UTC)
ID_ZHANG = "11010519491231002" + check_character("11010519491231002")
ID_LI = "14010219800101001" + check_character("14010219800101001")
ID_NOBODY = "14010219900101001" + check_character("14010219900101001")


@dataclass(frozen=True)
class World:
    engine: Engine
    zhang: int
    li: int


@pytest.fixture
def ctx() -> CodeContext:
    return CodeContext(pack=load_pack(), sealer=Sealer(bytes(range(32))), qr=QrKeys.generate())


@pytest.fixture
def world(engine: Engine, ctx: CodeContext) -> World:
    """Two persons (张三丰, 李四) and venues of several types in one county."""
    return populate(engine, ctx.sealer)


def populate(engine: Engine, sealer: Sealer) -> World:
    with engine.begin() as conn:
        conn.execute(regions.insert().values(code="140102", level="county", name="某区"))
        for code, kind in [
            ("V-SCHOOL", "school"),
            ("V-FEVER", "fever_clinic"),
            ("V-CHECK", "checkpoint"),
            ("V-MARKET", "market"),
        ]:
            conn.execute(venues.insert().values(code=code, name=code, type=kind,
                                                region_code="140102"))  # fmt: skip
        ids = []
        for number, name in [(ID_ZHANG, "张三丰"), (ID_LI, "李四")]:
            key = sealer.lookup_hash("document", f"resident_id|CHN|{number}")
            ids.append(
                conn.execute(
                    persons.insert()
                    .values(
                        doc_type="resident_id", doc_country="CHN", doc_hash=key,
                        doc_sealed=sealer.seal("document", number), name=name, sex="M",
                        birth_date=date(1949, 12, 31), occupation="other",
                        residence_code="140102",
                    )
                    .returning(persons.c.id)
                ).scalar_one()
            )  # fmt: skip
    return World(engine, ids[0], ids[1])
