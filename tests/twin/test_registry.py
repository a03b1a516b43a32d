"""The synthetic registry: valid identities, a consistent region tree, sound references."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import phonenumbers
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pycountry
import pytest

from fangkong.identity.resident_id import check_character
from fangkong.twin._regions import (
    PEOPLE_PER_CITY,
    PEOPLE_PER_COMMUNITY,
    PEOPLE_PER_COUNTY,
    PEOPLE_PER_TOWNSHIP,
    Targets,
)
from fangkong.twin._venues import TOWNSHIP_LEVEL
from fangkong.twin.registry import (
    AS_OF,
    PERSON_COLUMNS,
    REGION_COLUMNS,
    VENUE_COLUMNS,
    Registry,
    generate_registry,
    read_registry,
    write_registry,
)

PEOPLE = 20_000
LEVELS = ("province", "city", "county", "township", "community", "compound")
WORKING = {
    "worker", "medical", "fever_clinic", "quarantine_site", "port_of_entry", "cold_chain",
    "courier", "delivery", "supermarket", "transport", "public_service", "unemployed",
}  # fmt: skip
# Venue types each occupation may be sent to.
WORKS_AT = {
    "student": {"school"},
    "worker": {"workplace", "school", "restaurant", "market", "pharmacy", "other"},
    "medical": {"hospital"},
    "fever_clinic": {"fever_clinic"},
    "quarantine_site": {"quarantine_site"},
    "port_of_entry": {"transit_hub"},
    "cold_chain": {"market", "workplace"},
    "courier": {"workplace"},
    "delivery": {"workplace"},
    "supermarket": {"supermarket"},
    "transport": {"transit_hub", "workplace"},
    "public_service": {"workplace", "checkpoint"},
}
SHANXI_BOX = (34.5, 40.7, 110.2, 114.6)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return generate_registry(PEOPLE, seed=11)


@pytest.fixture(scope="module")
def persons(registry: Registry) -> list[dict[str, Any]]:
    return registry.persons.to_pylist()


@pytest.fixture(scope="module")
def regions(registry: Registry) -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in registry.regions.to_pylist()}


@pytest.fixture(scope="module")
def venues(registry: Registry) -> dict[str, dict[str, Any]]:
    return {v["code"]: v for v in registry.venues.to_pylist()}


def _age(birth: date) -> int:
    return AS_OF.year - birth.year - ((AS_OF.month, AS_OF.day) < (birth.month, birth.day))


# ---- shape and determinism ---------------------------------------------------------------


def test_tables_have_exactly_the_columns_all_strings(registry: Registry) -> None:
    for table, columns in (
        (registry.regions, REGION_COLUMNS),
        (registry.venues, VENUE_COLUMNS),
        (registry.persons, PERSON_COLUMNS),
    ):
        assert tuple(table.column_names) == columns
        assert all(field.type == pa.string() for field in table.schema)
        assert all(table.column(c).null_count == 0 for c in columns)  # missing is ""
    assert registry.persons.num_rows == PEOPLE


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, fmt: str) -> None:
    def files(seed: int, name: str) -> dict[str, bytes]:
        paths = write_registry(generate_registry(10_000, seed=seed), tmp_path / name, fmt)  # type: ignore[arg-type]
        assert sorted(paths) == ["persons", "regions", "venues"]
        assert all(p.name == f"{kind}.{fmt}" for kind, p in paths.items())
        return {kind: p.read_bytes() for kind, p in paths.items()}

    first, again, other = files(5, "a"), files(5, "b"), files(6, "c")
    assert first == again
    assert all(first[kind] != other[kind] for kind in first)


def test_files_read_back_as_the_tables(tmp_path: Path, registry: Registry) -> None:
    csv_paths = write_registry(registry, tmp_path / "csv")
    parquet_paths = write_registry(registry, tmp_path / "parquet", "parquet")
    for kind, table in registry.tables().items():
        text = csv_paths[kind].read_text(encoding="utf-8")
        assert text.splitlines()[0] == ",".join(table.column_names)
        read = pacsv.read_csv(
            csv_paths[kind],
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(table.column_names, pa.string()),
                strings_can_be_null=False,
            ),
        )
        assert read.equals(table)
        assert pq.read_table(parquet_paths[kind]).equals(table)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="people"):
        generate_registry(1)
    with pytest.raises(ValueError, match="province"):
        generate_registry(100, province_code="990000")
    with pytest.raises(ValueError, match="province"):
        generate_registry(100, province_code="140100")
    with pytest.raises(ValueError, match="fmt"):
        write_registry(generate_registry(10), Path("unused"), "xlsx")  # type: ignore[arg-type]


# ---- persons -----------------------------------------------------------------------------


def test_resident_ids_are_valid_and_match_sex_birth_date_and_county(
    persons: list[dict[str, Any]],
) -> None:
    residents = [p for p in persons if p["id_type"] == "resident_id"]
    assert len(residents) > 0.99 * PEOPLE
    for p in residents:
        number = p["id_number"]
        assert len(number) == 18
        assert number[:17].isdigit()
        assert number[17] == check_character(number[:17])
        assert number[:6] == p["residence_code"][:6]  # registered in the home county
        birth = date.fromisoformat(p["birth_date"])
        assert number[6:14] == birth.strftime("%Y%m%d")
        assert birth <= AS_OF
        assert p["sex"] == ("M" if int(number[16]) % 2 else "F")
        assert p["id_country"] == "CHN"


def test_passport_holders_have_country_sex_and_birth_date(
    persons: list[dict[str, Any]],
) -> None:
    holders = [p for p in persons if p["id_type"] == "passport"]
    assert 5 <= len(holders) <= 0.01 * PEOPLE
    for p in holders:
        assert pycountry.countries.get(alpha_3=p["id_country"]) is not None
        assert p["id_country"] != "CHN"
        assert p["sex"] in ("M", "F")
        assert 18 <= _age(date.fromisoformat(p["birth_date"])) <= 70
        assert p["id_number"].isalnum()
        assert 5 <= len(p["id_number"]) <= 20


def test_identities_and_phones_are_unique(persons: list[dict[str, Any]]) -> None:
    keys = Counter((p["id_type"], p["id_country"], p["id_number"]) for p in persons)
    assert keys.most_common(1)[0][1] == 1
    assert len({p["id_number"] for p in persons}) == len(persons)
    phones = [p["phone"] for p in persons if p["phone"]]
    assert len(phones) > 0.85 * PEOPLE
    assert len(set(phones)) == len(phones)


def test_phones_are_valid_chinese_mobiles(persons: list[dict[str, Any]]) -> None:
    phones = [p["phone"] for p in persons if p["phone"]]
    for phone in phones[::40]:
        number = phonenumbers.parse(phone, "CN")
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    assert all(len(p) == 11 and p.startswith("1") for p in phones)


def test_names_look_chinese_or_latin(persons: list[dict[str, Any]]) -> None:
    for p in persons:
        if p["id_type"] == "resident_id":
            assert 2 <= len(p["name"]) <= 4
            assert all("\u4e00" <= ch <= "\u9fff" for ch in p["name"])
        else:
            assert p["name"].replace(" ", "").isalpha()
            assert p["name"].isupper()
    common = Counter(p["name"][0] for p in persons).most_common(3)
    assert {s for s, _ in common} <= {"王", "李", "张", "刘", "陈"}


def test_households_average_about_2_6_people_living_together(
    persons: list[dict[str, Any]],
) -> None:
    members: dict[str, set[str]] = defaultdict(set)
    sizes: Counter[str] = Counter()
    for p in persons:
        members[p["household_code"]].add(p["residence_code"])
        sizes[p["household_code"]] += 1
        assert p["household_code"].startswith("H" + p["residence_code"])
        assert len(p["household_code"]) == 20
    assert all(len(places) == 1 for places in members.values())
    mean = PEOPLE / len(sizes)
    assert 2.5 <= mean <= 2.7, mean
    assert max(sizes.values()) <= 6


def test_every_household_has_an_adult(persons: list[dict[str, Any]]) -> None:
    oldest: dict[str, int] = defaultdict(int)
    for p in persons:
        age = _age(date.fromisoformat(p["birth_date"]))
        oldest[p["household_code"]] = max(oldest[p["household_code"]], age)
    assert min(oldest.values()) >= 18


def test_ages_follow_a_plausible_pyramid(persons: list[dict[str, Any]]) -> None:
    ages = [_age(date.fromisoformat(p["birth_date"])) for p in persons]
    assert min(ages) >= 0
    assert max(ages) <= 100
    share = Counter("child" if a < 15 else "old" if a >= 65 else "working" for a in ages)
    assert 0.13 <= share["child"] / PEOPLE <= 0.22  # 2020 census: 18 %
    assert 0.10 <= share["old"] / PEOPLE <= 0.17  # 2020 census: 13.5 %
    assert 36 <= sum(ages) / PEOPLE <= 42
    men = sum(p["sex"] == "M" for p in persons) / PEOPLE
    assert 0.48 <= men <= 0.53


def test_occupation_fits_age(persons: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for p in persons:
        age = _age(date.fromisoformat(p["birth_date"]))
        occupation = p["occupation"]
        seen[occupation] += 1
        if occupation == "preschool":
            assert age < 6
        elif occupation == "student":
            assert 6 <= age <= 22
        elif occupation == "retiree":
            assert age >= 50
        elif occupation in WORKING:
            assert 18 <= age <= 59, (occupation, age)
        else:
            assert occupation == "other"
            assert age >= 18
        if 6 <= age <= 17:
            assert occupation == "student"
    assert seen["retiree"] > 0.1 * PEOPLE
    assert {"worker", "student", "medical", "public_service"} <= set(seen)


# ---- classes and office teams ------------------------------------------------------------


def _unit_sizes(persons: list[dict[str, Any]], prefix: str) -> Counter[tuple[str, str]]:
    return Counter(
        (p["venue_code"], p["unit_code"]) for p in persons if p["unit_code"].startswith(prefix)
    )


def test_pupils_have_classes_and_staff_have_teams(
    persons: list[dict[str, Any]], venues: dict[str, dict[str, Any]]
) -> None:
    for p in persons:
        if not p["venue_code"]:
            assert p["unit_code"] == ""
            continue
        pupil = venues[p["venue_code"]]["type"] == "school" and p["occupation"] == "student"
        if pupil:  # C<age>-<n>: the age is the pupil's
            assert p["unit_code"][:4] == f"C{_age(date.fromisoformat(p['birth_date'])):02d}-"
        else:
            assert p["unit_code"].startswith("T")


def test_class_and_team_sizes_follow_the_scenario(persons: list[dict[str, Any]]) -> None:
    from fangkong.twin.scenario import default_scenario

    units = default_scenario().units
    low, high = units.team_size
    staff = Counter(p["venue_code"] for p in persons if p["unit_code"].startswith("T"))
    for (venue, _), size in _unit_sizes(persons, "T").items():
        # a venue with fewer staff than min is one team; else min .. max + min - 1
        assert size == staff[venue] if staff[venue] < low else low <= size < high + low
    pupils = Counter(
        (p["venue_code"], p["unit_code"][:3]) for p in persons if p["unit_code"].startswith("C")
    )
    for (venue, unit), size in _unit_sizes(persons, "C").items():
        n = pupils[(venue, unit[:3])]
        k = max(1, round(n / units.class_size))
        assert n // k <= size <= -(-n // k)  # equal shares of the (school, age) pupils


def test_other_unit_sizes_come_from_the_scenario() -> None:
    from fangkong.twin.scenario import Units

    registry = generate_registry(5_000, seed=3, units=Units(class_size=5, team_size=(3, 4)))
    persons = registry.persons.to_pylist()
    teams = _unit_sizes(persons, "T")
    staff = Counter(p["venue_code"] for p in persons if p["unit_code"].startswith("T"))
    assert all(s < 7 or staff[v] < 3 for (v, _), s in teams.items())
    assert max(_unit_sizes(persons, "C").values()) <= 9  # round(n / 5) classes: at most 7.5


def test_a_registry_written_before_units_reads_with_empty_units(
    tmp_path: Path, registry: Registry
) -> None:
    old = registry.persons.drop_columns(["unit_code"])
    pacsv.write_csv(old, tmp_path / "persons.csv")
    pacsv.write_csv(registry.regions, tmp_path / "regions.csv")
    pacsv.write_csv(registry.venues, tmp_path / "venues.csv")
    back = read_registry(tmp_path)
    assert back.persons.column_names == list(PERSON_COLUMNS)
    assert set(back.persons["unit_code"].to_pylist()) == {""}


# ---- venues ------------------------------------------------------------------------------


def test_persons_point_at_venues_that_fit_their_occupation(
    persons: list[dict[str, Any]], venues: dict[str, dict[str, Any]]
) -> None:
    for p in persons:
        code = p["venue_code"]
        occupation = p["occupation"]
        if occupation not in WORKS_AT:
            assert code == ""
            continue
        venue = venues[code]
        assert venue["type"] in WORKS_AT[occupation], (occupation, venue["type"])
        if occupation == "student":
            assert code[1:7] == p["residence_code"][:6]  # a school in the home county
        if venue["type"] not in ("transit_hub", "checkpoint"):
            assert code[1:7] == p["residence_code"][:6]
        else:
            assert code[1:5] == p["residence_code"][:4]  # in the home city


def test_venues_are_well_formed(
    venues: dict[str, dict[str, Any]], regions: dict[str, dict[str, Any]]
) -> None:
    types = Counter(v["type"] for v in venues.values())
    assert set(types) == {
        "school", "market", "supermarket", "restaurant", "hospital", "fever_clinic", "pharmacy",
        "workplace", "transit_hub", "checkpoint", "residential_compound", "quarantine_site",
        "other",
    }  # fmt: skip
    assert types["fever_clinic"] == types["hospital"]
    compounds = [r for r in regions.values() if r["level"] == "compound"]
    assert types["residential_compound"] == len(compounds)
    south, north, west, east = SHANXI_BOX
    for code, v in venues.items():
        assert code.startswith("V")
        assert len(code) == 13
        assert code[1:].isdigit()
        region = regions[v["region_code"]]
        assert region["level"] == ("township" if v["type"] in TOWNSHIP_LEVEL else "compound")
        assert code[1:7] == v["region_code"][:6]
        assert int(v["capacity"]) >= 0
        assert south <= float(v["latitude"]) <= north
        assert west <= float(v["longitude"]) <= east
        assert v["name"]
        assert v["address"].startswith("山西省")


def test_shops_schools_and_workplaces_stand_in_a_compound_of_their_community(
    venues: dict[str, dict[str, Any]], regions: dict[str, dict[str, Any]]
) -> None:
    """A venue's region is a compound (the smallest unit, where a medium-risk area is
    drawn); its name and address still come from that compound's community and township."""
    named_after_community = ("school", "market", "supermarket", "pharmacy", "other")
    seen: Counter[tuple[str, str]] = Counter()
    for v in venues.values():
        if v["type"] in TOWNSHIP_LEVEL:
            continue
        compound = regions[v["region_code"]]
        community = regions[compound["parent_code"]]
        township = regions[community["parent_code"]]
        county = regions[township["parent_code"]]
        city = regions[county["parent_code"]]
        assert compound["level"] == "compound"
        seen[(v["type"], compound["area_type"])] += 1
        within = "山西省" + city["name"] + county["name"] + township["name"]
        stem = community["name"].removesuffix("社区").removesuffix("村")
        if v["type"] == "residential_compound":
            assert v["address"] == within + community["name"] + compound["name"]
            continue
        assert v["address"].startswith(within + stem), v  # a road named after the community
        if v["type"] in named_after_community:
            assert v["name"].startswith(stem), v
    for vtype in ("restaurant", "market", "school", "workplace"):
        assert seen[(vtype, "urban")] > 0, vtype
        assert seen[(vtype, "rural")] > 0, vtype


