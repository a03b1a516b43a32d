"""EARS C1, C2, C3 (CDC Early Aberration Reporting System), as R ``surveillance::earsC``.

C1 compares each period with the mean and standard deviation of the ``baseline`` periods
just before it; C2 leaves a guard band of two periods between them; C3 adds the positive
parts of the two previous C2 statistics. Everything here follows R 1.20.3's code
(``docs/surveillance.md`` lists where that differs from its help page): one-sided
``qnorm(1 - alpha)``, sample standard deviation floored at ``min_sigma``, alarm when the
count is strictly above the bound, C3's bound ``x + sd * (z - lagged C2 parts)`` cut at 0
(so C3's alarm ignores the current count, see :func:`_c3`).

:func:`ears_batch` takes a 2-D array (series × periods) and computes every series at once;
EARS C1 over 10,000 daily series of two years takes a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from fangkong.surveillance.result import Detection

F64 = npt.NDArray[np.float64]
Method = Literal["C1", "C2", "C3"]
METHODS: tuple[Method, ...] = ("C1", "C2", "C3")
DEFAULT_ALPHA: dict[Method, float] = {"C1": 0.001, "C2": 0.001, "C3": 0.025}
# how far back the oldest reference period lies, and so the first period R evaluates
_MAX_LAG_EXTRA: dict[Method, int] = {"C1": 0, "C2": 2, "C3": 4}


@dataclass(frozen=True)
class EarsBatch:
    """Thresholds and alarms for many series at once (rows = series, columns = ``index``)."""

    index: npt.NDArray[np.int64]
    threshold: F64
    alarm: npt.NDArray[np.bool_]
    alarm_defined: npt.NDArray[np.bool_]


def _window_stats(x: F64, lo: int, hi: int, start: int, integral: bool) -> tuple[F64, F64]:
    """Mean and sample sd of ``x[:, t-hi .. t-lo]`` for every ``t >= start``.

    Counts are integers, so running sums of x and x² are exact in float64 (below 2^53)
    and ``var = (b·Σx² - (Σx)²) / (b(b-1))`` is exact before its one rounding: the same
    numbers as R's two-pass ``sd`` to the last bit or two, in a handful of passes over
    the array. Non-integer input takes R's two passes, one vector operation per lag.
    """
    n = x.shape[1]
    b = hi - lo + 1
    if not integral:
        total = np.zeros((x.shape[0], n - start))
        for lag in range(lo, hi + 1):
            total += x[:, start - lag : n - lag]
        mean = total / b
        squares = np.zeros_like(mean)
        for lag in range(lo, hi + 1):
            squares += (x[:, start - lag : n - lag] - mean) ** 2
        return mean, np.sqrt(squares / (b - 1))
    ones = np.zeros((x.shape[0], n + 1))
    np.cumsum(x, axis=1, out=ones[:, 1:])
    twos = np.zeros((x.shape[0], n + 1))
    np.cumsum(x * x, axis=1, out=twos[:, 1:])
    # window t-hi .. t-lo is prefix[t - lo + 1] - prefix[t - hi]
    s1 = ones[:, start - lo + 1 : n - lo + 1] - ones[:, start - hi : n - hi]
    s2 = twos[:, start - lo + 1 : n - lo + 1] - twos[:, start - hi : n - hi]
    s2 *= b
    s2 -= s1 * s1
    s2 /= b * (b - 1)
    np.maximum(s2, 0.0, out=s2)
    return s1 / b, np.sqrt(s2, out=s2)


def check_params(method: str, baseline: int, min_sigma: float, alpha: float | None) -> float:
    """Validate like R's ``earsC`` and return alpha (R's default per method when None)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if min_sigma < 0:
        raise ValueError("min_sigma must not be negative")
    if baseline < 3:
        raise ValueError("baseline must be at least 3 (R: 'Minimum baseline to use is 3.')")
    a = DEFAULT_ALPHA[method] if alpha is None else float(alpha)
    if not 0 < a < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")
    return a


def default_range(method: Method, baseline: int, length: int) -> npt.NDArray[np.int64]:
    """R's default range (0-based): every period with a full reference window."""
    first = baseline + _MAX_LAG_EXTRA[method]
    return np.arange(first, length, dtype=np.int64)


