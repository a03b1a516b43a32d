"""The twin's array kernels against their straightforward pairwise definitions."""

from __future__ import annotations

import numpy as np
import pytest

from fangkong.twin._kernel import Presence, venue_overlap
from fangkong.twin._population import VenueChooser, build_population
from fangkong.twin.registry import generate_registry
from fangkong.twin.scenario import default_scenario


def _stays(rng: np.random.Generator, n: int, venues: int) -> tuple[np.ndarray, ...]:
    venue = rng.integers(0, venues, n)
    t_in = rng.uniform(0, 1300, n)
    t_out = np.minimum(t_in + rng.uniform(0, 140, n), 1440.0)
    return venue, t_in, t_out


def _pairwise(
    inf: tuple[np.ndarray, ...], weight: np.ndarray, stays: tuple[np.ndarray, ...]
) -> np.ndarray:
    """overlap[i, j] × weight[j]: minutes stay i shared with infectious stay j."""
    iv, ii, io = inf
    v, t_in, t_out = stays
    shared = np.minimum(t_out[:, None], io[None, :]) - np.maximum(t_in[:, None], ii[None, :])
    return np.where(v[:, None] == iv[None, :], np.maximum(shared, 0.0), 0.0) * weight[None, :]


@pytest.mark.parametrize("seed", range(5))
def test_overlap_equals_the_sum_over_pairs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    inf = _stays(rng, 300, 20)
    weight = rng.choice([0.5, 1.0], 300)
    stays = _stays(rng, 2000, 25)
    expected = _pairwise(inf, weight, stays).sum(axis=1)
    got = venue_overlap(*inf, weight, *stays)
    assert got == pytest.approx(expected, abs=1e-6)


def test_overlap_of_no_infectious_stays_is_zero() -> None:
    empty = np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    stays = _stays(np.random.default_rng(1), 10, 3)
    assert (venue_overlap(*empty, np.zeros(0), *stays) == 0).all()


@pytest.mark.parametrize("seed", range(3))
def test_pick_follows_weight_times_shared_minutes(seed: int) -> None:
    """Presence.pick draws whom a stay met with the law of the pairwise weighting."""
    rng = np.random.default_rng(seed)
    inf = _stays(rng, 60, 3)
    weight = rng.choice([0.5, 1.0], 60)
    stays = _stays(rng, 40, 3)
    pairs = _pairwise(inf, weight, stays)
    met = pairs.sum(axis=1) > 0
    stays = tuple(a[met] for a in stays)
    pairs = pairs[met]
    presence = Presence.build(*inf, weight)
    draws = 4000
    repeated = tuple(np.repeat(a, draws) for a in stays)
    picked = presence.pick(*repeated, rng.random(len(repeated[0]))).reshape(-1, draws)
    for i, row in enumerate(picked):
        law = pairs[i] / pairs[i].sum()
        assert (law[row] > 0).all()  # only visitors it actually met
        seen = np.bincount(row, minlength=len(law)) / draws
        assert np.abs(seen - law).max() < 0.04


def test_pick_with_one_visitor_present_takes_them() -> None:
    presence = Presence.build(
        np.array([0, 0, 1]),
        np.array([0.0, 100.0, 0.0]),
        np.array([50.0, 200.0, 1440.0]),
        np.ones(3),
    )
    got = presence.pick(
        np.array([0, 0, 1]),
        np.array([10.0, 120.0, 5.0]),
        np.array([20.0, 130.0, 6.0]),
        np.array([0.3, 0.9, 0.5]),
    )
    assert got.tolist() == [0, 1, 2]


def test_venue_chooser_guide_table_matches_binary_search() -> None:
    pop = build_population(
        generate_registry(20_000, seed=3), default_scenario(), np.random.default_rng(3)
    )
    chooser = VenueChooser.build(pop)
    rng = np.random.default_rng(4)
    edges = np.array([0.0, 1e-300, 0.25, 0.5, 1 - 1e-16, np.nextafter(1.0, 0.0)])
    for vtype in range(len(pop.venue_types)):
        county = np.concatenate(
            [pop.county[rng.integers(0, pop.n, 50_000)], np.repeat(pop.county[:3], 6)]
        )
        u = np.concatenate([rng.random(50_000), np.tile(edges, 3)])
        assert (
            chooser.choose(vtype, county, u) == chooser.choose_by_search(vtype, county, u)
        ).all()