def test_township_level_venues_stay_at_the_township(
    venues: dict[str, dict[str, Any]], regions: dict[str, dict[str, Any]]
) -> None:
    by_type = Counter(v["type"] for v in venues.values() if v["type"] in TOWNSHIP_LEVEL)
    assert set(by_type) == set(TOWNSHIP_LEVEL)
    for v in venues.values():
        if v["type"] in TOWNSHIP_LEVEL:
            assert regions[v["region_code"]]["level"] == "township"


def test_quarantine_rooms_cover_20_per_10000_people(
    venues: dict[str, dict[str, Any]], regions: dict[str, dict[str, Any]]
) -> None:
    rooms: Counter[str] = Counter()
    for v in venues.values():
        if v["type"] == "quarantine_site":
            rooms[v["code"][1:7]] += int(v["capacity"])
    counties = [r for r in regions.values() if r["level"] == "county"]
    for county in counties:
        assert rooms[county["code"]] * 10_000 >= 20 * int(county["population"])


def test_venues_cluster_around_their_city(
    venues: dict[str, dict[str, Any]], regions: dict[str, dict[str, Any]]
) -> None:
    by_county: dict[str, list[float]] = defaultdict(list)
    for v in venues.values():
        by_county[v["code"][1:7]].append(float(v["latitude"]))
    for lats in by_county.values():
        assert max(lats) - min(lats) < 1.5


