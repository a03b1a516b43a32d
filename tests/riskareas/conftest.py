"""Risk-area fixtures: a code context for a pack, compounds of the test province."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import load_or_create_keys
from fangkong.identity.sealing import Sealer
from fangkong.policy.loader import load_pack
from fangkong.store.schema import persons
from tests.conftest import TEST_SEAL_KEY

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def code_context(tmp_path: Path) -> Callable[[str], CodeContext]:
    keys = load_or_create_keys(tmp_path / "qr.key")

    def make(pack: str = "protocol-9") -> CodeContext:
        return CodeContext(pack=load_pack(pack), sealer=Sealer(TEST_SEAL_KEY), qr=keys, tz=TZ)

    return make


def compounds(engine: Engine, least: int = 3) -> list[str]:
    """Compounds with at least ``least`` residents, smallest first (the seed-1 province
    has one per county: 85 residents in 140121, 215 in 140102)."""
    with engine.connect() as conn:
        codes = conn.execute(select(persons.c.residence_code)).scalars().all()
    count = Counter(c for c in codes if c)
    return [c for c, n in sorted(count.items(), key=lambda x: (x[1], x[0])) if n >= least]


def residents_of(engine: Engine, compound: str) -> list[int]:
    with engine.connect() as conn:
        return sorted(
            int(i)
            for i in conn.execute(
                select(persons.c.id).where(persons.c.residence_code == compound)
            ).scalars()
        )
