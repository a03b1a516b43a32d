"""Classes and office teams (班级、科室): the units within a school or workplace.

A school's pupils of one age are split into classes of about ``class_size`` (equal
shares: k = max(1, round(n / class_size)) classes); a workplace's staff (a school's
teachers included) into teams whose sizes are drawn uniformly from ``team_size`` =
[min, max], the last team taking the remainder (merged into the one before when it
would be smaller than min). Whole-array NumPy: one sort per kind of unit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def _runs(key: Ints) -> tuple[Ints, Ints, Ints]:
    """For a sorted key: (start of each run, its length, run index of each element)."""
    first = np.ones(len(key), np.bool_)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, len(key)))
    return starts, sizes, np.cumsum(first) - 1


def classes(venue: Ints, age: Ints, pupil: Bools, size: int, rng: np.random.Generator) -> Ints:
    """Class number (1-based) of each pupil within their (school, age); 0 for others."""
    out = np.zeros(len(venue), np.int64)
    who = np.flatnonzero(pupil & (venue >= 0))
    if len(who) == 0:
        return out
    key = venue * 256 + np.clip(age, 0, 255)
    order = who[np.lexsort((rng.random(len(who)), key[who]))]
    starts, sizes, run = _runs(key[order])
    k = np.maximum(1, np.rint(sizes / size)).astype(np.int64)
    rank = np.arange(len(order)) - starts[run]
    out[order] = rank * k[run] // sizes[run] + 1
    return out


def teams(venue: Ints, staff: Bools, low: int, high: int, rng: np.random.Generator) -> Ints:
    """Team number (1-based) of each staff member within their venue; 0 for others."""
    out = np.zeros(len(venue), np.int64)
    who = np.flatnonzero(staff & (venue >= 0))
    if len(who) == 0:
        return out
    order = who[np.lexsort((rng.random(len(who)), venue[who]))]
    starts, sizes, run = _runs(venue[order])
    draws = -(-sizes // low) + 1  # enough teams of at least ``low`` to cover the venue
    drawn = rng.integers(low, high + 1, int(draws.sum())).astype(np.int64)
    cum = np.cumsum(drawn)
    first_draw = np.cumsum(draws) - draws
    base = np.where(first_draw > 0, cum[np.maximum(first_draw - 1, 0)], 0)
    rank = np.arange(len(order)) - starts[run]
    team = np.searchsorted(cum, base[run] + rank, side="right") - first_draw[run]
    last = np.zeros(len(sizes), np.int64)
    np.maximum.at(last, run, team)
    last_start = np.where(last > 0, cum[first_draw + np.maximum(last - 1, 0)] - base, 0)
    small = (last > 0) & (sizes - last_start < low)
    team = np.where(small[run] & (team == last[run]), team - 1, team)
    out[order] = team + 1
    return out
