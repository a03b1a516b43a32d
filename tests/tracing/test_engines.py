"""The in-memory index, DuckDB and Spark give identical contact sets on the same data."""

from __future__ import annotations

from typing import Any

import pytest

from fangkong.tracing.rules import ContactRules
from fangkong.tracing.trace import trace

from .samples import cases, checkins

RULES = ContactRules.shipped("protocol-9")


def test_memory_and_duckdb_agree() -> None:
    memory = trace(checkins(), cases(), RULES, engine="memory")
    duck = trace(checkins(), cases(), RULES, engine="duckdb")
    assert memory.close.num_rows > 20  # markets and schools: general only (close_by_unit)
    assert memory.general.num_rows > 5
    assert memory.close.equals(duck.close)
    assert memory.general.equals(duck.general)


def test_memory_and_duckdb_agree_on_another_seed_with_one_minimum() -> None:
    rules = RULES.with_min_overlap(600)
    data = checkins(n=800, seed=11, persons=40, venues=4)
    memory = trace(data, cases(), rules, engine="memory")
    assert memory.close.equals(trace(data, cases(), rules, engine="duckdb").close)


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_all_three_engines_agree(spark: Any) -> None:
    del spark  # started once for the session; the engine reuses it
    data = checkins(n=600, seed=5, persons=60, venues=6)
    memory = trace(data, cases(), RULES, engine="memory")
    on_spark = trace(data, cases(), RULES, engine="spark")
    assert memory.close.num_rows > 0
    assert memory.close.equals(on_spark.close)
    assert memory.general.equals(on_spark.general)
    assert memory.close.equals(trace(data, cases(), RULES, engine="duckdb").close)
