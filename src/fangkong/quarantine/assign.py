"""Placement as a pure function (安置算法): units of people → free rooms, by the pack's rules.

No database here: the service loads the free rooms into a ``RoomPool``, forms ``Unit``s
(one person; a family; a child with a guardian) and calls ``assign``. The rules::

    for each unit (accessible needs first, then larger units, then request order):
        for each acceptable room kind, in the pack's order of preference:
            accessible needed      → accessible rooms with beds ≥ size
            one person             → single; family if the pack allows; accessible if allowed
            two or more            → family rooms with beds ≥ size (accessible if allowed)
            walk the facilities the unit's group may use (pack: facility_kinds) within
            its reach (``areas``: the unit's region and the facility's at one level —
            own county, city or province; none given: everywhere), nearest first
            (distance from the unit's region centroid), and take the first fitting
            room: the smallest bed count that fits, in a zone already holding the unit's
            risk group before an empty zone; never a zone (or facility, or room — pack:
            separate_risk_groups) holding another group

"Full" only grows while a batch is placed (rooms are taken, zones gain a group), so a
cursor per (location, room kind, size, group) only moves forward: a batch of N units over
F facilities costs O(N + locations × F) walks, not O(N × F).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from fangkong.quarantine.rules import PlacementRules

EARTH_KM = 6371.0088
F64 = NDArray[np.float64]


@dataclass
class Unit:
    """People placed in one room: the members' indices in the request list."""

    members: list[int]
    group: str  # the most severe group of the members
    accessible: bool
    location: int  # index into the locations passed to ``assign``
    order: int = 0


@dataclass
class RoomPool:
    """Free rooms of the facilities that take placements, and what the zones hold.

    Parallel lists: ``room_id[i]`` lies in facility ``room_facility[i]`` (an index into
    the facility lists), zone ``room_zone[i]`` (a global zone index), with ``room_kind[i]``
    and ``room_beds[i]``. ``zone_group[z]`` is the risk group held by zone ``z`` ("" if
    empty); ``facility_groups[f]`` the groups held anywhere in facility ``f``.
    """

    facility_ids: list[int]
    facility_kind: list[str]
    facility_lat: F64
    facility_lon: F64
    room_id: list[int]
    room_facility: list[int]
    room_zone: list[int]
    room_kind: list[str]
    room_beds: list[int]
    zone_group: list[str]
    zone_facility: list[int]
    facility_groups: list[set[str]] = field(default_factory=list)
    room_label: list[tuple[str, str]] = field(default_factory=list)  # (room code, zone name)
    facility_region: list[str | None] = field(default_factory=list)
    _free: dict[tuple[int, str, int, int], list[int]] = field(default_factory=dict)
    _zones: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.facility_groups:
            self.facility_groups = [set() for _ in self.facility_ids]
            for z, g in enumerate(self.zone_group):
                if g:
                    self.facility_groups[self.zone_facility[z]].add(g)
        free: dict[tuple[int, str, int, int], list[int]] = defaultdict(list)
        # reversed so that pop() hands out rooms in the order given (room code order)
        for i in reversed(range(len(self.room_id))):
            key = (self.room_facility[i], self.room_kind[i], self.room_zone[i], self.room_beds[i])
            free[key].append(i)
        self._free = dict(free)
        zones: dict[int, list[int]] = defaultdict(list)
        for z, f in enumerate(self.zone_facility):
            zones[f].append(z)
        self._zones = dict(zones)
        self._beds: dict[tuple[int, str, int], list[int]] = defaultdict(list)
        for f, k, z, b in self._free:
            self._beds[(f, k, z)].append(b)
        for beds in self._beds.values():
            beds.sort()

    def remove(self, room_index: int) -> None:
        """A room taken elsewhere (another request won it): never offer it again."""
        key = (
            self.room_facility[room_index],
            self.room_kind[room_index],
            self.room_zone[room_index],
            self.room_beds[room_index],
        )
        stack = self._free.get(key)
        if stack and room_index in stack:
            stack.remove(room_index)

    def take(self, f: int, kind: str, size: int, group: str, separation: str) -> int:
        """A free room of ``kind`` with ≥ ``size`` beds in facility ``f`` for ``group``, or -1."""
        if separation == "facility" and self.facility_groups[f] - {group}:
            return -1
        zones = self._zones.get(f, [])
        if separation == "zone":
            ordered = [z for z in zones if self.zone_group[z] == group]
            ordered += [z for z in zones if self.zone_group[z] == ""]
        else:
            ordered = zones
        for z in ordered:
            for b in self._beds.get((f, kind, z), ()):
                if b < size:
                    continue
                stack = self._free[(f, kind, z, b)]
                if stack:
                    room = stack.pop()
                    self.zone_group[z] = self.zone_group[z] or group
                    self.facility_groups[f].add(group)
                    return room
        return -1


