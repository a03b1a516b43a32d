"""Bayes 1/2/3 (Riebler 2004), as R ``surveillance::algo.bayes``/``algo.bayes1/2/3``.

For period t the reference values are the ``w`` periods before t (when ``act_y``) and,
for each of the ``b`` past years, the ``2w + 1`` periods centred on the same period of that
year (``freq`` periods back, R's positional offsets — not calendar weeks). With a Poisson
count and the improper prior on its mean, the predictive distribution of the count is
negative binomial with ``size = sum + 1/2`` and ``prob = n / (n + 1)`` (n reference
values); the threshold is its ``1 - alpha`` quantile and the alarm is strict
(``count > threshold``), as R.

Presets (R's fixed controls): bayes1 ``b=0, w=6, act_y`` ; bayes2 ``b=1, w=6, act_y`` ;
bayes3 ``b=2, w=4`` without the current year's window. ``alpha = 0.05`` for all three.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import nbinom

from fangkong.surveillance._periods import evaluated
from fangkong.surveillance.result import Detection

PRESETS: dict[str, dict[str, Any]] = {
    "bayes1": {"b": 0, "w": 6, "act_y": True, "alpha": 0.05},
    "bayes2": {"b": 1, "w": 6, "act_y": True, "alpha": 0.05},
    "bayes3": {"b": 2, "w": 4, "act_y": False, "alpha": 0.05},
}


def first_period(b: int, w: int, freq: int) -> int:
    """The first 0-based period with a full reference window (R: ``t - b*freq - w >= 1``)."""
    return b * freq + w


def reference_offsets(b: int, w: int, act_y: bool, freq: int) -> npt.NDArray[np.int64]:
    """Offsets (periods before t) of every reference value, duplicates kept as R does."""
    parts: list[npt.NDArray[np.int64]] = []
    if act_y:
        parts.append(np.arange(w, 0, -1, dtype=np.int64))
    for year in range(1, b + 1):
        centre = year * freq
        parts.append(np.arange(centre + w, centre - w - 1, -1, dtype=np.int64))
    if not parts:
        raise ValueError("no reference values: act_y is false and b is 0")
    return np.concatenate(parts)


def bayes(
    counts: npt.ArrayLike,
    *,
    b: int = 0,
    w: int = 6,
    act_y: bool = True,
    alpha: float = 0.05,
    freq: int = 52,
    range: npt.ArrayLike | None = None,
) -> Detection:
    """Bayes detector on one series; ``range`` are 0-based periods (default: all possible).

    Defaults are R's ``algo.bayes`` defaults, i.e. Bayes 1.
    """
    x = np.asarray(counts, dtype=np.float64)
    if b < 0 or w < 0 or freq < 1:
        raise ValueError("b and w must not be negative and freq must be positive")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")
    first = first_period(b, w, freq)
    idx = evaluated(range, first, len(x), f"Bayes with b={b}, w={w}, freq={freq}")
    offsets = reference_offsets(b, w, act_y, freq)
    reference = x[idx[:, None] - offsets[None, :]]
    valid = ~np.isnan(reference)
    total = np.where(valid, reference, 0.0).sum(axis=1)
    n = valid.sum(axis=1).astype(np.float64)
    threshold = nbinom.ppf(1.0 - alpha, total + 0.5, n / (n + 1.0))
    observed = x[idx]
    return Detection.build(
        "bayes",
        idx,
        observed,
        threshold,
        observed > threshold,
        params={"b": b, "w": w, "act_y": act_y, "alpha": alpha, "freq": freq},
    )