# ---- regions -----------------------------------------------------------------------------


def _level_of(code: str) -> str | None:
    if len(code) == 6:
        if code.endswith("0000"):
            return "province"
        return "city" if code.endswith("00") else "county"
    if len(code) == 12 and code[6:9] != "000":
        return "township" if code.endswith("000") else "community"
    if len(code) == 15 and code[9:12] != "000" and not code.endswith("000"):
        return "compound"
    return None


PARENT = {
    "city": lambda c: c[:2] + "0000",
    "county": lambda c: c[:4] + "00",
    "township": lambda c: c[:6],
    "community": lambda c: c[:9] + "000",
    "compound": lambda c: c[:12],
}


def check_hierarchy(registry: Registry) -> None:
    rows = registry.regions.to_pylist()
    by_code = {r["code"]: r for r in rows}
    assert len(by_code) == len(rows)
    assert [r["level"] for r in rows] == sorted((r["level"] for r in rows), key=LEVELS.index)
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        code = r["code"]
        assert code.isdigit()
        assert _level_of(code) == r["level"], code
        assert r["geojson"] == ""
        assert r["area_type"] in ("urban", "rural")
        if r["level"] == "province":
            assert r["parent_code"] == ""
            assert code == "140000"
            continue
        assert r["parent_code"] == PARENT[r["level"]](code)
        assert r["parent_code"] in by_code
        assert rows.index(by_code[r["parent_code"]]) < rows.index(r)
        children[r["parent_code"]].append(r)
    for parent, kids in children.items():
        assert sum(int(k["population"]) for k in kids) == int(by_code[parent]["population"])
        assert len({k["name"] for k in kids}) == len(kids), parent
    residents = Counter(registry.persons.column("residence_code").to_pylist())
    for r in rows:
        if r["level"] == "compound":
            assert int(r["population"]) == residents[r["code"]] >= 1
            assert r["area_type"] == by_code[r["parent_code"]]["area_type"]
        elif r["level"] == "community":
            assert r["area_type"] == ("urban" if r["name"].endswith("社区") else "rural")
            assert r["name"].endswith(("社区", "村"))
        elif r["level"] == "township":
            assert r["name"].endswith(("街道", "镇", "乡"))
        elif r["level"] == "county":
            assert r["name"].endswith(("区", "县", "市"))
    assert residents.total() == registry.persons.num_rows
    assert int(by_code["140000"]["population"]) == registry.persons.num_rows
    levels = Counter(r["level"] for r in rows)
    assert levels["city"] >= 1
    assert levels["county"] >= 2


