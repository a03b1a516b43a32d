"""CUSUM of standardised counts (Rossi et al. 1999), as R ``surveillance::algo.cusum``.

The in-control mean ``m`` is the mean of all counts before the first evaluated period
(R's default), a number, or ``"glm"``: a Poisson regression with one annual harmonic
fitted on those counts. Each count is standardised by ``trans``, the sum
``C_t = max(0, C_{t-1} + z_t - k)`` alarms when ``C_t >= h`` (not strictly: R's code),
and the threshold is the count that would have made ``C_t`` reach ``h`` (R's
back-transformation per ``trans``), with NA and negative values set to 0 as R does.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from fangkong.surveillance.glm import glm_fit, harmonic_design
from fangkong.surveillance.result import Detection

F64 = npt.NDArray[np.float64]
Trans = Literal["standard", "rossi", "anscombe", "anscombe2nd", "pearsonNegBin", "none"]
TRANSFORMS: tuple[str, ...] = (
    "standard", "rossi", "anscombe", "anscombe2nd", "pearsonNegBin", "none",
)  # fmt: skip


def in_control_mean(
    x: F64, first: int, m: float | str | None, freq: int, start_phase: int, idx: F64
) -> F64:
    """R's ``m``: mean of ``x[:first]``, a given number, or a seasonal Poisson GLM."""
    if m is None or m == "mean":
        return np.full(len(idx), float(np.mean(x[:first])))
    if m == "glm":
        train = np.arange(1, first + 1, dtype=np.float64)
        design = harmonic_design(start_phase + train - 1, freq, 1, trend=False)
        fit = glm_fit(design, x[:first])
        return fit.predict(harmonic_design(start_phase + idx, freq, 1, trend=False))
    if isinstance(m, str):
        raise ValueError(f"m must be a number, 'mean' or 'glm', not {m!r}")
    return np.full(len(idx), float(m))


def _standardise(x: F64, m: F64, trans: str, alpha: float) -> F64:
    return np.asarray(_standardised(x, m, trans, alpha), dtype=np.float64)


def _standardised(x: F64, m: F64, trans: str, alpha: float) -> object:
    if trans == "rossi":
        return (x - 3 * m + 2 * np.sqrt(x * m)) / (2 * np.sqrt(m))
    if trans == "standard":
        return (x - m) / np.sqrt(m)
    if trans == "anscombe":
        return 3 / 2 * (x ** (2 / 3) - m ** (2 / 3)) / m ** (1 / 6)
    if trans == "anscombe2nd":
        return (x ** (2 / 3) - (m ** (2 / 3) - m ** (-1 / 3) / 9)) / (2 / 3 * m ** (1 / 6))
    if trans == "pearsonNegBin":
        return (x - m) / np.sqrt(m + alpha * m**2)
    return x.copy()


def _bound(m: F64, c_prev: F64, c_now: F64, h: float, k: float, trans: str, alpha: float) -> F64:
    """The count at which the CUSUM would reach h (R's back-transformation)."""
    return np.asarray(_bound_any(m, c_prev, c_now, h, k, trans, alpha), dtype=np.float64)


def _bound_any(
    m: F64, c_prev: F64, c_now: F64, h: float, k: float, trans: str, alpha: float
) -> object:
    if trans == "rossi":
        sq = np.sqrt(m)
        inner = 4 * m**2 + 2 * m**1.5 * h + 2 * m**1.5 * k - 2 * m**1.5 * c_prev
        return 2 * h * sq + 2 * k * sq - 2 * c_prev * sq + 5 * m - 2 * np.sqrt(inner)
    if trans == "standard":
        return np.ceil(np.sqrt(m) * (h + k - c_prev) + m)
    if trans == "anscombe":
        base = (2 / 3) * m ** (1 / 6) * (h + k - c_prev) + m ** (2 / 3)
        return np.where(base < 0, 0.0, np.abs(base) ** 1.5)
    if trans == "anscombe2nd":
        base = (2 / 3) * m ** (1 / 6) * (h + k - c_prev) + (m ** (2 / 3) - m ** (1 / 3) / 9)
        return np.where(base < 0, 0.0, np.abs(base) ** 1.5)
    if trans == "pearsonNegBin":
        return np.sqrt(m + alpha * m**2) * (h + k - c_prev) + m
    return h - c_now


def cusum(
    counts: npt.ArrayLike,
    *,
    k: float = 1.04,
    h: float = 2.26,
    m: float | str | None = None,
    trans: Trans = "standard",
    alpha: float = 0.1,
    freq: int = 52,
    start_phase: int = 1,
    range: npt.ArrayLike | None = None,
) -> Detection:
    """CUSUM on one series; ``range`` are 0-based consecutive periods (default: from 1).

    ``start_phase`` is R's ``start[2]`` (the period-of-year of the first count), used
    only by ``m = "glm"``. ``alpha`` is the NB dispersion for ``pearsonNegBin``.
    """
    x = np.asarray(counts, dtype=np.float64)
    if trans not in TRANSFORMS:
        raise ValueError(f"trans must be one of {', '.join(TRANSFORMS)}, not {trans!r}")
    idx = np.arange(1, len(x)) if range is None else np.asarray(range, dtype=np.int64)
    if idx.size == 0 or idx[0] < 1 or idx[-1] >= len(x):
        raise ValueError("CUSUM needs at least one period before the first evaluated one")
    mean = in_control_mean(x, int(idx[0]), m, freq, start_phase, idx.astype(np.float64))
    obs = x[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = _standardise(obs, mean, trans, alpha)
        sums = np.zeros(len(idx) + 1)
        for t in np.arange(len(idx)):
            # R: max(0, NaN) is NaN, Python's max would not propagate it
            step = sums[t] + (z[t] - k)
            sums[t + 1] = step if np.isnan(step) else max(0.0, step)
        alarm = sums[1:] >= h
        bound = _bound(mean, sums[:-1], sums[1:], h, k, trans, alpha)
    bound = np.where(np.isnan(bound) | (bound < 0), 0.0, bound)
    params: dict[str, object] = {
        "k": k, "h": h, "m": "mean" if m is None else m, "trans": trans, "alpha": alpha,
    }  # fmt: skip
    return Detection.build(
        "cusum", idx, obs, bound, alarm, alarm_defined=~np.isnan(sums[1:]),
        expected=mean, params=params,
    )  # fmt: skip
