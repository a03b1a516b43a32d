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
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from fangkong.errors import BadInput, Problem
from fangkong.surveillance._glm import DBL_EPS, F64, Counts, Fit, Layout, fit_quasipoisson
from fangkong.surveillance.result import Detection

Bools = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]
PowerTrans = Literal["2/3", "1/2", "none"]
ThresholdMethod = Literal["delta", "nbPlugin", "muan"]
FARRINGTON_FIT_FUNS = (
    "algo.farrington.fitGLM.fast",
    "algo.farrington.fitGLM",
    "algo.farrington.fitGLM.populationOffset",
)
FLEXIBLE_FIT_FUNS = ("algo.farrington.fitGLM.flexible",)
_EXPONENT: dict[str, float] = {"none": 1.0, "1/2": 1 / 2, "2/3": 2 / 3}
_MAX_CELLS = 3_000_000  # observations per batched GLM call (memory bound)


class FarringtonParameterError(BadInput, ValueError):
    """A parameter or input series the Farrington methods cannot use."""


def _bad(code: str, zh: str, en: str) -> FarringtonParameterError:
    return FarringtonParameterError(Problem(f"farrington.{code}", zh, en))


# --- calendar arithmetic as R's seq.Date (POSIXlt fields, then normalised) -----------------


def _shift_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months; an overflowing day rolls on, as R does."""
    total = day.year * 12 + (day.month - 1) + months
    first = dt.date(total // 12, total % 12 + 1, 1)
    return first + dt.timedelta(days=day.day - 1)


def _r_wday(day: dt.date) -> int:
    """R's ``format(x, "%w")``: 0 = Sunday."""
    return day.isoweekday() % 7


def _r_seq(a: int, b: int) -> list[int]:
    """R's ``a:b`` (counts down when b < a)."""
    return list(range(a, b + 1)) if b >= a else list(range(a, b - 1, -1))


# --- reference periods -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Obs:
    """The observations of one model: 1-based positions, factor level, time; and the
    time of the period to predict."""

    pos: I64
    level: I64
    wtime: F64
    wtime0: float


def _flexible_reference_points(
    k: int, dates: Sequence[dt.date] | None, b: int, freq: int
) -> list[int]:
    """R's algo.farrington.referencetimepoints + the check in algo.farrington.data.glm.

    Returns 1-based positions, descending (the period itself first)."""
    if dates is None:
        return [k - i * freq for i in range(b + 1)]
    day = dates[k - 1]
    refs = [_shift_months(day, -12 * i) for i in range(b + 1)]
    if freq == 52:
        want = _r_wday(day)
        moved = []
        for ref in refs:
            a = ref - dt.timedelta(days=_r_wday(ref) - want)
            other = a + dt.timedelta(days=-7 if a > ref else 7)
            moved.append(other if abs((a - ref).days) > abs((other - ref).days) else a)
        refs = moved
    where = {d: i + 1 for i, d in enumerate(dates)}
    if not all(r in where for r in refs):
        return []
    return sorted((where[r] for r in refs), reverse=True)


