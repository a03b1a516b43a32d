"""The region tree of a synthetic province: province → city → county → township →
community → compound (省 → 市 → 县/区 → 乡镇/街道 → 社区/村 → 小区/村民小组).

The tree is built top down: each unit's population is split among a number of children
that grows with it, so a run of 200 people and a run of 35 million both give a valid
hierarchy. Units are few (one per ~600 people at the bottom), so plain Python is fast.

A small province keeps the shape of a large one with smaller units (``Targets``): a
20,000-person province has 2 cities and 4 or more counties, each with townships,
communities and compounds; provinces from 4.5 million people on are built as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fangkong.twin import _names as names

# People per unit the tree aims at; the split around each target is random.
PEOPLE_PER_CITY = 3_000_000
PEOPLE_PER_COUNTY = 300_000
PEOPLE_PER_TOWNSHIP = 30_000
PEOPLE_PER_COMMUNITY = {"街道": 4_000, "镇": 1_500, "乡": 1_000}
PEOPLE_PER_COMPOUND = {"社区": 800, "村": 400}
MAX_CITIES = 99
MAX_COUNTIES_PER_CITY = 40  # districts 02-20, counties 21-80, county-level cities 81-99
MAX_TOWNSHIPS_PER_COUNTY = 100  # 街道 001-099, 镇 100-199, 乡 200-399
MAX_COMMUNITIES_PER_TOWNSHIP = 199  # 社区 001-199, 村 200-999
MAX_COMPOUNDS_PER_COMMUNITY = 999
# A small province keeps the shape with smaller units: a unit's target shrinks to its
# parent's target over the fan-out (children it aims at, at least), but not below the
# floor, so a tiny run (a few hundred people) stays one city of two counties rather
# than splitting into units of a dozen people, and 10,000 people give 2 cities and 4
# counties. Compounds keep their size: they are the estates and village groups people
# live in, and the smallest area a risk area is drawn on.
SMALL_PROVINCE = {  # level: (fan-out, floor of its target)
    "city": (2, 5_000),
    "county": (2, 2_500),
    "township": (4, 2_500),
    "community": (2, 625),
}


@dataclass
class Region:
    code: str
    parent: str
    level: str
    name: str
    stem: str  # the name without its generic suffix (双塔 of 双塔社区), for venue names
    kind: str  # 区 县 市 街道 镇 乡 社区 村 小区 组, or the level for province and city
    population: int
    lat: float
    lon: float
    urban: bool = False
    city: int = -1
    county: int = -1
    township: int = -1
    community: int = -1


@dataclass
class Hierarchy:
    province: Region
    bbox: tuple[float, float, float, float]  # south, north, west, east
    cities: list[Region] = field(default_factory=list)
    counties: list[Region] = field(default_factory=list)
    townships: list[Region] = field(default_factory=list)
    communities: list[Region] = field(default_factory=list)
    compounds: list[Region] = field(default_factory=list)

    def levels(self) -> list[list[Region]]:
        return [
            [self.province],
            self.cities,
            self.counties,
            self.townships,
            self.communities,
            self.compounds,
        ]


# Spread of settlement sizes (σ of the log of a part's share). Sizes of cities, counties,
# towns and neighbourhoods are heavy-tailed (roughly lognormal, Zipf-like at the top):
# σ = 1 makes the largest of 10 parts typically 5–10× the median, as among the counties
# of a Chinese province; compounds vary less (estates are planned in similar sizes).
SIZE_SIGMA = 1.0
COMPOUND_SIZE_SIGMA = 0.6


def split_population(
    total: int, k: int, rng: np.random.Generator, sigma: float = SIZE_SIGMA
) -> list[int]:
    """Split total into min(k, total) random parts of at least 1 that sum to total.

    Shares are lognormal with spread ``sigma``: a heavy-tailed size distribution.
    """
    k = max(1, min(k, total))
    if k == 1:
        return [total]
    share = rng.lognormal(0.0, sigma, size=k)
    share = share / share.sum() * (total - k)
    parts = np.floor(share).astype(np.int64)
    short = total - k - int(parts.sum())
    if short:
        parts[np.argsort(parts - share, kind="stable")[:short]] += 1
    return [int(p) + 1 for p in parts]


def _count(population: int, per: float, cap: int, least: int = 1) -> int:
    return min(cap, max(least, round(population / per)))


@dataclass(frozen=True)
class Targets:
    """People per unit the tree aims at for a province of a given size.

    Each target is the usual one (``PEOPLE_PER_CITY`` ...) or, in a small province, the
    parent level's target over its fan-out in ``SMALL_PROVINCE``, whichever is smaller,
    but not below that level's floor: 20,000 people aim at cities of 10,000, counties
    of 5,000, townships of 2,500 and communities of 1,250 (1,000 for 乡); 200,000 at
    townships of 12,500. Provinces of 4.5 million people or more keep the usual targets.
    """

    city: float
    county: float
    township: float
    community: dict[str, float]

    @classmethod
    def for_province(cls, people: int) -> Targets:
        def target(level: str, usual: float, parent: float) -> float:
            fanout, floor = SMALL_PROVINCE[level]
            return min(usual, max(floor, parent / fanout))

        city = target("city", PEOPLE_PER_CITY, people)
        county = target("county", PEOPLE_PER_COUNTY, city)
        township = target("township", PEOPLE_PER_TOWNSHIP, county)
        community = {
            kind: target("community", per, township) for kind, per in PEOPLE_PER_COMMUNITY.items()
        }
        return cls(city, county, township, community)


class _Builder:
    def __init__(self, rng: np.random.Generator, h: Hierarchy) -> None:
        self.rng = rng
        self.h = h
        south, north, west, east = h.bbox
        self.span = min(north - south, east - west)
        self.targets = Targets.for_province(h.province.population)

    def near(self, parent: Region, spread: float) -> tuple[float, float]:
        south, north, west, east = self.h.bbox
        lat, lon = self.rng.normal((parent.lat, parent.lon), spread * self.span)
        return min(max(float(lat), south), north), min(max(float(lon), west), east)

    def cities(self, people: int) -> None:
        province = self.h.province
        south, north, west, east = self.h.bbox
        pops = split_population(people, _count(people, self.targets.city, MAX_CITIES), self.rng)
        stems = names.pair_names(self.rng, len(pops), names.PLACE_FIRST, names.PLACE_SECOND)
        for i, (pop, stem) in enumerate(zip(pops, stems, strict=True)):
            lat = self.rng.uniform(south + 0.1 * (north - south), north - 0.1 * (north - south))
            lon = self.rng.uniform(west + 0.1 * (east - west), east - 0.1 * (east - west))
            city = Region(
                f"{province.code[:2]}{i + 1:02d}00",
                province.code,
                "city",
                stem + "市",
                stem,
                "city",
                pop,
                float(lat),
                float(lon),
                city=i,
            )
            self.h.cities.append(city)
            self.counties(city)

    def counties(self, city: Region) -> None:
        k = _count(city.population, self.targets.county, MAX_COUNTIES_PER_CITY, least=2)
        pops = split_population(city.population, k, self.rng)
        k = len(pops)
        districts = max(1, round(0.35 * k))
        county_cities = round(0.1 * k) if k >= 4 else 0
        kinds = (
            ["区"] * districts + ["县"] * (k - districts - county_cities) + ["市"] * county_cities
        )
        first = {"区": 2, "县": 21, "市": 81}
        seen = {"区": 0, "县": 0, "市": 0}
        stems = names.pair_names(self.rng, k, names.PLACE_FIRST, names.PLACE_SECOND)
        for pop, stem, kind in zip(pops, stems, kinds, strict=True):
            number = first[kind] + seen[kind]
            seen[kind] += 1
            lat, lon = self.near(city, 0.05)
            county = Region(
                f"{city.code[:4]}{number:02d}",
                city.code,
                "county",
                stem + kind,
                stem,
                kind,
                pop,
                lat,
                lon,
                city=city.city,
                county=len(self.h.counties),
            )
            self.h.counties.append(county)
            self.townships(county)

    def townships(self, county: Region) -> None:
        k = _count(county.population, self.targets.township, MAX_TOWNSHIPS_PER_COUNTY)
        pops = split_population(county.population, k, self.rng)
        k = len(pops)
        if county.kind == "区":
            streets = k if k <= 3 else k - max(1, round(0.15 * k))
            towns = k - streets
        elif county.kind == "市":
            streets = round(0.4 * k)
            towns = k - streets
        else:
            streets = round(0.1 * k)
            towns = round(0.55 * k)
        kinds = ["街道"] * streets + ["镇"] * towns + ["乡"] * (k - streets - towns)
        first = {"街道": 1, "镇": 100, "乡": 200}
        seen = {"街道": 0, "镇": 0, "乡": 0}
        stems = names.pair_names(self.rng, k, names.PLACE_FIRST, names.PLACE_SECOND)
        for pop, stem, kind in zip(pops, stems, kinds, strict=True):
            number = first[kind] + seen[kind]
            seen[kind] += 1
            lat, lon = self.near(county, 0.015)
            township = Region(
                f"{county.code}{number:03d}000",
                county.code,
                "township",
                stem + kind,
                stem,
                kind,
                pop,
                lat,
                lon,
                urban=kind == "街道",
                city=county.city,
                county=county.county,
                township=len(self.h.townships),
            )
            self.h.townships.append(township)
            self.communities(township)

    def communities(self, township: Region) -> None:
        per = self.targets.community[township.kind]
        k = _count(township.population, per, MAX_COMMUNITIES_PER_TOWNSHIP)
        pops = split_population(township.population, k, self.rng)
        k = len(pops)
        if township.kind == "街道":
            neighbourhoods = k
        elif township.kind == "镇":
            neighbourhoods = 1 if k >= 3 else 0  # the town seat
        else:
            neighbourhoods = 0
        kinds = ["社区"] * neighbourhoods + ["村"] * (k - neighbourhoods)
        street_stems = names.pair_names(
            self.rng, neighbourhoods, names.STREET_FIRST, names.STREET_SECOND
        )
        village_stems = names.pair_names(
            self.rng, k - neighbourhoods, names.VILLAGE_FIRST, names.VILLAGE_SECOND
        )
        stems = street_stems + village_stems
        for i, (pop, stem, kind) in enumerate(zip(pops, stems, kinds, strict=True)):
            number = i + 1 if kind == "社区" else 200 + i - neighbourhoods
            lat, lon = self.near(township, 0.004)
            community = Region(
                f"{township.code[:9]}{number:03d}",
                township.code,
                "community",
                stem + kind,
                stem,
                kind,
                pop,
                lat,
                lon,
                urban=kind == "社区",
                city=township.city,
                county=township.county,
                township=township.township,
                community=len(self.h.communities),
            )
            self.h.communities.append(community)
            self.compounds(community)

    def compounds(self, community: Region) -> None:
        per = PEOPLE_PER_COMPOUND[community.kind]
        k = _count(community.population, per, MAX_COMPOUNDS_PER_COMMUNITY)
        pops = split_population(community.population, k, self.rng, COMPOUND_SIZE_SIGMA)
        if community.urban:
            stems = names.pair_names(
                self.rng, len(pops), names.COMPOUND_WORDS, names.COMPOUND_SUFFIXES
            )
            labels = stems
        else:
            labels = [names.chinese_number(j + 1) + "组" for j in range(len(pops))]
            stems = [community.stem + label for label in labels]
        for j, (pop, stem, label) in enumerate(zip(pops, stems, labels, strict=True)):
            lat, lon = self.near(community, 0.001)
            self.h.compounds.append(
                Region(
                    f"{community.code}{j + 1:03d}",
                    community.code,
                    "compound",
                    label,
                    stem,
                    "小区" if community.urban else "组",
                    pop,
                    lat,
                    lon,
                    urban=community.urban,
                    city=community.city,
                    county=community.county,
                    township=community.township,
                    community=community.community,
                )
            )


def _mark_urban_by_majority(h: Hierarchy) -> None:
    """County, city and province are urban when most of their people live in 社区."""
    urban_people = {"county": [0] * len(h.counties), "city": [0] * len(h.cities)}
    for c in h.compounds:
        if c.urban:
            urban_people["county"][c.county] += c.population
            urban_people["city"][c.city] += c.population
    for county, n in zip(h.counties, urban_people["county"], strict=True):
        county.urban = 2 * n >= county.population
    for city, n in zip(h.cities, urban_people["city"], strict=True):
        city.urban = 2 * n >= city.population
    h.province.urban = 2 * sum(urban_people["city"]) >= h.province.population


def build_hierarchy(people: int, rng: np.random.Generator, province_code: str) -> Hierarchy:
    """The region tree for ``people`` residents of the province ``province_code``."""
    name, south, north, west, east = names.PROVINCES[province_code[:2]]
    province = Region(
        province_code,
        "",
        "province",
        name,
        name,
        "province",
        people,
        (south + north) / 2,
        (west + east) / 2,
    )
    h = Hierarchy(province, (south, north, west, east))
    _Builder(rng, h).cities(people)
    _mark_urban_by_majority(h)
    return h