def test_region_tree_is_consistent(registry: Registry) -> None:
    check_hierarchy(registry)
    levels = Counter(registry.regions.column("level").to_pylist())
    assert levels["compound"] >= PEOPLE // 2_000
    sizes = [int(r["population"]) for r in registry.regions.to_pylist()]
    assert sizes[-1] < 5_000


def _levels(registry: Registry) -> Counter[str]:
    return Counter(registry.regions.column("level").to_pylist())


@pytest.mark.parametrize("people", [10_000, 20_000])
def test_a_small_province_has_two_cities_and_four_counties(people: int) -> None:
    registry = generate_registry(people, seed=1)
    check_hierarchy(registry)
    rows = registry.regions.to_pylist()
    levels = _levels(registry)
    assert levels["city"] >= 2
    assert levels["county"] >= 4
    assert levels["township"] > levels["county"]  # some counties have several townships
    # every unit above the compound has children, and each compound has residents
    parents = Counter(r["parent_code"] for r in rows)
    for r in rows:
        if r["level"] != "compound":
            assert parents[r["code"]] >= 1, r
    kinds = {r["name"][-2:] if r["name"].endswith(("街道", "社区")) else r["name"][-1]
             for r in rows if r["level"] in ("county", "township", "community")}  # fmt: skip
    assert {"区", "县", "街道", "镇", "社区", "村"} <= kinds


