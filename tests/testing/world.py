"""A small world for the testing tests: a county with two compounds, twelve persons, a lab."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyarrow as pa
from sqlalchemy import Engine

from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.store.schema import persons, regions
from fangkong.testing.campaigns import add_lab
from fangkong.testing.rules import TestingRules

SEALER = Sealer(bytes(range(32)))
T0 = datetime(2022, 3, 18, 1, 0, tzinfo=UTC)
PACK = load_pack("protocol-9")
RULES = TestingRules.from_pack(PACK)


@dataclass(frozen=True)
class World:
    engine: Engine
    people: list[int]
    codes: CodeContext


def codes_context() -> CodeContext:
    return CodeContext(pack=PACK, sealer=SEALER, qr=QrKeys.generate())


def make_world(engine: Engine, n: int = 12, occupations: dict[int, str] | None = None) -> World:
    with engine.begin() as conn:
        conn.execute(regions.insert().values(code="140102", level="county", name="某区"))
        for code, name in (("140102001001", "甲小区"), ("140102001002", "乙小区")):
            conn.execute(
                regions.insert().values(
                    code=code, level="compound", name=name, parent_code="140102"
                )
            )
        people = []
        for i in range(n):
            number = f"P{i:07d}"
            people.append(
                conn.execute(
                    persons.insert()
                    .values(
                        doc_type="passport",
                        doc_country="FRA",
                        doc_hash=SEALER.lookup_hash("document", f"passport|FRA|{number}"),
                        doc_sealed=SEALER.seal("document", f"passport|FRA|{number}"),
                        name=f"Person {i}",
                        sex="F",
                        birth_date=date(1990, 1, 1),
                        occupation=(occupations or {}).get(i, "other"),
                        residence_code="140102001001" if i % 2 == 0 else "140102001002",
                    )
                    .returning(persons.c.id)
                ).scalar_one()
            )
    add_lab(engine, "LAB1", "第一检测实验室", "140102", 24_000)
    return World(engine, people, codes_context())


def batch(rows: list[tuple[str, str, str | None, str | None, str]]) -> pa.Table:
    """(barcode, run, ct_orf1ab, ct_n, tested_at) rows as text cells, as a CSV reads."""
    cols = list(zip(*rows, strict=True))
    names = ["barcode", "run", "ct_orf1ab", "ct_n", "tested_at"]
    return pa.table({n: pa.array(list(c), pa.string()) for n, c in zip(names, cols, strict=True)})