def ears_batch(
    counts: npt.ArrayLike,
    *,
    method: Method = "C1",
    baseline: int = 7,
    min_sigma: float = 0.0,
    alpha: float | None = None,
    range: npt.ArrayLike | None = None,
) -> EarsBatch:
    """EARS on a 2-D array of counts, series × periods; ``range`` are 0-based periods."""
    raw = np.atleast_2d(np.asarray(counts))
    x = raw.astype(np.float64, copy=False)
    a = check_params(method, baseline, min_sigma, alpha)
    n = x.shape[1]
    idx = (
        default_range(method, baseline, n)
        if range is None
        else np.sort(np.asarray(range, dtype=np.int64))
    )
    if idx.size == 0:
        raise ValueError("the range of periods to evaluate is empty")
    first_needed = baseline + _MAX_LAG_EXTRA[method]
    if idx[0] < first_needed or idx[-1] >= n:
        raise ValueError(
            f"EARS {method} with baseline {baseline} needs {first_needed} periods before the "
            f"first evaluated one (R: 'The vector of observed is too short!')"
        )
    z = float(ndtri(1.0 - a))
    integral = _integral(raw, baseline)
    contiguous = bool(idx[-1] - idx[0] == len(idx) - 1)
    columns: slice | npt.NDArray[np.int64] = (
        slice(int(idx[0]), int(idx[-1]) + 1) if contiguous else idx
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "C3":
            bound = _c3(x, idx, baseline, min_sigma, z, integral)
            defined = ~np.isnan(bound)
        else:
            lo, hi = (1, baseline) if method == "C1" else (3, baseline + 2)
            mean, sd = _window_stats(x, lo, hi, hi, integral)
            if min_sigma > 0:
                np.maximum(sd, min_sigma, out=sd)
            sd *= z
            sd += mean  # the bound, in place: mean + z * max(sd, min_sigma)
            bound = sd[:, idx - hi] if not contiguous else sd[:, idx[0] - hi : idx[-1] - hi + 1]
            defined = np.ones(bound.shape, dtype=bool) if integral else ~np.isnan(bound)
        alarm = x[:, columns] > bound
    return EarsBatch(idx, bound, alarm, defined)


def _integral(raw: npt.NDArray[np.generic], baseline: int) -> bool:
    """Whole counts small enough for exact running sums of squares."""
    limit = 2.0**52 / (baseline + 2)
    if np.issubdtype(raw.dtype, np.integer):
        return bool(raw.size == 0 or float(np.max(np.abs(raw))) ** 2 < limit)
    values = raw.astype(np.float64, copy=False)
    finite_whole = bool(np.all(values == np.floor(values)))
    return finite_whole and float(np.max(np.abs(values), initial=0.0)) ** 2 < limit


def _c3(
    x: F64, idx: npt.NDArray[np.int64], baseline: int, min_sigma: float, z: float, integral: bool
) -> F64:
    """C3 bound: ``x_t + sd_t (z - (C2_{t-2} - 1)^+ - (C2_{t-1} - 1)^+)``, cut at 0.

    R's code, not its help page: the bound is built from the count itself, so the count
    cancels and the alarm ``x_t > bound`` says only that the two previous C2 statistics
    (less 1, positive parts) add up to more than z — or, where the bound is cut at 0,
    that ``x_t > 0``. The help page's C3 sums three C2 terms including period t. A zero
    sd gives ±Inf or NaN C2 statistics exactly as in R (IEEE arithmetic), NaN → NA.
    """
    start = baseline + 2
    mean, sd = _window_stats(x, 3, baseline + 2, start, integral)
    sigma = np.maximum(sd, min_sigma)
    c2 = (x[:, start:] - mean) / sigma
    col = idx - start
    lag2 = np.maximum(0.0, c2[:, col - 2] - 1.0)
    lag1 = np.maximum(0.0, c2[:, col - 1] - 1.0)
    bound = x[:, idx] + sigma[:, col] * (z - (lag2 + lag1))
    return np.maximum(0.0, bound)


def ears(
    counts: npt.ArrayLike,
    *,
    method: Method = "C1",
    baseline: int = 7,
    min_sigma: float = 0.0,
    alpha: float | None = None,
    range: npt.ArrayLike | None = None,
) -> Detection:
    """EARS C1/C2/C3 on one series (R ``earsC(sts, control=list(method=...))``).

    ``range`` are 0-based positions to evaluate (R's ``range`` minus one); by default
    every period with a full reference window. ``alpha`` defaults to R's: 0.001 for C1
    and C2, 0.025 for C3.
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("ears() takes one series; use ears_batch() for many")
    batch = ears_batch(
        x[None, :], method=method, baseline=baseline, min_sigma=min_sigma, alpha=alpha,
        range=range,
    )  # fmt: skip
    a = DEFAULT_ALPHA[method] if alpha is None else alpha
    return Detection.build(
        f"ears-{method.lower()}",
        batch.index,
        x[batch.index],
        batch.threshold[0],
        batch.alarm[0],
        alarm_defined=batch.alarm_defined[0],
        params={"method": method, "baseline": baseline, "min_sigma": min_sigma, "alpha": a},
    )
