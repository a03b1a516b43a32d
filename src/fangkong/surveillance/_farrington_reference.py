"""Farrington's reference periods: which past periods each prediction is compared with.

R's calendar arithmetic (``seq.Date`` over POSIXlt fields), the reference time points of
``algo.farrington`` (b years back, w periods either side; by calendar year and weekday
with dates) and of ``farringtonFlexible`` (its ``no_periods`` factor levels and
``past_weeks_not_included``), and the GLM layout they give.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fangkong.surveillance._glm import F64, I64, Layout
from fangkong.surveillance.farrington_params import _bad

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
