"""Venues (场所) of the synthetic province, and who studies or works at which.

Counts follow population (a school per ~1,500 people, a workplace per ~50 of its
workers, ...); every county has at least one venue of each type a resident may be sent
to, and every city at least two transit hubs and three checkpoints, so assignment never
comes up empty. Venues are few (about one per 80 people), so their text is built in
Python; the assignment of people to venues is vectorised.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fangkong.twin import _names as names
from fangkong.twin._people import OCC, People
from fangkong.twin._regions import Hierarchy, Region

Ints = npt.NDArray[np.int64]

VENUE_TYPES = (
    "school",
    "market",
    "supermarket",
    "restaurant",
    "hospital",
    "fever_clinic",
    "pharmacy",
    "workplace",
    "transit_hub",
    "checkpoint",
    "residential_compound",
    "quarantine_site",
    "other",
)
VT = {name: i for i, name in enumerate(VENUE_TYPES)}
CITY_SCOPED = ("transit_hub", "checkpoint")  # staff come from anywhere in the city

# People per venue, per county (at least one each).
PEOPLE_PER_VENUE = {
    "school": 1_500,
    "market": 5_000,
    "supermarket": 1_000,
    "restaurant": 300,
    "pharmacy": 2_500,
    "other": 5_000,
}
PEOPLE_PER_HOSPITAL = 200_000  # one county hospital, one more per 200,000 people
WORKERS_PER_WORKPLACE = 50
QUARANTINE_ROOMS_PER_10K = 20  # NHC, September 2021: at least 20 rooms per 10,000 people
ROOMS_PER_QUARANTINE_HOTEL = (60, 240)

# Where people of each occupation study or work: venue types and shares.
EMPLOYERS: dict[str, tuple[tuple[str, float], ...]] = {
    "student": (("school", 1.0),),
    "worker": (
        ("workplace", 0.84),
        ("school", 0.05),
        ("restaurant", 0.06),
        ("market", 0.02),
        ("pharmacy", 0.01),
        ("other", 0.02),
    ),
    "medical": (("hospital", 1.0),),
    "fever_clinic": (("fever_clinic", 1.0),),
    "quarantine_site": (("quarantine_site", 1.0),),
    "port_of_entry": (("transit_hub", 1.0),),
    "cold_chain": (("market", 0.6), ("workplace", 0.4)),
    "courier": (("workplace", 1.0),),
    "delivery": (("workplace", 1.0),),
    "supermarket": (("supermarket", 1.0),),
    "transport": (("transit_hub", 0.5), ("workplace", 0.5)),
    "public_service": (("workplace", 0.8), ("checkpoint", 0.2)),
}

# Capacity ranges (people; rooms for quarantine sites) for types not sized by assignment.
CAPACITY = {
    "market": (200, 2_000),
    "supermarket": (50, 800),
    "restaurant": (20, 300),
    "hospital": (300, 3_000),
    "fever_clinic": (20, 80),
    "pharmacy": (10, 40),
    "transit_hub": (2_000, 30_000),
    "checkpoint": (50, 500),
    "other": (50, 2_000),
}
# Venues whose region is the township (乡镇/街道); every other venue's region is the
# compound (小区, or 村民小组 in a village) it stands in: the smallest unit of the
# registry, on which a medium-risk area around a case's venue is drawn.
TOWNSHIP_LEVEL = ("hospital", "fever_clinic", "transit_hub", "checkpoint")


@dataclass
class Venues:
    code: list[str]
    name: list[str]
    type: list[str]
    region_code: list[str]
    capacity: list[int]
    latitude: list[float]
    longitude: list[float]
    address: list[str]
    of_person: Ints  # index of each person's school or workplace, -1 for none


def employer_types(people: People, rng: np.random.Generator) -> Ints:
    """The venue type each person studies or works at, -1 for none."""
    out = np.full(len(people), -1, dtype=np.int64)
    u = rng.random(len(people))
    for occupation, places in EMPLOYERS.items():
        who = people.occupation == OCC[occupation]
        edge = 0.0
        for vtype, share in places:
            pick = who & (u >= edge) & (u < edge + share)
            out[pick] = VT[vtype]
            edge += share
        out[who & (u >= edge)] = VT[places[-1][0]]  # rounding of the shares
    return out


def _place(
    first_person: Ints, people_in: Ints, compound_end: Ints, rng: np.random.Generator
) -> Ints:
    """A compound for each venue, drawn in proportion to population within its area.

    ``first_person``/``people_in`` give each venue's area as a range of the persons,
    who are ordered by compound (and so by community); ``compound_end`` is the
    cumulative compound size. The compound's community is thereby drawn in proportion
    to community population, and the compound within it in proportion to its own.
    """
    target = first_person + np.floor(rng.random(len(first_person)) * people_in).astype(np.int64)
    return np.searchsorted(compound_end, target, side="right").astype(np.int64)


@dataclass
class _Spec:
    """Venues before their text: parallel arrays in generation order."""

    type: Ints
    county: Ints
    community: Ints
    compound: Ints  # the compound the venue stands in (township-level types: one nearby)
    partner: Ints  # for a fever clinic, the row of its hospital; else -1


def _specs(h: Hierarchy, employer: Ints, people: People, rng: np.random.Generator) -> _Spec:
    county_pop = np.array([c.population for c in h.counties], dtype=np.int64)
    city_pop = np.array([c.population for c in h.cities], dtype=np.int64)
    compound_end = np.cumsum([c.population for c in h.compounds]).astype(np.int64)
    compound_community = np.array([c.community for c in h.compounds], dtype=np.int64)
    county_first = np.cumsum(county_pop) - county_pop
    city_first = np.cumsum(city_pop) - city_pop
    workers = np.bincount(people.county[employer == VT["workplace"]], minlength=len(county_pop))
    per_county: dict[str, Ints] = {
        vtype: np.maximum(1, np.rint(county_pop / per)).astype(np.int64)
        for vtype, per in PEOPLE_PER_VENUE.items()
    }
    per_county["hospital"] = 1 + county_pop // PEOPLE_PER_HOSPITAL
    per_county["workplace"] = np.maximum(1, np.rint(workers / WORKERS_PER_WORKPLACE)).astype(
        np.int64
    )
    rooms = np.ceil(county_pop * QUARANTINE_ROOMS_PER_10K / 10_000)
    per_county["quarantine_site"] = np.maximum(1, np.ceil(rooms / 150)).astype(np.int64)
    per_city = {
        "transit_hub": np.minimum(len(names.TRANSIT_KINDS), 2 + city_pop // 2_000_000),
        "checkpoint": 3 + city_pop // 1_000_000,
    }
    types, counties, sites = [], [], []
    for vtype, counts in per_county.items():
        county = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        types.append(np.full(len(county), VT[vtype], dtype=np.int64))
        counties.append(county)
        sites.append(_place(county_first[county], county_pop[county], compound_end, rng))
    community_county = np.array([c.county for c in h.communities], dtype=np.int64)
    for vtype, counts in per_city.items():
        city = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        site = _place(city_first[city], city_pop[city], compound_end, rng)
        types.append(np.full(len(city), VT[vtype], dtype=np.int64))
        counties.append(community_county[compound_community[site]])
        sites.append(site)
    all_types = np.concatenate(types)
    county = np.concatenate(counties)
    site = np.concatenate(sites)
    community = compound_community[site]
    hospitals = np.flatnonzero(all_types == VT["hospital"])
    compounds = np.arange(len(h.compounds), dtype=np.int64)
    n = len(all_types)
    return _Spec(
        type=np.concatenate(
            [
                all_types,
                np.full(len(hospitals), VT["fever_clinic"]),
                np.full(len(compounds), VT["residential_compound"]),
            ]
        ).astype(np.int64),
        county=np.concatenate(
            [county, county[hospitals], community_county[compound_community]]
        ).astype(np.int64),
        community=np.concatenate([community, community[hospitals], compound_community]).astype(
            np.int64
        ),
        compound=np.concatenate([site, site[hospitals], compounds]).astype(np.int64),
        partner=np.concatenate([np.full(n, -1), hospitals, np.full(len(compounds), -1)]).astype(
            np.int64
        ),
    )


class _Namer:
    """Venue names and addresses from the names of the regions around them."""

    def __init__(self, h: Hierarchy, rng: np.random.Generator) -> None:
        self.h = h
        self.rng = rng
        self.seen: Counter[tuple[int, str]] = Counter()
        self.nth: Counter[tuple[int, str]] = Counter()

    def pick(self, words: tuple[str, ...]) -> str:
        return words[int(self.rng.integers(len(words)))]

    def name(self, vtype: str, county: Region, township: Region, community: Region) -> str:
        stem = community.stem
        nth = self.nth[(county.county, vtype)]
        self.nth[(county.county, vtype)] += 1
        if vtype == "school":
            base = stem + self.pick(names.SCHOOL_KINDS)
        elif vtype == "market":
            base = stem + self.pick(names.MARKET_KINDS)
        elif vtype == "supermarket":
            base = stem + self.pick(names.SUPERMARKET_WORDS) + "超市"
        elif vtype == "restaurant":
            surname = self.pick(names.SURNAMES[:30])
            dish = self.pick(names.RESTAURANT_DISHES)
            base = f"{surname}记{dish}" if self.rng.random() < 0.5 else f"老{surname}{dish}"
        elif vtype == "hospital":
            kinds = names.HOSPITAL_KINDS
            base = county.stem + (kinds[nth] if nth < len(kinds) else f"第{nth + 1}医院")
        elif vtype == "pharmacy":
            base = stem + self.pick(names.PHARMACY_WORDS) + "大药房"
        elif vtype == "workplace":
            base = self.pick((stem, township.stem)) + self.pick(names.WORKPLACE_KINDS)
        elif vtype == "transit_hub":
            city = self.h.cities[county.city]
            nth_city = self.nth[(-1 - county.city, vtype)]
            self.nth[(-1 - county.city, vtype)] += 1
            base = city.stem + names.TRANSIT_KINDS[nth_city % len(names.TRANSIT_KINDS)]
        elif vtype == "checkpoint":
            base = township.stem + self.pick(names.CHECKPOINT_KINDS)
        elif vtype == "quarantine_site":
            base = stem + self.pick(names.HOTEL_KINDS)
        else:
            base = stem + self.pick(names.OTHER_KINDS)
        return self.unique(county.county, base)

    def unique(self, county: int, base: str) -> str:
        """The name, with （二） etc. when the county already has a venue of that name."""
        self.seen[(county, base)] += 1
        n = self.seen[(county, base)]
        return base if n == 1 else f"{base}（{names.chinese_number(n)}）"

    def address(self, township: Region, community: Region) -> str:
        county = self.h.counties[township.county]
        city = self.h.cities[township.city]
        road = community.stem + self.pick(names.ROAD_KINDS)
        number = int(self.rng.integers(1, 300))
        return f"{self.h.province.name}{city.name}{county.name}{township.name}{road}{number}号"


def _assign(
    employer: Ints,
    people: People,
    v_type: Ints,
    v_county: Ints,
    h: Hierarchy,
    rng: np.random.Generator,
) -> Ints:
    """A venue of the right type in the person's county (city for city-scoped types)."""
    out = np.full(len(employer), -1, dtype=np.int64)
    u = rng.random(len(employer))
    city_types = [VT[t] for t in CITY_SCOPED]
    v_city = np.array([c.city for c in h.counties], dtype=np.int64)[v_county]
    venue_city_scoped = np.isin(v_type, city_types)
    person_city_scoped = np.isin(employer, city_types)
    for venues, persons, v_area, p_area, n_areas in (
        (
            ~venue_city_scoped,
            (employer >= 0) & ~person_city_scoped,
            v_county,
            people.county,
            len(h.counties),
        ),
        (venue_city_scoped, person_city_scoped, v_city, people.city, len(h.cities)),
    ):
        rows = np.flatnonzero(venues)
        key = v_type[rows] * n_areas + v_area[rows]
        order = rows[np.argsort(key, kind="stable")]
        counts = np.bincount(key, minlength=len(VENUE_TYPES) * n_areas)
        starts = np.cumsum(counts) - counts
        who = np.flatnonzero(persons)
        person_key = employer[who] * n_areas + p_area[who]
        if (counts[person_key] == 0).any():
            raise AssertionError("an area lacks a venue type its residents work at")
        pick = starts[person_key] + np.floor(u[who] * counts[person_key]).astype(np.int64)
        out[who] = order[pick]
    return out


