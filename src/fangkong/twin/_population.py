"""The registry as arrays over persons and venues: what the daily step indexes into.

Built once per twin from the registry's string tables. Persons keep their row order
(the ``person`` column of every event is the 0-based row of the persons file); venues
keep theirs (``venue_code`` is the registry code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from fangkong.twin.registry import Registry
from fangkong.twin.scenario import VISIT_TYPES, Scenario

Ints = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def _codes(column: Any) -> tuple[I32, Any]:
    """Integer codes of a string column (in order of first appearance) and the dictionary."""
    encoded: Any = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32), encoded.dictionary


def group_ids(*keys: Ints) -> tuple[I32, Ints]:
    """Dense ids of the distinct key tuples (negative keys → -1) and each group's size."""
    valid = np.all([k >= 0 for k in keys], axis=0)
    stacked = np.stack([k[valid] for k in keys], axis=1)
    ids = np.full(len(keys[0]), -1, dtype=np.int32)
    if stacked.size == 0:
        return ids, np.zeros(0, dtype=np.int64)
    _, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    ids[valid] = inverse.reshape(-1).astype(np.int32)
    return ids, counts.astype(np.int64)


@dataclass
class Population:
    """Persons and venues as arrays (one row per person / venue, registry order)."""

    n: int
    age: Ints
    age_group: Ints  # index into scenario.mobility.age_groups
    occupation: I32  # index into occupations
    occupations: list[str]
    household: I32
    household_size: Ints  # per household
    compound: I32  # index into compounds (residence_code values)
    compounds: list[str]
    compound_venue: I32  # per compound: its residential_compound venue, -1 if none
    county: I32  # per person, index into counties (first 6 digits of residence)
    student: Bools
    school_class: I32  # -1 if not at school; classes are (school, unit) or (school, age)
    class_size: Ints
    work_group: I32  # -1 if no workplace; groups are (employer venue, team unit)
    work_size: Ints
    employer: I32  # venue index of school/workplace, -1 for none
    # venues
    venue_codes: Any  # pa.Array of strings
    venue_type: I32  # index into venue_types
    venue_types: list[str]
    venue_county: I32
    popularity: Floats  # relative, heavy-tailed
    venue_zones: I32  # zones (tables, rooms) per venue: 0 where the type is not zoned
    region_codes: list[str]  # residence code of each person's compound (for region tests)
    venue_lat: Floats = field(default_factory=lambda: np.zeros(0))  # nan where unknown
    venue_lon: Floats = field(default_factory=lambda: np.zeros(0))

    @property
    def n_venues(self) -> int:
        return len(self.venue_type)

    @property
    def zone_base(self) -> Ints:
        """Per venue, the index of its first zone among all zones (zone slots)."""
        zones = self.venue_zones.astype(np.int64)
        base: Ints = np.cumsum(zones) - zones
        return base

    def venue_type_code(self, name: str) -> int:
        return self.venue_types.index(name) if name in self.venue_types else -1


