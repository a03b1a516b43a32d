"""Time-varying reproduction number (实时再生数 Rt) after Cori et al. (2013).

Numerically equal to R ``EpiEstim`` 2.2-4 ``estimate_R`` for the methods
``parametric_si`` (serial interval a discretised gamma, :func:`discr_si`) and
``non_parametric_si`` (a given discrete serial interval), with local and imported cases.

The model: incidence on day t is Poisson with mean ``R_t * Lambda_t`` where the overall
infectivity ``Lambda_t = sum_s w_s * I_{t-s}`` counts local AND imported cases as
infectors, while only local cases count as infectees. With R constant over a window
``[t_start, t_end]`` and a gamma prior (shape ``a``, scale ``b``) the posterior is gamma with

    shape = a + sum(local[t_start..t_end])
    scale = 1 / (1/b + sum(Lambda[t_start..t_end]))

EpiEstim reports NA for a window whose end is not after the mean serial interval; so do we
(NaN). Days are numbered 1..T as in EpiEstim; day 1 holds only imported cases.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from fangkong.errors import BadInput, Problem

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)
SI_SUM_TOLERANCE = 0.01  # EpiEstim's check_si_distr: |sum(si_distr) - 1| <= 0.01


class RtWarning(UserWarning):
    """A condition EpiEstim warns about (and corrects or tolerates) rather than stops on."""


@dataclass(frozen=True)
class RtEstimate:
    """Posterior of R per time window, one entry per window (EpiEstim's ``$R`` table).

    ``t_start``/``t_end`` are 1-based day indices as in EpiEstim. Values are NaN where
    EpiEstim gives NA (the window ends on or before the mean serial interval).
    ``shape``/``scale`` are the posterior gamma parameters; ``si_distr`` the serial
    interval used, padded with zeros to at least T+1 entries as EpiEstim does.
    """

    t_start: I64
    t_end: I64
    mean: F64
    std: F64
    q025: F64
    q05: F64
    q25: F64
    median: F64
    q75: F64
    q95: F64
    q975: F64
    shape: F64
    scale: F64
    si_distr: F64

    def __len__(self) -> int:
        return len(self.t_start)

    @property
    def si_mean(self) -> float:
        """Mean of the serial interval used (EpiEstim's ``SI.Moments$Mean``)."""
        return float(np.sum(self.si_distr * np.arange(len(self.si_distr))))

    @property
    def si_std(self) -> float:
        """Standard deviation of the serial interval used (``SI.Moments$Std``)."""
        k = np.arange(len(self.si_distr))
        return math.sqrt(float(np.sum(self.si_distr * k**2)) - self.si_mean**2)


def _bad(code: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem(f"rt.{code}", zh, en))


def discr_si(k: npt.ArrayLike, mu: float, sigma: float) -> F64:
    """Discretised gamma serial interval, as ``EpiEstim::discr_si``.

    ``k`` days (>= 0); the gamma of ``1 + Gamma(shape, scale)`` has mean ``mu`` and
    standard deviation ``sigma``. The weight of day k is the integral of the continuous
    density against a triangle of width 2 centred on k (Cori et al. 2013, web appendix 11).
    """
    if not sigma >= 0:
        raise _bad("sigma", "sigma 必须 >= 0", "sigma must be >= 0")
    if not mu > 1:
        raise _bad("mu", "mu 必须 > 1", "mu must be > 1")
    days = np.asarray(k, dtype=np.float64)
    if np.any(days < 0):
        raise _bad("k", "k 中所有值必须 >= 0", "all values in k must be >= 0")
    shape = ((mu - 1) / sigma) ** 2
    scale = sigma**2 / (mu - 1)

    def cdf(x: F64, a: float) -> F64:
        return np.asarray(stats.gamma.cdf(x, a, scale=scale), dtype=np.float64)

    res = days * cdf(days, shape) + (days - 2) * cdf(days - 2, shape)
    res = res - 2 * (days - 1) * cdf(days - 1, shape)
    tail = 2 * cdf(days - 1, shape + 1) - cdf(days - 2, shape + 1) - cdf(days, shape + 1)
    res = res + shape * scale * tail
    return np.asarray(np.where(np.isnan(res), res, np.maximum(res, 0.0)), dtype=np.float64)


def _counts(values: npt.ArrayLike, name: str) -> F64:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise _bad("shape", f"{name} 必须是一维序列", f"{name} must be a one-dimensional series")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        day = int(bad[0]) + 1
        raise _bad(
            "incidence",
            f"{name} 第 {day} 天的病例数无效（须为非负数）",
            f"{name} on day {day} is not a non-negative count",
        )
    return arr


def _incidence(local: npt.ArrayLike, imported: npt.ArrayLike | None) -> tuple[F64, F64]:
    """Local and imported series as EpiEstim's ``process_I`` leaves them."""
    loc = _counts(local, "local").copy()
    imp = np.zeros_like(loc) if imported is None else _counts(imported, "imported").copy()
    if len(imp) != len(loc):
        raise _bad(
            "length",
            f"local（{len(loc)} 天）与 imported（{len(imp)} 天）长度不同",
            f"local ({len(loc)} days) and imported ({len(imp)} days) differ in length",
        )
    if len(loc) < 2:
        raise _bad("too_short", "发病序列至少需要 2 天", "the incidence needs at least 2 days")
    if loc[0] > 0:
        # EpiEstim: every case on day 1 is taken as imported (no infector can be observed).
        if imported is not None:
            warnings.warn(
                "local[1] > 0 but all cases on the first day are taken as imported; "
                "moved to imported as EpiEstim does",
                RtWarning,
                stacklevel=3,
            )
        imp[0] += loc[0]
        loc[0] = 0.0
    return loc, imp


def _windows(
    n_days: int, window: int, t_start: npt.ArrayLike | None, t_end: npt.ArrayLike | None
) -> tuple[I64, I64]:
    """Default sliding windows (start 2.., width ``window``) or the given ones, checked."""
    if (t_start is None) != (t_end is None):
        raise _bad(
            "windows", "t_start 与 t_end 须同时给出", "give both t_start and t_end, or neither"
        )
    if t_start is None or t_end is None:
        if window < 1:
            raise _bad("window", "窗口宽度须 >= 1 天", "window must be >= 1 day")
        if n_days < window + 1:
            raise _bad(
                "too_short",
                f"发病序列只有 {n_days} 天，{window} 天窗口至少需要 {window + 1} 天"
                "（第 1 天不能作为窗口起点）",
                f"the incidence has {n_days} days; a {window}-day window needs at least "
                f"{window + 1} (a window cannot start on day 1)",
            )
        starts = np.arange(2, n_days - window + 2, dtype=np.int64)
        return starts, starts + window - 1
    starts = np.atleast_1d(np.asarray(t_start, dtype=np.float64))
    ends = np.atleast_1d(np.asarray(t_end, dtype=np.float64))
    if starts.ndim != 1 or ends.ndim != 1 or len(starts) != len(ends):
        raise _bad(
            "windows", "t_start 与 t_end 长度须相同", "t_start and t_end must have the same length"
        )
    if np.any(starts > ends):
        raise _bad(
            "windows", "每个窗口须 t_start <= t_end", "t_start[i] must be <= t_end[i] for all i"
        )
    for name, vals in (("t_start", starts), ("t_end", ends)):
        if np.any((vals < 2) | (vals > n_days) | (vals % 1 != 0)):
            raise _bad(
                "windows",
                f"{name} 须为 2 到 {n_days}（天数）之间的整数；第 1 天的病例全部视为输入病例",
                f"{name} must be integers between 2 and the number of days ({n_days}); "
                "cases on day 1 are all taken as imported",
            )
    return starts.astype(np.int64), ends.astype(np.int64)


def _check_si_distr(si: F64) -> None:
    """EpiEstim's ``check_si_distr`` for a given (non-parametric) interval: stops."""
    if si.ndim != 1 or si.size == 0:
        raise _bad("si_distr", "si_distr 必须是非空向量", "si_distr must be a non-empty vector")
    if not np.all(np.isfinite(si)):
        raise _bad("si_distr", "si_distr 含非数值", "si_distr contains a non-numeric value")
    if si[0] != 0:
        raise _bad(
            "si_distr_first",
            "si_distr 的第一个值（间隔 0 天）必须为 0",
            "si_distr[0] (an interval of 0 days) must be 0",
        )
    if np.any(si < 0):
        raise _bad("si_distr_negative", "si_distr 不能有负值", "si_distr must not be negative")
    if abs(float(si.sum()) - 1) > SI_SUM_TOLERANCE:
        raise _bad(
            "si_distr_sum",
            f"si_distr 之和须为 1（现为 {si.sum():.6g}）",
            f"si_distr must sum to 1 (it sums to {si.sum():.6g})",
        )


def _serial_interval(
    n_days: int, si_mean: float | None, si_sd: float | None, si_distr: npt.ArrayLike | None
) -> F64:
    if si_distr is not None:
        if si_mean is not None or si_sd is not None:
            raise _bad(
                "si_both",
                "请只给出 si_distr，或只给出 si_mean 与 si_sd",
                "give either si_distr or si_mean with si_sd, not both",
            )
        si = np.asarray(si_distr, dtype=np.float64)
        _check_si_distr(si)
    else:
        if si_mean is None or si_sd is None:
            raise _bad(
                "si_missing",
                "参数化代际间隔需要 si_mean 与 si_sd（或给出 si_distr）",
                "a parametric serial interval needs si_mean and si_sd (or give si_distr)",
            )
        if not si_mean > 1:
            raise _bad("si_mean", "si_mean 必须 > 1", "si_mean must be > 1")
        if not si_sd > 0:
            raise _bad("si_sd", "si_sd 必须 > 0", "si_sd must be > 0")
        si = discr_si(np.arange(n_days), si_mean, si_sd)
        if abs(float(si.sum()) - 1) > SI_SUM_TOLERANCE:
            warnings.warn(
                f"the discretised serial interval over {n_days} days sums to {si.sum():.4g}, "
                "not 1 (the series is short for this interval)",
                RtWarning,
                stacklevel=3,
            )
    if len(si) < n_days + 1:
        si = np.concatenate([si, np.zeros(n_days + 1 - len(si))])
    return si


def overall_infectivity(total: npt.ArrayLike, si_distr: npt.ArrayLike) -> F64:
    """``Lambda_t = sum_{s>=0} w_s * I_{t-s}`` per day; NaN on day 1 as EpiEstim."""
    inc = np.asarray(total, dtype=np.float64)
    w = np.asarray(si_distr, dtype=np.float64)
    lam = np.convolve(inc, w[: len(inc)])[: len(inc)]
    lam[0] = np.nan
    return lam


def estimate_r(
    local: npt.ArrayLike,
    *,
    imported: npt.ArrayLike | None = None,
    si_mean: float | None = None,
    si_sd: float | None = None,
    si_distr: npt.ArrayLike | None = None,
    window: int = 7,
    t_start: npt.ArrayLike | None = None,
    t_end: npt.ArrayLike | None = None,
    mean_prior: float = 5.0,
    std_prior: float = 5.0,
    cv_posterior: float = 0.3,
) -> RtEstimate:
    """Cori et al. (2013) R per window, as ``EpiEstim::estimate_R``.

    ``local`` (and ``imported``) are daily counts, day 1 first. Without ``imported`` the
    cases of day 1 are taken as imported, as EpiEstim does for a plain vector. Give
    ``si_mean``/``si_sd`` (method ``parametric_si``) or ``si_distr`` with ``si_distr[0] == 0``
    (``non_parametric_si``). Default windows: ``t_start = 2..T-window+1``, each ``window``
    days long (EpiEstim's weekly sliding windows for ``window=7``).
    """
    loc, imp = _incidence(local, imported)
    n_days = len(loc)
    starts, ends = _windows(n_days, window, t_start, t_end)
    if not mean_prior > 0:
        raise _bad("mean_prior", "先验均值 mean_prior 必须 > 0", "mean_prior must be > 0")
    if not std_prior > 0:
        raise _bad("std_prior", "先验标准差 std_prior 必须 > 0", "std_prior must be > 0")
    if cv_posterior < 0:
        raise _bad("cv_posterior", "cv_posterior 必须 >= 0", "cv_posterior must be >= 0")
    si = _serial_interval(n_days, si_mean, si_sd, si_distr)
    a_prior = (mean_prior / std_prior) ** 2
    b_prior = std_prior**2 / mean_prior

    total = loc + imp
    first_window = float(total[starts[0] - 1 : ends[0]].sum())
    if first_window < math.ceil(1 / cv_posterior**2 - a_prior):
        warnings.warn(
            "estimating R too early in the epidemic to get the desired posterior CV "
            f"({first_window:g} cases in the first window)",
            RtWarning,
            stacklevel=2,
        )
    lam = overall_infectivity(total, si)
    lam[0] = 0.0  # windows start on day 2 or later; day 1 never enters a sum
    cum_local = np.concatenate([[0.0], np.cumsum(loc)])
    cum_lam = np.concatenate([[0.0], np.cumsum(lam)])
    mean_si = float(np.sum(si * np.arange(len(si))))
    defined = ends > mean_si
    shape = np.where(defined, a_prior + cum_local[ends] - cum_local[starts - 1], np.nan)
    scale = np.where(defined, 1 / (1 / b_prior + cum_lam[ends] - cum_lam[starts - 1]), np.nan)
    q = [np.asarray(stats.gamma.ppf(p, shape, scale=scale), np.float64) for p in QUANTILES]
    return RtEstimate(
        t_start=starts,
        t_end=ends,
        mean=shape * scale,
        std=np.sqrt(shape) * scale,
        q025=q[0],
        q05=q[1],
        q25=q[2],
        median=q[3],
        q75=q[4],
        q95=q[5],
        q975=q[6],
        shape=shape,
        scale=scale,
        si_distr=si,
    )
