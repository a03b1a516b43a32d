"""How a trace finds exposures: venue co-presence, groups, vehicles, contacts of contacts.

Each finder adds to one ``_Found`` (parallel lists: case, person, kind, setting, place,
overlap in epoch seconds, the evidence's event ids, the source contact of a contact of a
contact); ``trace_job`` stores what they found. Venue co-presence asks the
``CheckinSource``; households, classes and workplaces come from the registry's persons
and venues (``groups``); fellow passengers from the source's manifest; contacts of close
contacts from the close contacts already stored, up to their isolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
from sqlalchemy import Connection, func, select

from fangkong.store.schema import persons, venues
from fangkong.tracing._common import _chunks, _epoch
from fangkong.tracing.checkins import CheckinSource
from fangkong.tracing.copresence import I64, Cases, Pairs
from fangkong.tracing.groups import (
    contacts_of_contacts,
    household_and_group_contacts,
    registry_groups,
    unit_place,
    vehicle_contacts,
)
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import (
    tracing_cases,
    tracing_contact_changes,
    tracing_contacts,
    tracing_exposures,
)


@dataclass
class _Found:
    """Exposures found by one trace, as parallel lists (person ids, epoch seconds)."""

    case_id: list[int] = field(default_factory=list)
    person: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    setting: list[str] = field(default_factory=list)
    place: list[str | None] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    case_event: list[str | None] = field(default_factory=list)
    contact_event: list[str | None] = field(default_factory=list)
    source: list[int | None] = field(default_factory=list)  # source contact's person

    def add(self, case_id: int, person: int, kind: str, setting: str, place: str | None,
            start: int, end: int, case_event: str | None = None,
            contact_event: str | None = None, source: int | None = None) -> None:  # fmt: skip
        self.case_id.append(case_id)
        self.person.append(person)
        self.kind.append(kind)
        self.setting.append(setting)
        self.place.append(place)
        self.start.append(start)
        self.end.append(end)
        self.case_event.append(case_event)
        self.contact_event.append(contact_event)
        self.source.append(source)

    def __len__(self) -> int:
        return len(self.case_id)


@dataclass(frozen=True)
class _CaseRow:
    id: int
    person: int
    start: int
    end: int


def _venue_exposures(
    cases: list[_CaseRow], source: CheckinSource, rules: ContactRules, found: _Found
) -> None:
    query = Cases(
        person=source.codes([c.person for c in cases]),
        start=np.array([c.start for c in cases], np.int64),
        end=np.array([c.end for c in cases], np.int64),
    )
    result = source.query(query)
    for kind, pairs in (("close", result.close), ("general", result.general)):
        _add_pairs(cases, source, pairs, kind, found)


def _add_pairs(
    cases: list[_CaseRow], source: CheckinSource, pairs: Pairs, kind: str, found: _Found
) -> None:
    for case, contact, venue, cs, ks, start, end in pairs.rows():
        found.add(
            cases[case].id, int(source.person_ids[contact]), kind, "venue",
            source.venue_codes[venue], start, end, source.event(cs), source.event(ks),
        )  # fmt: skip


_Places = dict[int, tuple[str | None, str | None, str | None]]  # id → household, venue, unit


def _group_tables(
    conn: Connection, person_ids: Sequence[int]
) -> tuple[I64, dict[str, I64], _Places]:
    """(database id of each compact code, group arrays over the codes, each one's
    household, venue and unit) for the persons and every member of their households,
    schools and workplaces."""
    cols = (persons.c.id, persons.c.household_code, persons.c.venue_code, persons.c.unit_code)
    rows: _Places = {}
    for chunk in _chunks(list(person_ids)):
        for r in conn.execute(select(*cols).where(persons.c.id.in_(chunk))):
            rows[r.id] = (r.household_code, r.venue_code, r.unit_code)
    homes = sorted({h for h, _, _ in rows.values() if h})
    places = sorted({v for _, v, _ in rows.values() if v})
    for chunk in _chunks(homes):
        for r in conn.execute(select(*cols).where(persons.c.household_code.in_(chunk))):
            rows[r.id] = (r.household_code, r.venue_code, r.unit_code)
    for chunk in _chunks(places):
        for r in conn.execute(select(*cols).where(persons.c.venue_code.in_(chunk))):
            rows[r.id] = (r.household_code, r.venue_code, r.unit_code)
    types: dict[str, str] = {}
    for chunk in _chunks(places):
        types.update(
            conn.execute(select(venues.c.code, venues.c.type).where(venues.c.code.in_(chunk))).all()
        )  # fmt: skip
    ids = np.array(sorted(rows), np.int64)
    table = pa.table({
        "household_code": pa.array([rows[i][0] or None for i in ids.tolist()], pa.string()),
        "venue_code": pa.array([rows[i][1] or None for i in ids.tolist()], pa.string()),
        "unit_code": pa.array([rows[i][2] or "" for i in ids.tolist()], pa.string()),
    })  # fmt: skip
    venue_table = pa.table({"code": pa.array(list(types), pa.string()),
                            "type": pa.array(list(types.values()), pa.string())})  # fmt: skip
    return ids, registry_groups(table, venue_table), rows


def _place_names(places: _Places, ids: I64, relation: str, member: int) -> str | None:
    """The household code, or the class/team as ``venue#unit`` (the venue without one)."""
    household, venue, unit = places[int(ids[member])]
    if relation == "household":
        return household or None
    return unit_place(venue, unit)


