"""Contact tracing as people reach it: rights, jurisdiction, masking, audit (流调工作台).

The use cases of tracing (``cases``, ``statuses``, ``trace_job``, ``views``) know nothing
of who asks; these functions put the checks in front of them, once, for the pages and the
API::

    actor ─▶ right? ── no ─▶ Forbidden (403)
             case's person living in the actor's region subtree? ── no ─▶ NotFound, the
                 │                                   answer of a case that does not exist
                 ▼
             contacts / status change / chains / clusters ─▶ names masked by rights
                 └── one audit row per view or action (ids only, never names/numbers)

Rights: reading needs ``person.read`` and ``fact.record`` (tracers and epidemiologists
record the facts codes follow); changing a contact's status, or registering a case and
tracing it, also ``person.write``. A contact who lives outside the jurisdiction is
listed (masked) but cannot be changed; a case can be registered only for a person who
lives inside it. Lists come whole from these functions; ``page`` cuts one page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

import numpy as np
from sqlalchemy import Connection, select

from fangkong import bounds, clock
from fangkong.auth.guard import Call, hidden, names, within
from fangkong.auth.model import Actor
from fangkong.auth.rights import FACT_RECORD, PERSON_READ, PERSON_READ_FULL, PERSON_WRITE
from fangkong.command.figures import FigureRules
from fangkong.errors import BadInput, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.identity.masking import mask_name
from fangkong.store.listing import Bounded
from fangkong.store.schema import persons
from fangkong.tracing.cases import (
    CaseUnknown,
    CaseView,
    PersonUnknown,
    case_exists_problem,
    get_case,
    register_case,
    stored_case,
)
from fangkong.tracing.checkins import CheckinSource
from fangkong.tracing.graph import clusters as _clusters
from fangkong.tracing.lake import CheckinLake
from fangkong.tracing.management import OVERDUE, STATES, Management, case_management
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.statuses import ContactUnknown, StatusInvalid, set_contact_status
from fangkong.tracing.tables import (
    CONTACT_KINDS,
    STATUSES,
    tracing_cases,
    tracing_contacts,
)
from fangkong.tracing.trace_job import TraceOutcome, hand_off, trace_cases
from fangkong.tracing.views import (
    Chain,
    Cluster,
    ContactView,
    case_chains,
    clusters,
    contacts_of_case,
    venue_stays,
)

T = TypeVar("T")
READ_RIGHTS = (PERSON_READ, FACT_RECORD)
CHANGE_RIGHTS = (*READ_RIGHTS, PERSON_WRITE)
MAX_BULK = 500


def _case_missing(case_id: int) -> Problem:
    return Problem("tracing.case_unknown", f"无此病例（{case_id}）", f"no traced case {case_id}")


# ---- views ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactRow:
    """A contact as one actor may see it: the name masked without ``person.read_full``;
    ``editable`` only when the contact lives inside the actor's jurisdiction."""

    contact: ContactView
    name: str
    editable: bool
    management: Management | None = None  # read when the caller asked for it


@dataclass(frozen=True)
class CaseContacts:
    case: CaseView
    name: str
    contacts: tuple[ContactRow, ...]
    kind: str | None
    status: str | None
    can_change: bool
    state: str | None = None  # a management state (tracing.management.STATES) or "overdue"
    # the board's counts over all the case's contacts (unfiltered); empty when not asked
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ChainsView:
    chains: tuple[Chain, ...]
    names: dict[int, str]  # case id → name (masked by rights)


@dataclass(frozen=True)
class ClusterRow:
    cases: tuple[int, ...]
    venues: dict[str, int]
    households: tuple[str, ...]
    first_case_at: datetime
    last_case_at: datetime
    # cases per day (by onset, else sampling date), every day from the first to the last
    # within the input window (fangkong.bounds)
    growth: tuple[tuple[date, int], ...] = ()
    # cases whose stored date lies outside that window (before the bounds): left out of
    # the growth, shown flagged
    out_of_range: tuple[int, ...] = ()

    @property
    def size(self) -> int:
        return len(self.cases)


@dataclass(frozen=True)
class Registered:
    case: CaseView
    traced: TraceOutcome | None  # None: registered without tracing
    facts: int  # exposure facts handed to health codes
    codes_changed: int