def _flexible_obs(
    k: int,
    n_total: int,
    dates: Sequence[dt.date] | None,
    *,
    b: int,
    w: int,
    freq: int,
    no_periods: int,
    past_weeks_not_included: int,
) -> _Obs:
    """R's algo.farrington.data.glm and blocks() for period k (1-based)."""
    refs = _flexible_reference_points(k, dates, b, freq)
    if not refs or min(refs) < 1 or max(refs) > n_total:
        raise _bad(
            "reference",
            f"第 {k} 期：部分参考期不存在；请减小 b 或推后评估范围",
            f"period {k}: some reference time points did not exist; "
            "decrease 'b' or postpone 'range'",
        )
    factors = np.full(n_total + 1, np.nan)  # index 0 unused: R ignores a 0 subscript

    def assign(idx: list[int], value: float) -> None:
        if min(idx) < 0:
            raise _bad(
                "window",
                f"第 {k} 期：参考窗口超出序列起点；请减小 b 或 w，或推后评估范围",
                f"period {k}: a reference window starts before the series; "
                "decrease 'b' or 'w' or postpone 'range'",
            )
        factors[[i for i in idx if i > 0]] = value

    p = no_periods
    assign(_r_seq(k - w, k), p)
    for i in range(b):
        ref = refs[i + 1]
        assign(_r_seq(ref - w, ref + w), p)
        if p == 1:
            continue
        period = refs[i] - 2 * w - 1 - ref
        if period < p - (2 * w + 1):
            raise _bad(
                "no_periods",
                "no_periods 过大（R：Number of factors too big!）",
                "no_periods is too big (R: 'Number of factors too big!')",
            )
        lengths = [period // (p - 1)] * (p - 1)
        for j in range(period % (p - 1)):
            lengths[j] += 1
        cum = np.concatenate([[0], np.cumsum(lengths)])
        for j in range(1, p):
            start = ref + w + 1 + int(cum[j - 1])
            assign(_r_seq(start, ref + w + 1 + int(cum[j]) - 1), j)
    blocks = factors.copy()
    assign_na = _r_seq(k - past_weeks_not_included, k)
    blocks[[i for i in assign_na if i > 0]] = np.nan
    pos = np.flatnonzero(~np.isnan(blocks[1:])) + 1
    level = factors[pos].astype(np.int64)
    if dates is None:
        wtime = pos.astype(np.float64)
        wtime0 = float(k)
    else:
        num = np.array([d.toordinal() for d in dates], dtype=np.float64)
        step = num[1] - num[0]
        wtime = (num[pos - 1] - num[pos[0] - 1]) / step
        wtime0 = float((num[k - 1] - num[pos[0] - 1]) / step)
    return _Obs(pos.astype(np.int64), level, wtime, wtime0)


def _farrington_obs(k: int, dates: Sequence[dt.date] | None, *, b: int, w: int, freq: int) -> _Obs:
    """R's reference values of algo.farrington for period k (1-based)."""
    if dates is None:
        pos_all = [
            t for i in range(b, 0, -1) for t in range(k - freq * i - w, k - freq * i + w + 1)
        ]
        pos = [t for t in pos_all if t > 0]
    else:
        pos = _ref_idx_by_date(k, dates, b=b, w=w, freq=freq)
    arr = np.asarray(pos, dtype=np.int64)
    return _Obs(arr, np.ones(len(arr), np.int64), arr.astype(np.float64), float(k))


def _ref_idx_by_date(k: int, dates: Sequence[dt.date], *, b: int, w: int, freq: int) -> list[int]:
    """R's refvalIdxByDate: windows around the same date 1..b years back, by calendar."""
    t0 = dates[k - 1]
    ref_days: list[dt.date] = []
    for j in range(1, b + 1):
        ref = _shift_months(t0, -12 * j)
        for step in range(-w, w + 1):
            if freq == 52:
                ref_days.append(ref + dt.timedelta(days=7 * step))
            elif freq == 12:
                ref_days.append(_shift_months(ref, step))
            else:
                ref_days.append(ref + dt.timedelta(days=step))
    if freq == 52:
        want = _r_wday(t0)
        moved = []
        for d in ref_days:
            fwd = (want - _r_wday(d)) % 7
            bwd = (_r_wday(d) - want) % 7
            moved.append(d + dt.timedelta(days=fwd if fwd < bwd else -bwd))
        ref_days = moved
    elif freq == 12:
        ref_days = [d - dt.timedelta(days=d.day - t0.day) for d in ref_days]
    where = {d: i + 1 for i, d in enumerate(dates)}
    return [where[d] for d in ref_days if d in where]


def _layout(obs: _Obs, level_to_predict: int) -> tuple[Layout, I64]:
    """Sort the observations by factor level; centre the time. Returns the layout and the
    1-based positions in layout order."""
    order = np.argsort(obs.level, kind="stable")
    level = obs.level[order]
    levels, starts = np.unique(level, return_index=True)
    hits = np.flatnonzero(levels == level_to_predict)
    if len(hits) == 0:
        raise _bad(
            "level", "预测期所属的季节水平没有参考值", "no reference values in the period's level"
        )
    wtime = obs.wtime[order]
    centre = float(np.mean(wtime))
    lay = Layout(
        starts=starts.astype(np.int64),
        t=wtime - centre,
        t0=obs.wtime0 - centre,
        g0=int(hits[0]),
    )
    return lay, obs.pos[order]


# --- model fits with reweighting --------------------------------------------------------------


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


# --- thresholds -------------------------------------------------------------------------------


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


# --- evaluation over many series and periods ----------------------------------------------------

_RowsFn = Callable[[Layout, Counts, F64 | None, F64, F64, F64], tuple[F64, Bools, Bools, F64]]


@dataclass(frozen=True)
class _Outputs:
    threshold: F64  # (series, periods)
    alarm: Bools
    alarm_defined: Bools
    expected: F64


def _evaluate(
    counts: F64,
    offsets: F64 | None,
    positions: I64,
    obs_of: Callable[[int], _Obs],
    level_to_predict: int,
    limit_period: int,
    rows: _RowsFn,
) -> _Outputs:
    """Run ``rows`` for every series and period, batching periods that share a layout."""
    n_series = counts.shape[0]
    plans: dict[bytes, tuple[Layout, I64, list[int]]] = {}
    for col, k0 in enumerate(positions.tolist()):
        obs = obs_of(k0 + 1)
        order = np.argsort(obs.level, kind="stable")
        key = b"|".join(
            (
                (obs.pos[order] - (k0 + 1)).tobytes(),
                obs.level[order].tobytes(),
                (obs.wtime[order] - obs.wtime0).tobytes(),
            )
        )
        if key not in plans:
            lay, pos1 = _layout(obs, level_to_predict)
            plans[key] = (lay, pos1 - 1 - k0, [])
        plans[key][2].append(col)

    csum = np.concatenate([np.zeros((n_series, 1)), np.cumsum(counts, axis=1)], axis=1)
    first = np.maximum(positions - limit_period + 1, 0)
    recent = csum[:, positions + 1] - csum[:, first]

    m = len(positions)
    out = _Outputs(
        np.full((n_series, m), np.nan),
        np.zeros((n_series, m), dtype=bool),
        np.zeros((n_series, m), dtype=bool),
        np.full((n_series, m), np.nan),
    )
    for lay, rel, cols_list in plans.values():
        cols = np.asarray(cols_list, dtype=np.int64)
        ks = positions[cols]
        total = n_series * len(cols)
        step = max(1, _MAX_CELLS // max(lay.n, 1))
        for lo in range(0, total, step):
            r = np.arange(lo, min(total, lo + step))
            s, c = r // len(cols), r % len(cols)
            at = ks[c][:, None] + rel[None, :]
            res = rows(
                lay,
                Counts.of(counts[s[:, None], at]),
                None if offsets is None else offsets[s[:, None], at],
                np.zeros(len(r)) if offsets is None else offsets[s, ks[c]],
                counts[s, ks[c]],
                recent[s, cols[c]],
            )
            out.threshold[s, cols[c]] = res[0]
            out.alarm[s, cols[c]] = res[1]
            out.alarm_defined[s, cols[c]] = res[2]
            out.expected[s, cols[c]] = res[3]
    return out


# --- parameters and input checks ----------------------------------------------------------------


def _counts_2d(counts: npt.ArrayLike, *, many: bool) -> F64:
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != (2 if many else 1):
        shape = "二维（序列 × 期）" if many else "一维"
        shape_en = "2-D (series × periods)" if many else "1-D"
        raise _bad("shape", f"计数必须是{shape}数组", f"counts must be a {shape_en} array")
    if not np.all(np.isfinite(arr)):
        raise _bad("missing", "计数含缺失或非有限值", "counts contain missing or non-finite values")
    if np.any(arr < 0):
        raise _bad("negative", "计数不能为负", "counts must not be negative")
    return arr if many else arr[None, :]


def _population_2d(population: npt.ArrayLike | None, shape: tuple[int, int]) -> F64:
    if population is None:
        return np.ones(shape)
    pop = np.broadcast_to(np.asarray(population, dtype=np.float64), shape)
    if not np.all(np.isfinite(pop)) or np.any(pop <= 0):
        raise _bad("population", "人口必须为正数", "population must be positive")
    return np.array(pop)


def _dates(epoch_dates: Sequence[dt.date] | None, n: int, freq: int) -> list[dt.date] | None:
    if epoch_dates is None:
        return None
    dates = [d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for d in epoch_dates]
    if len(dates) != n:
        raise _bad("dates", "日期个数与计数个数不一致", "epoch_dates must have one date per count")
    if freq not in (12, 52, 365):
        raise _bad(
            "freq",
            "按日期计算时 freq 必须是 12、52 或 365",
            "with dates, freq must be 12, 52 or 365",
        )
    if any(b <= a for a, b in itertools.pairwise(dates)):
        raise _bad("dates", "日期必须严格递增", "epoch_dates must be strictly increasing")
    return dates


def _positions(range_: tuple[int, int] | None, default_start: int, n: int) -> I64:
    start, end = (default_start, n) if range_ is None else range_
    if not 0 <= start < end <= n:
        raise _bad(
            "range",
            f"评估范围 {start}..{end} 超出序列（0..{n}）",
            f"range {start}..{end} is out of bounds (the series has {n} periods)",
        )
    return np.arange(start, end, dtype=np.int64)


def _check_common(
    b: int, w: int, alpha: float, limit54: tuple[int, int], powertrans: str, freq: int
) -> None:
    if b < 1 or w < 0 or freq < 1:
        raise _bad("bw", "b 须 >= 1，w 须 >= 0，freq 须 >= 1", "b must be >= 1, w >= 0, freq >= 1")
    if not 0 < alpha < 1:
        raise _bad("alpha", "alpha 必须在 0 与 1 之间", "alpha must lie strictly between 0 and 1")
    if not (limit54[0] >= 0 and limit54[1] > 0):
        raise _bad(
            "limit54",
            "limit54 超出范围：病例数 >= 0 且期数 > 0",
            "the limit54 arguments are out of bounds: cases >= 0 and period > 0",
        )
    if powertrans not in _EXPONENT:
        raise _bad(
            "powertrans",
            "powertrans 必须是 2/3、1/2 或 none",
            "powertrans must be 2/3, 1/2 or none",
        )


# --- public API ---------------------------------------------------------------------------------


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
