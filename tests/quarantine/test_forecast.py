"""The demand forecast's core: the Monte Carlo mean against the closed form with R fixed,
the vectorised last-window Rt posterior against ``surveillance.rt.estimate_r``, the day
capacity runs out, seeding, pack and Rt what-ifs, contacts measured as NB spreads."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fangkong.quarantine.forecast import (
    ForecastInputs,
    Spread,
    expected_rooms,
    posterior_last_window,
    project,
    with_pack_days,
)
from fangkong.surveillance.rt import discr_si, estimate_r


def si_weights(days: int = 20) -> np.ndarray:
    return discr_si(np.arange(days), 3.5, 2.0)


def inputs(n: int = 3, seed: int = 1, capacity: float = 500.0) -> ForecastInputs:
    rng = np.random.default_rng(seed)
    incidence = rng.poisson(np.linspace(2, 8, 21), size=(n, 21)).astype(np.float64)
    shape, scale = posterior_last_window(incidence, si_weights())
    occupied = np.tile(np.maximum(0, 40 - 6 * np.arange(14.0)), (n, 1))
    return ForecastInputs(
        incidence,
        shape,
        scale,
        si_weights(),
        Spread(6.0, 1.5),
        Spread(2.0, 3.0),
        7,
        0,
        np.full(n, capacity),
        occupied,
    )


@pytest.mark.parametrize(("r", "coc_days"), [(0.8, 0), (1.3, 0), (1.1, 7)])
def test_monte_carlo_mean_matches_the_closed_form(r: float, coc_days: int) -> None:
    inp = with_pack_days(inputs(), 7, coc_days)
    draws = 20_000
    fixed = np.full((3, draws), r)
    got = project(inp, draws=draws, r_draws=fixed, seed=3).mean
    exact = expected_rooms(inp, r)
    assert exact.shape == got.shape == (3, 14)
    # within 2% (several standard errors at 20,000 draws; observed ~0.3%) on every region and day
    np.testing.assert_allclose(got, exact, rtol=0.02, atol=0.5)
    # and the closed form is not trivially the running occupancy
    assert (exact[:, -1] > inp.occupied[:, -1] + 10).all()  # type: ignore[index]


def test_last_window_posterior_equals_estimate_r() -> None:
    rng = np.random.default_rng(7)
    incidence = rng.poisson(rng.uniform(0.5, 30, size=(40, 1)), size=(40, 30)).astype(float)
    incidence[:, 0] += 3
    si = si_weights(31)
    shape, scale = posterior_last_window(incidence, si, window=7)
    for i, row in enumerate(incidence):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = estimate_r(row, si_distr=si[:31], window=7)
        assert shape[i] == pytest.approx(ref.shape[-1], rel=1e-12)
        assert scale[i] == pytest.approx(ref.scale[-1], rel=1e-12)


def test_run_out_day_is_the_first_day_over_capacity() -> None:
    inp = inputs(capacity=120.0)
    fc = project(inp, draws=400, seed=5)
    day = fc.run_out_day()
    for i in range(3):
        over = np.flatnonzero(fc.median[i] > 120.0)
        assert day[i] == (over[0] + 1 if over.size else 0)
    assert (day > 0).any()  # the rising outbreak does outgrow 120 rooms
    assert (fc.low <= fc.median).all()
    assert (fc.median <= fc.high).all()
    assert ((fc.p_exceed >= 0) & (fc.p_exceed <= 1)).all()


def test_seeded_and_what_ifs() -> None:
    inp = inputs()
    a, b = project(inp, draws=300, seed=9), project(inp, draws=300, seed=9)
    np.testing.assert_array_equal(a.high, b.high)
    lower_r = project(inp, draws=300, seed=9, r_factor=0.5)
    assert (lower_r.cases_mean.sum(axis=1) < a.cases_mean.sum(axis=1)).all()
    # a pack with 5 centralised days needs fewer rooms than one with 7, same draws
    five = project(with_pack_days(inp, 5, 0), draws=300, seed=9)
    assert (five.mean <= a.mean + 1e-9).all()
    assert (five.mean[:, -1] < a.mean[:, -1]).all()


def test_spread_measured() -> None:
    assert Spread.measured([2, 2, 2, 2]).size == float("inf")  # no overdispersion: Poisson
    counts = [0, 0, 1, 10, 20, 1]
    s = Spread.measured(counts)
    mean, var = np.mean(counts), np.var(counts, ddof=1)
    assert s.mean == pytest.approx(mean)
    assert s.size == pytest.approx(mean**2 / (var - mean))
    assert Spread.measured([]).mean == 0.0