def page(items: Sequence[T], limit: int, offset: int) -> tuple[Sequence[T], int]:
    """One page of a list (``limit`` items from ``offset``) and the list's length."""
    if limit < 1 or offset < 0:
        raise BadInput(Problem("tracing.page_invalid", "分页参数无效",
                               "limit must be ≥ 1 and offset ≥ 0"))  # fmt: skip
    return items[offset : offset + limit], len(items)


# what the cluster list may be sorted by: clusters are computed, not stored rows, so they
# are sorted here, after the computation (largest first by default)
CLUSTER_SORTS = ("size", "first", "latest")


def page_clusters(
    found: Sequence[ClusterRow], bounded: Bounded
) -> tuple[Sequence[ClusterRow], int]:
    """One page of clusters in the order ``bounded`` asks for (equal keys keep the list's
    own order, largest first)."""
    keys = {"size": lambda c: c.size, "first": lambda c: c.first_case_at,
            "latest": lambda c: c.last_case_at}  # fmt: skip
    rows: Sequence[ClusterRow] = found
    if bounded.sort in keys:
        rows = sorted(found, key=keys[bounded.sort], reverse=bounded.descending)
    return page(rows, bounded.limit, bounded.offset)


def growth(days: Sequence[date]) -> tuple[tuple[date, int], ...]:
    """Cases per day from the first day to the last, days without a case as 0. Only days
    inside the event window count (a stored year 9999 would make millions of days)."""
    days = [d for d in days if bounds.in_window(d, "event")]
    if not days:
        return ()
    first, last = min(days), max(days)
    counts = {first + timedelta(days=i): 0 for i in range((last - first).days + 1)}
    for d in days:
        counts[d] += 1
    return tuple(counts.items())


# ---- jurisdiction ---------------------------------------------------------------------------


def _visible(conn: Connection, actor: Actor, person_ids: Sequence[int]) -> set[int]:
    """The persons among ``person_ids`` who live inside the actor's jurisdiction."""
    if not person_ids:
        return set()
    rows = conn.execute(
        select(persons.c.id).where(
            persons.c.id.in_(list(person_ids)), within(actor, persons.c.residence_code)
        )
    ).scalars()
    return {int(p) for p in rows}


def _case_in_reach(conn: Connection, actor: Actor, case_id: int) -> CaseView:
    try:
        case = get_case(conn, case_id)
    except CaseUnknown:
        raise CaseUnknown(_case_missing(case_id)) from None
    if case.person_id not in _visible(conn, actor, [case.person_id]):
        raise hidden(CaseUnknown(_case_missing(case_id)))
    return case


def _choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise BadInput(Problem(f"tracing.{field}_invalid", f"无效的筛选条件 {value!r}",
                               f"not a {field}: {value!r}"))  # fmt: skip
    return value


# ---- a case's contacts ----------------------------------------------------------------------


def read_case_contacts(
    call: Call, case_id: int, *, kind: str | None = None, status: str | None = None,
    figures: FigureRules | None = None, state: str | None = None,
) -> CaseContacts:  # fmt: skip
    """A case's contacts with their evidence, filtered by kind and status. With the
    board's ``figures`` rules, also each contact's management and what is overdue
    (``tracing.management``), filtered by ``state``, and the board's counts. Audited."""
    actor = call.actor

    def body(conn: Connection) -> tuple[CaseContacts, str]:
        call.require(*READ_RIGHTS)
        k = _choice(kind, CONTACT_KINDS, "kind")
        s = _choice(status, STATUSES, "status")
        m = _choice(state, (*STATES, OVERDUE), "state") if figures is not None else None
        case = _case_in_reach(conn, actor, case_id)
        found = [c for c in contacts_of_case(conn, case_id, kind=k) if s is None or c.status == s]
        managed = counts = None
        if figures is not None:
            read = case_management(conn, figures, case_id, at=call.at or clock.now())
            managed, counts = read.by_contact, read.counts
            found = [c for c in found if _in_state(managed.get(c.id), m)]
        people = [case.person_id, *(c.person_id for c in found)]
        name = names(conn, actor, people)
        inside = _visible(conn, actor, people)
        rows = tuple(
            ContactRow(
                c,
                name[c.person_id] if c.person_id in inside else mask_name(name[c.person_id]),
                c.person_id in inside,
                managed.get(c.id) if managed is not None else None,
            )
            for c in found
        )
        view = CaseContacts(case, name[case.person_id], rows, k, s,
                            all(actor.can(r) for r in CHANGE_RIGHTS), m, counts or {})  # fmt: skip
        masked = "" if actor.can(PERSON_READ_FULL) else " masked"
        return view, f"{len(rows)} contacts{masked}"

    return call.audited("tracing.contacts", "case", str(case_id), body)


