"""The twin's building blocks: population splits, Chinese ordinals, vectorised ID numbers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.identity.resident_id import check_character
from fangkong.twin._names import chinese_number, pair_names
from fangkong.twin._people import resident_ids
from fangkong.twin._regions import split_population


@given(st.integers(1, 10**7), st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_split_population_parts_are_positive_and_sum_up(total: int, k: int, seed: int) -> None:
    parts = split_population(total, k, np.random.default_rng(seed))
    assert sum(parts) == total
    assert len(parts) == min(k, total)
    assert min(parts) >= 1


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (105, "一百零五"), (110, "一百一十")],
)
def test_chinese_number(n: int, text: str) -> None:
    assert chinese_number(n) == text


def test_pair_names_are_distinct_even_past_the_pairs() -> None:
    stems = pair_names(np.random.default_rng(1), 30, ("东", "西"), ("关", "庄", "东"))
    assert len(set(stems)) == 30
    assert "东东" not in stems


@given(
    st.lists(
        st.tuples(
            st.integers(110000, 659999),
            st.dates(date(1900, 1, 1), date(2022, 12, 31)),
            st.integers(1, 999),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_vectorised_ids_match_the_reference(rows: list[tuple[int, date, int]]) -> None:
    epoch = date(1970, 1, 1)
    chars = resident_ids(
        np.array([r[0] for r in rows], dtype=np.int64),
        np.arange(len(rows), dtype=np.int64),
        np.array([(r[1] - epoch).days for r in rows], dtype="datetime64[D]"),
        np.array([r[2] for r in rows], dtype=np.int64),
    )
    for (region, born, seq), row in zip(rows, chars, strict=True):
        number = bytes(row).decode()
        assert number[:17] == f"{region:06d}{born:%Y%m%d}{seq:03d}"
        assert number[17] == check_character(number[:17])


def test_region_sizes_are_heavy_tailed() -> None:
    """Towns and communities vary by an order of magnitude, not by a few per cent."""
    from fangkong.twin.registry import generate_registry

    regions = generate_registry(200_000, seed=5).regions.to_pylist()
    for level, spread in (("township", 3.0), ("community", 4.0), ("compound", 3.0)):
        sizes = sorted(int(r["population"]) for r in regions if r["level"] == level)
        assert len(sizes) >= 5, level
        median = sizes[len(sizes) // 2]
        assert sizes[-1] / median >= spread, (level, sizes[-1], median)