def _group_exposures(
    conn: Connection, cases: list[_CaseRow], rules: ContactRules, found: _Found
) -> None:
    if not cases or not rules.close_contact_groups:
        return
    ids, groups, homes = _group_tables(conn, [c.person for c in cases])
    where = {int(p): i for i, p in enumerate(ids.tolist())}
    codes = np.array([where.get(c.person, -1) for c in cases], np.int64)
    start = np.array([c.start for c in cases], np.int64)
    end = np.array([c.end for c in cases], np.int64)
    got = household_and_group_contacts(codes, start, end, groups, rules)
    places: dict[tuple[str, int], str | None] = {}
    for row, contact, relation, a, b in got.rows():
        if b <= a:
            continue
        key = (relation, row)
        if key not in places:
            places[key] = _place_names(homes, ids, relation, int(codes[row]))
        found.add(cases[row].id, int(ids[contact]), "close", relation, places[key], a, b)


def _vehicle_exposures(
    cases: list[_CaseRow], source: CheckinSource, rules: ContactRules, found: _Found
) -> None:
    m = source.manifest
    if m is None or not cases:
        return
    person = np.array([c.person for c in cases], np.int64)
    start = np.array([c.start for c in cases], np.int64)
    end = np.array([c.end for c in cases], np.int64)
    rows, contacts, trips = vehicle_contacts(m, person, start, end, rules)
    departure = {int(t): int(s) for t, s in zip(np.asarray(m.trip).tolist(), m.time.tolist(),
                                                 strict=True)}  # fmt: skip
    for row, contact, trip in zip(rows.tolist(), contacts.tolist(), trips.tolist(), strict=True):
        when = departure[int(trip)]
        found.add(cases[row].id, int(contact), "close", "vehicle", f"trip-{trip}", when, when)


def _contacts_of_contacts(
    conn: Connection, cases: list[_CaseRow], rules: ContactRules, at: datetime
) -> _Found:
    """Household/workplace of the close contacts of ``cases``, from each close contact's
    first exposure to their isolation (entering quarantine; not yet: ``at``)."""
    found = _Found()
    rows = conn.execute(
        select(
            tracing_exposures.c.case_id, tracing_contacts.c.id, tracing_contacts.c.person_id,
            tracing_contacts.c.status, tracing_exposures.c.overlap_start,
        )
        .join(tracing_contacts, tracing_contacts.c.id == tracing_exposures.c.contact_id)
        .where(tracing_exposures.c.case_id.in_([c.id for c in cases]),
               tracing_exposures.c.kind == "close",
               tracing_contacts.c.status != "became_case")
    ).all()  # fmt: skip
    first: dict[int, tuple[int, int, int]] = {}  # person → (first exposure, case, contact)
    for r in rows:
        t = _epoch(r.overlap_start)
        if r.person_id not in first or t < first[r.person_id][0]:
            first[r.person_id] = (t, r.case_id, r.id)
    if not first:
        return found
    isolated = _isolation_times(conn, [v[2] for v in first.values()])
    people = sorted(first)
    ids, groups, homes = _group_tables(conn, people)
    where = {int(p): i for i, p in enumerate(ids.tolist())}
    managed = _managed_persons(conn)
    exclude = np.array([where[p] for p in managed if p in where], np.int64)
    now = _epoch(at)
    got = contacts_of_contacts(
        np.array([where[p] for p in people], np.int64),
        np.array([first[p][0] for p in people], np.int64),
        np.array([isolated.get(first[p][2], now) for p in people], np.int64),
        groups, rules, exclude,
    )  # fmt: skip
    for row, contact, relation, a, b in got.rows():
        p = people[row]
        place = _place_names(homes, ids, relation, where[p])
        found.add(first[p][1], int(ids[contact]), "contact_of_contact", relation, place, a, b,
                  source=p)  # fmt: skip
    return found


def _isolation_times(conn: Connection, contact_ids: Sequence[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for chunk in _chunks(list(contact_ids)):
        q = (
            select(tracing_contact_changes.c.contact_id, func.min(tracing_contact_changes.c.at))
            .where(tracing_contact_changes.c.contact_id.in_(chunk),
                   tracing_contact_changes.c.to_status == "quarantined")
            .group_by(tracing_contact_changes.c.contact_id)
        )  # fmt: skip
        out.update((int(c), _epoch(t)) for c, t in conn.execute(q).all())
    return out


def _managed_persons(conn: Connection) -> list[int]:
    """Cases and close contacts: never a contact of a close contact."""
    cases = conn.execute(select(tracing_cases.c.person_id)).scalars().all()
    close = conn.execute(
        select(tracing_contacts.c.person_id).where(tracing_contacts.c.kind == "close")
    ).scalars().all()  # fmt: skip
    return [int(p) for p in (*cases, *close)]
