"""Log-linear count regressions fitted the way R fits them (``glm.fit``, ``MASS::glm.nb``).

The detection methods that estimate an in-control mean (CUSUM ``m = "glm"``, the GLR
charts) must agree with R to 1e-6, so this is R's iteration, not just any maximiser:
IRLS from R's starting values with R's stopping rule ``|dev - dev_old| / (|dev| + 0.1) <
epsilon``, and for ``glm.nb`` MASS's alternation between a fixed-theta fit and
``theta.ml`` (whose own tolerance is only ``eps^(1/4)``, so the path matters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln, polygamma

F64 = npt.NDArray[np.float64]
_EPS = float(np.finfo(np.float64).eps)
EPSILON = 1e-8  # glm.control()
MAXIT = 25


@dataclass(frozen=True)
class GlmFit:
    coef: F64
    mu: F64
    theta: float  # inf for Poisson

    def predict(self, x: F64) -> F64:
        return np.asarray(np.exp(x @ self.coef), dtype=np.float64)


def _deviance(y: F64, mu: F64, theta: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.isinf(theta):
            r = np.where(y > 0, y * np.log(y / mu) - (y - mu), mu)
        else:
            r = y * np.log(np.maximum(1.0, y) / mu) - (y + theta) * np.log(
                (y + theta) / (mu + theta)
            )
    return float(2.0 * np.sum(r))


def glm_fit(x: F64, y: F64, *, theta: float = np.inf, etastart: F64 | None = None) -> GlmFit:
    """IRLS for a log-link Poisson (``theta = inf``) or negative binomial (fixed theta)."""
    if etastart is None:
        mustart = y + 0.1 if np.isinf(theta) else y + (y == 0) / 6.0
        eta = np.log(mustart)
    else:
        eta = etastart
    mu = np.maximum(np.exp(eta), _EPS)
    devold = _deviance(y, mu, theta)
    coef = np.zeros(x.shape[1])
    for _ in range(MAXIT):
        mu_eta = np.maximum(np.exp(eta), _EPS)
        variance = mu if np.isinf(theta) else mu + mu**2 / theta
        z = eta + (y - mu) / mu_eta
        w = np.sqrt(mu_eta**2 / variance)
        coef = np.linalg.lstsq(x * w[:, None], z * w, rcond=None)[0]
        eta = x @ coef
        mu = np.maximum(np.exp(eta), _EPS)
        dev = _deviance(y, mu, theta)
        if abs(dev - devold) / (abs(dev) + 0.1) < EPSILON:
            break
        devold = dev
    return GlmFit(coef, mu, theta)


def theta_ml(y: F64, mu: F64, limit: int = MAXIT) -> float:
    """MASS ``theta.ml``: Newton steps on the NB shape with tolerance ``eps^(1/4)``."""
    n = float(len(y))
    t0 = n / float(np.sum((y / mu - 1.0) ** 2))
    it = 0
    delta = 1.0
    tol = _EPS**0.25
    while True:
        it += 1
        if not (it < limit and abs(delta) > tol):
            break
        t0 = abs(t0)
        score = np.sum(
            digamma(t0 + y) - digamma(t0) + np.log(t0) + 1.0 - np.log(t0 + mu)
            - (y + t0) / (mu + t0)
        )  # fmt: skip
        info = np.sum(
            -polygamma(1, t0 + y) + polygamma(1, t0) - 1.0 / t0 + 2.0 / (mu + t0)
            - (y + t0) / (mu + t0) ** 2
        )  # fmt: skip
        delta = float(score / info)
        t0 = t0 + delta
    return max(t0, 0.0)


def _nb_loglik(theta: float, mu: F64, y: F64) -> float:
    return float(
        np.sum(
            gammaln(theta + y) - gammaln(theta) - gammaln(y + 1.0) + theta * np.log(theta)
            + y * np.log(mu + (y == 0)) - (theta + y) * np.log(theta + mu)
        )
    )  # fmt: skip


def glm_nb(x: F64, y: F64) -> GlmFit:
    """MASS ``glm.nb``: Poisson start, then alternate NB fits and ``theta.ml``."""
    fit = glm_fit(x, y)
    mu = fit.mu
    th = theta_ml(y, mu)
    rank = int(np.linalg.matrix_rank(x))
    d1 = np.sqrt(2.0 * max(1, len(y) - rank))
    d2 = delta = 1.0
    lm = _nb_loglik(th, mu, y)
    lm0 = lm + 2.0 * d1
    it = 0
    while True:
        it += 1
        if not (it <= MAXIT and abs(lm0 - lm) / d1 + abs(delta) / d2 > EPSILON):
            break
        fit = glm_fit(x, y, theta=th, etastart=np.log(mu))
        t0 = th
        th = theta_ml(y, mu)  # MASS uses the previous fit's means here
        mu = fit.mu
        delta = t0 - th
        lm0 = lm
        lm = _nb_loglik(th, mu, y)
    return GlmFit(fit.coef, fit.mu, th)


def harmonic_design(t: F64, period: float, harmonics: int, trend: bool) -> F64:
    """Columns ``1 [, t], cos(2 s pi/p t), sin(2 s pi/p t)`` for s = 1..harmonics."""
    cols = [np.ones_like(t)]
    if trend:
        cols.append(t)
    for s in range(1, harmonics + 1):
        omega = 2 * s * np.pi / period
        cols.append(np.cos(omega * t))
        cols.append(np.sin(omega * t))
    return np.column_stack(cols)
