"""Array kernels of the daily step: group pressure, venue overlap, weighted picks.

Each function works on whole arrays (persons, visits, groups) at once; none loops over
people in Python.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

MINUTES_PER_DAY = 1440


def group_pressure(group: npt.NDArray[np.integer], weight: Floats, n_groups: int) -> Floats:
    """Sum of infectious weight per group (members with group -1 are ignored)."""
    ok = group >= 0
    return np.bincount(group[ok], weights=weight[ok], minlength=n_groups).astype(np.float64)


def venue_overlap(
    inf_venue: Ints,
    inf_in: Floats,
    inf_out: Floats,
    inf_weight: Floats,
    venue: Ints,
    t_in: Floats,
    t_out: Floats,
) -> Floats:
    """For each stay, the infectious weight × minutes it shared the venue with (∫ P dt).

    The infectious presence of a venue, P(t) = Σ weight of infectious visitors present
    at t, is piecewise constant with breaks where they arrive and leave. All venues lie
    on one time axis (venue × 1440 + minute); a running sum of P over the breaks gives
    its integral, read at each stay's ends by binary search — exact overlap minutes,
    O((stays + infectious stays) log) with no pairs formed.
    """
    if len(inf_venue) == 0 or len(venue) == 0:
        return np.zeros(len(venue))
    base = inf_venue.astype(np.float64) * MINUTES_PER_DAY
    keys = np.concatenate([base + inf_in, base + inf_out])
    delta = np.concatenate([inf_weight, -inf_weight])
    order = np.argsort(keys, kind="stable")
    keys, delta = keys[order], delta[order]
    level = np.cumsum(delta)
    level[np.abs(level) < 1e-9] = 0.0
    area = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(keys))])

    def integral(q: Floats) -> Floats:
        k = np.searchsorted(keys, q, side="right") - 1
        kk = np.maximum(k, 0)
        return np.where(k >= 0, area[kk] + level[kk] * (q - keys[kk]), 0.0)

    qbase = venue.astype(np.float64) * MINUTES_PER_DAY
    return np.maximum(integral(qbase + t_out) - integral(qbase + t_in), 0.0)


def pick_in_segments(segment: Ints, weight: Floats, u: Floats) -> Ints:
    """One row per segment, drawn in proportion to weight.

    ``segment`` numbers the rows' segments 0..k-1 in ascending order (every segment has
    a row with positive weight); ``u`` holds one uniform draw per segment.
    """
    cum = np.cumsum(weight)
    counts = np.bincount(segment, minlength=len(u))
    end = np.cumsum(counts)
    start = end - counts
    before = np.concatenate([[0.0], cum])
    target = before[start] + u * (before[end] - before[start])
    at = np.searchsorted(cum, target, side="right")
    chosen: Ints = np.clip(at, start, end - 1).astype(np.int64)
    return chosen


def members_of(groups: Ints, member_group: Ints, members: Ints) -> tuple[Ints, Ints]:
    """Pairs (i, member) for each i and every member whose group is groups[i].

    ``member_group`` gives the group of each of ``members``. Returns the index into
    ``groups`` and the member, ordered by the index.
    """
    order = np.argsort(member_group, kind="stable")
    sorted_group = member_group[order]
    lo = np.searchsorted(sorted_group, groups, side="left")
    hi = np.searchsorted(sorted_group, groups, side="right")
    counts = hi - lo
    owner = np.repeat(np.arange(len(groups), dtype=np.int64), counts)
    offset = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    return owner, members[order][np.repeat(lo, counts) + offset]


def discrete_lognormal(
    mean: float, sd: float, size: int, rng: np.random.Generator, minimum: int = 1
) -> Ints:
    """Whole days from a lognormal of the given mean and sd (rounded, at least ``minimum``)."""
    sigma2 = np.log1p((sd / mean) ** 2)
    mu = np.log(mean) - sigma2 / 2
    return np.maximum(minimum, np.rint(rng.lognormal(mu, np.sqrt(sigma2), size))).astype(np.int64)


def draw_delay(probs: tuple[float, ...], size: int, rng: np.random.Generator) -> Ints:
    """Delays 0, 1, 2, ... days with the given probabilities."""
    cum = np.cumsum(probs)
    return np.minimum(
        np.searchsorted(cum / cum[-1], rng.random(size), side="right"), len(probs) - 1
    )
