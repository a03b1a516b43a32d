"""What tracing shows: a case's contacts with their evidence, transmission chains, clusters.

Read-only views over the stored cases, contacts and exposures (the pages, the API and
the CLI call them): ``contacts_of_case`` (close first), ``case_chains`` (传播链: cases
joined where one was the other's close contact) and ``clusters`` (聚集性疫情: cases
linked through a venue or a household).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from fangkong.store.fast import driver_rows
from fangkong.store.schema import persons
from fangkong.store.tx import write_transaction
from fangkong.store.types import epoch_seconds, undecoded
from fangkong.tracing._common import SEVERITY, Bind, _epoch
from fangkong.tracing.cases import _case
from fangkong.tracing.checkins import CheckinSource
from fangkong.tracing.copresence import I64
from fangkong.tracing.graph import clusters as _clusters
from fangkong.tracing.graph import merge_stays, transmission_chains
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import (
    tracing_cases,
    tracing_contacts,
    tracing_exposures,
)


@dataclass(frozen=True)
class ExposureView:
    case_id: int
    kind: str
    setting: str
    place_code: str | None
    overlap_start: datetime
    overlap_end: datetime
    overlap_seconds: int
    source_contact_id: int | None


@dataclass(frozen=True)
class ContactView:
    id: int
    person_id: int
    kind: str
    status: str
    first_exposure_at: datetime
    last_exposure_at: datetime
    exposures: tuple[ExposureView, ...]  # those of the case asked about


def contacts_of_case(bind: Bind, case_id: int, *, kind: str | None = None) -> list[ContactView]:
    """A case's contacts with the evidence that links them to it (close first)."""
    e, c = tracing_exposures.c, tracing_contacts.c
    with write_transaction(bind) as conn:
        _case(conn, case_id=case_id)
        q = (
            select(tracing_exposures, c.person_id, c.kind.label("contact_kind"), c.status,
                   c.first_exposure_at, c.last_exposure_at)
            .join(tracing_contacts, c.id == e.contact_id)
            .where(e.case_id == case_id)
            .order_by(e.contact_id, e.overlap_start, e.id)
        )  # fmt: skip
        if kind is not None:
            q = q.where(c.kind == kind)
        rows = conn.execute(q).all()
    grouped: dict[int, list[Any]] = {}
    for r in rows:
        grouped.setdefault(r.contact_id, []).append(r)
    out = [
        ContactView(
            cid, rs[0].person_id, rs[0].contact_kind, rs[0].status, rs[0].first_exposure_at,
            rs[0].last_exposure_at,
            tuple(ExposureView(r.case_id, r.kind, r.setting, r.place_code, r.overlap_start,
                               r.overlap_end, r.overlap_seconds, r.source_contact_id)
                  for r in rs),
        )
        for cid, rs in grouped.items()
    ]  # fmt: skip
    return sorted(out, key=lambda v: (-SEVERITY[v.kind], v.id))


@dataclass(frozen=True)
class Chain:
    number: int
    cases: tuple[int, ...]  # case ids
    roots: tuple[int, ...]  # cases no other case named as a close contact
    links: tuple[tuple[int, int], ...]  # (case id, case id of a close contact who became one)


def close_pairs(conn: Connection) -> list[tuple[int, int]]:
    """(case's person, close contact's person) of every close exposure found, once each."""
    e, c = tracing_exposures.c, tracing_contacts.c
    rows = conn.execute(
        select(tracing_cases.c.person_id, c.person_id)
        .select_from(tracing_exposures)
        .join(tracing_cases, tracing_cases.c.id == e.case_id)
        .join(tracing_contacts, c.id == e.contact_id)
        .where(e.kind == "close")
        .distinct()
    ).all()
    return [(int(a), int(b)) for a, b in rows]


def case_chains(bind: Bind) -> list[Chain]:
    """Transmission chains (传播链): cases joined where one was the other's close contact."""
    with write_transaction(bind) as conn:
        case_rows = conn.execute(
            select(tracing_cases.c.id, tracing_cases.c.person_id, tracing_cases.c.infectious_from)
        ).all()
        pairs = close_pairs(conn)
    if not case_rows:
        return []
    case_of = {int(r.person_id): int(r.id) for r in case_rows}
    # co-presence is symmetric: of two cases named as each other's contact, the one
    # infectious first is taken as the source
    first = {int(r.person_id): (r.infectious_from, r.id) for r in case_rows}
    both = {(int(a), int(b)) for a, b in pairs}
    links = [
        (a, b) for a, b in sorted(both)
        if not ((b, a) in both and a in first and b in first and first[b] < first[a])
    ]  # fmt: skip
    chains = transmission_chains(
        np.array(list(case_of), np.int64),
        np.array([a for a, _ in links], np.int64),
        np.array([b for _, b in links], np.int64),
    )
    roots = set(chains.roots.tolist())
    out = []
    for number in range(int(chains.chain.max()) + 1 if len(chains.chain) else 0):
        members = chains.members(number).tolist()
        inside = tuple(sorted((case_of[a], case_of[b]) for a, b in chains.links if a in members))
        out.append(Chain(
            number, tuple(sorted(case_of[p] for p in members)),
            tuple(sorted(case_of[p] for p in members if p in roots)), inside,
        ))  # fmt: skip
    return sorted(out, key=lambda ch: (-len(ch.cases), ch.cases))


