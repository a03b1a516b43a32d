"""The twin's road checkpoints and freight drivers, drawn once from the seed (货运物流).

``build_checkpoints``: ``freight.checkpoints_per_county`` per county, the registry's own
``checkpoint`` venues first, then points on a national or provincial road out of the
county town. ``build_drivers``: residents who drive and drivers living in other provinces
(identities, plates, vehicles, passes of their own). The day's traffic over them is
``fangkong.twin.freight``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fangkong.twin import _names as names
from fangkong.twin._people import PHONE_PREFIXES, resident_ids
from fangkong.twin._population import Population
from fangkong.twin.scenario import VEHICLE_KINDS, Scenario
from fangkong.twin.state import Bools, Floats, Ints

CHECKPOINT_KINDS = ("road_checkpoint", "service_area", "toll_station", "freight_hub")
KIND_WORDS = {"road_checkpoint": "公路检查站", "service_area": "服务区",
              "toll_station": "收费站", "freight_hub": "物流园区"}  # fmt: skip
ROADS = ("G4 京港澳高速", "G5 京昆高速", "G20 青银高速", "G22 青兰高速", "G55 二广高速",
         "G59 呼北高速", "G108 国道", "G207 国道", "G208 国道", "G307 国道", "G309 国道",
         "S45 天黎高速", "S60 榆和高速")  # fmt: skip
PLATE_PREFIX = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉",
    "23": "黑", "31": "沪", "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣",
    "37": "鲁", "41": "豫", "42": "鄂", "43": "湘", "44": "粤", "45": "桂", "46": "琼",
    "50": "渝", "51": "川", "52": "贵", "53": "云", "54": "藏", "61": "陕", "62": "甘",
    "63": "青", "64": "宁", "65": "新",
}  # fmt: skip


@dataclass(frozen=True)
class Checkpoints:
    """The twin's road checkpoints (one row each)."""

    code: list[str]
    name: list[str]
    kind: list[str]
    county: Ints  # index into Population counties (the first 6 digits of residences)
    county_code: list[str]
    region_code: list[str]  # the township it lies in
    road: list[str]
    latitude: Floats
    longitude: Floats
    lanes: Ints
    venue_code: list[str | None]

    def table(self) -> pa.Table:
        return pa.table(
            {
                "code": self.code,
                "name": self.name,
                "kind": self.kind,
                "region_code": self.region_code,
                "county_code": self.county_code,
                "road": self.road,
                "latitude": self.latitude,
                "longitude": self.longitude,
                "lanes": self.lanes.astype(np.int32),
                "venue_code": pa.array(self.venue_code, pa.string()),
            }
        )


@dataclass
class Drivers:
    """Freight drivers: residents of the registry (``person`` ≥ 0) and drivers living in
    other provinces (``person`` = -1, with identities of their own)."""

    person: Ints
    home: list[str]  # home province code (6 digits)
    plate: list[str]
    vehicle: Ints  # VEHICLE_KINDS index
    has_pass: Bools
    identity: pa.Table  # non-residents' identity columns (persons-file names), "" else
    inf_day: npt.NDArray[np.int32]  # non-residents: day infected (LATER: never)
    ct_peak: npt.NDArray[np.float32]
    ct_t_peak: npt.NDArray[np.float32]
    ct_t_end: npt.NDArray[np.float32]
    managed: Bools  # under the closed loop (no crossing until released)

    def __len__(self) -> int:
        return len(self.person)


def county_codes(pop: Population) -> list[str]:
    """County codes in the order of ``pop.county`` (first appearance in the persons)."""
    first = np.unique(pop.county, return_index=True)[1]
    return [pop.compounds[int(pop.compound[i])][:6] for i in first]


def build_checkpoints(pop: Population, scenario: Scenario, rng: np.random.Generator) -> Checkpoints:
    """``freight.checkpoints_per_county`` per county: the registry's checkpoint venues of
    the county first, then points on a road out of the county town."""
    f = scenario.freight
    counties = county_codes(pop)
    vtype = pop.venue_type_code("checkpoint")
    lat, lon = pop.venue_lat, pop.venue_lon
    has_xy = len(lat) == pop.n_venues
    townships: dict[int, list[str]] = {}
    for c in sorted(set(pop.compounds)):
        townships.setdefault(counties.index(c[:6]) if c[:6] in counties else -1, []).append(
            c[:9] + "000"
        )
    out: dict[str, list[Any]] = {k: [] for k in Checkpoints.__dataclass_fields__}
    for k, county_code in enumerate(counties):
        mine = np.flatnonzero(pop.venue_county == k)
        points = mine[pop.venue_type[mine] == vtype] if vtype >= 0 else mine[:0]
        xy = mine[np.isfinite(lat[mine])] if has_xy else mine[:0]
        centre = (float(lat[xy].mean()), float(lon[xy].mean())) if len(xy) else (37.8, 112.5)
        towns = sorted(set(townships.get(k, [county_code + "001000"])))
        for j in range(f.checkpoints_per_county):
            venue = int(points[j]) if j < len(points) else -1
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0.05, 0.15)
            if venue >= 0 and has_xy and np.isfinite(lat[venue]):
                y, x = float(lat[venue]), float(lon[venue])
            else:
                y, x = centre[0] + dist * np.sin(angle), centre[1] + dist * np.cos(angle)
            kind = CHECKPOINT_KINDS[int(rng.integers(len(CHECKPOINT_KINDS)))]
            road = ROADS[int(rng.integers(len(ROADS)))]
            place = (
                names.PLACE_FIRST[int(rng.integers(len(names.PLACE_FIRST)))]
                + (names.PLACE_SECOND[int(rng.integers(len(names.PLACE_SECOND)))])
            )
            lo, hi = f.lanes
            out["code"].append(f"FK{county_code}{j + 1:02d}")
            out["name"].append(f"{road.split()[1]}{place}{KIND_WORDS[kind]}")
            out["kind"].append(kind)
            out["county"].append(k)
            out["county_code"].append(county_code)
            out["region_code"].append(towns[int(rng.integers(len(towns)))])
            out["road"].append(road)
            out["latitude"].append(round(y, 6))
            out["longitude"].append(round(x, 6))
            out["lanes"].append(int(rng.integers(lo, hi + 1)))
            out["venue_code"].append(str(pop.venue_codes[venue].as_py()) if venue >= 0 else None)
    return Checkpoints(
        code=out["code"],
        name=out["name"],
        kind=out["kind"],
        county=np.asarray(out["county"], np.int64),
        county_code=out["county_code"],
        region_code=out["region_code"],
        road=out["road"],
        latitude=np.asarray(out["latitude"], np.float64),
        longitude=np.asarray(out["longitude"], np.float64),
        lanes=np.asarray(out["lanes"], np.int64),
        venue_code=out["venue_code"],
    )