@dataclass
class _Texts:
    """Per venue, in generation order: what the file says besides code and type."""

    name: list[str]
    region: list[str]
    capacity: list[int]
    latitude: list[float]
    longitude: list[float]
    address: list[str]


def _describe(h: Hierarchy, spec: _Spec, rng: np.random.Generator) -> _Texts:
    n = len(spec.type)
    south, north, west, east = h.bbox
    jitter = rng.normal(0.0, 0.001 * min(north - south, east - west), size=(n, 2))
    jitter[spec.partner >= 0] = jitter[spec.partner[spec.partner >= 0]]  # clinic at hospital
    namer = _Namer(h, rng)
    t = _Texts([""] * n, [""] * n, [0] * n, [0.0] * n, [0.0] * n, [""] * n)
    rows = zip(
        spec.type.tolist(), spec.community.tolist(), spec.compound.tolist(),
        spec.partner.tolist(), strict=True,
    )  # fmt: skip
    for i, (type_index, comm_i, comp_i, partner) in enumerate(rows):
        vtype = VENUE_TYPES[type_index]
        community = h.communities[comm_i]
        township = h.townships[community.township]
        county = h.counties[community.county]
        if vtype == "residential_compound":
            place: Region = h.compounds[comp_i]
            t.name[i] = namer.unique(county.county, place.stem)
            t.address[i] = (
                f"{h.province.name}{h.cities[county.city].name}{county.name}"
                f"{township.name}{community.name}{place.name}"
            )
            t.capacity[i] = place.population
        else:
            place = township if vtype in TOWNSHIP_LEVEL else h.compounds[comp_i]
            if partner >= 0:
                t.name[i] = t.name[partner] + "发热门诊"
                t.address[i] = t.address[partner]
            else:
                t.name[i] = namer.name(vtype, county, township, community)
                t.address[i] = namer.address(township, community)
            if vtype in CAPACITY:
                low, high = CAPACITY[vtype]
                t.capacity[i] = int(rng.integers(low, high + 1))
        t.region[i] = place.code
        t.latitude[i] = min(max(place.lat + float(jitter[i, 0]), south), north)
        t.longitude[i] = min(max(place.lon + float(jitter[i, 1]), west), east)
    _quarantine_rooms(h, spec, t.capacity, rng)
    return t


