"""Close contacts without a check-in, and contacts of close contacts (密接的密接).

Groups come from the registry: ``household`` ← a person's household_code, ``class`` ←
their class at school (venue_code of a school + unit_code), ``workplace`` ← their office
team (venue_code + unit_code); without a unit_code the whole school or workplace. Each
is an array ``group[person]`` of group codes (−1: none). Which groups make a close
contact, and which make a contact of a close contact, is the ``[contacts]`` table's
choice (``ContactRules``). Vehicles: passengers of the same trip within the mode's seat
rows of the case (or the whole vehicle). Everything is whole-array NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc

from fangkong.tracing.copresence import I64, Ints, _ranges
from fangkong.tracing.rules import ContactRules

pc: Any = _pc  # the pyarrow-stubs overloads reject valid calls on mixed arrays


@dataclass(frozen=True)
class GroupContacts:
    """One row per (source, contact, relation): exposure over [start, end)."""

    source: I64  # row in the sources given (cases, or close contacts)
    contact: I64  # person code
    relation: I64  # index into ``relations``
    start: I64
    end: I64
    relations: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.source)

    def rows(self) -> list[tuple[int, int, str, int, int]]:
        return [
            (s, c, self.relations[r], a, b)
            for s, c, r, a, b in zip(
                self.source.tolist(),
                self.contact.tolist(),
                self.relation.tolist(),
                self.start.tolist(),
                self.end.tolist(),
                strict=True,
            )
        ]


def unit_keys(persons: pa.Table) -> Any:
    """``venue_code#unit_code`` (the class or team), or venue_code alone without a unit."""
    venue = persons.column("venue_code").combine_chunks()
    if "unit_code" not in persons.column_names:
        return venue
    unit = persons.column("unit_code").combine_chunks()
    joined = pc.binary_join_element_wise(venue, unit, "#")  # null where either is null
    no_unit = pc.fill_null(pc.equal(unit, ""), True)
    return pc.if_else(no_unit, venue, joined)


def unit_place(venue: str | None, unit: str | None) -> str | None:
    """The place named in a class/workplace exposure: ``venue#unit`` or the venue."""
    if not venue:
        return None
    return f"{venue}#{unit}" if unit else venue


def registry_groups(persons: pa.Table, venues: pa.Table) -> dict[str, I64]:
    """Group codes per person (row of ``persons``) from registry tables in the import
    formats: ``household`` ← household_code; ``class`` ← venue_code of a school and the
    unit_code (class); ``workplace`` ← venue_code of any other venue (the person works
    there) and the unit_code (team). A person without unit_code: the whole venue."""

    def codes(values: Any) -> I64:
        encoded = pc.dictionary_encode(values)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        found = pc.fill_null(encoded.indices.cast(pa.int64()), -1)
        return np.asarray(found.to_numpy(zero_copy_only=False), np.int64)

    household = codes(persons.column("household_code"))
    place = codes(unit_keys(persons))
    schools = pc.equal(venues.column("type"), "school")
    school_codes = pc.filter(venues.column("code"), schools)
    is_school = pc.fill_null(pc.is_in(persons.column("venue_code"), value_set=school_codes), False)
    at_school = np.asarray(is_school.to_numpy(zero_copy_only=False), bool)
    return {
        "household": household,
        "class": np.where(at_school, place, -1),
        "workplace": np.where(~at_school, place, -1),
    }


def members(group: Ints, who: Ints) -> tuple[I64, I64]:
    """(which of ``who``, member) for every other member of each one's group."""
    group = np.asarray(group, np.int64)
    who = np.asarray(who, np.int64)
    persons = np.flatnonzero(group >= 0)
    order = persons[np.argsort(group[persons], kind="stable")]
    sorted_group = group[order]
    valid = (who >= 0) & (who < len(group))
    g = np.full(len(who), -1, np.int64)
    g[valid] = group[who[valid]]
    lo = np.searchsorted(sorted_group, g, side="left")
    hi = np.where(g >= 0, np.searchsorted(sorted_group, g, side="right"), lo)
    which = np.repeat(np.arange(len(who), dtype=np.int64), hi - lo)
    member = order[_ranges(lo, hi - lo)].astype(np.int64)
    other = member != who[which]
    return which[other], member[other]


