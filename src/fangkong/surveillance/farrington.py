"""Farrington (1996) and farringtonFlexible (Noufaily et al. 2013) outbreak detection.

Numerically equal to R ``surveillance`` 1.20.3 (``algo.farrington`` and
``farringtonFlexible``); where R's documentation and R's code differ this module follows the
code (see ``docs/surveillance.md``, section "Farrington").

Public API::

    farrington(counts, *, freq=52, epoch_dates=None, population=None, range=None,
               b=5, w=3, reweight=True, alpha=0.05, trend=True, limit54=(5, 4),
               powertrans="2/3", fit_fun="algo.farrington.fitGLM.fast") -> Detection

    farrington_flexible(counts, *, freq=52, epoch_dates=None, population=None, range=None,
               b=5, w=3, reweight=True, weights_threshold=2.58, alpha=0.05, trend=True,
               p_threshold_trend=0.05, limit54=(5, 4), powertrans="2/3",
               fit_fun="algo.farrington.fitGLM.flexible", population_offset=False,
               no_periods=1, past_weeks_not_included=None,
               threshold_method="delta") -> Detection

    farrington_many(counts_2d, ...), farrington_flexible_many(counts_2d, ...)
        -> list[Detection]          # one per row (series x periods), vectorised

Every (series, period) model sharing a reference layout is one row of a batched IRLS
(``_glm.py``), so thousands of series cost a few array passes per iteration.

``counts`` is a 1-D sequence of non-negative counts, one per period (weeks when
``freq=52``, months 12, days 365). ``epoch_dates`` (optional, ``datetime.date`` per
period) switches on R's ``epochAsDate`` logic: reference periods found by calendar year
("-1 year") and weekday, as R does for an ``sts`` with dates. ``range`` is
``(start, end)``, 0-based positions, half-open like a Python slice; ``None`` takes R's
default (``freq*b - w`` (1-based) to the end for farrington, ``freq*b + w + 1`` to the
end for farringtonFlexible). ``population`` is R's ``population(sts)`` (used with
``population_offset=True``, or ``fit_fun="algo.farrington.fitGLM.populationOffset"``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from fangkong.surveillance._farrington_batch import _evaluate, _Outputs
from fangkong.surveillance._farrington_fit import _FitOptions, _linkinv, _with_trend_test
from fangkong.surveillance._farrington_reference import _farrington_obs, _flexible_obs
from fangkong.surveillance._farrington_thresholds import _delta_upper, _noufaily_upper
from fangkong.surveillance._glm import F64, I64, Bools, Counts, Layout
from fangkong.surveillance.farrington_params import (
    _bad,
    _check_common,
    _counts_2d,
    _dates,
    _population_2d,
    _positions,
)
from fangkong.surveillance.result import Detection

PowerTrans = Literal["2/3", "1/2", "none"]
ThresholdMethod = Literal["delta", "nbPlugin", "muan"]
FARRINGTON_FIT_FUNS = (
    "algo.farrington.fitGLM.fast",
    "algo.farrington.fitGLM",
    "algo.farrington.fitGLM.populationOffset",
)
FLEXIBLE_FIT_FUNS = ("algo.farrington.fitGLM.flexible",)


def _detections(
    method: str, counts: F64, positions: I64, out: _Outputs, params: Mapping[str, object]
) -> list[Detection]:
    return [
        Detection.build(
            method,
            positions,
            counts[i, positions],
            out.threshold[i],
            out.alarm[i],
            alarm_defined=out.alarm_defined[i],
            expected=out.expected[i],
            params=params,
        )
        for i in range(counts.shape[0])
    ]


def farrington_many(
    counts: npt.ArrayLike,
    *,
    freq: int = 52,
    epoch_dates: Sequence[dt.date] | None = None,
    population: npt.ArrayLike | None = None,
    range: tuple[int, int] | None = None,  # R's name
    b: int = 5,
    w: int = 3,
    reweight: bool = True,
    alpha: float = 0.05,
    trend: bool = True,
    limit54: tuple[int, int] = (5, 4),
    powertrans: PowerTrans = "2/3",
    fit_fun: str = "algo.farrington.fitGLM.fast",
) -> list[Detection]:
    """R's ``algo.farrington`` (``farrington(sts)``) on every row of a 2-D count array."""
    y = _counts_2d(counts, many=True)
    n = y.shape[1]
    _check_common(b, w, alpha, limit54, powertrans, freq)
    if fit_fun not in FARRINGTON_FIT_FUNS:
        raise _bad(
            "fit_fun",
            f"fit_fun 必须是 {FARRINGTON_FIT_FUNS} 之一",
            f"fit_fun must be one of {FARRINGTON_FIT_FUNS}",
        )
    dates = _dates(epoch_dates, n, freq)
    positions = _positions(range, freq * b - w - 1, n)
    with_offset = fit_fun == "algo.farrington.fitGLM.populationOffset"
    offsets = np.log(_population_2d(population, y.shape)) if with_offset else None
    opts = _FitOptions(
        reweight=reweight,
        weights_threshold=1.0,
        fallback_offset=not with_offset,
        reweight_original=with_offset,
    )
    z = float(stats.norm.ppf(1 - alpha / 2))

    def rows(
        lay: Layout, yy: Counts, off: F64 | None, off0: F64, yk: F64, recent: F64
    ) -> tuple[F64, Bools, Bools, F64]:
        pred, _ = _with_trend_test(
            lay, yy, off, off0, trend=trend, b=b, p_threshold=0.05, opts=opts
        )
        if fit_fun != "algo.farrington.fitGLM.fast" and pred.null.any():
            raise _bad(
                "convergence",
                "GLM 不收敛（R 的 algo.farrington 此时返回 NULL）",
                "the GLM did not converge (R's algo.farrington returns NULL here)",
            )
        mu0 = _linkinv(pred.eta0)
        with np.errstate(all="ignore"):
            se_fit = np.sqrt(pred.var0 * pred.phi) * mu0
            upper = _delta_upper(mu0, se_fit, pred.phi, powertrans, z)
            enough = recent >= limit54[0]
            x = np.where(enough, (yk - mu0) / (upper - mu0), 0.0)
        return np.where(enough, upper, 0.0), x > 1, ~np.isnan(x), mu0

    out = _evaluate(
        y,
        offsets,
        positions,
        lambda k: _farrington_obs(k, dates, b=b, w=w, freq=freq),
        1,
        limit54[1],
        rows,
    )
    params: dict[str, object] = {
        "b": b,
        "w": w,
        "reweight": reweight,
        "alpha": alpha,
        "trend": trend,
        "limit54": tuple(limit54),
        "powertrans": powertrans,
        "fit_fun": fit_fun,
        "freq": freq,
    }
    return _detections("farrington", y, positions, out, params)


