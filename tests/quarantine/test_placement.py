"""Placement by the pack's rules on both backends: one per room, families and a child with
a guardian together, risk groups never mixed in a zone, nearest facility with space,
accessible rooms, home placements, idempotent references, codes following placements."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from fangkong.healthcode.tables import person_facts
from fangkong.quarantine.placement import PlacementInvalid, place
from fangkong.quarantine.regions import load_regions
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_placements
from fangkong.quarantine.terms import PlacementRequest
from fangkong.store.schema import persons
from tests.quarantine.helpers import COUNTY_A, COUNTY_B, add, hotel, people

P9 = QuarantineRules.shipped("protocol-9")
TM = QuarantineRules.shipped("twenty-measures")
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _place(engine: Engine, reqs: list[PlacementRequest], rules: QuarantineRules = P9) -> list:
    return place(engine, reqs, rules, by="test", at=T0, record_codes=False)


def test_one_person_per_room_nearest_facility_first(province: Engine) -> None:
    add(province, hotel("NEAR", COUNTY_A, single=3), hotel("FAR", COUNTY_B, single=10))
    ids = people(province, COUNTY_A)
    singles = _singles(province, ids, 5)
    out = _place(province, [PlacementRequest(p, "close_contact") for p in singles])
    assert [a.outcome for a in out] == ["placed"] * 5
    assert len({(a.facility_code, a.room_code) for a in out}) == 5
    # the three nearest rooms fill first (the county's own hotel), then the far one
    assert Counter(a.facility_code for a in out) == {"NEAR": 3, "FAR": 2}
    with province.connect() as conn:
        index = load_regions(conn)
    assert index.point(COUNTY_A) != index.point(COUNTY_B)
    assert all(a.planned_end == T0 + timedelta(days=7) for a in out)
    assert out[0].test_days == (1, 2, 3, 5, 7)


def _singles(engine: Engine, ids: list[int], n: int) -> list[int]:
    """``n`` persons of different households (each placed alone)."""
    with engine.connect() as conn:
        hh = dict(conn.execute(select(persons.c.id, persons.c.household_code)).all())
    seen: set[str] = set()
    out = []
    for p in ids:
        if hh[p] not in seen:
            seen.add(hh[p])
            out.append(p)
        if len(out) == n:
            break
    return out


def _household(engine: Engine, size: int) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(select(persons.c.id, persons.c.household_code)).all()
    members: dict[str, list[int]] = {}
    for pid, hh in rows:
        members.setdefault(hh, []).append(int(pid))
    for ids in members.values():
        if len(ids) == size:
            return ids
    pytest.fail(f"no household of {size} in the twin's province")


def test_a_family_shares_a_family_room_and_singles_do_not(province: Engine) -> None:
    add(province, hotel("H", COUNTY_A, single=2, family=1, family_beds=3))
    family = _household(province, 3)
    out = _place(province, [PlacementRequest(p, "close_contact") for p in family])
    assert {a.outcome for a in out} == {"placed"}
    assert len({a.room_code for a in out}) == 1
    assert out[0].room_code.startswith("F")


def test_a_child_with_a_guardian_share_a_room_across_groups(province: Engine) -> None:
    add(province, hotel("H", COUNTY_A, single=4, family=1, family_beds=2))
    child, guardian = _singles(province, people(province), 2)
    with province.begin() as conn:
        conn.execute(
            update(persons).where(persons.c.id == child).values(birth_date=date(2020, 5, 1))
        )
        conn.execute(
            update(persons).where(persons.c.id == guardian).values(birth_date=date(1990, 5, 1))
        )
    out = _place(
        province,
        [
            PlacementRequest(child, "close_contact", guardian_id=guardian),
            PlacementRequest(guardian, "contact_of_contact", kind="centralised"),
        ],
    )
    assert out[0].room_code == out[1].room_code
    assert out[0].room_code.startswith("F")
    # an adult "guardian" link does not merge two adults
    adult_a, adult_b = _singles(province, people(province)[50:], 2)
    with province.begin() as conn:
        conn.execute(
            update(persons)
            .where(persons.c.id.in_([adult_a, adult_b]))
            .values(birth_date=date(1980, 1, 1))
        )
    two = _place(
        province,
        [
            PlacementRequest(adult_a, "close_contact", guardian_id=adult_b),
            PlacementRequest(adult_b, "close_contact"),
        ],
    )
    assert two[0].room_code != two[1].room_code


def test_risk_groups_never_share_a_zone(province: Engine) -> None:
    add(province, hotel("H", COUNTY_A, single=4, zones=2))  # Z1: 2 rooms, Z2: 2 rooms
    a, b, c, d, e = _singles(province, people(province), 5)
    out = _place(
        province,
        [
            PlacementRequest(a, "close_contact"),
            PlacementRequest(b, "inbound"),
            PlacementRequest(c, "close_contact"),
            PlacementRequest(d, "inbound"),
            PlacementRequest(e, "close_contact"),
        ],
    )
    zones = {}
    for req_group, a_ in zip(["cc", "in", "cc", "in", "cc"], out, strict=True):
        if a_.outcome == "placed":
            zones.setdefault(a_.zone, set()).add(req_group)
    assert all(len(groups) == 1 for groups in zones.values())
    assert [x.outcome for x in out].count("no_room") == 1  # the 5th cannot join a zone
    # a later batch respects what the zones already hold
    f = _singles(province, people(province)[100:], 1)[0]
    assert _place(province, [PlacementRequest(f, "high_risk_area")])[0].outcome == "no_room"


def test_accessible_needs_take_accessible_rooms_only(province: Engine) -> None:
    add(province, hotel("H", COUNTY_A, single=5, accessible=1))
    a, b, c = _singles(province, people(province), 3)
    out = _place(
        province,
        [
            PlacementRequest(a, "close_contact", needs_accessible=True),
            PlacementRequest(b, "close_contact", needs_accessible=True),
            PlacementRequest(c, "close_contact"),
        ],
    )
    assert out[0].room_code.startswith("A")
    assert out[1].outcome == "no_room"  # no second accessible room; a single would not do
    assert out[2].room_code.startswith("S")  # others keep off accessible rooms (pack)


def test_home_placements_periods_from_the_pack(province: Engine) -> None:
    a, b, c = _singles(province, people(province), 3)
    out = _place(
        province,
        [PlacementRequest(a, "contact_of_contact"), PlacementRequest(b, "high_risk_area")],
        TM,
    )
    assert out[0].outcome == "not_managed"  # twenty-measures: contacts of contacts not managed
    assert out[1].outcome == "home"
    assert out[1].kind == "home_quarantine"
    assert out[1].planned_end == T0 + timedelta(days=7)
    assert out[1].test_days == (1, 3, 5, 7)
    p9 = _place(province, [PlacementRequest(c, "contact_of_contact")])
    assert (p9[0].kind, p9[0].test_days) == ("home_quarantine", (1, 4, 7))


def test_refs_are_idempotent_and_one_active_placement_per_person(province: Engine) -> None:
    add(province, hotel("H", COUNTY_A, single=5))
    a, b = _singles(province, people(province), 2)
    first = _place(province, [PlacementRequest(a, "inbound", ref="flight-1-a")])
    again = _place(province, [PlacementRequest(a, "inbound", ref="flight-1-a")])
    assert again[0].placement_id == first[0].placement_id
    assert again[0].room_code == first[0].room_code
    other = _place(province, [PlacementRequest(a, "close_contact")])
    assert other[0].outcome == "already_placed"
    with province.connect() as conn:
        assert len(conn.execute(select(quarantine_placements.c.id)).all()) == 1
    with pytest.raises(PlacementInvalid, match="twice"):
        _place(province, [PlacementRequest(b, "inbound"), PlacementRequest(b, "inbound")])
    with pytest.raises(Exception, match="no risk group"):
        _place(province, [PlacementRequest(b, "visitor")])


def test_codes_follow_placements(province: Engine) -> None:
    add(province, hotel("H", COUNTY_A, single=1))
    a, b = _singles(province, people(province), 2)
    place(
        province,
        [PlacementRequest(a, "close_contact"), PlacementRequest(b, "contact_of_contact")],
        P9,
        by="t",
        at=T0,
    )
    with province.connect() as conn:
        rows = conn.execute(
            select(person_facts.c.person_id, person_facts.c.detail, person_facts.c.ends_at)
            .where(person_facts.c.kind == "period")
            .order_by(person_facts.c.person_id)
        ).all()
    got = {int(r.person_id): (r.detail["period"], r.ends_at) for r in rows}
    assert got == {
        a: ("centralised_quarantine", T0 + timedelta(days=7)),
        b: ("home_quarantine", T0 + timedelta(days=7)),
    }
