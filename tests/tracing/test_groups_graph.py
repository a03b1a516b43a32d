"""Household/class/workplace contacts, vehicles, contacts of contacts, chains, clusters."""

from __future__ import annotations

import numpy as np

from fangkong.tracing.graph import clusters, transmission_chains
from fangkong.tracing.groups import (
    Manifest,
    contacts_of_contacts,
    household_and_group_contacts,
    members,
    registry_groups,
    vehicle_contacts,
)
from fangkong.tracing.rules import ContactRules

P9 = ContactRules.shipped("protocol-9")
TWENTY = ContactRules.shipped("twenty-measures")
# persons 0..7: households {0,1,2} {3,4}; class of 5,6 with 0; workplace of 1 with 7
GROUPS = {
    "household": np.array([0, 0, 0, 1, 1, -1, -1, -1]),
    "class": np.array([9, -1, -1, -1, -1, 9, 9, -1]),
    "workplace": np.array([-1, 4, -1, -1, -1, -1, -1, 4]),
}


def test_members_leave_out_the_person_and_the_groupless() -> None:
    which, member = members(GROUPS["household"], np.array([0, 5, 3]))
    assert sorted(zip(which.tolist(), member.tolist(), strict=True)) == [
        (0, 1), (0, 2), (2, 4)]  # fmt: skip


def test_household_class_and_workplace_close_contacts() -> None:
    found = household_and_group_contacts(
        np.array([0]), np.array([100]), np.array([200]), GROUPS, P9
    )
    assert sorted((c, r) for _, c, r, _, _ in found.rows()) == [
        (1, "household"), (2, "household"), (5, "class"), (6, "class")]  # fmt: skip
    assert {(a, b) for *_, a, b in found.rows()} == {(100, 200)}


def test_contacts_of_contacts_follow_the_pack() -> None:
    coc = contacts_of_contacts(
        np.array([1]), np.array([150]), np.array([300]), GROUPS, P9, exclude=np.array([0, 1])
    )
    assert sorted((c, r) for _, c, r, _, _ in coc.rows()) == [(2, "household"), (7, "workplace")]
    none = contacts_of_contacts(
        np.array([1]), np.array([150]), np.array([300]), GROUPS, TWENTY, exclude=np.array([0])
    )
    assert len(none) == 0


def test_vehicle_seat_rows_and_whole_taxi() -> None:
    manifest = Manifest(
        person=np.array([0, 1, 2, 3, 4, 0, 5]),
        trip=np.array([0, 0, 0, 0, 0, 1, 1]),
        mode=["flight", "taxi"],
        seat_row=np.array([10, 13, 14, 7, -1, -1, -1]),
        time=np.array([100, 100, 100, 100, 100, 150, 150]),
    )
    _case, contact, trip = vehicle_contacts(manifest, np.array([0]), np.array([0]),
                                           np.array([1000]), P9)  # fmt: skip
    assert sorted(zip(contact.tolist(), trip.tolist(), strict=True)) == [
        (1, 0), (3, 0), (4, 0), (5, 1)]  # fmt: skip
    outside = vehicle_contacts(manifest, np.array([0]), np.array([200]), np.array([300]), P9)
    assert len(outside[0]) == 0


def test_a_contact_who_becomes_a_case_links_chains() -> None:
    chains = transmission_chains(
        cases=np.array([1, 5, 9, 20]),
        source=np.array([1, 1, 5, 20]),
        contact=np.array([5, 6, 9, 21]),
    )
    assert chains.links == [(1, 5), (5, 9)]
    assert chains.roots.tolist() == [1, 20]
    chain_of = dict(zip(chains.cases.tolist(), chains.chain.tolist(), strict=True))
    assert chain_of[1] == chain_of[5] == chain_of[9] != chain_of[20]


def test_clusters_through_venues_and_households_within_the_window() -> None:
    # cases 0,1 at venue 7 an hour apart; case 2 at venue 7 three days later;
    # cases 2,3 share a household; case 4 alone
    found = clusters(
        household=np.array([-1, -1, 50, 50, -1]),
        stay_case=np.array([0, 1, 2, 4]),
        stay_venue=np.array([7, 7, 7, 8]),
        stay_in=np.array([0, 3600, 3 * 86400, 0]),
        stay_out=np.array([1800, 5400, 3 * 86400 + 60, 60]),
        window=86400,
    )
    c = found.cluster.tolist()
    assert c[0] == c[1] != c[2] == c[3]
    assert c[4] not in (c[0], c[2])
    assert found.sizes == {c[0]: 2, c[2]: 2}
    assert found.venues == {c[0]: {7: 2}}
    assert found.households == {c[2]: [50]}


def test_registry_groups_from_the_import_formats() -> None:
    import pyarrow as pa

    persons = pa.table({
        "household_code": ["H1", "H1", "H2", None],
        "venue_code": ["S1", "W1", "W1", "S1"],
    })  # fmt: skip
    venues = pa.table({"code": ["S1", "W1"], "type": ["school", "workplace"]})
    groups = registry_groups(persons, venues)
    assert groups["household"].tolist()[3] == -1
    assert groups["household"][0] == groups["household"][1] != groups["household"][2]
    assert groups["class"].tolist()[1:3] == [-1, -1]
    assert groups["class"][0] == groups["class"][3] >= 0
    assert groups["workplace"][1] == groups["workplace"][2] >= 0
    assert groups["workplace"].tolist()[0] == -1


def test_registry_groups_by_class_and_team_units() -> None:
    import pyarrow as pa

    persons = pa.table({
        "household_code": ["H1", "H2", "H3", "H4", "H5", "H6", "H7"],
        "venue_code": ["S1", "S1", "S1", "W1", "W1", "W1", "W1"],
        "unit_code": ["C07-01", "C07-02", "C07-01", "T001", "T002", "T001", ""],
    })  # fmt: skip
    venues = pa.table({"code": ["S1", "W1"], "type": ["school", "workplace"]})
    groups = registry_groups(persons, venues)
    cls, work = groups["class"].tolist(), groups["workplace"].tolist()
    assert cls[0] == cls[2] != cls[1]  # same school, other class: not a close contact
    assert work[3] == work[5] != work[4]  # same employer, other team
    assert work[6] not in (work[3], work[4])  # no unit: the venue's unit-less members
    found = household_and_group_contacts(
        np.array([0, 3]), np.array([0, 0]), np.array([9, 9]), groups, P9
    )
    assert sorted((s, c) for s, c, *_ in found.rows()) == [(0, 2), (1, 5)]
