"""Farrington's model fits: the quasi-Poisson GLM of each reference window (``_glm.py``),
reweighted by Anscombe residuals, its prediction for the current period and the trend
test (drop the trend when it is not significant or would extrapolate too far).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fangkong.surveillance._glm import DBL_EPS, F64, Bools, Counts, Fit, Layout, fit_quasipoisson


def _anscombe_weights(fit: Fit, phi: F64, threshold: float) -> F64:
    """Anscombe residuals (R's anscombe.residuals) turned into algo.farrington.assign.weights."""
    mu = fit.mu
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.sqrt(mu)
        # y^(2/3) mu^(-1/6) - mu^(1/2), with roots instead of pow (equal to an ulp)
        a = 3 / 2 * (fit.counts.y_two_thirds / np.sqrt(np.cbrt(mu)) - root)
        s = a / np.sqrt(phi[:, None] * (1 - fit.hat_values()))
        inv2 = 1.0 / (s * s)
    big = s > threshold
    gamma = s.shape[1] / np.sum(np.where(big, inv2, 1.0), axis=1)
    return np.asarray(np.where(big, gamma[:, None] * inv2, gamma[:, None]), dtype=np.float64)


@dataclass(frozen=True)
class _FitOptions:
    reweight: bool
    weights_threshold: float
    # R's algo.farrington.fitGLM.populationOffset falls back to `response ~ 1` without
    # the offset when the trend model fails, then reweights the original model
    fallback_offset: bool = True
    reweight_original: bool = False
    # farringtonFlexible stores the reweighting weights as the model's weights, so its
    # later summary.glm() (trend test, prediction standard error) sees another dispersion
    weights_in_summary: bool = False


def _fit_reweighted(
    lay: Layout, y: Counts, offset: F64 | None, trend: Bools, opts: _FitOptions
) -> tuple[Fit, Bools]:
    """One call of R's fitFun: fit, drop the trend where IRLS failed, reweight, refit.

    Returns the fit and the rows where R's fit function gives up (no convergence even
    without the trend)."""
    fit = fit_quasipoisson(lay, y, trend=trend, offset=offset)
    failed = np.flatnonzero(~fit.converged & trend)
    if failed.size:
        off = offset[failed] if opts.fallback_offset and offset is not None else None
        retry = fit_quasipoisson(
            lay, y.take(failed), trend=np.zeros(failed.size, dtype=bool), offset=off
        )
        fit.replace_rows(failed, retry)
    null = ~fit.converged
    if opts.reweight:
        omega = _anscombe_weights(fit, fit.phi(), opts.weights_threshold)
        refit_trend = trend if opts.reweight_original else fit.trend
        with np.errstate(all="ignore"):
            fit = fit_quasipoisson(lay, y, trend=refit_trend, prior=omega, offset=offset)
            if opts.weights_in_summary:
                fit.summary_dispersion = fit.prior_weight_dispersion()
    return fit, null


@dataclass(frozen=True)
class _Prediction:
    eta0: F64  # linear predictor at the period
    var0: F64  # its unscaled variance
    dispersion: F64  # summary.glm dispersion
    phi: F64  # max(dispersion, 1)
    null: Bools  # R's fit function returned NULL


def _predict(fit: Fit, offset0: F64, null: Bools) -> _Prediction:
    return _Prediction(
        fit.predict_link(offset0), fit.link_variance(), fit.reported_dispersion(), fit.phi(), null
    )


def _linkinv(eta: F64) -> F64:
    return np.maximum(np.exp(eta), DBL_EPS)


def _with_trend_test(
    lay: Layout,
    y: Counts,
    offset: F64 | None,
    offset0: F64,
    *,
    trend: bool,
    b: int,
    p_threshold: float,
    opts: _FitOptions,
) -> tuple[_Prediction, Bools]:
    """Fit; keep the trend only if significant, b >= 3 and no extrapolation beyond the
    largest reference count (R's algo.farrington / algo.farrington.glm)."""
    rows = len(y.y)
    fit, null = _fit_reweighted(lay, y, offset, np.full(rows, trend), opts)
    pred = _predict(fit, offset0, null)
    has = fit.trend.copy()
    if not has.any():
        return pred, has
    with np.errstate(all="ignore"):
        significant = fit.slope_p_value() < p_threshold
        no_extrapolation = _linkinv(pred.eta0) <= np.max(y.y, axis=1)
    keep = has & (b >= 3) & significant & no_extrapolation
    redo = np.flatnonzero(has & ~keep)
    if redo.size:
        no_trend = np.zeros(redo.size, dtype=bool)
        off_r = None if offset is None else offset[redo]
        refit, null_r = _fit_reweighted(lay, y.take(redo), off_r, no_trend, opts)
        again = _predict(refit, offset0[redo], null_r)
        for name in ("eta0", "var0", "dispersion", "phi", "null"):
            getattr(pred, name)[redo] = getattr(again, name)
    return pred, keep