@dataclass(frozen=True)
class Stays:
    """Stays of cases at venues as arrays: case id, venue (index into ``codes``), epoch
    seconds in and out."""

    case: I64
    venue: I64
    codes: tuple[str, ...]
    t_in: I64
    t_out: I64


def venue_stays(conn: Connection) -> Stays:
    """Each case's stays at venues, from its stored venue exposures: one exposure per
    contact met, so a stay is stored in many overlapping pieces. The rows are read in
    one scan as the driver gives them (``store.fast.driver_rows``), their times as
    numbers at once (``store.types.epoch_seconds``), and a case's pieces at a venue
    that overlap or touch are merged (``graph.merge_stays``): the clusters are those of
    the pieces, from a few hundred stays where a view made a row and two datetimes of
    every piece before."""
    e = tracing_exposures.c
    rows = driver_rows(conn, (
        select(e.case_id, e.place_code, undecoded(e.overlap_start), undecoded(e.overlap_end))
        .where(e.setting == "venue", e.place_code.is_not(None))
    ))  # fmt: skip
    if not rows:
        empty = np.zeros(0, np.int64)
        return Stays(empty, empty, (), empty, empty)
    index: dict[str, int] = {}
    venue = [index.setdefault(r[1], len(index)) for r in rows]
    merged = merge_stays(np.array([r[0] for r in rows], np.int64), np.array(venue, np.int64),
                         epoch_seconds([r[2] for r in rows]),
                         epoch_seconds([r[3] for r in rows]))  # fmt: skip
    return Stays(merged[0], merged[1], tuple(index), merged[2], merged[3])


@dataclass(frozen=True)
class Cluster:
    cases: tuple[int, ...]  # case ids
    venues: Mapping[str, int]  # place code → cases linked there
    households: tuple[str, ...]


def clusters(bind: Bind, checkins_source: CheckinSource, rules: ContactRules) -> list[Cluster]:
    """Clusters (聚集性疫情): cases linked through a venue (stays inside their windows no
    more than the pack's cluster window apart) or a household; two cases or more."""
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(tracing_cases.c.id, tracing_cases.c.person_id, tracing_cases.c.infectious_from,
                   tracing_cases.c.infectious_until, persons.c.household_code)
            .join(persons, persons.c.id == tracing_cases.c.person_id)
            .order_by(tracing_cases.c.id)
        ).all()  # fmt: skip
    if not rows:
        return []
    homes = {
        h: i for i, h in enumerate(sorted({r.household_code for r in rows if r.household_code}))
    }
    household = np.array([homes.get(r.household_code, -1) for r in rows], np.int64)
    idx = source_index = checkins_source.index
    which, pos = idx.stays_of(checkins_source.codes([r.person_id for r in rows]))
    mask = np.int64((1 << idx.t_bits) - 1)
    venue = source_index.key[pos] >> idx.t_bits
    t_in = (idx.key[pos] & mask) + idx.t0
    t_out = idx.time_out[pos].astype(np.int64) + idx.t0
    lo = np.array([_epoch(r.infectious_from) for r in rows], np.int64)[which]
    hi = np.array([_epoch(r.infectious_until) if r.infectious_until else 2**62 for r in rows],
                  np.int64)[which]  # fmt: skip
    inside = (t_out > lo) & (t_in < hi)
    found = _clusters(household, which[inside], venue[inside], t_in[inside], t_out[inside],
                      rules.cluster_window_days * 86_400)  # fmt: skip
    names = {i: h for h, i in homes.items()}
    out = []
    for label in sorted(found.sizes, key=lambda k: -found.sizes[k]):
        members = tuple(int(rows[i].id) for i in np.flatnonzero(found.cluster == label).tolist())
        venues_at = {checkins_source.venue_codes[v]: n
                     for v, n in found.venues.get(label, {}).items()}  # fmt: skip
        homes_at = tuple(names[h] for h in found.households.get(label, []))
        out.append(Cluster(members, venues_at, homes_at))
    return out


__all__ = [
    "Chain",
    "Cluster",
    "ContactView",
    "ExposureView",
    "Stays",
    "case_chains",
    "clusters",
    "contacts_of_case",
    "venue_stays",
]