def _in_state(management: Management | None, state: str | None) -> bool:
    if state is None:
        return True
    if management is None:
        return False
    return bool(management.overdue) if state == OVERDUE else management.state == state


def change_contact_statuses(
    call: Call, contact_ids: Sequence[int], status: str, reason: str
) -> int:
    """Move several contacts to ``status`` at once (批量操作), all or none; each change is
    kept in the contact's history. A contact outside the jurisdiction answers as absent.
    Returns how many changed. One audit row (the contact ids in its detail)."""
    actor = call.actor
    ids = sorted({int(i) for i in contact_ids})

    def body(conn: Connection) -> tuple[int, str]:
        call.require(*CHANGE_RIGHTS)
        if not ids:
            raise StatusInvalid(Problem("tracing.no_contacts", "请选择接触者",
                                        "select at least one contact"))  # fmt: skip
        if len(ids) > MAX_BULK:
            raise StatusInvalid(Problem("tracing.too_many", f"一次最多 {MAX_BULK} 人",
                                        f"at most {MAX_BULK} contacts at once"))  # fmt: skip
        rows = conn.execute(
            select(tracing_contacts.c.id, tracing_contacts.c.person_id).where(
                tracing_contacts.c.id.in_(ids)
            )
        ).all()
        person_of = {int(r.id): int(r.person_id) for r in rows}
        inside = _visible(conn, actor, list(person_of.values()))
        for cid in ids:
            if person_of.get(cid) not in inside:
                raise ContactUnknown(Problem("tracing.contact_unknown", f"无此接触者（{cid}）",
                                             f"no contact {cid}"))  # fmt: skip
        for cid in ids:
            set_contact_status(conn, cid, status, by=actor.name, reason=reason, at=call.at)
        return len(ids), f"{status}: " + ",".join(map(str, ids))

    return call.audited("tracing.status", "contact", str(ids[0]) if len(ids) == 1 else None, body)


# ---- chains and clusters --------------------------------------------------------------------


def _cases_in_reach(conn: Connection, actor: Actor) -> dict[int, int]:
    """case id → person id of the cases living inside the actor's jurisdiction."""
    rows = conn.execute(
        select(tracing_cases.c.id, tracing_cases.c.person_id)
        .join(persons, persons.c.id == tracing_cases.c.person_id)
        .where(within(actor, persons.c.residence_code))
    ).all()
    return {int(i): int(p) for i, p in rows}


def read_chains(call: Call) -> ChainsView:
    """Transmission chains cut to the cases inside the jurisdiction. Audited."""
    actor = call.actor

    def body(conn: Connection) -> tuple[ChainsView, str]:
        call.require(*READ_RIGHTS)
        reach = _cases_in_reach(conn, actor)
        out: list[Chain] = []
        for ch in case_chains(conn):
            cases = tuple(c for c in ch.cases if c in reach)
            if not cases:
                continue
            links = tuple((a, b) for a, b in ch.links if a in reach and b in reach)
            roots = tuple(c for c in ch.roots if c in reach)
            out.append(Chain(len(out), cases, roots, links))
        name = names(conn, actor, list(reach.values()))
        view = ChainsView(tuple(out), {c: name[p] for c, p in reach.items()})
        return view, f"{len(out)} chains, {len(reach)} cases"

    return call.audited("tracing.chains", None, None, body)


def _stored_clusters(conn: Connection, rules: ContactRules) -> list[Cluster]:
    """Clusters from what tracing stored: a case's stays are the evidence of its venue
    exposures (the part of its stay that met someone, merged where they overlap:
    ``views.venue_stays``), its household from the registry."""
    rows = conn.execute(
        select(tracing_cases.c.id, persons.c.household_code)
        .join(persons, persons.c.id == tracing_cases.c.person_id)
        .order_by(tracing_cases.c.id)
    ).all()
    if not rows:
        return []
    homes = {h: i for i, h in enumerate(sorted({r.household_code for r in rows
                                                if r.household_code}))}  # fmt: skip
    household = np.array([homes.get(r.household_code, -1) for r in rows], np.int64)
    stays = venue_stays(conn)
    ids = np.array([int(r.id) for r in rows], np.int64)  # ascending: ordered by id
    at = np.minimum(np.searchsorted(ids, stays.case), len(ids) - 1)
    known = ids[at] == stays.case  # every exposure's case has a row; kept safe anyway
    found = _clusters(household, at[known], stays.venue[known], stays.t_in[known],
                      stays.t_out[known], rules.cluster_window_days * 86_400)  # fmt: skip
    names = {i: h for h, i in homes.items()}
    out = []
    for label in sorted(found.sizes, key=lambda k: -found.sizes[k]):
        members = tuple(int(rows[i].id) for i in np.flatnonzero(found.cluster == label).tolist())
        venues_at = {stays.codes[v]: n for v, n in found.venues.get(label, {}).items()}
        out.append(Cluster(members, venues_at,
                           tuple(names[h] for h in found.households.get(label, []))))  # fmt: skip
    return out