def _by_groups(
    sources: Ints, start: I64, end: I64, groups: Mapping[str, Ints], relations: Sequence[str]
) -> GroupContacts:
    parts = []
    for r, name in enumerate(relations):
        which, member = members(groups[name], sources)
        parts.append((which, member, np.full(len(which), r, np.int64)))
    which = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    member = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    relation = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    return GroupContacts(
        which, member, relation, np.asarray(start, np.int64)[which],
        np.asarray(end, np.int64)[which], tuple(relations),
    )  # fmt: skip


def household_and_group_contacts(
    case_person: Ints,
    case_start: I64,
    case_end: I64,
    groups: Mapping[str, Ints],
    rules: ContactRules,
) -> GroupContacts:
    """Close contacts by household, class and workplace (those the rules name).

    ``groups[name][person]`` is the person's group code or −1; exposure is the case's
    infectious window.
    """
    return _by_groups(case_person, case_start, case_end, groups, rules.close_contact_groups)


def contacts_of_contacts(
    contact_person: Ints,
    first_exposure: I64,
    isolated_at: I64,
    groups: Mapping[str, Ints],
    rules: ContactRules,
    exclude: Ints,
) -> GroupContacts:
    """Contacts of close contacts: their household and workplace (per the rules) between
    the close contact's first exposure and isolation. Persons in ``exclude`` (cases and
    close contacts, managed already) are left out; nothing when the rules say not to trace.
    """
    if not rules.trace_contacts_of_contacts:
        return _by_groups(np.zeros(0, np.int64), first_exposure, isolated_at, groups, ())
    found = _by_groups(
        contact_person, first_exposure, isolated_at, groups, rules.contact_of_contact_groups
    )
    keep = ~np.isin(found.contact, np.asarray(exclude, np.int64)) & (found.start < found.end)
    return GroupContacts(
        **{f.name: getattr(found, f.name)[keep] for f in fields(found) if f.name != "relations"},
        relations=found.relations,
    )


@dataclass(frozen=True)
class Manifest:
    """Passengers of trips (transport manifests): one row per passenger and trip."""

    person: Ints
    trip: Ints  # a vehicle journey (flight, train, taxi ride) code
    mode: Sequence[str]  # per trip code: flight, train, taxi, ...
    seat_row: Ints  # −1: unknown (counted as near the case)
    time: I64  # departure, epoch seconds


def vehicle_contacts(
    manifest: Manifest, case_person: Ints, case_start: I64, case_end: I64, rules: ContactRules
) -> tuple[I64, I64, I64]:
    """(case row, contact person, trip) for fellow passengers of a case's trips inside
    the case's window: within the mode's seat rows, or anyone in a whole-vehicle mode.
    Modes the rules do not list give no close contacts."""
    case_person = np.asarray(case_person, np.int64)
    person = np.asarray(manifest.person, np.int64)
    trip = np.asarray(manifest.trip, np.int64)
    case_of = {p: i for i, p in enumerate(case_person.tolist())}
    rows = np.flatnonzero(np.isin(person, case_person))
    case_row = np.array([case_of[p] for p in person[rows].tolist()], np.int64)
    inside = (manifest.time[rows] >= np.asarray(case_start)[case_row]) & (
        manifest.time[rows] < np.asarray(case_end)[case_row]
    )
    rows, case_row = rows[inside], case_row[inside]
    which, other = members(trip, rows)  # trip "groups" of manifest rows
    src, dst = rows[which], other
    seat = np.asarray(manifest.seat_row, np.int64)
    limit = np.array(
        [_limit(rules, manifest.mode[t]) for t in trip[src].tolist()], np.int64
    ).reshape(-1)
    unknown = (seat[src] < 0) | (seat[dst] < 0)
    near = (limit == np.iinfo(np.int64).max) | unknown | (np.abs(seat[src] - seat[dst]) <= limit)
    keep = (limit >= 0) & near & (person[dst] != person[src])
    return case_row[which][keep], person[dst][keep], trip[src][keep]


def _limit(rules: ContactRules, mode: str) -> int:
    rule = rules.vehicles.get(mode)
    if rule is None:
        return -1
    return np.iinfo(np.int64).max if rule.seat_rows is None else rule.seat_rows
