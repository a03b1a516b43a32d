"""A synthetic registry (合成户籍) of a simulated province: regions, venues and persons.

The seed of the twin: everyone in it is invented. ``generate_registry`` builds the three
registry import files as Arrow tables (every column a string, empty = missing) and
``write_registry`` writes them as CSV or Parquet for ``fangkong import``::

    registry = generate_registry(200_000, seed=7)
    write_registry(registry, Path("twin-data"))  # regions.csv, venues.csv, persons.csv

The same seed gives the same bytes. Persons come ordered by compound and household,
regions by level then code (every parent before its children), venues by code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fangkong.files import private_dir, private_file, private_opener
from fangkong.twin import _names as names
from fangkong.twin._people import OCC, OCCUPATIONS, People, generate_people
from fangkong.twin._regions import Hierarchy, build_hierarchy
from fangkong.twin._units import classes, teams
from fangkong.twin._venues import Venues, generate_venues
from fangkong.twin.scenario import Units, default_scenario

REGION_COLUMNS = ("code", "parent_code", "level", "name", "population", "area_type", "geojson")
VENUE_COLUMNS = (
    "code",
    "name",
    "type",
    "region_code",
    "capacity",
    "latitude",
    "longitude",
    "address",
)
PERSON_COLUMNS = (
    "id_type",
    "id_number",
    "id_country",
    "name",
    "sex",
    "birth_date",
    "phone",
    "household_code",
    "residence_code",
    "venue_code",
    "unit_code",
    "occupation",
)
AS_OF = date(2022, 3, 18)  # the date of the Shanxi report the twin is modelled on
MAX_PEOPLE = 50_000_000
FILES = ("regions", "venues", "persons")
Strings: TypeAlias = "pa.Array[Any]"


@dataclass(frozen=True)
class Registry:
    """The three registry import files as Arrow tables of strings."""

    regions: pa.Table
    venues: pa.Table
    persons: pa.Table

    def tables(self) -> dict[str, pa.Table]:
        return {"regions": self.regions, "venues": self.venues, "persons": self.persons}


def generate_registry(
    people: int,
    *,
    seed: int = 1,
    province_code: str = "140000",
    as_of: date = AS_OF,
    units: Units | None = None,
) -> Registry:
    """A synthetic province of ``people`` residents (合成省份), the same for the same seed.

    ``province_code`` is a real province code (6 digits ending 0000, e.g. 140000 山西省);
    ages are counted on ``as_of`` and nobody is born after it. ``units`` sizes the classes
    and office teams (``unit_code``); default: the shipped scenario's ``[units]``.
    """
    if not 2 <= people <= MAX_PEOPLE:
        raise ValueError(
            f"人数应在 2 到 {MAX_PEOPLE:,} 之间 / people must be 2 to {MAX_PEOPLE:,}, "
            f"not {people:,}"
        )
    if not (
        len(province_code) == 6
        and province_code.endswith("0000")
        and province_code[:2] in names.PROVINCES
    ):
        raise ValueError(
            f"省级代码 {province_code!r} 无效，应为内地省份的 6 位代码，如 140000 / "
            f"{province_code!r} is not a mainland province code such as 140000"
        )
    rng = np.random.default_rng(seed)
    hierarchy = build_hierarchy(people, rng, province_code)
    persons = generate_people(hierarchy, as_of, rng)
    venues = generate_venues(hierarchy, persons, rng)
    return Registry(
        regions=_regions_table(hierarchy),
        venues=_venues_table(venues),
        persons=_persons_table(hierarchy, persons, venues, rng, units or default_scenario().units),
    )


def write_registry(
    registry: Registry, out_dir: Path, fmt: Literal["csv", "parquet"] = "csv"
) -> dict[str, Path]:
    """Write regions, venues and persons files into out_dir; returns their paths by kind."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"格式应为 csv 或 parquet / fmt must be csv or parquet, not {fmt!r}")
    private_dir(out_dir)
    paths = {}
    for kind, table in registry.tables().items():
        path = out_dir / f"{kind}.{fmt}"
        private_file(path)  # ID and phone numbers: 0600 whatever the umask
        if fmt == "csv":
            _write_csv(table, path)
        else:
            pq.write_table(table, path, compression="zstd")
        paths[kind] = path
    return paths


