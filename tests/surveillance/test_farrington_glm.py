"""The batched IRLS against an independent path: the Poisson log-likelihood maximised by
scipy.optimize with its exact gradient and Hessian, and dense linear algebra for the hat
values, dispersion and trend test."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from fangkong.surveillance._glm import Counts, Layout, fit_quasipoisson


@st.composite
def problems(draw: st.DrawFn) -> tuple[Layout, np.ndarray, np.ndarray, np.ndarray, bool]:
    levels = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(3, 9), min_size=levels, max_size=levels))
    n = sum(sizes)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = np.sort(rng.choice(np.arange(-200, 200), n, replace=False)).astype(float)
    t -= t.mean()
    starts = np.cumsum([0, *sizes[:-1]])
    lay = Layout(starts=starts.astype(np.int64), t=t, t0=float(t.max() + 3), g0=levels - 1)
    trend = draw(st.booleans())
    level_of = lay.level_of
    base = rng.uniform(0.5, 30, size=levels)[level_of] * np.exp(trend * 0.003 * t)
    y = rng.poisson(base).astype(float)
    for g in range(levels):  # the MLE is finite only if each level has a positive count
        y[starts[g]] += 1
    prior = rng.uniform(0.2, 2.0, n) if draw(st.booleans()) else np.ones(n)
    offset = rng.normal(0, 0.3, n) if draw(st.booleans()) else np.zeros(n)
    return lay, y, prior, offset, trend


def _design(lay: Layout, trend: bool) -> np.ndarray:
    x = lay.basis_lin
    return x if trend else x[:, :-1]


def _mle(x: np.ndarray, y: np.ndarray, prior: np.ndarray, offset: np.ndarray) -> np.ndarray:
    def nll(beta: np.ndarray) -> float:
        eta = x @ beta + offset
        return float(np.sum(prior * (np.exp(eta) - y * eta)))

    def grad(beta: np.ndarray) -> np.ndarray:
        return np.asarray(x.T @ (prior * (np.exp(x @ beta + offset) - y)))

    def hess(beta: np.ndarray) -> np.ndarray:
        mu = np.exp(x @ beta + offset)
        return np.asarray(x.T @ (x * (prior * mu)[:, None]))

    start = np.zeros(x.shape[1])
    start[: x.shape[1]] = np.linalg.lstsq(x, np.log(y + 0.5) - offset, rcond=None)[0]
    res = optimize.minimize(
        nll, start, jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-12}
    )
    return np.asarray(res.x)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_irls_matches_maximum_likelihood(
    problem: tuple[Layout, np.ndarray, np.ndarray, np.ndarray, bool],
) -> None:
    lay, y, prior, offset, trend = problem
    fit = fit_quasipoisson(
        lay,
        Counts.of(y[None, :]),
        trend=np.array([trend]),
        prior=prior[None, :],
        offset=offset[None, :],
    )
    assert fit.converged[0]
    x = _design(lay, trend)
    beta = _mle(x, y, prior, offset)
    mu = np.exp(x @ beta + offset)
    np.testing.assert_allclose(fit.mu[0], mu, rtol=1e-6)

    # dispersion, hat values and the trend's t-test from dense algebra at the MLE; R (and
    # so we) take them from the working weights of the last iteration, one step before the
    # final fit, hence the looser tolerance
    w = prior * mu
    info = x.T @ (x * w[:, None])
    cov = np.linalg.inv(info)
    df = len(y) - x.shape[1]
    disp = np.sum(w * ((y - mu) / mu) ** 2) / df
    np.testing.assert_allclose(fit.dispersion[0], disp, rtol=1e-3)
    hat = w * np.einsum("ij,jk,ik->i", x, cov, x)
    np.testing.assert_allclose(fit.hat_values()[0], hat, rtol=1e-3, atol=1e-12)
    x0 = np.zeros(x.shape[1])
    x0[lay.g0] = 1.0
    if trend:
        x0[-1] = lay.t0
        tval = beta[-1] / np.sqrt(cov[-1, -1] * disp)
        p = 2 * stats.t.sf(abs(tval), df)
        np.testing.assert_allclose(fit.slope_p_value()[0], p, rtol=1e-2, atol=1e-10)
    np.testing.assert_allclose(fit.link_variance()[0], x0 @ cov @ x0, rtol=1e-3)
    # on the log scale: mu agrees to 1e-6 relative above, so its log to 1e-6 absolute (a
    # tighter bound failed once in CI at 3.7e-7, an IRLS stop within its tolerance)
    np.testing.assert_allclose(fit.predict_link()[0], x0 @ beta, rtol=0, atol=1e-6)


def test_rows_are_independent() -> None:
    """A batch gives each row what it would get alone (converged rows are frozen while the
    others go on)."""
    rng = np.random.default_rng(7)
    t = np.arange(30, dtype=float) - 14.5
    lay = Layout(starts=np.array([0, 10, 20], dtype=np.int64), t=t, t0=20.0, g0=2)
    y = rng.poisson(np.exp(rng.uniform(-1, 4, size=(25, 1))), size=(25, 30)).astype(float)
    y[:, 0] += 1
    y[3] = 0.0  # an all-zero row: R's IRLS runs until the deviance stalls
    trend = rng.random(25) < 0.5
    batch = fit_quasipoisson(lay, Counts.of(y), trend=trend)
    for i in range(25):
        one = fit_quasipoisson(lay, Counts.of(y[i : i + 1]), trend=trend[i : i + 1])
        # equal but for rounding: BLAS sums a batch in another order than one row
        np.testing.assert_allclose(batch.mu[i], one.mu[0], rtol=1e-12)
        np.testing.assert_allclose(batch.dispersion[i], one.dispersion[0], rtol=1e-10)
