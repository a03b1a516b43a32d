"""GLR charts for count series (Höhle & Paul 2008), as R ``surveillance::algo.glrnb``.

In-control means ``mu0`` come from a log-linear regression (``mu0_s`` harmonics, optional
trend) fitted on every count before the first evaluated period: Poisson when
``alpha = 0``, negative binomial with dispersion ``alpha`` when given, and ``glm.nb``
(dispersion estimated) when ``alpha`` is None — R's ``estimateGLRNbHook``. The chart then
runs R's C routines, re-written here:

- ``theta`` None (GLR): the statistic at n is ``max_k sup_kappa sum_{t=k..n} log LR``;
  Poisson without window (``m = -1``) considers every k (``glr_cusum``), Poisson with a
  window ``max(0, n-M) <= k <= n-Mtilde`` (``glr_cusum_window``), and negative binomial
  ``max(0, n-M) <= k <= n-Mtilde+1`` (``glr_nb_window``) with R's Newton iteration;
- ``theta`` given (LR CUSUM for a known change ``kappa = theta``): Page's recursion.

Alarm when the statistic reaches ``c_arl`` (``>=``; the known-theta charts use ``>``);
after an alarm the chart restarts at the next period. ``ret = "value"`` (R's default)
returns the statistic as the threshold column; ``ret = "cases"`` the number of cases at
that period that would have raised the alarm. Negative and NA values become 0 as in R.
The epidemic chart (``change = "epi"``) is not implemented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from fangkong.surveillance.glm import GlmFit, glm_fit, glm_nb, harmonic_design
from fangkong.surveillance.result import Detection

F64 = npt.NDArray[np.float64]
_FLOOR = -1e99  # R's C code starts every maximum here
NR_TOL = 1e-6
NR_MAXITER = 1000


@dataclass(frozen=True)
class Segment:
    """One run of a chart until its first alarm: statistic, cases, 0-based alarm or None."""

    value: F64
    cases: F64
    alarm_at: int | None


# ---------------------------------------------------------------- Poisson GLR


def _poisson_glr_at(n: int, x: F64, mu0: F64, direction: int, low: int, up: int) -> float:
    """max over low <= k <= up of the Poisson GLR of a change at k, seen at n.

    Sums run backwards from n as R's C code does (same rounding).
    """
    if up < low:
        return _FLOOR
    sx = np.cumsum(x[n::-1])[n - up : n - low + 1]
    sm = np.cumsum(mu0[n::-1])[n - up : n - low + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = direction * np.fmax(0.0, direction * np.log(sx / sm))
        val = kappa * sx + (1.0 - np.exp(kappa)) * sm
    val = np.where(np.isnan(val), _FLOOR, val)
    return float(max(_FLOOR, val.max()))


def _poisson_bounds(n: int, m: int, m_tilde: int, windowed: bool) -> tuple[int, int]:
    if not windowed:
        return 0, n
    return int(max(0, n - m)), n - m_tilde


def _poisson_cases(
    n: int, x: F64, mu0: F64, direction: int, low: int, up: int, c_arl: float
) -> float:
    """R's search for the count raising the alarm at n: from 0 up, while ``dir*g < dir*c``."""
    work = x.copy()
    v = -1.0
    while True:
        v += 1
        work[n] = v
        if not direction * _poisson_glr_at(n, work, mu0, direction, low, up) < direction * c_arl:
            return v


def poisson_glr_segment(
    x: F64, mu0: F64, *, m: int, m_tilde: int, c_arl: float, direction: int, cases: bool
) -> Segment:
    """``glr_cusum`` (m <= 0) or ``glr_cusum_window`` (m > 0) on one segment."""
    windowed = m > 0
    n0 = m_tilde if windowed else max(0, m_tilde - 1)
    value = np.zeros(len(x))
    need = np.zeros(len(x))
    for n in np.arange(n0, len(x)):
        low, up = _poisson_bounds(int(n), m, m_tilde, windowed)
        value[n] = _poisson_glr_at(int(n), x, mu0, direction, low, up)
        if cases:
            need[n] = _poisson_cases(int(n), x, mu0, direction, low, up, c_arl)
        if value[n] >= c_arl:
            return Segment(value[: n + 1], need[: n + 1], int(n))
    return Segment(value, need, None)


# ---------------------------------------------------------------- negative binomial GLR


