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
from functools import cached_property

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

    @cached_property
    def basis_lin(self) -> F64:
        """(n, levels + 1): the level indicators and t (the design matrix)."""
        out = np.zeros((self.n, self.levels + 1))
        out[np.arange(self.n), self.level_of] = 1.0
        out[:, -1] = self.t
        return out

    @cached_property
    def basis_lin_t(self) -> F64:
        return np.ascontiguousarray(self.basis_lin.T)

    @cached_property
    def basis_w(self) -> F64:
        """(n, 2 levels + 1): indicators, indicators times t, t squared — a weight vector
        times this gives every sum the arrow-shaped cross-product matrix needs."""
        g = self.basis_lin[:, :-1]
        return np.hstack([g, g * self.t[:, None], (self.t * self.t)[:, None]])

    @cached_property
    def basis_w_t(self) -> F64:
        return np.ascontiguousarray(self.basis_w.T)


@dataclass
class Fit:
    """One fitted model per row (R's ``glm.fit`` object, the parts Farrington uses)."""

    layout: Layout
    counts: Counts
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
        resid = (self.counts.y - self.mu) / self.mu
        pearson = np.sum(np.where(self.prior > 0, self.prior * resid * resid, 0.0), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: F64 = np.where(self.df_residual > 0, pearson / self.df_residual, np.nan)
        return out

    def reported_dispersion(self) -> F64:
        return self.dispersion if self.summary_dispersion is None else self.summary_dispersion

    def replace_rows(self, rows: I64, other: Fit) -> None:
        """Put ``other``'s rows (a refit of some rows) in place of rows ``rows``."""
        for name in (
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
        """Diagonal of the hat matrix of the last weighted least-squares step:
        w_i (1/S_g + (t_i - T_g/S_g)^2 / schur), expanded in the layout's basis."""
        lay = self.layout
        s = self.sum_w
        tbar = _safe_div(self.sum_wt, s)
        inv_q = np.where(self.trend, _safe_div(1.0, self.schur), 0.0)[:, None]
        coef = np.concatenate(
            [_safe_div(1.0, s) + tbar * tbar * inv_q, -2.0 * tbar * inv_q, inv_q], axis=1
        )
        hat: F64 = self.work_w * (coef @ lay.basis_w_t)
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


@dataclass
class _Consts:
    """Per-row quantities fixed during one fit."""

    y: F64
    prior: F64 | None
    offset: F64 | None
    py_lin: F64  # (A, levels + 1): sums of prior * y per level, and of prior * y * t
    py_offset: F64  # (A,) sum of prior * y * offset
    dev_const: F64  # (A,) sum of prior * (y log y - y)

    def take(self, keep: Bools) -> _Consts:
        return _Consts(
            self.y[keep],
            None if self.prior is None else self.prior[keep],
            None if self.offset is None else self.offset[keep],
            self.py_lin[keep],
            self.py_offset[keep],
            self.dev_const[keep],
        )


@dataclass
class _Step:
    """Working weights and residual sums at the current coefficients."""

    sums_w: F64  # (A, 2 levels + 1): S per level, T per level, U
    sums_r: F64  # (A, levels + 1): sums of prior * (y - mu) per level, and times t
    dev: F64


def _linear(lay: Layout, level: F64, slope: F64) -> F64:
    coef = np.concatenate([level, slope[:, None]], axis=1)
    eta: F64 = coef @ lay.basis_lin_t
    return eta


def _at(lay: Layout, c: _Consts, level: F64, slope: F64) -> _Step:
    """Evaluate mu, the working weights' sums and the deviance at new coefficients."""
    eta = _linear(lay, level, slope)
    if c.offset is not None:
        eta += c.offset
    mu = np.exp(eta)
    np.maximum(mu, DBL_EPS, out=mu)  # R's poisson()$linkinv
    w = mu if c.prior is None else c.prior * mu
    r = c.y - mu
    if c.prior is not None:
        r *= c.prior
    sums_w: F64 = w @ lay.basis_w
    sums_r: F64 = r @ lay.basis_lin
    k = lay.levels
    # sum prior * y * log(mu) is linear in the coefficients unless mu was floored at eps
    ylogmu = np.sum(c.py_lin[:, :k] * level, axis=1) + slope * c.py_lin[:, k] + c.py_offset
    dev = 2.0 * (c.dev_const - ylogmu + np.sum(sums_w[:, :k], axis=1))
    floored = np.flatnonzero(np.min(eta, axis=1) < LOG_DBL_EPS)
    if floored.size:
        yy = c.y[floored]
        pr = 1.0 if c.prior is None else c.prior[floored]
        log_mu = np.maximum(eta[floored], LOG_DBL_EPS)
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = np.where(yy > 0, yy * np.log(yy), 0.0)
        dev[floored] = 2.0 * np.sum(pr * (ylogy - yy * log_mu - (yy - mu[floored])), axis=1)
    return _Step(sums_w, sums_r, dev)


def _solve(lay: Layout, sums_w: F64, z_lin: F64, trend: Bools) -> tuple[F64, F64, F64]:
    """Weighted least squares from the sums: S, T per level and U (weights), Z per level
    and V (weights times working response). Returns level coefficients, slope, Schur
    complement U - sum(T^2 / S)."""
    k = lay.levels
    s, st, u = sums_w[:, :k], sums_w[:, k : 2 * k], sums_w[:, 2 * k]
    sz, v = z_lin[:, :k], z_lin[:, k]
    schur = u - np.sum(_safe_div(st * st, s), axis=1)
    num = v - np.sum(_safe_div(st * sz, s), axis=1)
    slope = np.where(trend, _safe_div(num, schur), 0.0)
    level = _safe_div(sz - slope[:, None] * st, s)
    return level, slope, schur


def _z_sums(lay: Layout, step: _Step, level: F64, slope: F64) -> F64:
    """Sums of w * z for the next step: z = eta - offset + (y - mu) / mu, and w * (eta -
    offset) is linear in the current coefficients."""
    k = lay.levels
    s, st, u = step.sums_w[:, :k], step.sums_w[:, k : 2 * k], step.sums_w[:, 2 * k]
    out = step.sums_r.copy()
    out[:, :k] += level * s + slope[:, None] * st
    out[:, k] += np.sum(level * st, axis=1) + slope * u
    return out


@dataclass(frozen=True)
class Counts:
    """Counts with the logarithms every fit of them needs, computed once."""

    y: F64
    ylogy: F64  # y log y (0 for y = 0)
    eta_start: F64  # log(y + 0.1): R's start
    y_two_thirds: F64  # y^(2/3), for Anscombe residuals

    @classmethod
    def of(cls, y: F64) -> Counts:
        top = float(np.max(y)) if y.size else 0.0
        if top < 1e6 and np.array_equal(y, np.floor(y)):
            # small integer counts: look the logarithms up (much cheaper than np.log)
            v = np.arange(int(top) + 1, dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                tab_ylogy = np.where(v > 0, v * np.log(v), 0.0)
            idx = y.astype(np.intp)
            return cls(y, tab_ylogy[idx], np.log(v + 0.1)[idx], (v ** (2 / 3))[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = np.where(y > 0, y * np.log(y), 0.0)
        return cls(y, ylogy, np.log(y + 0.1), y ** (2 / 3))

    def take(self, rows: I64) -> Counts:
        return Counts(self.y[rows], self.ylogy[rows], self.eta_start[rows], self.y_two_thirds[rows])


def fit_quasipoisson(
    lay: Layout,
    counts: Counts,
    *,
    trend: Bools,
    prior: F64 | None = None,
    offset: F64 | None = None,
) -> Fit:
    """Fit ``y ~ level + trend (+ offset)`` by IRLS for every row, as R's glm.fit does."""
    y, ylogy = counts.y, counts.ylogy
    rows = y.shape[0]
    k = lay.levels
    py = y if prior is None else prior * y
    consts = _Consts(
        y,
        prior,
        offset,
        py @ lay.basis_lin,
        np.zeros(rows) if offset is None else np.sum(py * offset, axis=1),
        np.sum((ylogy - y) if prior is None else prior * (ylogy - y), axis=1),
    )
    # R's start: mustart = y + 0.1, eta = log(mustart) without the offset
    eta0 = counts.eta_start
    mu0 = np.maximum(np.exp(eta0), DBL_EPS)
    w0 = mu0 if prior is None else prior * mu0
    pr = 1.0 if prior is None else prior
    devold = 2.0 * np.sum(pr * (ylogy - y * np.maximum(eta0, LOG_DBL_EPS) - (y - mu0)), axis=1)
    ex = eta0 if offset is None else eta0 - offset
    sums_w = w0 @ lay.basis_w
    z_lin = (w0 * ex + pr * (y - mu0)) @ lay.basis_lin

    out_level = np.zeros((rows, k))
    out_slope = np.zeros(rows)
    out_prev_level = np.zeros((rows, k))
    out_prev_slope = np.zeros(rows)
    out_from_start = np.zeros(rows, dtype=bool)
    out_sums_w = np.zeros((rows, 2 * k + 1))
    out_schur = np.zeros(rows)
    out_conv = np.zeros(rows, dtype=bool)

    act = np.arange(rows)
    c = consts
    tr = trend
    prev: tuple[F64, F64] | None = None  # coefficients that gave the current weights
    for it in range(MAXIT):
        level, slope, schur = _solve(lay, sums_w, z_lin, tr)
        step = _at(lay, c, level, slope)
        bad = ~np.isfinite(step.dev)
        if bad.any():
            level, slope, step = _halve(lay, c, bad, level, slope, prev, step)
        conv = np.abs(step.dev - devold) / (np.abs(step.dev) + 0.1) < EPSILON
        done = conv if it < MAXIT - 1 else np.ones_like(conv)
        if done.any():
            idx = act[done]
            out_level[idx] = level[done]
            out_slope[idx] = slope[done]
            if prev is None:
                out_from_start[idx] = True
            else:
                out_prev_level[idx] = prev[0][done]
                out_prev_slope[idx] = prev[1][done]
            out_sums_w[idx] = sums_w[done]
            out_schur[idx] = schur[done]
            out_conv[idx] = conv[done]
            keep = ~done
            act = act[keep]
            if len(act) == 0:
                break
            c, tr = c.take(keep), tr[keep]
            level, slope = level[keep], slope[keep]
            step = _Step(step.sums_w[keep], step.sums_r[keep], step.dev[keep])
        devold = step.dev
        prev = (level, slope)
        sums_w = step.sums_w
        z_lin = _z_sums(lay, step, level, slope)

    mu = _mu(lay, out_level, out_slope, offset)
    mu_prev = _mu(lay, out_prev_level, out_prev_slope, offset)
    if out_from_start.any():
        mu_prev[out_from_start] = mu0[out_from_start]
    work_w = mu_prev if prior is None else prior * mu_prev
    resid = (y - mu) / mu  # working residuals: mu.eta(eta) is mu for the log link
    n_ok = y.shape[1] if prior is None else np.sum(prior > 0, axis=1)
    rank = np.sum(out_sums_w[:, :k] > 0, axis=1) + trend.astype(np.int64)
    df_r = (n_ok - rank).astype(np.float64)
    pearson = np.sum(np.where(work_w > 0, work_w * resid * resid, 0.0), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        disp = np.where(df_r > 0, pearson / df_r, np.nan)
    return Fit(
        layout=lay,
        counts=counts,
        prior=np.ones_like(y) if prior is None else prior,
        trend=trend.copy(),
        converged=out_conv,
        level_coef=out_level,
        slope=out_slope,
        mu=mu,
        work_w=work_w,
        sum_w=out_sums_w[:, :k].copy(),
        sum_wt=out_sums_w[:, k : 2 * k].copy(),
        schur=out_schur,
        dispersion=disp,
        df_residual=df_r,
    )


def _mu(lay: Layout, level: F64, slope: F64, offset: F64 | None) -> F64:
    eta = _linear(lay, level, slope)
    if offset is not None:
        eta += offset
    mu = np.exp(eta)
    np.maximum(mu, DBL_EPS, out=mu)
    return mu


def _halve(
    lay: Layout,
    c: _Consts,
    bad: Bools,
    level: F64,
    slope: F64,
    prev: tuple[F64, F64] | None,
    step: _Step,
) -> tuple[F64, F64, _Step]:
    """R's 'inner loop 1': halve the step towards the previous coefficients while the
    deviance is not finite."""
    if prev is None:
        raise FloatingPointError(
            "GLM: no valid set of coefficients has been found (R: please supply starting values)"
        )
    level, slope = level.copy(), slope.copy()
    for _ in range(MAXIT):
        rows = np.flatnonzero(bad)
        if rows.size == 0:
            return level, slope, step
        level[rows] = (level[rows] + prev[0][rows]) / 2.0
        slope[rows] = (slope[rows] + prev[1][rows]) / 2.0
        sub = _at(lay, c.take(bad), level[rows], slope[rows])
        step.sums_w[rows] = sub.sums_w
        step.sums_r[rows] = sub.sums_r
        step.dev[rows] = sub.dev
        bad = ~np.isfinite(step.dev)
    raise FloatingPointError("GLM: inner loop 1; cannot correct step size")
