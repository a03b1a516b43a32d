"""The one seam between alerts and the statistics library (``fangkong.surveillance``).

Detection methods live in the library, behind its registry
(``fangkong.surveillance.detect.METHODS``: each method's parameters with R's defaults, the
first period it can evaluate, a runner and for some a batched form); alerts never carry
copies of them. This module checks a pack's parameters against the registry and runs
a method over the latest periods of many aligned series (one region each).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from fangkong.surveillance.detect import METHODS, SeriesInput, run_batch, run_method
from fangkong.surveillance.result import Detection

F64 = npt.NDArray[np.float64]


def method_names() -> tuple[str, ...]:
    """The methods the statistics library offers."""
    return tuple(METHODS)


def unknown_params(method: str, params: Mapping[str, Any]) -> list[str]:
    """The names in ``params`` that ``method`` does not take."""
    m = METHODS[method]
    return sorted(k for k in params if m.param(k) is None)


def history_periods(method: str, params: Mapping[str, Any], freq: str) -> int:
    """Periods before the first one ``method`` can evaluate (its reference window)."""
    m = METHODS[method]
    return int(m.first({**m.defaults(), **params}, 52 if freq == "week" else 365))


def _phase(first: dt.date, freq: str) -> int:
    """R's ``start[2]``: the ISO week, or the day of the year, of the first period."""
    return first.isocalendar().week if freq == "week" else first.timetuple().tm_yday


def run_latest(
    method: str, counts: F64, periods: int, params: Mapping[str, Any], dates: Sequence[dt.date],
    *, freq: str = "day", population: F64 | None = None,
) -> list[Detection | None]:  # fmt: skip
    """``method`` over the last ``periods`` periods of each row of ``counts`` (aligned
    series, one per region), from the first period the method can evaluate; None for
    every row when even the last period has too little history."""
    m = METHODS[method]
    values = {**m.defaults(), **params}
    per_year = 52 if freq == "week" else 365
    x = np.atleast_2d(np.asarray(counts, np.float64))
    n = x.shape[1]
    start = max(m.first(values, per_year), n - periods, 0)
    if start >= n:
        return [None] * x.shape[0]
    positions = np.arange(start, n, dtype=np.int64)
    template = SeriesInput(x[0], per_year, _phase(dates[0], freq), tuple(dates), None)
    if m.batch is not None:
        batch = run_batch(m, m.batch, x, population, template, positions, values)
        return list(batch)
    out: list[Detection | None] = []
    for i in range(x.shape[0]):
        pop = None if population is None else np.asarray(population[i], np.float64)
        series = SeriesInput(x[i], per_year, template.start_phase, template.dates, pop)
        out.append(run_method(m, series, positions, values))
    return out