def _write_csv(table: pa.Table, path: Path) -> None:
    # Unquoted cells read best (Arrow would quote the header, so it is written here);
    # every string is quoted only if some value holds a comma, quote or line break.
    with open(path, "wb", opener=private_opener) as f:
        f.write((",".join(table.column_names) + "\n").encode())
        try:
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            pacsv.write_csv(table, f, options)
            return
        except pa.ArrowInvalid:
            f.seek(0)
            f.truncate()
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def _strings(columns: dict[str, list[str]], order: tuple[str, ...]) -> pa.Table:
    return pa.table({name: pa.array(columns[name], type=pa.string()) for name in order})


def _regions_table(h: Hierarchy) -> pa.Table:
    rows = [r for level in h.levels() for r in sorted(level, key=lambda r: r.code)]
    return _strings(
        {
            "code": [r.code for r in rows],
            "parent_code": [r.parent for r in rows],
            "level": [r.level for r in rows],
            "name": [r.name for r in rows],
            "population": [str(r.population) for r in rows],
            "area_type": ["urban" if r.urban else "rural" for r in rows],
            "geojson": [""] * len(rows),
        },
        REGION_COLUMNS,
    )


def _venues_table(v: Venues) -> pa.Table:
    return _strings(
        {
            "code": v.code,
            "name": v.name,
            "type": v.type,
            "region_code": v.region_code,
            "capacity": [str(c) for c in v.capacity],
            "latitude": [f"{x:.6f}" for x in v.latitude],
            "longitude": [f"{x:.6f}" for x in v.longitude],
            "address": v.address,
        },
        VENUE_COLUMNS,
    )


def _take(words: tuple[str, ...] | list[str], index: np.ndarray) -> Strings:
    return pa.array(words, type=pa.string()).take(pa.array(index))