def nb_glr_lanes(
    xs: F64, ms: F64, ends: npt.NDArray[np.int64], lows: npt.NDArray[np.int64],
    ups: npt.NDArray[np.int64], alpha: float, direction: int,
) -> F64:  # fmt: skip
    """``glr_nb_window``'s statistic for many independent lanes at once.

    Lane l holds counts ``xs[l]`` and means ``ms[l]`` and asks for the statistic at
    period ``ends[l]`` over change points ``lows[l] <= k <= ups[l]``. Within a lane the
    change points are taken one after the other exactly as R's C code: Newton from the
    previous k's estimate (0.5 for the first), stop when a step is below 1e-6 or the
    estimate falls below -18, clip at 0 with C's ``fmax`` (NaN becomes 0), keep the
    largest log likelihood ratio. The path matters: Newton can diverge from a poor
    start, and R's warm start decides where it lands. Lanes are the vector dimension.
    """
    lanes, width = xs.shape
    cols = np.arange(width)[None, :]
    best = np.full(lanes, _FLOOR)
    kappa_ml = np.full(lanes, 0.5)
    steps = int(np.max(ups - lows, initial=-1)) + 1
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for j in range(steps):
            k = lows + j
            live = k <= ups
            if not live.any():
                break
            inside = (cols >= k[:, None]) & (cols <= ends[:, None])
            xa = np.where(inside, xs, 0.0)
            ma = np.where(inside, ms, 0.0)
            new = kappa_ml.copy()
            old = np.full(lanes, 0.4)
            going = live.copy()
            for _ in range(NR_MAXITER):
                going &= (new > -18) & (np.abs(new - old) > NR_TOL)
                if not going.any():
                    break
                e = np.exp(new[going])[:, None]
                xg, mg = xa[going], ma[going]
                denom = 1.0 + alpha * e * mg
                score = np.sum((xg - e * mg) / denom, axis=1)
                fisher = e[:, 0] * np.sum(mg * (alpha * xg + 1.0) / denom**2, axis=1)
                old[going] = new[going]
                new[going] = new[going] + score / fisher
            kml = direction * np.fmax(0.0, direction * new)
            terms = kml[:, None] * xa + (xa + 1.0 / alpha) * np.log(
                (1.0 + alpha * ma) / (1.0 + alpha * ma * np.exp(kml)[:, None])
            )
            lnk = np.sum(np.where(inside, terms, 0.0), axis=1)
            better = live & (lnk > best)
            best[better] = lnk[better]
            kappa_ml = np.where(live, kml, kappa_ml)
    return best


def _nb_bounds(n: npt.NDArray[np.int64], m: int, m_tilde: int) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int64]
]:  # fmt: skip
    low = np.zeros_like(n) if m == -1 else np.maximum(0, n - m)
    return low, n - (m_tilde - 1)


def nb_glr_segment(
    x: F64, mu0: F64, *, alpha: float, m: int, m_tilde: int, c_arl: float, direction: int
) -> Segment:
    """``glr_nb_window`` on one segment: every period at once, then the first alarm.

    R stops at the first alarm; the statistic at n depends only on counts up to n, so
    computing all periods and cutting at the first alarm gives the same numbers.
    """
    value = np.zeros(len(x))
    n = np.arange(max(m_tilde - 1, 0), len(x), dtype=np.int64)
    if n.size:
        low, up = _nb_bounds(n, m, m_tilde)
        lanes = len(n)
        value[n] = nb_glr_lanes(
            np.broadcast_to(x, (lanes, len(x))), np.broadcast_to(mu0, (lanes, len(x))),
            n, low, up, alpha, direction,
        )  # fmt: skip
    hits = np.flatnonzero(value >= c_arl)
    if hits.size:
        at = int(hits[0])
        return Segment(value[: at + 1], np.zeros(at + 1), at)
    return Segment(value, np.zeros(len(x)), None)