def _ages(birth: Any, on: date) -> Ints:
    days = pc.cast(pc.strptime(birth, format="%Y-%m-%d", unit="s"), pa.date32())
    born = days.to_numpy().astype("datetime64[D]")
    age: Ints = ((np.datetime64(on, "D") - born).astype(np.int64) // 365.2425).astype(np.int64)
    return age


def build_population(
    registry: Registry, scenario: Scenario, rng: np.random.Generator
) -> Population:
    persons, venues = registry.persons, registry.venues
    n = persons.num_rows
    age = _ages(persons["birth_date"], scenario.run.start_date)
    bounds = np.array(scenario.mobility.age_groups)
    age_group = (np.searchsorted(bounds, age, side="right") - 1).astype(np.int64)
    occupation, occ_dict = _codes(persons["occupation"])
    occupations = [str(x) for x in occ_dict.to_pylist()]
    household, _ = _codes(persons["household_code"])
    household_size = np.bincount(household).astype(np.int64)
    compound, comp_dict = _codes(persons["residence_code"])
    compounds = [str(x) for x in comp_dict.to_pylist()]
    county_of_person, county_dict = _codes(pc.utf8_slice_codeunits(persons["residence_code"], 0, 6))
    counties = [str(x) for x in county_dict.to_pylist()]

    venue_codes = venues["code"].combine_chunks()
    venue_type, type_dict = _codes(venues["type"])
    venue_types = [str(x) for x in type_dict.to_pylist()]
    v_county_codes = pc.utf8_slice_codeunits(venues["region_code"], 0, 6).to_pylist()
    index = {c: i for i, c in enumerate(counties)}
    venue_county = np.array([index.get(str(c), -1) for c in v_county_codes], dtype=np.int32)

    employer = pc.index_in(persons["venue_code"], value_set=venue_codes)
    employer_np = employer.to_numpy(zero_copy_only=False)
    employer_np = np.where(np.isnan(employer_np.astype(float)), -1, employer_np).astype(np.int32)
    is_student = np.array([o in ("student", "preschool") for o in occupations], dtype=np.bool_)[
        occupation
    ]
    school = venue_types.index("school") if "school" in venue_types else -1
    at_school = is_student & (employer_np >= 0) & (venue_type[np.maximum(employer_np, 0)] == school)
    # classes and teams are the registry's units within the venue (unit_code); a person
    # without one mixes with the venue's unit-less members: pupils by age, staff as one
    no_unit = np.full(n, -1, np.int64)
    if "unit_code" in persons.column_names:
        unit, unit_dict = _codes(persons["unit_code"])
        empty = unit_dict.to_numpy(zero_copy_only=False)[unit] == ""
        no_unit = np.where(empty, -1, unit.astype(np.int64))
    school_class, class_size = group_ids(
        np.where(at_school, employer_np, -1).astype(np.int64),
        np.where(at_school, np.where(no_unit >= 0, no_unit, 1_000_000 + age), -1),
    )
    work_group, work_size = group_ids(
        np.where(~at_school, employer_np, -1).astype(np.int64),
        np.where(~at_school & (employer_np >= 0), no_unit + 1, -1),
    )

    compound_venue = np.full(len(compounds), -1, dtype=np.int32)
    rc = venue_types.index("residential_compound") if "residential_compound" in venue_types else -1
    rows = np.flatnonzero(venue_type == rc)
    if len(rows):
        # residential compound venues lie in their compound: region_code is the compound code
        where = pc.index_in(
            venues["region_code"].take(pa.array(rows, type=pa.int64())), value_set=comp_dict
        )
        at = where.to_numpy(zero_copy_only=False)
        ok = ~np.isnan(at.astype(float))
        compound_venue[at[ok].astype(np.int64)] = rows[ok]

    popularity = rng.lognormal(0.0, scenario.mobility.venue_popularity_sigma, len(venue_type))
    venue_zones = zone_counts(
        scenario, venue_type, venue_types, venue_county, popularity, county_of_person, age_group
    )
    return Population(
        n=n,
        age=age,
        age_group=age_group,
        occupation=occupation,
        occupations=occupations,
        household=household,
        household_size=household_size,
        compound=compound,
        compounds=compounds,
        compound_venue=compound_venue,
        county=county_of_person,
        student=at_school,
        school_class=school_class,
        class_size=class_size,
        work_group=work_group,
        work_size=work_size,
        employer=employer_np,
        venue_codes=venue_codes,
        venue_type=venue_type,
        venue_types=venue_types,
        venue_county=venue_county,
        popularity=popularity,
        venue_zones=venue_zones,
        region_codes=compounds,
        venue_lat=_floats(venues, "latitude"),
        venue_lon=_floats(venues, "longitude"),
    )


def _floats(table: pa.Table, column: str) -> Floats:
    """A string column of numbers as floats (nan where empty or absent)."""
    if column not in table.column_names:
        return np.full(table.num_rows, np.nan)
    text: Any = pc.if_else(pc.equal(table[column], pa.scalar("")), None, table[column])
    values: Any = pc.cast(text, pa.float64())
    out: Floats = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    return out


def zone_counts(
    scenario: Scenario,
    venue_type: I32,
    venue_types: list[str],
    venue_county: I32,
    popularity: Floats,
    county: I32 | Ints,
    age_group: Ints,
) -> I32:
    """Zones per venue of the zoned types (``mobility.zone_size``), 0 elsewhere.

    A venue has as many tables and rooms as the diners it serves at once need: its
    expected visitors at a time — the county's visits of the type per day
    (``mobility.visits_per_day`` by age group) × the venue's share of the type's
    popularity in the county × the mean stay ÷ the opening minutes — divided by the zone
    size, rounded, at least 1. So a zone holds about ``zone_size`` diners at a time
    however popular the venue, and the close-range term does not hang on how the
    registry's capacities happen to match popularity (a small, popular restaurant is not
    one crowded table).
    """
    m = scenario.mobility
    zones = np.zeros(len(venue_type), dtype=np.int32)
    n_counties = int(max(int(county.max(initial=-1)), int(venue_county.max(initial=-1)))) + 1
    for vtype, size in m.zone_size.items():
        if vtype not in venue_types:
            continue
        mine = np.flatnonzero(venue_type == venue_types.index(vtype))
        zones[mine] = 1
        rates = np.asarray(m.visits_per_day[vtype], dtype=np.float64)[age_group]
        visits = np.bincount(county, weights=rates, minlength=n_counties)  # per county and day
        here = mine[venue_county[mine] >= 0]
        where = venue_county[here]
        total = np.bincount(where, weights=popularity[here], minlength=n_counties)
        daily = visits[where] * popularity[here] / np.maximum(total[where], 1e-300)
        open_, close = m.opening_hours[vtype]
        at_once = daily * m.stay_minutes[vtype] / (60.0 * (close - open_))
        zones[here] = np.maximum(1, np.rint(at_once / size)).astype(np.int32)
    return zones


@dataclass
class VenueChooser:
    """Draws a venue of a type in a person's county, in proportion to its popularity.

    The draw is the first venue whose cumulative popularity exceeds a uniform point of
    its (type, county) segment. A guide table (indexed search) cuts each segment into
    ``GUIDE`` cells per venue and remembers where each cell starts, so a draw scans a
    venue or two forward from its cell instead of a binary search over all venues,
    whose mispredicted branches cost more at millions of draws a day. The result is the
    binary search's, index for index.
    """

    order: Ints  # venue rows sorted by (type, county)
    cum: Floats  # cumulative popularity along ``order``, then +inf (stops scans)
    lo: Floats  # per key = type * n_counties + county: cum before the first venue
    hi: Floats
    n_counties: int
    cells: Ints  # per key: guide cells of its segment (at least 1)
    first_cell: Ints  # per key: index of its first guide cell
    guide: Ints  # per cell: first position whose cum exceeds the cell's lower edge

    GUIDE = 4

    @classmethod
    def build(cls, pop: Population) -> VenueChooser:
        n_counties = int(pop.county.max(initial=-1)) + 1
        ok = pop.venue_county >= 0
        key = pop.venue_type.astype(np.int64) * n_counties + pop.venue_county
        rows = np.flatnonzero(ok)
        order = rows[np.argsort(key[rows], kind="stable")]
        cum = np.cumsum(pop.popularity[order])
        n_keys = len(pop.venue_types) * n_counties
        counts = np.bincount(key[order], minlength=n_keys)
        end = np.cumsum(counts)
        start = end - counts
        before = np.concatenate([[0.0], cum])
        lo, hi = before[start], before[end]
        cells = np.maximum(cls.GUIDE * counts, 1).astype(np.int64)
        first_cell = np.cumsum(cells) - cells
        cell_key = np.repeat(np.arange(n_keys, dtype=np.int64), cells)
        j = np.arange(int(cells.sum()), dtype=np.int64) - first_cell[cell_key]
        edge = lo[cell_key] + j / cells[cell_key] * (hi[cell_key] - lo[cell_key])
        guide = np.searchsorted(cum, edge, side="right").astype(np.int64)
        cum = np.concatenate([cum, [np.inf]])
        return cls(order, cum, lo, hi, n_counties, cells, first_cell, guide)

    def choose(self, vtype: int, county: I32, u: Floats) -> I32:
        """One venue per draw; -1 where the county has no venue of the type."""
        key = vtype * self.n_counties + county.astype(np.int64)
        lo, hi = self.lo[key], self.hi[key]
        target = lo + u * (hi - lo)
        # start one cell early: rounding can never put the true position before it
        j = np.maximum((u * self.cells[key]).astype(np.int64) - 1, 0)  # u < 1: j < cells
        at = self.guide[self.first_cell[key] + j]
        active = np.flatnonzero(hi > lo)
        while len(active):
            behind = self.cum[at[active]] <= target[active]
            active = active[behind]
            at[active] += 1
        at = np.minimum(at, len(self.order) - 1)
        return np.where(hi > lo, self.order[at], -1).astype(np.int32)

    def choose_by_search(self, vtype: int, county: I32, u: Floats) -> I32:
        """``choose`` by plain binary search: the reference the guide table must match."""
        key = vtype * self.n_counties + county.astype(np.int64)
        lo, hi = self.lo[key], self.hi[key]
        target = lo + u * (hi - lo)
        at = np.searchsorted(self.cum[:-1], target, side="right")
        at = np.minimum(at, len(self.order) - 1)
        return np.where(hi > lo, self.order[at], -1).astype(np.int32)


def visit_type_codes(pop: Population) -> Ints:
    """Venue type index of each of VISIT_TYPES (-1 when the registry has none)."""
    return np.array([pop.venue_type_code(t) for t in VISIT_TYPES], dtype=np.int64)