def _fixed(chars: np.ndarray) -> Strings:
    """A string array from an (n, width) matrix of ASCII codes, without a Python loop."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.data), pa.py_buffer(data.data))


def _join(*parts: Strings | pa.Scalar[Any]) -> Strings:
    joined: Strings = pc.call_function("binary_join_element_wise", [*parts, ""])
    return joined


def _chinese_names(p: People, rng: np.random.Generator) -> Strings:
    n = len(p)
    surname = rng.choice(len(names.SURNAMES), size=n, p=names.SURNAME_WEIGHTS)
    given = names.GIVEN_MALE + names.GIVEN_FEMALE + ("",)
    n_male, n_female = len(names.GIVEN_MALE), len(names.GIVEN_FEMALE)

    def one(rng: np.random.Generator) -> np.ndarray:
        return np.where(p.male, rng.integers(0, n_male, n), n_male + rng.integers(0, n_female, n))

    first = one(rng)
    second = np.where(rng.random(n) < 0.75, one(rng), len(given) - 1)
    return _join(_take(names.SURNAMES, surname), _take(given, first), _take(given, second))


def _passports(p: People, rng: np.random.Generator) -> tuple[Strings, Strings, Strings]:
    """Numbers, countries and Latin names (SURNAME GIVEN) of the passport holders."""
    count = int(p.passport.sum())
    countries, shares = zip(*names.PASSPORT_COUNTRIES, strict=True)
    weights = np.array(shares) / sum(shares)
    country = rng.choice(len(countries), size=count, p=weights)
    letters = rng.integers(0, 26, size=(count, 2))
    digits = rng.choice(10**7, size=count, replace=False)  # unique numbers
    male = p.male[p.passport]
    numbers, full_names = [], []
    for i in range(count):
        a, b = (chr(ord("A") + int(x)) for x in letters[i])
        numbers.append(f"{a}{b}{int(digits[i]):07d}")
        given = names.LATIN_GIVEN_MALE if male[i] else names.LATIN_GIVEN_FEMALE
        surname = names.LATIN_SURNAMES[int(rng.integers(len(names.LATIN_SURNAMES)))]
        full_names.append(f"{surname} {given[int(rng.integers(len(given)))]}")
    return (
        pa.array(numbers, type=pa.string()),
        _take(list(countries), country),
        pa.array(full_names, type=pa.string()),
    )


def _unit_codes(p: People, v: Venues, units: Units, rng: np.random.Generator) -> Strings:
    """``C<age>-<n>`` for a pupil's class, ``T<n>`` for a staff member's team, else empty."""
    venue = v.of_person
    school = np.array([t == "school" for t in v.type] + [False])[venue]
    pupil = school & np.isin(p.occupation, [OCC["student"], OCC["preschool"]])
    cls = classes(venue, p.age, pupil, units.class_size, rng)
    low, high = units.team_size
    team = teams(venue, (venue >= 0) & ~pupil, low, high, rng)

    def padded(values: np.ndarray, width: int) -> Strings:
        text: Strings = pc.utf8_lpad(pa.array(values).cast(pa.string()), width=width, padding="0")
        return text

    class_code = _join(pa.scalar("C", pa.string()), padded(p.age, 2), pa.scalar("-", pa.string()),
                       padded(cls, 2))  # fmt: skip
    team_code = _join(pa.scalar("T", pa.string()), padded(team, 3))
    empty = pa.scalar("", pa.string())
    out: Strings = pc.if_else(pa.array(cls > 0), class_code, pc.if_else(pa.array(team > 0),
                                                                     team_code, empty))  # fmt: skip
    return out


def _persons_table(
    h: Hierarchy, p: People, v: Venues, rng: np.random.Generator, units: Units
) -> pa.Table:
    n = len(p)
    mask = pa.array(p.passport)
    numbers, countries, latin = _passports(p, rng)
    residence = _take([c.code for c in h.compounds], p.compound)
    household_seq = pc.utf8_lpad(pa.array(p.household_seq).cast(pa.string()), width=4, padding="0")
    phone = pc.if_else(
        pa.array(p.phone > 0), pa.array(p.phone).cast(pa.string()), pa.scalar("", pa.string())
    )
    venue = np.where(v.of_person >= 0, v.of_person, len(v.code))
    columns = {
        "id_type": _take(("resident_id", "passport"), p.passport.astype(np.int64)),
        "id_number": pc.replace_with_mask(_fixed(p.id_chars), mask, numbers),
        "id_country": pc.replace_with_mask(_take(("CHN",), np.zeros(n, np.int64)), mask, countries),
        "name": pc.replace_with_mask(_chinese_names(p, rng), mask, latin),
        "sex": _take(("F", "M"), p.male.astype(np.int64)),
        "birth_date": pa.array(p.birth).cast(pa.string()),
        "phone": phone,
        "household_code": _join(pa.scalar("H", pa.string()), residence, household_seq),
        "residence_code": residence,
        "venue_code": _take([*v.code, ""], venue),
        "occupation": _take(OCCUPATIONS, p.occupation),
    }
    columns["unit_code"] = _unit_codes(p, v, units, rng)  # drawn last: other columns unchanged
    return pa.table({name: columns[name] for name in PERSON_COLUMNS})


def read_registry(folder: Path) -> Registry:
    """Read the regions, venues and persons files ``write_registry`` wrote (CSV or Parquet)."""
    tables = {}
    for kind, columns in zip(FILES, (REGION_COLUMNS, VENUE_COLUMNS, PERSON_COLUMNS), strict=True):
        parquet, csv = folder / f"{kind}.parquet", folder / f"{kind}.csv"
        if parquet.exists():
            table = pq.read_table(parquet)
        elif csv.exists():
            options = pacsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=False
            )
            table = pacsv.read_csv(csv, convert_options=options)
        else:
            raise FileNotFoundError(
                f"{folder} 中没有 {kind}.csv 或 {kind}.parquet / "
                f"{folder} has no {kind}.csv or {kind}.parquet"
            )
        if kind == "persons" and "unit_code" not in table.column_names:  # written before units
            table = table.append_column("unit_code", pa.array([""] * table.num_rows, pa.string()))
        tables[kind] = table.select(list(columns)).cast(
            pa.schema([(c, pa.string()) for c in columns])
        )
    return Registry(**tables)
