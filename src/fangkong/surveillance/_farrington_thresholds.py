"""Farrington's thresholds: the upper bound of the current count under the fitted model —
the delta method on a power-transformed scale (Farrington 1996) or the negative
binomial plug-in / mu-an quantiles (Noufaily et al. 2013, R's discrete quantile search).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from fangkong.surveillance._glm import DBL_EPS, F64, Bools
from fangkong.surveillance.farrington_params import _EXPONENT


def _delta_upper(mu0: F64, se_fit: F64, phi: F64, powertrans: str, z: float) -> F64:
    """R's algo.farrington.threshold(.farrington): the upper end of the (transformed)
    normal prediction interval; R sorts the two ends with NA first and takes the second."""
    with np.errstate(all="ignore"):
        tau = phi + (se_fit**2) / mu0
        if powertrans == "none":
            se = np.sqrt(mu0 * tau)
        elif powertrans == "1/2":
            se = np.sqrt(1 / 4 * tau)
        else:
            se = np.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)
        exponent = _EXPONENT[powertrans]
        lower = (mu0**exponent - z * se) ** (1 / exponent)
        upper = (mu0**exponent + z * se) ** (1 / exponent)
    return np.fmax(lower, upper)


_FUZZ = 1 - 64 * DBL_EPS  # R's left-continuity fuzz in its discrete quantile search


def _discrete_quantile(p: float, cdf: Callable[[F64, Bools], F64], first_guess: F64) -> F64:
    """Smallest y >= 0 with cdf(y) >= p (1 - 64 eps), as R's qpois/qnbinom search."""
    target = p * _FUZZ
    y = np.where(np.isfinite(first_guess), np.maximum(first_guess, 0.0), np.nan)
    ok = np.isfinite(y)
    for _ in range(64):
        down = ok & (y > 0)
        down[down] = cdf(y[down] - 1, down) >= target
        if not down.any():
            break
        y[down] -= 1
    for _ in range(64):
        up = ok.copy()
        up[up] = cdf(y[up], up) < target
        if not up.any():
            break
        y[up] += 1
    return y


def _noufaily_upper(eta0: F64, se_link: F64, phi: F64, method: str, alpha: float) -> F64:
    """R's algo.farrington.threshold.noufaily: the (1 - alpha) quantile of a negative
    binomial (Poisson when phi is 1) with mean exp(eta0) (nbPlugin) or the (1 - alpha)
    quantile of exp(eta0)'s asymptotic normal distribution (muan)."""
    with np.errstate(all="ignore"):
        if method == "nbPlugin":
            mu = np.exp(eta0)
        else:
            mu = np.exp(eta0 + se_link * float(stats.norm.ppf(1 - alpha)))
        size = mu / (phi - 1)
        prob = 1 / phi
    nb = phi > 1
    out = np.full(len(mu), np.nan)
    finite = np.isfinite(mu)
    p = 1 - alpha
    sel = finite & nb
    if sel.any():
        s_, pr_ = size[sel], prob[sel]

        def nb_cdf(y: F64, mask: Bools) -> F64:
            return np.asarray(stats.nbinom.cdf(y, s_[mask], pr_[mask]))

        out[sel] = _discrete_quantile(p, nb_cdf, stats.nbinom.ppf(p, s_, pr_))
    sel = finite & ~nb
    if sel.any():
        lam = mu[sel]

        def pois_cdf(y: F64, mask: Bools) -> F64:
            return np.asarray(stats.poisson.cdf(y, lam[mask]))

        out[sel] = _discrete_quantile(p, pois_cdf, stats.poisson.ppf(p, lam))
    return out