def read_clusters(
    call: Call, rules: ContactRules, source: CheckinSource | None = None
) -> list[ClusterRow]:
    """Clusters (聚集性疫情) of two cases or more inside the jurisdiction, largest first,
    with the venues and households that link them and when their cases became infectious
    (first and latest: the growth). From the check-ins when ``source`` is given, else
    from the stored evidence. Audited."""

    def body(conn: Connection) -> tuple[list[ClusterRow], str]:
        call.require(*READ_RIGHTS)
        reach = _cases_in_reach(conn, call.actor)
        found = clusters(conn, source, rules) if source else _stored_clusters(conn, rules)
        c = tracing_cases.c
        starts, dated = {}, {}
        for i, t, onset, sampled in conn.execute(
            select(c.id, c.infectious_from, c.onset_date, c.sample_date)
        ):
            starts[int(i)], dated[int(i)] = t, onset or sampled
        out = []
        for cl in found:
            cases = tuple(k for k in cl.cases if k in reach)
            if len(cases) < 2:
                continue
            times = [starts[k] for k in cases]
            flagged = tuple(k for k in cases if not bounds.in_window(dated[k], "event"))
            out.append(ClusterRow(cases, dict(cl.venues), cl.households, min(times), max(times),
                                  growth([dated[k] for k in cases]), flagged))  # fmt: skip
        return out, f"{len(out)} clusters"

    return call.audited("tracing.clusters", None, None, body)


# ---- registering and tracing a case ---------------------------------------------------------


def register_and_trace(
    call: Call, codes: CodeContext, rules: ContactRules, person_id: int, *,
    onset: date | None = None, sampled: date | None = None, isolated_at: datetime | None = None,
    source: CheckinSource | CheckinLake | None = None,
) -> Registered:  # fmt: skip
    """Register the case of a person living inside the jurisdiction (登记病例) and, with a
    check-in ``source``, trace it; its contacts go to health codes. One audit row (the
    person and what was found, never names); a person outside answers as absent. Business
    time is ``call.at`` when pinned, else the clock's."""
    actor, at = call.actor, call.at

    def body(conn: Connection) -> tuple[tuple[CaseView, TraceOutcome | None], str]:
        call.require(*CHANGE_RIGHTS)
        if person_id not in _visible(conn, actor, [person_id]):
            raise PersonUnknown(Problem("tracing.person_unknown", f"无此人员（{person_id}）",
                                        f"no person {person_id}"))  # fmt: skip
        stored = stored_case(conn, person_id)
        if stored is not None and (
            refused := case_exists_problem(stored, onset, sampled, isolated_at)
        ):
            raise refused
        case = register_case(conn, person_id, rules, onset=onset, sampled=sampled,
                             isolated_at=isolated_at, tz=call.tz, by=actor.name, at=at)  # fmt: skip
        if source is None:
            return (case, None), f"case {case.id}"
        traced = trace_cases(conn, [case.id], source, rules, at=at, by=actor.name)
        found = ", ".join(f"{k} {n}" for k, n in traced.found.items())
        return (get_case(conn, case.id), traced), f"case {case.id}: {found}"

    case, traced = call.audited("tracing.case", "person", str(person_id), body)
    facts = changed = 0
    if traced is not None:
        facts, changed = hand_off(call.engine, codes, at=at, by=actor.name)
    return Registered(case, traced, facts, changed)


__all__ = [
    "CaseContacts", "ChainsView", "ClusterRow", "ContactRow", "Registered",
    "change_contact_statuses", "growth", "page", "read_case_contacts", "read_chains",
    "read_clusters", "register_and_trace",
]  # fmt: skip