def test_small_province_units_shrink_large_ones_keep_their_size() -> None:
    usual = Targets(
        PEOPLE_PER_CITY, PEOPLE_PER_COUNTY, PEOPLE_PER_TOWNSHIP, dict(PEOPLE_PER_COMMUNITY)
    )
    assert Targets.for_province(6_000_000) == usual
    assert Targets.for_province(35_000_000) == usual
    small = Targets.for_province(20_000)
    assert (small.city, small.county, small.township) == (10_000, 5_000, 2_500)
    assert small.community == {"街道": 1_250, "镇": 1_250, "乡": 1_000}
    assert Targets.for_province(200_000).township == 12_500
    tiny = Targets.for_province(300)  # floors: a tiny run is one city of two counties
    assert (tiny.city, tiny.county, tiny.township) == (5_000, 2_500, 2_500)
    levels = _levels(generate_registry(300, seed=1))
    assert (levels["city"], levels["county"]) == (1, 2)


@pytest.mark.parametrize("people", [2, 50, 200, 1_500])
def test_small_runs_still_make_a_whole_province(people: int) -> None:
    registry = generate_registry(people, seed=3)
    check_hierarchy(registry)
    assert registry.persons.num_rows == people
    venue_codes = set(registry.venues.column("code").to_pylist())
    assert set(registry.persons.column("venue_code").to_pylist()) - {""} <= venue_codes


def test_other_province_uses_its_prefix_and_box() -> None:
    registry = generate_registry(500, seed=2, province_code="370000")
    regions = registry.regions.to_pylist()
    assert regions[0]["name"] == "山东省"
    assert all(r["code"].startswith("37") for r in regions)
    numbers = [str(n) for n in registry.persons.column("id_number").to_pylist()]
    assert all(n.startswith("37") for n in numbers[:50])
    south, north, west, east = 34.4, 38.4, 114.8, 122.7
    for v in registry.venues.to_pylist():
        assert south <= float(v["latitude"]) <= north
        assert west <= float(v["longitude"]) <= east
