"""Aggregation over the region tree: NumPy (dense, per detector) and DuckDB (long form)
both equal a brute-force sum that walks each count up the tree by hand."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pyarrow as pa
import pytest
from epiweeks import Week

from fangkong.alerts.series import RegionTree, aggregate, periods

LEVELS = ("province", "city", "county", "township", "community", "compound")


def _tree(seed: int) -> RegionTree:
    """A random tree: 1 province, 2 cities, 2-3 counties each, ... down to compounds."""
    rng = random.Random(seed)
    parent: dict[str, str | None] = {"P": None}
    level = {"P": "province"}
    frontier = ["P"]
    for lv in LEVELS[1:]:
        nxt = []
        for p in frontier:
            for k in range(rng.randint(1, 3)):
                code = f"{p}.{k}"
                parent[code], level[code] = p, lv
                nxt.append(code)
        frontier = nxt
    population = {c: rng.randint(100, 5000) for c in level}
    return RegionTree(parent, level, {c: c for c in level}, population)


def _counts(tree: RegionTree, seed: int, first: date, days: int) -> pa.Table:
    rng = random.Random(seed)
    codes = sorted(tree.level)
    rows = [(rng.choice(codes), first + timedelta(days=rng.randrange(days)), rng.randint(0, 9))
            for _ in range(400)]  # fmt: skip
    return pa.table({
        "region_code": [r[0] for r in rows],
        "day": pa.array([r[1] for r in rows], pa.date32()),
        "count": pa.array([r[2] for r in rows], pa.int64()),
    })  # fmt: skip


def _brute(
    counts: pa.Table, tree: RegionTree, level: str, freq: str
) -> dict[tuple[str, date], int]:
    out: dict[tuple[str, date], int] = {}
    for code, day, n in zip(*(counts.column(k).to_pylist() for k in counts.column_names),
                            strict=True):  # fmt: skip
        c = code
        while c is not None and tree.level[c] != level:
            c = tree.parent[c]
        if c is None:
            continue
        start = Week.fromdate(day, system="iso").startdate() if freq == "week" else day
        out[(c, start)] = out.get((c, start), 0) + n
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("freq", ["day", "week"])
@pytest.mark.parametrize("level", ["city", "county", "community", "compound"])
def test_aggregate_equals_brute_force(seed: int, freq: str, level: str) -> None:
    tree = _tree(seed)
    first = date(2022, 3, 2)  # a Wednesday: the first ISO week starts before it
    counts = _counts(tree, seed, first, 40)
    start = periods(first, first, freq)[0]
    s = aggregate(counts, tree, level, freq, start, first + timedelta(days=39))
    expected = _brute(counts, tree, level, freq)
    got = {(r, p): int(s.counts[i, j]) for i, r in enumerate(s.regions)
           for j, p in enumerate(s.periods) if s.counts[i, j]}  # fmt: skip
    assert got == {k: v for k, v in expected.items() if v}
    assert s.regions == sorted(c for c, lv in tree.level.items() if lv == level)
    assert [tree.population[c] for c in s.regions] == s.population.tolist()
    step = 7 if freq == "week" else 1
    assert all((b - a).days == step for a, b in zip(s.periods, s.periods[1:], strict=False))
    if freq == "week":
        assert all(p.weekday() == 0 for p in s.periods)  # ISO weeks start on Monday


def test_counts_outside_the_span_and_above_the_level_are_left_out() -> None:
    tree = _tree(4)
    county = next(c for c, lv in tree.level.items() if lv == "county")
    counts = pa.table({
        "region_code": ["P", county, county],
        "day": pa.array([date(2022, 3, 5), date(2022, 3, 5), date(2022, 4, 1)], pa.date32()),
        "count": pa.array([100, 7, 50], pa.int64()),
    })  # fmt: skip
    s = aggregate(counts, tree, "county", "day", date(2022, 3, 1), date(2022, 3, 31))
    assert s.counts.sum() == 7
    assert s.row(county)[4] == 7
