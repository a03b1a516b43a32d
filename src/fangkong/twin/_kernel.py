"""Array kernels of the daily step: group pressure, venue overlap, weighted picks.

Each function works on whole arrays (persons, visits, groups) at once; none loops over
people in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    return Presence.build(inf_venue, inf_in, inf_out, inf_weight).overlap(venue, t_in, t_out)


@dataclass(frozen=True)
class Presence:
    """The infectious presence of every venue over one day, and reads of it.

    P_v(t) = Σ weight of the infectious visitors present in venue v at minute t is a step
    function with a break at every infectious arrival and departure. All venues lie on
    one axis, x = venue × 1440 + minute; ``keys`` are the breaks in ascending order,
    ``level`` is P just after each break and ``area`` the integral ∫P dx up to each break.
    ``start``, ``stop``, ``weight`` and ``venue`` describe the infectious stays themselves
    (positions on the axis), for picking who was met.
    """

    keys: Floats
    level: Floats
    area: Floats
    start: Floats
    stop: Floats
    weight: Floats
    venue: Ints

    @classmethod
    def build(cls, venue: Ints, t_in: Floats, t_out: Floats, weight: Floats) -> Presence:
        """From the infectious stays: venue, minutes in and out (0 ≤ t ≤ 1440), weight."""
        base = venue.astype(np.float64) * MINUTES_PER_DAY
        start, stop = base + t_in, base + t_out
        keys = np.concatenate([start, stop])
        delta = np.concatenate([weight, -weight])
        order = np.argsort(keys, kind="stable")
        keys, delta = keys[order], delta[order]
        level = np.cumsum(delta)
        level[np.abs(level) < 1e-9] = 0.0
        area = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(keys))])
        return cls(keys, level, area, start, stop, weight, venue.astype(np.int64))

    def integral(self, x: Floats) -> Floats:
        """∫P up to each axis position ``x``."""
        k = np.searchsorted(self.keys, x, side="right") - 1
        kk = np.maximum(k, 0)
        return np.where(k >= 0, self.area[kk] + self.level[kk] * (x - self.keys[kk]), 0.0)

    def overlap(self, venue: Ints, t_in: Floats, t_out: Floats) -> Floats:
        """For each stay, the infectious weight × minutes it shared the venue with (∫P dt).

        Exact minutes, O((stays + infectious stays) log) with no pairs formed. The stays
        are searched in axis order: sorted queries walk ``keys`` in memory order, which
        costs less than the sort (random binary searches miss the cache at every step).
        """
        if len(self.keys) == 0 or len(venue) == 0:
            return np.zeros(len(venue))
        base = venue.astype(np.float64) * MINUTES_PER_DAY
        x_in = base + t_in
        order = np.argsort(x_in)
        x_in = x_in[order]
        x_out = (base + t_out)[order]
        shared = np.empty(len(venue))
        shared[order] = np.maximum(self.integral(x_out) - self.integral(x_in), 0.0)
        return shared

    def pick(self, venue: Ints, t_in: Floats, t_out: Floats, u: Floats) -> Ints:
        """For each stay (with positive overlap), one infectious stay it met, drawn in
        proportion to weight × minutes shared; ``u`` is one uniform draw per stay.

        Without pairs of whole venues: ``u`` picks a point of the stay's integral, which
        falls in one step of P with probability ∝ the area of that step within the stay;
        where in the step it falls is again uniform and picks, in proportion to weight,
        one of the infectious visitors present during that step. Summed over the steps,
        a visitor is picked with probability weight × shared minutes / ∫P — the same
        law as weighting every infectious visitor of the venue by its overlap.
        """
        if len(venue) == 0:
            return np.zeros(0, dtype=np.int64)
        base = venue.astype(np.float64) * MINUTES_PER_DAY
        a, b = base + t_in, base + t_out
        fa = self.integral(a)
        target = fa + u * (self.integral(b) - fa)
        k = np.clip(np.searchsorted(self.area, target, side="right") - 1, 0, len(self.keys) - 2)
        s0 = np.maximum(self.keys[k], a)
        s1 = np.minimum(self.keys[k + 1], b)
        level = np.maximum(self.level[k], 1e-300)
        at = self.keys[k] + (target - self.area[k]) / level
        width = s1 - s0
        u_step = np.where(width > 0, (at - s0) / np.where(width > 0, width, 1.0), 0.5)
        u_step = np.clip(u_step, 0.0, np.nextafter(1.0, 0.0))
        mid = (s0 + s1) / 2
        # visitors present at mid arrived within the venue's longest infectious stay
        longest = np.zeros(int(self.venue.max(initial=-1)) + 1)
        np.maximum.at(longest, self.venue, self.stop - self.start)
        arrival = np.argsort(self.start, kind="stable")
        start = self.start[arrival]
        lo = np.searchsorted(start, mid - longest[np.minimum(venue, len(longest) - 1)], "left")
        hi = np.searchsorted(start, mid, side="left")
        counts = hi - lo
        owner = np.repeat(np.arange(len(venue), dtype=np.int64), counts)
        first = np.cumsum(counts) - counts
        row = arrival[lo[owner] + np.arange(len(owner), dtype=np.int64) - first[owner]]
        present = (self.stop[row] > mid[owner]) & (self.venue[row] == venue[owner])
        chosen = pick_in_segments(owner, np.where(present, self.weight[row], 0.0), u_step)
        # rounding can land a draw just past its segment's last visitor present: step back
        last_present = np.maximum.accumulate(np.where(present, np.arange(len(row)), -1))
        picked: Ints = row[last_present[chosen]]
        return picked


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