def distances_km(lat: F64, lon: F64, to_lat: F64, to_lon: F64) -> F64:
    """Great-circle distance (haversine) from each (lat, lon) to each (to_lat, to_lon);
    a NaN origin is 0 km from everything (unknown location: facility order decides)."""
    p1, l1 = np.radians(lat)[:, None], np.radians(lon)[:, None]
    p2, l2 = np.radians(to_lat)[None, :], np.radians(to_lon)[None, :]
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    d: F64 = 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return np.nan_to_num(d, nan=0.0)


def room_kinds_for(unit: Unit, rules: PlacementRules) -> tuple[str, ...]:
    """The room kinds a unit may take, in order of preference."""
    if unit.accessible:
        return ("accessible",)
    if len(unit.members) == 1:
        kinds = ["single"]
        if rules.singles_may_use_family_rooms:
            kinds.append("family")
    else:
        kinds = ["family"]
    if rules.others_may_use_accessible_rooms:
        kinds.append("accessible")
    return tuple(kinds)


def assign(
    units: Sequence[Unit],
    pool: RoomPool,
    location_lat: F64,
    location_lon: F64,
    rules: PlacementRules,
    *,
    areas: tuple[Sequence[str | None], Sequence[str | None]] | None = None,
) -> list[int]:
    """A room index (into ``pool``) per unit, -1 where no room fits. Mutates ``pool``.

    ``areas`` (per location, per facility: a region code at one level) limits each unit
    to the facilities of its own area; a location without one reaches everywhere."""
    dist = distances_km(location_lat, location_lon, pool.facility_lat, pool.facility_lon)
    orders: dict[tuple[int, tuple[str, ...]], list[int]] = {}
    cursor: dict[tuple[int, str, int, str], int] = {}
    full: set[tuple[int, str, int, str]] = set()
    out = [-1] * len(units)
    ranked = sorted(
        range(len(units)),
        key=lambda i: (not units[i].accessible, -len(units[i].members), units[i].order),
    )
    for i in ranked:
        unit = units[i]
        allowed = rules.kinds_for(unit.group)
        key = (unit.location, allowed)
        order = orders.get(key)
        if order is None:
            eligible = [f for f, k in enumerate(pool.facility_kind) if k in allowed]
            if areas is not None and areas[0][unit.location] is not None:
                mine = areas[0][unit.location]
                eligible = [f for f in eligible if areas[1][f] == mine]
            row = dist[unit.location]
            order = sorted(eligible, key=lambda f: (row[f], pool.facility_ids[f]))
            orders[key] = order
        size = len(unit.members)
        for kind in room_kinds_for(unit, rules):
            ckey = (unit.location, kind, size, unit.group + "|" + ",".join(allowed))
            start = cursor.get(ckey, 0)
            for pos in range(start, len(order)):
                f = order[pos]
                spent = (f, kind, size, unit.group)
                if spent in full:
                    continue
                room = pool.take(f, kind, size, unit.group, rules.separate_risk_groups)
                if room >= 0:
                    out[i] = room
                    cursor[ckey] = pos
                    break
                full.add(spent)  # stays full for this kind, size and group: skip it for all
            else:
                cursor[ckey] = len(order)
            if out[i] >= 0:
                break
    return out


def form_units(
    groups: Sequence[str],
    households: Sequence[str | None],
    guardians: Sequence[int],
    accessible: Sequence[bool],
    locations: Sequence[int],
    children: Sequence[bool],
    rules: PlacementRules,
) -> list[Unit]:
    """Units of the people to place in rooms (indices into the request lists).

    With ``families_together``, members of one household in the same risk group share a
    room; a child (``children[i]``) whose guardian (``guardians[i]``: an index, -1 for
    none) is placed in the same batch joins the guardian's unit whatever their groups.
    A unit's group is its most severe member's (pack: ``severity``)."""
    n = len(groups)
    # with families together, each person points at the first of their household and
    # group: already a root, so most batches (no child with a guardian) need no find
    parent = list(range(n))
    if rules.families_together:
        first: dict[tuple[str, str], int] = {}
        for i, (hh, group) in enumerate(zip(households, groups, strict=True)):
            if hh:
                parent[i] = first.setdefault((hh, group), i)
    joins = [(i, guardians[i]) for i in range(n) if children[i] and 0 <= guardians[i] < n]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in joins:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = [find(i) for i in range(n)] if joins else parent
    members: dict[int, list[int]] = {}
    for i, root in enumerate(roots):
        found = members.get(root)
        if found is None:
            members[root] = [i]
        else:
            found.append(i)
    units = []
    for root in sorted(members):
        people = members[root]
        if len(people) == 1:
            units.append(Unit(people, groups[root], accessible[root], locations[root], root))
            continue
        group = min((groups[i] for i in people), key=rules.rank)
        units.append(
            Unit(people, group, any(accessible[i] for i in people), locations[root], order=root)
        )
    return units
