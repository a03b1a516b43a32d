"""Transmission chains (传播链) and clusters (聚集性疫情) — pure functions over arrays.

Chains: the graph case → close contact. A contact who later becomes a case links the
two cases' chains; a chain is a connected set of cases, its roots the cases no other
case named as a contact.

Clusters: cases linked through a shared venue (stays at the same venue no more than
``window`` seconds apart) or a shared household, joined transitively (union-find).
At one venue the stays are taken in order of arrival; a stay joins the run before it
when it starts within ``window`` of the latest departure so far — the same components
as linking every pair within the window, without forming the pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fangkong.tracing.copresence import I64, Ints


class UnionFind:
    """Disjoint sets over 0..n-1 (path halving, union by size)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, a: int) -> int:
        parent = self.parent
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return ra

    def labels(self) -> I64:
        """Component of each element, numbered 0.. in order of first appearance."""
        roots = [self.find(i) for i in range(len(self.parent))]
        number: dict[int, int] = {}
        return np.array([number.setdefault(r, len(number)) for r in roots], np.int64)


@dataclass(frozen=True)
class Chains:
    cases: I64  # person codes of the cases, as given
    chain: I64  # chain number of each case
    links: list[tuple[int, int]]  # (case person, contact person who became a case)
    roots: I64  # case persons no other case named as a contact

    def members(self, chain: int) -> I64:
        found: I64 = self.cases[self.chain == chain]
        return found


def transmission_chains(cases: Ints, source: Ints, contact: Ints) -> Chains:
    """Chains from close-contact pairs (source case person → contact person)."""
    unique_cases: I64 = np.unique(np.asarray(cases, np.int64))
    source = np.asarray(source, np.int64)
    contact = np.asarray(contact, np.int64)
    between = np.isin(source, unique_cases) & np.isin(contact, unique_cases) & (source != contact)
    pairs = sorted(set(zip(source[between].tolist(), contact[between].tolist(), strict=True)))
    where = {p: i for i, p in enumerate(unique_cases.tolist())}
    sets = UnionFind(len(unique_cases))
    for a, b in pairs:
        sets.union(where[a], where[b])
    named = {b for _, b in pairs}
    roots = np.array([c for c in unique_cases.tolist() if c not in named], np.int64)
    return Chains(cases=unique_cases, chain=sets.labels(), links=pairs, roots=roots)


def merge_stays(
    case: Ints, venue: Ints, stay_in: Ints, stay_out: Ints
) -> tuple[I64, I64, I64, I64]:
    """A case's stays at one venue that overlap or touch, merged into one (case, venue,
    in, out), sorted by case, venue and arrival. ``clusters`` finds the same clusters in
    the merged stays: the venue rule joins stays whose ``[in, out + window]`` meet, and
    merging meeting stays of one case leaves the union of those intervals unchanged."""
    order = np.lexsort((stay_out, stay_in, venue, case))
    c: I64 = np.asarray(case, np.int64)[order]
    v: I64 = np.asarray(venue, np.int64)[order]
    t_in: I64 = np.asarray(stay_in, np.int64)[order]
    t_out: I64 = np.asarray(stay_out, np.int64)[order]
    if not len(c):
        return c, v, t_in, t_out
    group = np.r_[True, (c[1:] != c[:-1]) | (v[1:] != v[:-1])]
    # the latest departure so far within a group, for all groups in one running maximum:
    # each group's times are lifted above the previous group's by a span wider than them
    base = min(int(t_in.min()), int(t_out.min()))
    rel = t_out - base
    lift = np.cumsum(group) * (int(rel.max()) + 1)
    reach = np.maximum.accumulate(lift + rel) - lift + base
    starts = group.copy()
    starts[1:] |= t_in[1:] > reach[:-1]
    first = np.flatnonzero(starts)
    t_first: I64 = np.minimum.reduceat(t_in, first)
    t_last: I64 = np.maximum.reduceat(t_out, first)
    return c[first], v[first], t_first, t_last


@dataclass(frozen=True)
class Clusters:
    cluster: I64  # cluster number of each case (row of the cases given)
    sizes: dict[int, int]  # cluster → cases, clusters of two or more only
    venues: dict[int, dict[int, int]]  # cluster → {venue: cases linked there}
    households: dict[int, list[int]]  # cluster → households linking its cases


def clusters(
    household: Ints,
    stay_case: Ints,
    stay_venue: Ints,
    stay_in: I64,
    stay_out: I64,
    window: int,
) -> Clusters:
    """Clusters of cases (rows 0..n-1 of ``household``, the case's household or −1)
    from their stays (case row, venue, in, out) and shared households."""
    household = np.asarray(household, np.int64)
    n = len(household)
    sets = UnionFind(n)
    by_household: dict[int, list[int]] = {}
    for case, h in enumerate(household.tolist()):
        if h >= 0:
            by_household.setdefault(h, []).append(case)
    for group in by_household.values():
        for other in group[1:]:
            sets.union(group[0], other)
    links: list[tuple[int, int, set[int]]] = []  # (venue, a case, cases of one run)
    order = np.lexsort((np.asarray(stay_in), np.asarray(stay_venue)))
    run: set[int] = set()
    prev_venue, latest = -1, 0
    for i in order.tolist():
        venue, case = int(stay_venue[i]), int(stay_case[i])
        if venue != prev_venue or int(stay_in[i]) - latest > window:
            if len(run) > 1:
                links.append((prev_venue, next(iter(run)), run))
            run, latest = set(), int(stay_out[i])
        run.add(case)
        latest = max(latest, int(stay_out[i]))
        prev_venue = venue
    if len(run) > 1:
        links.append((prev_venue, next(iter(run)), run))
    for _, first, members in links:
        for case in members:
            sets.union(first, case)
    label = sets.labels()
    counts = np.bincount(label, minlength=int(label.max()) + 1 if n else 0)
    sizes = {int(c): int(k) for c, k in enumerate(counts.tolist()) if k >= 2}
    venues: dict[int, dict[int, int]] = {}
    for venue, first, members in links:
        at = venues.setdefault(int(label[first]), {})
        at[venue] = max(at.get(venue, 0), len(members))
    homes: dict[int, list[int]] = {}
    for h, group in sorted(by_household.items()):
        if len(group) > 1:
            homes.setdefault(int(label[group[0]]), []).append(h)
    return Clusters(cluster=label, sizes=sizes, venues=venues, households=homes)