def nb_cases(
    x: F64, mu0: F64, seg: Segment, *, alpha: float, m: int, m_tilde: int, c_arl: float,
    direction: int, x_max: float,
) -> F64:  # fmt: skip
    """R's brute-force ``ret = "cases"`` for the NB chart.

    R re-runs the whole chart with the count at one position moved by one, again and
    again, until the alarm status at that position flips (up from the count when there
    was no alarm, down when there was). The statistic before the position does not
    change, so only the statistic at the position is needed; here every unresolved
    position tries its next block of candidate counts at once, one lane per (position,
    candidate). As in R, a zero count without alarm gets 1e99 (its search never starts)
    and an alarm that cannot be undone gets NA.
    """
    upto = len(seg.value)
    out = np.zeros(upto)
    n0 = max(m_tilde - 1, 0)
    alarmed = np.zeros(upto, dtype=bool)
    if seg.alarm_at is not None:
        alarmed[seg.alarm_at :] = True
    start = x[:upto].astype(np.int64)
    # first and last candidate per position, in search order (step +1 or -1)
    step = np.where(alarmed, -1, 1)
    first = start + step
    last = np.where(alarmed, 0, int(x_max) + 1)
    empty = np.where(alarmed, start < 1, (start < 1) | (start > x_max))
    out[empty] = np.where(alarmed[empty], np.nan, 1e99)
    todo = ~empty
    tried = np.zeros(upto, dtype=np.int64)
    block = 2
    while todo.any():
        pos = np.flatnonzero(todo)
        offs = tried[pos][:, None] + np.arange(block)[None, :]
        cand = first[pos][:, None] + step[pos][:, None] * offs
        valid = step[pos][:, None] * (last[pos][:, None] - cand) >= 0
        lane_pos = np.repeat(pos, block)[valid.ravel()]
        lane_val = cand.ravel()[valid.ravel()]
        work = np.repeat(x[None, :], len(lane_pos), axis=0)
        work[np.arange(len(lane_pos)), lane_pos] = lane_val
        stats = np.zeros(len(lane_pos))
        real = lane_pos >= n0
        if real.any():
            low, up = _nb_bounds(lane_pos[real], m, m_tilde)
            stats[real] = nb_glr_lanes(
                work[real], np.broadcast_to(mu0, work[real].shape), lane_pos[real], low, up,
                alpha, direction,
            )  # fmt: skip
        flips = np.where(alarmed[lane_pos], stats < c_arl, stats >= c_arl)
        grid = np.zeros(valid.shape, dtype=bool)
        grid[valid] = flips
        for row, p in enumerate(pos):
            hit = np.flatnonzero(grid[row])
            if hit.size:
                value = float(cand[row, hit[0]])
                out[p] = value + 1 if alarmed[p] else value
                todo[p] = False
            elif not valid[row].all() or cand[row, -1] == last[p]:
                out[p] = np.nan if alarmed[p] else 1e99
                todo[p] = False
        tried[pos] += block
        block = min(block * 2, 256)
    return out


# ---------------------------------------------------------------- known change (LR CUSUM)


def lr_segment(x: F64, mu0: F64, *, kappa: float, alpha: float, c_arl: float) -> Segment:
    """``lr_cusum`` (alpha = 0) / ``lr_cusum_nb``: Page's CUSUM of log LRs, alarm at ``>``."""
    value = np.zeros(len(x))
    need = np.zeros(len(x))
    prev = 0.0
    for n in range(len(x)):
        if alpha == 0:
            z = kappa * x[n] + (1 - np.exp(kappa)) * mu0[n]
            need[n] = (c_arl - prev + mu0[n] * (np.exp(kappa) - 1)) / kappa
        else:
            ratio = np.log((1 + alpha * mu0[n]) / (1 + alpha * mu0[n] * np.exp(kappa)))
            z = kappa * x[n] + (x[n] + 1 / alpha) * ratio
            need[n] = -(prev * alpha + ratio - c_arl * alpha) / alpha / (kappa + ratio)
        value[n] = max(0.0, prev + z)
        prev = value[n]
        if value[n] > c_arl:
            return Segment(value[: n + 1], need[: n + 1], n)
    return Segment(value, need, None)


# ---------------------------------------------------------------- in-control model


def fit_mu0(
    x: F64, first: int, idx: npt.NDArray[np.int64], *, harmonics: int, trend: bool,
    alpha: float | None, freq: int,
) -> tuple[F64, float]:  # fmt: skip
    """R's ``estimateGLRNbHook``: fit on periods 1..first, predict at ``idx`` (0-based)."""
    t = np.arange(1, first + 1, dtype=np.float64)
    design = harmonic_design(t, freq, harmonics, trend)
    y = x[:first]
    fit: GlmFit
    if alpha is None:
        fit = glm_nb(design, y)
        alpha = 1.0 / fit.theta
    elif alpha == 0:
        fit = glm_fit(design, y)
    else:
        fit = glm_fit(design, y, theta=1.0 / alpha)
    new = harmonic_design(idx.astype(np.float64) + 1.0, freq, harmonics, trend)
    return fit.predict(new), float(alpha)