def generate_venues(h: Hierarchy, people: People, rng: np.random.Generator) -> Venues:
    """Venues of every county and city, and each person's school or workplace."""
    employer = employer_types(people, rng)
    spec = _specs(h, employer, people, rng)
    texts = _describe(h, spec, rng)
    order = np.lexsort((spec.type, spec.county))  # codes run by county, then type
    v_county = spec.county[order]
    v_type = spec.type[order]
    county_codes = [c.code for c in h.counties]
    seq = Counter[int]()
    codes = []
    for c in v_county.tolist():
        seq[c] += 1
        codes.append(f"V{county_codes[c]}{seq[c]:06d}")
    of_person = _assign(employer, people, v_type, v_county, h, rng)
    capacity = np.array(texts.capacity, dtype=np.int64)[order]
    assigned = np.bincount(of_person[of_person >= 0], minlength=len(order))
    sized = np.isin(v_type, [VT["school"], VT["workplace"]])  # sized by who goes there
    capacity[sized] = np.maximum(50, -(-assigned[sized] // 50) * 50)
    capacity = np.maximum(capacity, assigned)
    pick = order.tolist()
    return Venues(
        code=codes,
        name=[texts.name[i] for i in pick],
        type=[VENUE_TYPES[t] for t in v_type.tolist()],
        region_code=[texts.region[i] for i in pick],
        capacity=capacity.tolist(),
        latitude=[texts.latitude[i] for i in pick],
        longitude=[texts.longitude[i] for i in pick],
        address=[texts.address[i] for i in pick],
        of_person=of_person,
    )


def _quarantine_rooms(
    h: Hierarchy, spec: _Spec, capacity: list[int], rng: np.random.Generator
) -> None:
    """Rooms per quarantine hotel, topped up to the county's required total."""
    rows = np.flatnonzero(spec.type == VT["quarantine_site"])
    low, high = ROOMS_PER_QUARANTINE_HOTEL
    by_county: dict[int, list[int]] = {}
    for row in rows.tolist():
        capacity[row] = int(rng.integers(low, high + 1))
        by_county.setdefault(int(spec.county[row]), []).append(row)
    for county, hotels in by_county.items():
        need = math.ceil(h.counties[county].population * QUARANTINE_ROOMS_PER_10K / 10_000)
        short = need - sum(capacity[r] for r in hotels)
        if short > 0:
            extra = -(-short // len(hotels))
            for r in hotels:
                capacity[r] += extra
