"""Batched quasi-Poisson GLM fits, step for step as R's ``glm.fit`` (IRLS, log link).

Many small regressions are fitted at once: each problem is one row of a 2-D array and all
rows share one *layout*, the columns of the model: a factor (one indicator column per
level, the observations of a level stored contiguously) and, per row, an optional linear
time trend. Such a design's cross-product matrix is an arrow (diagonal plus one row and
column), so every weighted least-squares step is solved in closed form with sums per
level, no matrix factorisation.

The iteration follows R's ``glm.fit`` exactly: start ``mu = y + 0.1``, ``eta = log(mu)``
(the offset is not in the start), working weights and response from the previous
``mu``, convergence when ``|dev - dev_old| / (|dev| + 0.1) < 1e-8``, at most 25
iterations, ``mu = max(exp(eta), eps)``, step halving while the deviance is not finite.
Fitted values do not depend on how the design is parametrised, so indicator columns
instead of R's intercept plus treatment contrasts, and a centred trend, give R's fit; only
rounding differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

EPSILON = 1e-8  # glm.control()$epsilon
MAXIT = 25  # glm.control()$maxit
DBL_EPS = float(np.finfo(np.float64).eps)
LOG_DBL_EPS = float(np.log(DBL_EPS))


@dataclass(frozen=True)
class Layout:
    """The columns shared by a batch: level blocks over the observation axis and a trend.

    ``starts`` are the first column of each level (levels contiguous, in order, none
    empty); ``t`` the centred time of each observation; ``t0`` the centred time and ``g0``
    the level of the period to predict.
    """

    starts: I64
    t: F64
    t0: float
    g0: int

    @property
    def n(self) -> int:
        return len(self.t)

    @property
    def levels(self) -> int:
        return len(self.starts)

    @property
    def level_of(self) -> I64:
        sizes = np.diff(np.append(self.starts, self.n))
        return np.repeat(np.arange(self.levels, dtype=np.int64), sizes)


@dataclass
class Fit:
    """One fitted model per row (R's ``glm.fit`` object, the parts Farrington uses)."""

    layout: Layout
    y: F64
    prior: F64
    trend: Bools
    converged: Bools
    level_coef: F64  # (A, levels)
    slope: F64  # (A,) 0 where no trend
    mu: F64  # final fitted values
    work_w: F64  # working weights of the last iteration (R's fit$weights)
    sum_w: F64  # (A, levels) sums of work_w per level
    sum_wt: F64  # (A, levels) sums of work_w * t per level
    schur: F64  # (A,) U - sum(T^2/S): 1/schur is the slope's unscaled variance
    dispersion: F64  # summary.glm()$dispersion (Pearson, not floored)
    df_residual: F64
    # what a later summary.glm() reports: R's farringtonFlexible overwrites the fit's
    # working weights with the prior weights, which changes it (see prior_weight_dispersion)
    summary_dispersion: F64 | None = None

    def prior_weight_dispersion(self) -> F64:
        """summary.glm's dispersion once ``model$weights`` holds the prior weights."""
        resid = (self.y - self.mu) / self.mu
        pearson = np.sum(np.where(self.prior > 0, self.prior * resid * resid, 0.0), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: F64 = np.where(self.df_residual > 0, pearson / self.df_residual, np.nan)
        return out

    def reported_dispersion(self) -> F64:
        return self.dispersion if self.summary_dispersion is None else self.summary_dispersion

    def replace_rows(self, rows: I64, other: Fit) -> None:
        """Put ``other``'s rows (a refit of some rows) in place of rows ``rows``."""
        for name in (
            "y",
            "prior",
            "trend",
            "converged",
            "level_coef",
            "slope",
            "mu",
            "work_w",
            "sum_w",
            "sum_wt",
            "schur",
            "dispersion",
            "df_residual",
        ):
            getattr(self, name)[rows] = getattr(other, name)

    def phi(self) -> F64:
        """Farrington's overdispersion: the dispersion, at least 1."""
        return np.maximum(self.dispersion, 1.0)

    def link_variance(self, t0: float | None = None, g0: int | None = None) -> F64:
        """Unscaled variance of the linear predictor at a new point (level g0, time t0)."""
        t0 = self.layout.t0 if t0 is None else t0
        g0 = self.layout.g0 if g0 is None else g0
        s = self.sum_w[:, g0]
        var = _safe_div(1.0, s)
        dev = t0 - _safe_div(self.sum_wt[:, g0], s)
        return var + np.where(self.trend, _safe_div(dev * dev, self.schur), 0.0)

    def predict_link(self, offset0: F64 | float = 0.0) -> F64:
        lay = self.layout
        return self.level_coef[:, lay.g0] + self.slope * lay.t0 + offset0

    def hat_values(self) -> F64:
        """Diagonal of the hat matrix of the last weighted least-squares step."""
        lay = self.layout
        lev = lay.level_of
        s = self.sum_w[:, lev]
        inner = _safe_div(1.0, s)
        dev = lay.t[None, :] - _safe_div(self.sum_wt[:, lev], s)
        inner = inner + np.where(
            self.trend[:, None], _safe_div(dev * dev, self.schur[:, None]), 0.0
        )
        hat = self.work_w * inner
        # lm.influence rounds hat values within 10 eps of 1 to exactly 1
        hat[hat > 1.0 - 10.0 * DBL_EPS] = 1.0
        return hat

    def slope_p_value(self) -> F64:
        """summary.glm's two-sided t-test p-value for the trend coefficient."""
        se = np.sqrt(_safe_div(self.reported_dispersion(), self.schur))
        tval = self.slope / se
        with np.errstate(invalid="ignore"):
            p = 2.0 * stats.t.sf(np.abs(tval), self.df_residual)
        return np.asarray(p, dtype=np.float64)


def _safe_div(a: F64 | float, b: F64) -> F64:
    out = np.zeros(np.broadcast_shapes(np.shape(a), np.shape(b)))
    np.divide(a, b, out=out, where=b != 0)
    return out


def _level_sums(x: F64, starts: I64) -> F64:
    return np.asarray(np.add.reduceat(x, starts, axis=1), dtype=np.float64)


def _poisson_deviance(y: F64, ylogy: F64, mu: F64, log_mu: F64, prior: F64) -> F64:
    # 2 * wt * (y log(y/mu) - (y - mu)), with y log(y/mu) = 0 for y = 0
    r = ylogy - y * log_mu - (y - mu)
    dev: F64 = 2.0 * np.sum(prior * r, axis=1)
    return dev


def _linkinv(eta: F64) -> tuple[F64, F64]:
    """R's poisson()$linkinv: max(exp(eta), eps); also log of it."""
    mu = np.exp(eta)
    np.maximum(mu, DBL_EPS, out=mu)
    return mu, np.maximum(eta, LOG_DBL_EPS)


def _solve_step(lay: Layout, w: F64, z: F64, trend: Bools) -> tuple[F64, F64, F64, F64, F64]:
    """Weighted least squares of z on the layout's columns with weights w."""
    t = lay.t[None, :]
    wt = w * t
    s = _level_sums(w, lay.starts)
    st = _level_sums(wt, lay.starts)
    sz = _level_sums(w * z, lay.starts)
    u = np.sum(wt * t, axis=1)
    v = np.sum(wt * z, axis=1)
    schur = u - np.sum(_safe_div(st * st, s), axis=1)
    num = v - np.sum(_safe_div(st * sz, s), axis=1)
    slope = np.where(trend, _safe_div(num, schur), 0.0)
    level = _safe_div(sz - slope[:, None] * st, s)
    return level, slope, s, st, schur


def _eta(lay: Layout, level: F64, slope: F64, offset: F64) -> F64:
    sizes = np.diff(np.append(lay.starts, lay.n))
    return np.repeat(level, sizes, axis=1) + slope[:, None] * lay.t[None, :] + offset


def fit_quasipoisson(
    lay: Layout,
    y: F64,
    *,
    trend: Bools,
    prior: F64 | None = None,
    offset: F64 | None = None,
) -> Fit:
    """Fit ``y ~ level + trend (+ offset)`` by IRLS for every row, as R's glm.fit does."""
    a_rows = y.shape[0]
    prior = np.ones_like(y) if prior is None else prior
    offset = np.zeros_like(y) if offset is None else offset
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(y), 0.0)

    out_level = np.zeros((a_rows, lay.levels))
    out_slope = np.zeros(a_rows)
    out_mu = np.zeros_like(y)
    out_w = np.zeros_like(y)
    out_s = np.zeros((a_rows, lay.levels))
    out_st = np.zeros((a_rows, lay.levels))
    out_schur = np.zeros(a_rows)
    out_conv = np.zeros(a_rows, dtype=bool)

    act = np.arange(a_rows)
    ya, pa, oa, la, ta = y, prior, offset, ylogy, trend
    eta = np.log(ya + 0.1)
    mu, log_mu = _linkinv(eta)
    devold = _poisson_deviance(ya, la, mu, log_mu, pa)
    level_old: F64 | None = None
    slope_old: F64 | None = None
    for _ in range(MAXIT):
        mu_eta = np.maximum(np.exp(eta), DBL_EPS)
        z = (eta - oa) + (ya - mu) / mu_eta
        w = pa * mu_eta * mu_eta / mu
        level, slope, s, st, schur = _solve_step(lay, w, z, ta)
        eta = _eta(lay, level, slope, oa)
        mu, log_mu = _linkinv(eta)
        dev = _poisson_deviance(ya, la, mu, log_mu, pa)
        bad = ~np.isfinite(dev)
        if bad.any():
            level, slope, eta, mu, log_mu, dev = _halve(
                lay,
                bad,
                level,
                slope,
                level_old,
                slope_old,
                oa,
                ya,
                la,
                pa,
                eta,
                mu,
                log_mu,
                dev,
            )
        conv = np.abs(dev - devold) / (np.abs(dev) + 0.1) < EPSILON
        done = conv if _ < MAXIT - 1 else np.ones_like(conv)
        if done.any():
            idx = act[done]
            out_level[idx] = level[done]
            out_slope[idx] = slope[done]
            out_mu[idx] = mu[done]
            out_w[idx] = w[done]
            out_s[idx] = s[done]
            out_st[idx] = st[done]
            out_schur[idx] = schur[done]
            out_conv[idx] = conv[done]
            keep = ~done
            act = act[keep]
            if len(act) == 0:
                break
            ya, pa, oa, la, ta = ya[keep], pa[keep], oa[keep], la[keep], ta[keep]
            eta, mu, dev = eta[keep], mu[keep], dev[keep]
            level, slope = level[keep], slope[keep]
        devold = dev
        level_old, slope_old = level, slope

    mu_eta = out_mu  # mu.eta(eta) equals the fitted mean for the log link
    resid = (y - out_mu) / mu_eta
    n_ok = np.sum(prior > 0, axis=1)
    rank = np.sum(out_s > 0, axis=1) + trend.astype(np.int64)
    df_r = (n_ok - rank).astype(np.float64)
    pearson = np.sum(np.where(out_w > 0, out_w * resid * resid, 0.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        disp = np.where(df_r > 0, pearson / df_r, np.nan)
    return Fit(
        layout=lay,
        y=y,
        prior=prior,
        trend=trend.copy(),
        converged=out_conv,
        level_coef=out_level,
        slope=out_slope,
        mu=out_mu,
        work_w=out_w,
        sum_w=out_s,
        sum_wt=out_st,
        schur=out_schur,
        dispersion=disp,
        df_residual=df_r,
    )


def _halve(
    lay: Layout,
    bad: Bools,
    level: F64,
    slope: F64,
    level_old: F64 | None,
    slope_old: F64 | None,
    oa: F64,
    ya: F64,
    la: F64,
    pa: F64,
    eta: F64,
    mu: F64,
    log_mu: F64,
    dev: F64,
) -> tuple[F64, F64, F64, F64, F64, F64]:
    """R's 'inner loop 1': halve the step towards the previous coefficients."""
    if level_old is None or slope_old is None:
        raise FloatingPointError(
            "GLM: no valid set of coefficients has been found (R: please supply starting values)"
        )
    for _ in range(MAXIT):
        if not bad.any():
            return level, slope, eta, mu, log_mu, dev
        level = np.where(bad[:, None], (level + level_old) / 2.0, level)
        slope = np.where(bad, (slope + slope_old) / 2.0, slope)
        eta = _eta(lay, level, slope, oa)
        mu, log_mu = _linkinv(eta)
        dev = _poisson_deviance(ya, la, mu, log_mu, pa)
        bad = ~np.isfinite(dev)
    raise FloatingPointError("GLM: inner loop 1; cannot correct step size")