def _plates(provinces: list[str], rng: np.random.Generator) -> list[str]:
    letters = "ABCDEFGHJKLM"
    chars = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    k = len(provinces)
    body = rng.integers(0, 10, (k, 5))
    body[:, 0] = rng.integers(0, len(chars), k)  # the first may be a letter
    first = rng.integers(0, len(letters), k)
    return [
        PLATE_PREFIX.get(p[:2], "晋") + letters[int(first[i])] + chars[int(body[i, 0])]
        + "".join(str(int(d)) for d in body[i, 1:])
        for i, p in enumerate(provinces)
    ]  # fmt: skip


def build_drivers(
    pop: Population, scenario: Scenario, n_checkpoints: int, rng: np.random.Generator
) -> Drivers:
    """Residents who drive (adults 21–60 in transport, courier, delivery or general work)
    and drivers living in other provinces, with plates, vehicles and passes."""
    f = scenario.freight
    pool = n_checkpoints * f.drivers_per_checkpoint
    province = pop.compounds[0][:2] if pop.compounds else "14"
    jobs = [i for i, o in enumerate(pop.occupations) if o in ("transport", "courier", "delivery")]
    able = np.flatnonzero(np.isin(pop.occupation, jobs) & (pop.age >= 21) & (pop.age <= 60))
    k_res = min(len(able), round(pool * f.resident_driver_share / 2))
    residents = np.sort(rng.choice(able, k_res, replace=False)) if k_res else able[:0]
    others = [p for p in sorted(names.PROVINCES) if p != province]
    home_idx = rng.integers(0, len(others), pool)
    home = [f"{others[int(i)]}0000" for i in home_idx]
    # identities of the drivers from elsewhere: GB 11643 numbers of a county of their province
    male = rng.random(pool) < 0.95
    age_days = rng.integers(25 * 365, 58 * 365, pool)
    birth = (np.datetime64(scenario.run.start_date, "D") - age_days).astype("datetime64[D]")
    region = np.array([int(f"{others[int(i)]}0102") for i in home_idx], np.int64)
    seq = (2 * (np.arange(pool) % 499) + np.where(male, 1, 2)).astype(np.int64)
    ids = resident_ids(region, np.arange(pool), birth, seq)
    id_numbers = [bytes(r).decode("ascii") for r in ids]
    surname = rng.choice(len(names.SURNAMES), pool, p=names.SURNAME_WEIGHTS)
    given_m = rng.integers(0, len(names.GIVEN_MALE), (pool, 2))
    given_f = rng.integers(0, len(names.GIVEN_FEMALE), (pool, 2))
    two = rng.random(pool) < 0.7
    full = []
    for i in range(pool):
        g = names.GIVEN_MALE if male[i] else names.GIVEN_FEMALE
        idx = given_m[i] if male[i] else given_f[i]
        full.append(names.SURNAMES[int(surname[i])] + "".join(g[int(j)] for j in idx[: 1 + two[i]]))
    phones = PHONE_PREFIXES[rng.integers(0, len(PHONE_PREFIXES), pool)] * 10**8 + rng.integers(
        0, 10**8, pool
    )
    empty = [""] * k_res
    identity = pa.table(
        {
            "id_type": empty + ["resident_id"] * pool,
            "id_number": empty + id_numbers,
            "id_country": empty + ["CHN"] * pool,
            "name": empty + full,
            "sex": empty + ["M" if m else "F" for m in male],
            "birth_date": empty + [str(b) for b in birth],
            "phone": empty + [str(int(p)) for p in phones],
        }
    )
    n = k_res + pool
    homes = [f"{province}0000"] * k_res + home
    shares = np.array([f.vehicle_shares[v] for v in VEHICLE_KINDS])
    vehicle = np.minimum(
        np.searchsorted(np.cumsum(shares), rng.random(n), side="right"), len(VEHICLE_KINDS) - 1
    )
    later = np.full(n, 2**30, np.int32)
    return Drivers(
        person=np.concatenate([residents, np.full(pool, -1, np.int64)]).astype(np.int64),
        home=homes,
        plate=_plates(homes, rng),
        vehicle=vehicle.astype(np.int64),
        has_pass=rng.random(n) < f.pass_prob,
        identity=identity,
        inf_day=later,
        ct_peak=np.zeros(n, np.float32),
        ct_t_peak=np.zeros(n, np.float32),
        ct_t_end=np.full(n, -np.inf, np.float32),
        managed=np.zeros(n, np.bool_),
    )
