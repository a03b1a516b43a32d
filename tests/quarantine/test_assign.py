"""The pure assignment against a brute-force reference: one person a room, the nearest
facility with a free room of the right kind, never a zone shared by two risk groups."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.quarantine.assign import RoomPool, Unit, assign, distances_km, form_units
from fangkong.quarantine.rules import QuarantineRules

RULES = QuarantineRules.shipped("protocol-9").placement


def _pool(rooms: list[tuple[int, int]], n_fac: int, lat: list[float], lon: list[float]) -> RoomPool:
    """rooms: (facility, zone within facility) of single rooms."""
    zones = sorted({(f, z) for f, z in rooms})
    zi = {fz: i for i, fz in enumerate(zones)}
    return RoomPool(
        facility_ids=list(range(100, 100 + n_fac)),
        facility_kind=["hotel"] * n_fac,
        facility_lat=np.array(lat),
        facility_lon=np.array(lon),
        room_id=list(range(len(rooms))),
        room_facility=[f for f, _ in rooms],
        room_zone=[zi[(f, z)] for f, z in rooms],
        room_kind=["single"] * len(rooms),
        room_beds=[1] * len(rooms),
        zone_group=[""] * len(zones),
        zone_facility=[f for f, _ in zones],
    )


world = st.integers(1, 5).flatmap(
    lambda n_fac: st.tuples(
        st.just(n_fac),
        st.lists(st.tuples(st.integers(0, n_fac - 1), st.integers(0, 2)), max_size=25),
        st.lists(st.floats(30, 40), min_size=n_fac, max_size=n_fac),
        st.lists(st.floats(110, 120), min_size=n_fac, max_size=n_fac),
        st.lists(
            st.tuples(st.integers(0, 3), st.sampled_from(["close_contact", "inbound"])), max_size=30
        ),
        st.lists(st.tuples(st.floats(30, 40), st.floats(110, 120)), min_size=4, max_size=4),
    )
)


def _reference(n_fac, rooms, lat, lon, people, where):  # type: ignore[no-untyped-def]
    """Person by person: the nearest facility (then lowest id) holding a free room in a
    zone empty or of the person's group; the first such room in the list's order."""
    free = list(range(len(rooms)))
    zone_group: dict[tuple[int, int], str] = {}
    d = distances_km(
        np.array([p[0] for p in where]),
        np.array([p[1] for p in where]),
        np.array(lat),
        np.array(lon),
    )
    out = []
    for loc, group in people:
        got = -1
        for f in sorted(range(n_fac), key=lambda f: (d[loc][f], f)):
            zones = sorted({z for (ff, z) in (rooms[i] for i in free) if ff == f})
            mine = [z for z in zones if zone_group.get((f, z)) == group]
            empty = [z for z in zones if (f, z) not in zone_group]
            for z in mine + empty:
                got = next(i for i in free if rooms[i] == (f, z))
                zone_group[(f, z)] = group
                break
            if got >= 0:
                break
        if got >= 0:
            free.remove(got)
        out.append(got)
    return out


@settings(max_examples=200, deadline=None)
@given(world)
def test_assignment_equals_the_brute_force_reference(case) -> None:  # type: ignore[no-untyped-def]
    n_fac, rooms, lat, lon, people, where = case
    # rooms in (facility, zone) order as the service loads them (by facility, room code)
    rooms = sorted(rooms)
    pool = _pool(rooms, n_fac, lat, lon)
    units = [Unit([i], g, False, loc, order=i) for i, (loc, g) in enumerate(people)]
    got = assign(
        units, pool, np.array([w[0] for w in where]), np.array([w[1] for w in where]), RULES
    )
    # the pool hands out a zone's rooms in list order: compare rooms by (facility, zone)
    expected = _reference(n_fac, rooms, lat, lon, people, where)
    assert [rooms[r] if r >= 0 else None for r in got] == [
        rooms[r] if r >= 0 else None for r in expected
    ]
    assert len({r for r in got if r >= 0}) == sum(r >= 0 for r in got)  # no room twice


def test_units_join_households_of_one_group_and_a_child_to_a_guardian() -> None:
    units = form_units(
        groups=["close_contact", "close_contact", "inbound", "close_contact", "inbound"],
        households=["h1", "h1", "h1", None, None],
        guardians=[-1, -1, -1, 4, -1],
        accessible=[False, False, False, False, True],
        locations=[0, 0, 0, 1, 1],
        children=[False, False, False, True, False],
        rules=RULES,
    )
    members = sorted(sorted(u.members) for u in units)
    assert members == [[0, 1], [2], [3, 4]]
    child_unit = next(u for u in units if 3 in u.members)
    assert child_unit.group == "inbound"  # the more severe group of the two (pack order)
    assert child_unit.accessible
