"""The Farrington methods' parameters and input checks: ``FarringtonParameterError`` and
the checks of counts, population, dates, the evaluation range and the common controls
(b, w, alpha, limit54, powertrans), each failing with a message in Chinese and English.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fangkong.errors import BadInput, Problem
from fangkong.surveillance._glm import F64, I64

_EXPONENT: dict[str, float] = {"none": 1.0, "1/2": 1 / 2, "2/3": 2 / 3}


class FarringtonParameterError(BadInput, ValueError):
    """A parameter or input series the Farrington methods cannot use."""


def _bad(code: str, zh: str, en: str) -> FarringtonParameterError:
    return FarringtonParameterError(Problem(f"farrington.{code}", zh, en))


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
