"""Facility import (atomic, row errors in both languages, re-import), the generator for
the twin's province, and readiness numbers worked by hand — both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from fangkong.demo.facilities import generate, write_facilities
from fangkong.errors import ImportRejected
from fangkong.quarantine.facilities import import_facilities, list_facilities, set_status
from fangkong.quarantine.placement import place
from fangkong.quarantine.readiness import capacity_by_region
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.terms import PlacementRequest
from fangkong.store.schema import regions
from tests.quarantine.helpers import COUNTY_A, COUNTY_B, add, hotel, people

P9 = QuarantineRules.shipped("protocol-9")
HEADER = "code,name,kind,region_code,status,single_rooms,family_rooms,zones\n"


def test_import_is_atomic_and_names_row_and_column(province: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "f.csv"
    bad.write_text(
        HEADER + f"Q1,甲,hotel,{COUNTY_A},open,10,2,2\n"
        f"Q2,乙,castle,{COUNTY_A},open,x,0,1\n"
        f"Q1,丙,hotel,999999,open,1,0,1\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as info:
        import_facilities(province, bad, by="t")
    found = {(p.row, p.column) for p in info.value.detail.problems}
    assert {(2, "kind"), (2, "single_rooms"), (3, "region_code"), (3, "code")} <= found
    assert list_facilities(province) == []  # nothing written
    report = (tmp_path / "f.csv.errors.csv").read_text(encoding="utf-8-sig")
    assert "castle" in report
    assert "行政区划" in report  # Chinese beside English
    good = tmp_path / "g.csv"
    good.write_text(HEADER + f"Q1,甲,hotel,{COUNTY_A},open,10,2,2\n", encoding="utf-8")
    first = import_facilities(province, good, by="t")
    assert (first.inserted, first.rooms_added) == (1, 12)
    (f,) = list_facilities(province)
    assert (f.rooms["single"], f.rooms["family"], f.zones) == (10, 2, ("Z1", "Z2"))
    good.write_text(HEADER + f"Q1,甲,hotel,{COUNTY_A},open,6,2,2\n", encoding="utf-8")
    again = import_facilities(province, good, by="t")
    assert (again.inserted, again.updated, again.rooms_added) == (0, 1, 0)
    assert list_facilities(province)[0].rooms["single"] == 6  # 4 out of service


def test_generator_meets_the_norm_per_county(province: Engine, tmp_path: Path) -> None:
    made, sites = generate(province, P9, seed=3, coverage=1.0)
    path = tmp_path / "facilities.csv"
    write_facilities(path, made)
    import_facilities(province, path, by="t")
    rows = capacity_by_region(province, P9, level="county")
    assert rows
    assert all(r.rooms >= r.norm_rooms for r in rows)
    # open hotels meet the norm; standby hotels come beyond it (pack: standby_share)
    hotels = [f for f in made if f.kind == "hotel"]
    for r in rows:
        mine = [f for f in hotels if f.region_code == r.region_code]
        rooms = {
            status: sum(f.single_rooms + f.family_rooms + f.accessible_rooms
                        for f in mine if f.status == status)
            for status in ("open", "standby")
        }  # fmt: skip
        assert rooms["open"] >= r.norm_rooms
        assert rooms["standby"] >= r.norm_rooms * P9.surge.standby_share
    assert sites


def test_readiness_numbers_by_hand(province: Engine) -> None:
    add(
        province,
        hotel("QA", COUNTY_A, single=10),
        hotel("QS", COUNTY_A, single=7, status="standby"),
        hotel("QB", COUNTY_B, single=4),
    )
    set_status(province, "QB", "closing", by="t")
    at = datetime(2026, 11, 20, 2, tzinfo=UTC)
    ids = people(province, COUNTY_A)[:3]
    place(
        province,
        [PlacementRequest(p, "close_contact", household=f"x{p}") for p in ids],
        P9,
        by="t",
        at=at,
        record_codes=False,
    )
    with province.connect() as conn:
        pop = dict(conn.execute(select(regions.c.code, regions.c.population)).all())
    rows = {r.region_code: r for r in capacity_by_region(province, P9, at=at.replace(hour=3))}
    a, b = rows[COUNTY_A], rows[COUNTY_B]
    assert (a.available, a.occupied, a.standby, a.rooms) == (7, 3, 7, 17)
    assert a.norm_rooms == pytest.approx(pop[COUNTY_A] * 20 / 10_000)
    assert a.meets_norm == (pop[COUNTY_A] * 20 / 10_000 <= 17)
    assert a.occupancy == pytest.approx(0.3)
    assert a.intake_per_day == pytest.approx(3 / 7)  # three in the 7-day window (pack)
    assert a.days_left == pytest.approx(7 / (3 / 7))
    assert (b.available, b.rooms, b.days_left) == (0, 0, None)  # closing counts nowhere
