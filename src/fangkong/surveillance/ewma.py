"""ESSENCE-style regression/EWMA switch (after Burkom et al. 2007), specified here.

For period t the baseline is the ``baseline`` periods ending ``guard + 1`` periods before
t (a guard band keeps the start of an outbreak out of its own baseline). Two forecasts
are made from it:

- **regression**: least squares of the baseline counts on an intercept, a linear trend
  and, when ``cycle > 1``, indicators of the position in the cycle (day of week for
  daily data, ``cycle - 1`` columns). Forecast ``f = x0·beta`` at t; its standard error
  ``s·sqrt(1 + x0 (X'X)^-1 x0')`` with ``s² = SSE / (n - p)``;
  threshold ``f + t_{1-alpha, n-p} · se``.
- **EWMA**: the baseline smoothed with weight ``lam`` on the newest value, started at the
  baseline mean: ``E_0 = mean``, ``E_i = lam·b_i + (1 - lam)·E_{i-1}``; forecast
  ``E_n``; standard error ``sd·sqrt(1 + lam / (2 - lam))`` (the forecast error of an
  independent count when the smoothed level has the stationary EWMA variance);
  threshold ``E_n + t_{1-alpha, n-1} · se``.

The regression is used when its adjusted R² is at least ``r2_min`` (0.6, Burkom's value)
and otherwise — or when the baseline is constant — the EWMA. Standard deviations are
floored at ``min_sigma`` so a flat baseline does not alarm on one extra case. The alarm
is ``count > threshold`` (the one-sided p-value below ``alpha``). There is no R reference;
tests check each piece against closed forms and a literal loop (``docs/surveillance.md``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

from fangkong.surveillance._periods import evaluated
from fangkong.surveillance.result import Detection

F64 = npt.NDArray[np.float64]


def design(positions: npt.NDArray[np.int64], cycle: int) -> F64:
    """Intercept, trend (the position itself) and cycle indicators (position mod cycle)."""
    cols = [np.ones(len(positions)), positions.astype(np.float64)]
    for level in range(1, cycle):
        cols.append((positions % cycle == level).astype(np.float64))
    return np.column_stack(cols)


def regression_forecast(
    y: F64, positions: npt.NDArray[np.int64], target: int, cycle: int, min_sigma: float
) -> tuple[float, float, int, float]:
    """Forecast, its standard error, residual df and adjusted R² (NaN if y is constant)."""
    x = design(positions, cycle)
    n, p = x.shape
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    sse = float(resid @ resid)
    sst = float(np.sum((y - y.mean()) ** 2))
    df = n - p
    r2 = np.nan if sst == 0 or df <= 0 else 1.0 - (sse / df) / (sst / (n - 1))
    s = max(np.sqrt(sse / df), min_sigma) if df > 0 else np.inf
    x0 = design(np.array([target], dtype=np.int64), cycle)[0]
    leverage = float(x0 @ np.linalg.pinv(x.T @ x) @ x0)
    return float(x0 @ beta), float(s * np.sqrt(1.0 + leverage)), df, float(r2)


def ewma_forecast(y: F64, lam: float, min_sigma: float) -> tuple[float, float]:
    """EWMA forecast from the baseline and its standard error."""
    level = float(y.mean())
    for value in y:
        level = lam * float(value) + (1.0 - lam) * level
    sd = max(float(np.std(y, ddof=1)), min_sigma)
    return level, sd * float(np.sqrt(1.0 + lam / (2.0 - lam)))


def ewma(
    counts: npt.ArrayLike,
    *,
    baseline: int = 28,
    guard: int = 2,
    lam: float = 0.4,
    alpha: float = 0.01,
    r2_min: float = 0.6,
    cycle: int | None = None,
    min_sigma: float = 0.5,
    freq: int = 52,
    range: npt.ArrayLike | None = None,
) -> Detection:
    """Regression/EWMA switch on one series; ``range`` are 0-based periods.

    ``cycle`` None means 7 (day of week) for daily data (``freq = 365``) and none for
    weekly data. ``expected`` in the result is the forecast of the model used.
    """
    x = np.asarray(counts, dtype=np.float64)
    cyc = (7 if freq == 365 else 1) if cycle is None else cycle
    if baseline < 3 or guard < 0 or cyc < 1:
        raise ValueError("baseline must be at least 3, guard at least 0, cycle at least 1")
    if not 0 < lam <= 1 or not 0 < alpha < 1 or min_sigma < 0:
        raise ValueError("lam must lie in (0, 1], alpha in (0, 1), min_sigma not negative")
    if baseline - (cyc + 1) < 1:
        raise ValueError("baseline too short for the regression's trend and cycle columns")
    first = baseline + guard
    idx = evaluated(range, first, len(x), f"the EWMA/regression switch (baseline={baseline})")
    threshold = np.empty(len(idx))
    expected = np.empty(len(idx))
    model = np.empty(len(idx), dtype=object)
    for i, t in enumerate(idx.tolist()):
        positions = np.arange(t - guard - baseline, t - guard, dtype=np.int64)
        y = x[positions]
        forecast, se, df, r2 = regression_forecast(y, positions, t, cyc, min_sigma)
        if not np.isnan(r2) and r2 >= r2_min:
            q = float(stats.t.ppf(1.0 - alpha, df))
            model[i] = "regression"
        else:
            forecast, se = ewma_forecast(y, lam, min_sigma)
            q = float(stats.t.ppf(1.0 - alpha, baseline - 1))
            model[i] = "ewma"
        expected[i] = forecast
        threshold[i] = forecast + q * se
    observed = x[idx]
    return Detection.build(
        "ewma", idx, observed, threshold, observed > threshold, expected=expected,
        params={
            "baseline": baseline, "guard": guard, "lam": lam, "alpha": alpha,
            "r2_min": r2_min, "cycle": cyc, "min_sigma": min_sigma,
            "models": tuple(model.tolist()),
        },
    )  # fmt: skip