def farrington(counts: npt.ArrayLike, **kwargs: object) -> Detection:
    """R's ``algo.farrington`` (Farrington et al. 1996) on one series; keywords as
    :func:`farrington_many` (R's control names in snake_case, R's defaults)."""
    arr = _counts_2d(counts, many=False)
    pop = kwargs.pop("population", None)
    if pop is not None:
        kwargs["population"] = np.asarray(pop, dtype=np.float64)[None, :]
    return farrington_many(arr, **kwargs)[0]  # type: ignore[arg-type]


def farrington_flexible_many(
    counts: npt.ArrayLike,
    *,
    freq: int = 52,
    epoch_dates: Sequence[dt.date] | None = None,
    population: npt.ArrayLike | None = None,
    range: tuple[int, int] | None = None,  # R's name
    b: int = 5,
    w: int = 3,
    reweight: bool = True,
    weights_threshold: float = 2.58,
    alpha: float = 0.05,
    trend: bool = True,
    p_threshold_trend: float = 0.05,
    limit54: tuple[int, int] = (5, 4),
    powertrans: PowerTrans = "2/3",
    fit_fun: str = "algo.farrington.fitGLM.flexible",
    population_offset: bool = False,
    no_periods: int = 1,
    past_weeks_not_included: int | None = None,
    threshold_method: ThresholdMethod = "delta",
) -> list[Detection]:
    """R's ``farringtonFlexible`` on every row of a 2-D count array, vectorised."""
    y = _counts_2d(counts, many=True)
    n = y.shape[1]
    _check_common(b, w, alpha, limit54, powertrans, freq)
    if fit_fun not in FLEXIBLE_FIT_FUNS:
        raise _bad(
            "fit_fun",
            f"fit_fun 必须是 {FLEXIBLE_FIT_FUNS[0]}",
            f"fit_fun must be {FLEXIBLE_FIT_FUNS[0]}",
        )
    if threshold_method not in ("delta", "nbPlugin", "muan"):
        raise _bad(
            "threshold_method",
            "threshold_method 必须是 delta、nbPlugin 或 muan",
            "threshold_method must be delta, nbPlugin or muan",
        )
    if no_periods < 1:
        raise _bad("no_periods", "no_periods 必须 >= 1", "no_periods must be >= 1")
    pwni = w if past_weeks_not_included is None else past_weeks_not_included
    if pwni < 0:
        raise _bad(
            "past_weeks_not_included",
            "past_weeks_not_included 不能为负",
            "past_weeks_not_included must not be negative",
        )
    dates = _dates(epoch_dates, n, freq)
    positions = _positions(range, freq * b + w, n)
    offsets = np.log(_population_2d(population, y.shape)) if population_offset else None
    opts = _FitOptions(
        reweight=reweight, weights_threshold=weights_threshold, weights_in_summary=True
    )
    z = float(stats.norm.ppf(1 - alpha))

    def rows(
        lay: Layout, yy: Counts, off: F64 | None, off0: F64, yk: F64, recent: F64
    ) -> tuple[F64, Bools, Bools, F64]:
        pred, _ = _with_trend_test(
            lay, yy, off, off0, trend=trend, b=b, p_threshold=p_threshold_trend, opts=opts
        )
        with np.errstate(all="ignore"):
            se_link = np.sqrt(pred.var0 * pred.dispersion)
            if threshold_method == "delta":
                fit = _linkinv(pred.eta0)
                upper = _delta_upper(fit, se_link * fit, pred.phi, powertrans, z)
                fit_response = fit
            else:
                fit = pred.eta0
                upper = _noufaily_upper(fit, se_link, pred.phi, threshold_method, alpha)
                fit_response = np.exp(fit)
            score = (yk - fit) / (upper - fit)
            enough = recent >= limit54[0]
            x = np.where(enough, score, np.nan)
            alarm = ~np.isnan(x) & (x > 1) & (yk != 0)
            expected = np.where(enough & ~np.isnan(upper), fit_response, np.nan)
            upper = np.where(enough, upper, np.nan)
        null = pred.null
        return (
            np.where(null, np.nan, upper),
            alarm & ~null,
            ~null,
            np.where(null, np.nan, expected),
        )

    out = _evaluate(
        y,
        offsets,
        positions,
        lambda k: _flexible_obs(
            k,
            n,
            dates,
            b=b,
            w=w,
            freq=freq,
            no_periods=no_periods,
            past_weeks_not_included=pwni,
        ),
        no_periods,
        limit54[1],
        rows,
    )
    params: dict[str, object] = {
        "b": b,
        "w": w,
        "reweight": reweight,
        "weights_threshold": weights_threshold,
        "alpha": alpha,
        "trend": trend,
        "p_threshold_trend": p_threshold_trend,
        "limit54": tuple(limit54),
        "powertrans": powertrans,
        "fit_fun": fit_fun,
        "population_offset": population_offset,
        "no_periods": no_periods,
        "past_weeks_not_included": pwni,
        "threshold_method": threshold_method,
        "freq": freq,
    }
    return _detections("farrington_flexible", y, positions, out, params)


def farrington_flexible(counts: npt.ArrayLike, **kwargs: object) -> Detection:
    """R's ``farringtonFlexible`` on one series; keywords as :func:`farrington_flexible_many`
    (R's control names in snake_case, R's defaults)."""
    arr = _counts_2d(counts, many=False)
    pop = kwargs.pop("population", None)
    if pop is not None:
        kwargs["population"] = np.asarray(pop, dtype=np.float64)[None, :]
    return farrington_flexible_many(arr, **kwargs)[0]  # type: ignore[arg-type]
