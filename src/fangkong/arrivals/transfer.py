"""Point-to-point transfer planning (点对点转运), pure: groups of travellers → vehicle loads.

A group is the travellers of one risk level going to one destination (a quarantine hotel,
or a home area). Groups are served most severe first, larger first; each takes the
nearest free vehicle that holds all its remaining members, or, when none does, the
largest free vehicle (nearest among equals), until it is carried or vehicles run out.
A vehicle carries one group only: risk levels and destinations are never mixed.

Times: the vehicle drives to the arrival point, boarding takes the pack's minutes, then
it drives to the destination; road distance is the great-circle distance times the
pack's road factor, at the speed of the vehicle's kind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from fangkong.arrivals.rules import RANK, TransferRules

EARTH_KM = 6371.0088  # mean Earth radius (IUGG)


@dataclass(frozen=True)
class Group:
    risk: str
    destination: str  # key: facility:<code> or home:<region>
    size: int
    lat: float
    lon: float


@dataclass(frozen=True)
class Car:
    code: str
    kind: str
    capacity: int
    lat: float
    lon: float


@dataclass(frozen=True)
class Load:
    group: int  # index into the groups given
    vehicle: str
    seats: int
    pickup_km: float
    trip_km: float
    departs_h: float  # hours from planning until departure from the arrival point
    arrives_h: float  # hours from planning until arrival at the destination


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def road_km(a: tuple[float, float], b: tuple[float, float], rules: TransferRules) -> float:
    if any(math.isnan(v) for v in (*a, *b)):
        return 0.0  # a place nothing locates: no distance rather than a wrong one
    return great_circle_km(a[0], a[1], b[0], b[1]) * rules.road_factor


def plan_loads(
    groups: Sequence[Group], cars: Sequence[Car], point: tuple[float, float], rules: TransferRules
) -> list[Load]:
    """Vehicle loads for ``groups`` from the free ``cars`` (see the module docstring)."""
    free = sorted(cars, key=lambda c: (road_km((c.lat, c.lon), point, rules), c.code))
    order = sorted(range(len(groups)), key=lambda i: (-RANK[groups[i].risk], -groups[i].size, i))
    loads: list[Load] = []
    for gi in order:
        group = groups[gi]
        remaining = group.size
        while remaining > 0 and free:
            fits = [c for c in free if c.capacity >= remaining]
            car = fits[0] if fits else max(free, key=lambda c: c.capacity)  # first max: nearest
            free.remove(car)
            seats = min(car.capacity, remaining)
            remaining -= seats
            speed = rules.speeds_kmh[car.kind]
            pickup = road_km((car.lat, car.lon), point, rules)
            trip = road_km(point, (group.lat, group.lon), rules)
            departs = pickup / speed + rules.boarding_minutes / 60.0
            loads.append(Load(gi, car.code, seats, pickup, trip, departs, departs + trip / speed))
    return loads