def glrnb(
    counts: npt.ArrayLike,
    *,
    c_arl: float = 5.0,
    alpha: float | None = None,
    mu0: npt.ArrayLike | None = None,
    mu0_s: int = 1,
    mu0_trend: bool = False,
    mu0_refit: bool = False,
    m_tilde: int = 1,
    m: int = -1,
    change: Literal["intercept"] = "intercept",
    theta: float | None = None,
    dir: Literal["inc", "dec"] = "inc",
    ret: Literal["value", "cases"] = "value",
    x_max: float = 1e4,
    freq: int = 52,
    range: npt.ArrayLike | None = None,
) -> Detection:
    """GLR detector on one series; ``range`` are 0-based consecutive periods.

    Defaults are R's. ``alpha`` None estimates the NB dispersion (``glm.nb``) when
    ``mu0`` is fitted; with a given ``mu0`` (one value per evaluated period) ``alpha``
    is required, as in R.
    """
    x = np.asarray(counts, dtype=np.float64)
    if change != "intercept":
        raise ValueError("only change = 'intercept' is implemented (not the epidemic chart)")
    if dir not in ("inc", "dec"):
        raise ValueError("dir must be 'inc' or 'dec'")
    if ret not in ("value", "cases"):
        raise ValueError("ret must be 'value' or 'cases'")
    if m_tilde < 1:
        raise ValueError("m_tilde must be at least 1")
    idx = np.arange(1, len(x)) if range is None else np.asarray(range, dtype=np.int64)
    if idx.size == 0 or idx[0] < 1 or idx[-1] >= len(x) or np.any(np.diff(idx) != 1):
        raise ValueError("range must be consecutive periods after the first one")
    direction = 1 if dir == "inc" else -1
    if mu0 is None:
        base, alpha = fit_mu0(
            x, int(idx[0]), idx, harmonics=mu0_s, trend=mu0_trend, alpha=alpha, freq=freq
        )
    else:
        if alpha is None:
            raise ValueError("alpha is required when mu0 is given (R fails without it)")
        base = np.asarray(mu0, dtype=np.float64)
        if base.shape != idx.shape:
            raise ValueError("mu0 needs one value per evaluated period")
        mu0_refit = False
    threshold, alarm = _run(
        x, idx, base, alpha=alpha, c_arl=c_arl, m=m, m_tilde=m_tilde, theta=theta,
        direction=direction, ret=ret, x_max=x_max,
        refit=(lambda start: fit_mu0(
            x, start, idx[idx >= start], harmonics=mu0_s, trend=mu0_trend, alpha=alpha,
            freq=freq)[0]) if mu0_refit else None,
    )  # fmt: skip
    threshold = np.where(np.isnan(threshold) | (threshold < 0), 0.0, threshold)
    params: dict[str, object] = {
        "c_arl": c_arl, "alpha": alpha, "mu0_s": mu0_s, "mu0_trend": mu0_trend,
        "mu0_refit": mu0_refit, "m_tilde": m_tilde, "m": m, "change": change,
        "theta": theta, "dir": dir, "ret": ret, "x_max": x_max,
    }  # fmt: skip
    return Detection.build(
        "glrnb", idx, x[idx], threshold, alarm, alarm_defined=np.ones(len(idx), bool),
        expected=base, params=params,
    )  # fmt: skip


def _run(
    x: F64, idx: npt.NDArray[np.int64], mu0: F64, *, alpha: float, c_arl: float, m: int,
    m_tilde: int, theta: float | None, direction: int, ret: str, x_max: float,
    refit: Callable[[int], F64] | None,
) -> tuple[F64, npt.NDArray[np.bool_]]:  # fmt: skip
    """Run segment after segment, restarting after each alarm as R's ``algo.glrnb``."""
    threshold = np.zeros(len(idx))
    alarm = np.zeros(len(idx), dtype=bool)
    done = 0
    mu = mu0
    while done < len(idx):
        seg_x = x[idx[done:]]
        seg_mu = mu[-len(seg_x) :] if refit is None else mu
        if theta is not None:
            seg = lr_segment(seg_x, seg_mu, kappa=theta, alpha=alpha, c_arl=c_arl)
            out = seg.cases if ret == "cases" else seg.value
        elif alpha == 0:
            seg = poisson_glr_segment(
                seg_x, seg_mu, m=m, m_tilde=m_tilde, c_arl=c_arl, direction=direction,
                cases=ret == "cases",
            )  # fmt: skip
            out = seg.cases if ret == "cases" else seg.value
        else:
            seg = nb_glr_segment(
                seg_x, seg_mu, alpha=alpha, m=m, m_tilde=m_tilde, c_arl=c_arl,
                direction=direction,
            )  # fmt: skip
            out = seg.value
            if ret == "cases":
                out = nb_cases(
                    seg_x, seg_mu, seg, alpha=alpha, m=m, m_tilde=m_tilde, c_arl=c_arl,
                    direction=direction, x_max=x_max,
                )  # fmt: skip
        threshold[done : done + len(out)] = out
        if seg.alarm_at is None:
            break
        alarm[done + seg.alarm_at] = True
        done += seg.alarm_at + 1
        if refit is not None and done < len(idx):
            mu = refit(int(idx[done]))
    return threshold, alarm
