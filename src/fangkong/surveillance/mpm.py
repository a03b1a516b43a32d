"""Moving percentile method (移动百分位数法) of China's national early-warning system.

CIDARS (传染病自动预警信息系统) compares the cases of the current period with the same
period in past years: the historical baseline holds, for each of the past ``years``
years, the block at the same position of the year and the ``half_width`` blocks on
either side of it; the threshold is the ``percentile``-th percentile of those
``years * (2 * half_width + 1)`` values and the alarm is raised when the current value
exceeds it (strictly). A block is ``window`` consecutive periods summed: with daily data
and ``window = 7`` this is CIDARS's "current 7 days" against 7-day blocks of past years;
with weekly data and ``window = 1`` it is the "5 weeks × N years" table of the literature.

There is no R reference; the rule is specified in ``docs/surveillance.md`` (section
"Moving percentile method") and tested against a literal loop over the definition.
Years are ``freq`` periods back (52 weeks or 365 days: positions, not calendar dates,
the same convention as R's Bayes and Farrington code for weekly data). The percentile
interpolates linearly between order statistics (Hyndman & Fan type 7, R's ``quantile``
default and NumPy's ``"linear"``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fangkong.surveillance._periods import evaluated
from fangkong.surveillance.result import Detection

F64 = npt.NDArray[np.float64]


def baseline_offsets(years: int, half_width: int, window: int, freq: int) -> npt.NDArray[np.int64]:
    """How far back (in periods) each baseline block ends, year by year, block by block."""
    return np.array(
        [
            y * freq - j * window
            for y in range(1, years + 1)
            for j in range(-half_width, half_width + 1)
        ],
        dtype=np.int64,
    )


def first_period(years: int, half_width: int, window: int, freq: int) -> int:
    """The first 0-based period whose every baseline block lies inside the series."""
    return years * freq + half_width * window + window - 1


def _check(years: int, half_width: int, window: int, freq: int, percentile: float) -> None:
    if years < 1 or half_width < 0 or window < 1 or freq < 1:
        raise ValueError("years and window must be at least 1, half_width at least 0")
    if not 0 <= percentile <= 100:
        raise ValueError("percentile must lie between 0 and 100")
    if half_width * window >= freq:
        raise ValueError(
            "the blocks after the same period of last year would reach the current period "
            "(half_width * window must be less than freq)"
        )


def mpm(
    counts: npt.ArrayLike,
    *,
    percentile: float = 80.0,
    years: int = 3,
    half_width: int = 2,
    window: int = 1,
    freq: int = 52,
    range: npt.ArrayLike | None = None,
) -> Detection:
    """Moving percentile method on one series; ``range`` are 0-based periods.

    ``observed`` in the result is the compared value: the sum of the ``window`` periods
    ending at each evaluated period (the count itself when ``window = 1``); ``expected``
    is the median of the baseline.
    """
    x = np.asarray(counts, dtype=np.float64)
    _check(years, half_width, window, freq, percentile)
    first = first_period(years, half_width, window, freq)
    idx = evaluated(
        range, first, len(x),
        f"the moving percentile method with years={years}, half_width={half_width}, "
        f"window={window}",
    )  # fmt: skip
    sums = np.concatenate([[0.0], np.cumsum(x)])

    def block(end: npt.NDArray[np.int64]) -> F64:  # sum of x[end - window + 1 .. end]
        return np.asarray(sums[end + 1] - sums[end + 1 - window], dtype=np.float64)

    current = block(idx)
    baseline = block(idx[:, None] - baseline_offsets(years, half_width, window, freq)[None, :])
    threshold = np.percentile(baseline, percentile, axis=1, method="linear")
    expected = np.median(baseline, axis=1)
    return Detection.build(
        "mpm", idx, current, threshold, current > threshold, expected=expected,
        params={
            "percentile": percentile, "years": years, "half_width": half_width,
            "window": window, "freq": freq,
        },
    )  # fmt: skip
