"""Who must be placed now (待安置): cases not yet isolated, close contacts and contacts of
close contacts under no management, each with the phase due and the deadline.

Read from tracing and quarantine (nothing written here)::

    tracing_cases             without an active ``case`` placement and never discharged
                              (a released ``case`` centralised placement) → group ``case``
                              (an active placement of another group is ended first)
    tracing_contacts close    status identified / notified / lost, no active placement
                              → ``close_contact``; quarantined or monitoring under a
                              less severe group (a contact of a contact exposed again,
                              now close) → ``close_contact``, that placement ended first
                              (cancelled; until placed again they stay due)
    tracing_contacts c. of c. status identified / notified / lost, no active placement
                              → ``contact_of_contact`` when the pack manages the group

A contact's period counts from the last exposure (v9: 自末次暴露): the phase due is the
first whose end (last exposure + its days, after the phases before it) lies after ``at``;
a contact found after the whole period has nothing due (counted, not placed). The
deadline (pack: ``[quarantine.surge] placement_deadline_hours``, groups
``deadline_groups``) counts from the first report (registration) of a case behind an
exposure of the contact's kind; without one, from when the contact was identified;
for a case (when the pack lists ``case``), from its own report.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Exists, and_, exists, func, or_, select

from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.schema import persons
from fangkong.tracing.tables import tracing_cases, tracing_contacts, tracing_exposures

OPEN_STATUSES = ("identified", "notified", "lost")  # 已判定, 已告知, 失访: under no management
GROUP_OF_KIND = {"close": "close_contact", "contact_of_contact": "contact_of_contact"}
CASE = "case"
_CHUNK = 5_000


@dataclass(frozen=True)
class Due:
    """A person due for placement and what is due."""

    person_id: int
    group: str  # the pack's risk group
    kind: str  # the phase due now: centralised | home_quarantine | home_monitoring
    period_from: datetime | None  # day 1 of that phase (None: from the placement)
    deadline: datetime | None  # placed (or home-ordered) by then; None: no deadline
    region_code: str | None  # where they live (the registry's residence)
    contact_id: int | None = None  # the tracing contact (None: a case)
    replaces: int | None = None  # an active placement to end first


@dataclass(frozen=True)
class Demand:
    due: list[Due]
    period_over: int  # contacts found after their whole period: nothing is due


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def current_phase(
    rules: QuarantineRules, group: str, anchor: datetime, at: datetime
) -> tuple[str, datetime] | None:
    """(kind, day 1) of the group's phase running at ``at`` for a period from ``anchor``;
    None when every phase is over (or the group is not managed)."""
    start = anchor
    for phase in rules.phases(group):
        if phase.days is None:
            return phase.kind, start
        end = start + timedelta(days=phase.days)
        if end > at:
            return phase.kind, start
        start = end
    return None


def due_for_placement(conn: Connection, rules: QuarantineRules, *, at: datetime) -> Demand:
    """Everyone due for placement at ``at`` (see the module's docstring), cases first."""
    q = quarantine_placements.c
    active: dict[int, tuple[int, str]] = {
        int(p): (int(i), str(g))
        for p, i, g in conn.execute(
            select(q.person_id, q.id, q.risk_group).where(q.active.is_(True))
        )
    }
    discharged = set(
        conn.execute(
            select(q.person_id).where(
                q.risk_group == CASE, q.kind == "centralised", q.status == "released"
            )
        ).scalars()
    )
    reported = {
        int(p): t
        for p, t in conn.execute(select(tracing_cases.c.person_id, tracing_cases.c.registered_at))
    }
    cases = set(reported)
    due: list[Due] = []
    homes = _residences(conn, cases)
    hours = timedelta(hours=rules.surge.placement_deadline_hours)
    if CASE in rules.groups and rules.phases(CASE):
        for p in sorted(cases - discharged):
            held = active.get(p)
            if held is not None and held[1] == CASE:
                continue
            first = current_phase(rules, CASE, at, at)
            if first is None:
                continue
            deadline = reported[p] + hours if CASE in rules.surge.deadline_groups else None
            due.append(
                Due(p, CASE, first[0], None, deadline, homes.get(p), None,
                    held[0] if held else None)
            )  # fmt: skip
    contacts, over = _contacts(conn, rules, at, active, cases)
    return Demand(due + contacts, over)


def _residences(conn: Connection, ids: set[int] | Sequence[int]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for chunk in _chunks(sorted(set(ids))):
        out.update(
            (int(p), r)
            for p, r in conn.execute(
                select(persons.c.id, persons.c.residence_code).where(persons.c.id.in_(chunk))
            )
        )
    return out


def _contacts(
    conn: Connection,
    rules: QuarantineRules,
    at: datetime,
    active: dict[int, tuple[int, str]],
    cases: set[int],
) -> tuple[list[Due], int]:
    c = tracing_contacts.c
    managed = {k: g for k, g in GROUP_OF_KIND.items() if g in rules.groups and rules.phases(g)}
    if not managed:
        return [], 0
    rows = conn.execute(  # with each contact's home (a join, not a list of ids after)
        select(
            c.id,
            c.person_id,
            c.kind,
            c.status,
            c.last_exposure_at,
            c.identified_at,
            persons.c.residence_code,
        )
        .join(persons, persons.c.id == c.person_id)
        .where(
            c.kind.in_(list(managed)),
            c.status.in_([*OPEN_STATUSES, "quarantined", "monitoring"]),
            # not read: those already under a group as severe as theirs (most of them)
            or_(c.status.in_(OPEN_STATUSES), ~_settled(rules, managed, c)),
        )
        .order_by(c.person_id)
    ).all()
    picked: list[tuple[Any, str, int | None]] = []
    replaced = _replaced(conn, [int(r.person_id) for r in rows if r.status not in OPEN_STATUSES
                                and int(r.person_id) not in active])  # fmt: skip
    for r in rows:
        p = int(r.person_id)
        if p in cases:
            continue
        group = managed[r.kind]
        held = active.get(p)
        if r.status in OPEN_STATUSES or p in replaced:
            if held is None:
                picked.append((r, group, None))
        elif held is not None and rules.placement.rank(held[1]) > rules.placement.rank(group):
            picked.append((r, group, held[0]))  # under a less severe group: exposed again
    bound = rules.surge.deadline_groups  # only their deadlines are read
    reports = _reports(conn, [(int(r.id), str(r.kind)) for r, g, _ in picked if g in bound])
    homes = {int(r.person_id): r.residence_code for r, _, _ in picked}
    hours = timedelta(hours=rules.surge.placement_deadline_hours)
    out: list[Due] = []
    over = 0
    for r, group, replaces in picked:
        phase = current_phase(rules, group, r.last_exposure_at, at)
        if phase is None:
            over += 1
            continue
        deadline = None
        if group in rules.surge.deadline_groups:
            deadline = reports.get(int(r.id), r.identified_at) + hours
        out.append(
            Due(
                int(r.person_id),
                group,
                phase[0],
                phase[1],
                deadline,
                homes.get(int(r.person_id)),
                int(r.id),
                replaces,
            )
        )
    return out, over


def _settled(rules: QuarantineRules, managed: dict[str, str], c: Any) -> Exists:
    """SQL: the contact's person is under an active placement of a group at least as
    severe as their kind's (``rank`` of the placement's group ≤ the kind's group's) —
    the rows the loop of ``_contacts`` would pass over."""
    q = quarantine_placements.c
    severity = list(rules.placement.severity)
    held = []
    for kind, group in managed.items():
        rank = rules.placement.rank(group)
        if rank >= len(severity):  # a group the list omits: every group is as severe
            held.append(c.kind == kind)
        else:
            held.append(and_(c.kind == kind, q.risk_group.in_(severity[: rank + 1])))
    return exists().where(q.person_id == c.person_id, q.active.is_(True), or_(*held))


def _replaced(conn: Connection, people: Sequence[int]) -> set[int]:
    """Of these persons (under no active placement), those whose latest placement was
    cancelled to be replaced (by the intake job) and not placed again yet: one query for
    everyone whose latest placement is a cancelled one (few), not one per person."""
    q = quarantine_placements.c
    later = quarantine_placements.alias("later")
    cancelled_last = conn.execute(
        select(q.person_id).where(
            q.status == "cancelled",
            ~exists().where(later.c.person_id == q.person_id, later.c.id > q.id),
        )
    ).scalars()
    return {int(p) for p in cancelled_last} & set(people)


def _reports(conn: Connection, contacts: Sequence[tuple[int, str]]) -> dict[int, datetime]:
    """Per contact: the first report (registration) of a case behind an exposure of its
    kind — the clock of "under control within N hours of the case report" starts with the
    first case that made them a contact; a later exposure does not restart it."""
    e, k = tracing_exposures.c, tracing_cases.c
    first: dict[int, datetime] = {}
    for kind in sorted({kind for _, kind in contacts}):
        ids = sorted(cid for cid, kd in contacts if kd == kind)
        for chunk in _chunks(ids):
            for cid, report in conn.execute(
                select(e.contact_id, func.min(k.registered_at))
                .join(tracing_cases, k.id == e.case_id)
                .where(e.contact_id.in_(list(chunk)), e.kind == kind)
                .group_by(e.contact_id)
            ):
                first[int(cid)] = report
    return first
