"""Space-time permutation scan: equal to an exhaustive loop over every cylinder; p-values behave."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.errors import BadInput
from fangkong.surveillance.spacetime import ScanSettings, distances, permuted_tails, scan

Table = list[list[int]]
Cylinder = tuple[float, frozenset[int], int, float, float]  # llr, regions, days, obs, exp


def brute_force(
    counts: Table, coords: list[tuple[float, float]], max_days: int, max_k: int | None,
    max_share: float,
) -> list[Cylinder]:  # fmt: skip
    """Every zone x duration in (centre, k, days) order, with plain Python arithmetic."""
    n, n_days = len(counts), len(counts[0])
    region_total = [sum(row) for row in counts]
    day_total = [sum(counts[z][t] for z in range(n)) for t in range(n_days)]
    total = sum(region_total)
    out: list[Cylinder] = []
    for centre in range(n):
        cx, cy = coords[centre]
        near = sorted(range(n), key=lambda j: (math.hypot(coords[j][0] - cx, coords[j][1] - cy), j))
        for k in range(1, n + 1):
            zone = near[:k]
            if max_k is not None and k > max_k:
                break
            if sum(region_total[z] for z in zone) > max_share * total * (1 + 1e-12):
                break
            for days in range(1, max_days + 1):
                last = range(n_days - days, n_days)
                obs = sum(counts[z][t] for z in zone for t in last)
                exp = sum(region_total[z] for z in zone) * sum(day_total[t] for t in last) / total
                llr = 0.0
                if obs > exp:
                    llr = obs * math.log(obs / exp)
                    if obs < total:
                        llr += (total - obs) * math.log((total - obs) / (total - exp))
                out.append((llr, frozenset(zone), days, obs, exp))
    return out


def brute_clusters(cylinders: list[Cylinder], limit: int) -> list[Cylinder]:
    """Most likely first (first in order among ties), then non-overlapping by LLR."""
    top = max((c[0] for c in cylinders), default=0.0)
    if top <= 0:
        return []
    first = next(c for c in cylinders if c[0] >= top * (1 - 1e-9))
    found, used = [first], set(first[1])
    for cyl in sorted(cylinders, key=lambda c: -c[0]):
        if len(found) >= limit or cyl[0] <= 0:
            break
        if not used & cyl[1]:
            found.append(cyl)
            used |= cyl[1]
    return found


def _data(seed: int, n: int = 9, n_days: int = 12, hot: bool = True) -> tuple[Table, list]:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    coords = [tuple(map(float, xy)) for xy in rng.uniform(0, 10, (n, 2))]
    rate = np.full((n, n_days), 1.5)
    if hot:
        rate[:2, -3:] *= 4
    counts = rng.poisson(rate).tolist()
    return counts, coords


def _assert_same(counts: Table, coords: list, cfg: ScanSettings) -> None:  # type: ignore[type-arg]
    max_days = cfg.max_days or len(counts[0]) // 2
    cylinders = brute_force(counts, coords, max_days, cfg.max_k, cfg.max_share)
    want = brute_clusters(cylinders, cfg.max_clusters)
    got = scan(counts, coords, cfg, rng=0).clusters
    assert len(got) == len(want)
    for g, (llr, regions, days, obs, exp) in zip(got, want, strict=True):
        assert g.llr == pytest.approx(llr, rel=1e-12, abs=1e-12)
        assert frozenset(g.regions.tolist()) == regions
        assert g.days == days
        assert g.start_day == len(counts[0]) - days
        assert g.observed == obs
        assert g.expected == pytest.approx(exp, rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "cfg",
    [
        ScanSettings(max_days=4, replicates=0),
        ScanSettings(max_days=12, max_k=3, replicates=0, max_clusters=3),
        ScanSettings(max_days=6, max_share=0.25, replicates=0),
        ScanSettings(max_days=2, max_share=1.0, replicates=0, max_clusters=20),
    ],
)
def test_scan_equals_exhaustive_computation(seed: int, cfg: ScanSettings) -> None:
    counts, coords = _data(seed, hot=seed % 2 == 0)
    _assert_same(counts, coords, cfg)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.integers(2, 6).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(0, 6), min_size=5, max_size=5), min_size=n, max_size=n
        )
    ),
    seed=st.integers(0, 10_000),
    max_days=st.integers(1, 5),
    share=st.sampled_from([0.3, 0.5, 1.0]),
)
def test_scan_equals_exhaustive_on_any_small_table(
    counts: Table, seed: int, max_days: int, share: float
) -> None:
    """Includes zero rows, all-equal counts and coincident centroids (ties everywhere)."""
    if sum(map(sum, counts)) == 0:
        counts[0][0] = 1
    rng = np.random.default_rng(seed)
    coords = [tuple(map(float, xy)) for xy in rng.integers(0, 3, (len(counts), 2))]
    _assert_same(counts, coords, ScanSettings(max_days=max_days, max_share=share, replicates=0))


def test_replicates_are_the_exhaustive_maxima_of_permuted_tables() -> None:
    counts, coords = _data(3, n=7, n_days=8)
    table = np.array(counts)
    cfg = ScanSettings(max_days=8, replicates=25)
    result = scan(counts, coords, cfg, rng=11)
    # The same permutations, drawn the way the scan draws them (one batch), full depth.
    cells = table.ravel()
    region = np.repeat(np.repeat(np.arange(7), 8), cells)
    day = np.repeat(np.tile(np.arange(8), 7), cells)
    tables = permuted_tails(region, day, 7, 8, 8, 25, np.random.default_rng(11))
    for sim, null in zip(tables, result.null_llr, strict=True):
        assert sim.sum(axis=0).tolist() == table.sum(axis=0).tolist()  # day totals kept
        assert sim.sum(axis=1).tolist() == table.sum(axis=1).tolist()  # region totals kept
        best = max(c[0] for c in brute_force(sim.astype(int).tolist(), coords, 8, None, 0.5))
        assert null == pytest.approx(best, rel=1e-9, abs=1e-12)
    top = result.clusters[0]
    rank = 1 + int(np.sum(result.null_llr >= top.llr * (1 - 1e-9)))
    assert top.p_value == rank / 26
    assert top.recurrence_interval_days == pytest.approx(26 / rank)


def test_planted_cluster_is_found_and_significant() -> None:
    rng = np.random.default_rng(42)
    n, n_days = 30, 40
    coords = rng.uniform(0, 100, (n, 2))
    rate = np.full((n, n_days), 3.0)
    hot = np.argsort(np.hypot(*(coords - coords[7]).T))[:3]  # region 7 and its 2 neighbours
    rate[hot, -5:] *= 3
    counts = rng.poisson(rate)
    result = scan(counts, coords, ScanSettings(max_days=14, replicates=199), rng=5)
    top = result.clusters[0]
    assert top.p_value < 0.05
    assert top.p_value == pytest.approx(1 / 200)
    assert len(set(top.regions.tolist()) & set(hot.tolist())) >= 2
    assert 3 <= top.days <= 7
    assert top.ratio > 2
    assert all(c.p_value > top.p_value for c in result.clusters[1:])
    assert top.recurrence_interval_days == pytest.approx(200.0)


def test_p_values_are_roughly_uniform_under_the_null() -> None:
    rng = np.random.default_rng(2024)
    coords = rng.uniform(0, 10, (8, 2))
    p = []
    for _ in range(150):
        # Independent space and time: a region profile times a day profile.
        rate = np.outer(rng.uniform(0.5, 2, 8), rng.uniform(0.5, 2, 10))
        counts = rng.poisson(rate)
        if counts.sum() == 0:
            continue
        found = scan(counts, coords, ScanSettings(max_days=5, replicates=99), rng=rng).clusters
        p.append(found[0].p_value if found else 1.0)
    values = np.array(p)
    assert 0.02 <= np.mean(values <= 0.1) <= 0.2
    assert 0.35 <= np.mean(values <= 0.5) <= 0.65
    assert 0.4 <= values.mean() <= 0.6


def test_permutation_keeps_both_margins_and_changes_the_table() -> None:
    counts, _ = _data(1, n=6, n_days=9)
    table = np.array(counts)
    cells = table.ravel()
    region = np.repeat(np.repeat(np.arange(6), 9), cells)
    day = np.repeat(np.tile(np.arange(9), 6), cells)
    sims = permuted_tails(region, day, 6, 9, 9, 200, np.random.default_rng(0))
    assert np.all(sims.sum(axis=1) == table.sum(axis=0))
    assert np.all(sims.sum(axis=2) == table.sum(axis=1))
    assert not np.all(sims == table)
    # The mean permuted table is the expectation C_z * C_d / C.
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    assert np.abs(sims.mean(axis=0) - expected).max() < 0.5


def test_seed_makes_results_repeatable() -> None:
    counts, coords = _data(0)
    cfg = ScanSettings(max_days=4, replicates=50)
    a = scan(counts, coords, cfg, rng=9)
    b = scan(counts, coords, cfg, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a.null_llr, b.null_llr)
    assert [c.p_value for c in a.clusters] == [c.p_value for c in b.clusters]


def test_haversine_distances_in_km() -> None:
    # Beijing to Shanghai, about 1,067 km great-circle.
    d = distances([(116.4074, 39.9042), (121.4737, 31.2304)], "haversine")
    assert d[0, 1] == pytest.approx(1067, rel=0.01)
    assert d[0, 0] == 0


@pytest.mark.parametrize(
    ("counts", "cfg", "code"),
    [
        ([[0, 0], [0, 0]], ScanSettings(), "scan.no_cases"),
        ([[1, -1], [0, 0]], ScanSettings(), "scan.counts"),
        ([[1, 0.5], [0, 0]], ScanSettings(), "scan.counts"),
        ([[1, 2], [3, 4]], ScanSettings(max_days=3), "scan.max_days"),
        ([[1, 2], [3, 4]], ScanSettings(max_share=0), "scan.max_share"),
        ([[1, 2], [3, 4]], ScanSettings(max_k=0), "scan.max_k"),
    ],
)
def test_bad_input_is_an_error(counts: list[list[float]], cfg: ScanSettings, code: str) -> None:
    with pytest.raises(BadInput) as excinfo:
        scan(counts, [(0, 0), (1, 1)], cfg)
    assert excinfo.value.code == code


def test_combinations_cover_every_duration() -> None:
    counts, coords = _data(4, n=5, n_days=6)
    cfg = ScanSettings(max_days=6, max_share=1.0, replicates=0)
    result = scan(counts, coords, cfg)
    # 5 centres x 5 zone sizes x 6 durations, none excluded by size.
    assert result.n_cylinders == len(list(product(range(5), range(5), range(6))))


def test_population_limits_zone_size() -> None:
    counts, coords = _data(2, n=6, n_days=8)
    population = np.array([60.0, 8, 8, 8, 8, 8])  # region 0 alone holds 60 % of the people
    cfg = ScanSettings(max_days=4, replicates=0, max_share=0.5, max_clusters=10)
    found = scan(counts, coords, cfg, population=population).clusters
    assert found
    assert all(0 not in c.regions for c in found)
    assert all(population[c.regions].sum() <= 50 for c in found)
    with pytest.raises(BadInput) as excinfo:
        scan(counts, coords, cfg, population=population[:3])
    assert excinfo.value.code == "scan.population"
