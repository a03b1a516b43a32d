"""What became of a case's contacts (密接管控状态): each contact's current management —
centralised quarantine (facility, room, since, planned end), a home order, or none —
and what is overdue, read set-based for all of a case's contacts in two queries::

    tracing_contacts of the case ──(the board's conditions: command.figures.contact_states)──▶
        counted / placed / home order / awaiting / overdue per contact
    quarantine_placements in force ⟕ facilities ⟕ rooms ──▶ where and since when
    quarantine_alerts still open for the contacts' persons ──▶ missed checks, …

The board's conditions are reused, not restated, so the counts on the case page equal
the board's for the same contacts. Nothing is written; rights, masking and audit are the
caller's (``tracing.access.read_case_contacts``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection, select

from fangkong.command.figures import FigureRules, contact_states
from fangkong.quarantine.tables import (
    quarantine_alerts,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.tracing.tables import tracing_contacts, tracing_exposures

# a contact's management state, as the page's filter offers it
STATES = ("centralised", "home_quarantine", "home_monitoring", "awaiting", "none")
OVERDUE = "overdue"  # the filter "overdue only": any of a row's ``overdue`` reasons
COUNTS = ("identified", "placed", "home_orders", "awaiting", "overdue")  # contacts.* keys


@dataclass(frozen=True)
class Management:
    """One contact's management at ``at``."""

    state: str  # one of STATES
    facility: str | None = None  # centralised: the facility's name
    facility_code: str | None = None
    room: str | None = None
    since: datetime | None = None  # the placement in force since
    planned_end: datetime | None = None
    # why the contact needs attention: "placement" (awaiting past the deadline), "lost"
    # (失访), and the kinds of the person's open quarantine alerts (quarantine.tables)
    overdue: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseManagement:
    by_contact: Mapping[int, Management]
    counts: Mapping[str, int]  # COUNTS → contacts, by the board's definitions


def _flag(cond: sa.ColumnElement[bool], name: str) -> sa.Label[int]:
    return sa.case((cond, 1), else_=0).label(name)


def case_management(
    conn: Connection, rules: FigureRules, case_id: int, *, at: datetime
) -> CaseManagement:
    """The management of every contact of ``case_id`` at ``at`` and the board's counts."""
    # an alias: the board's conditions hold subqueries over quarantine_placements, which
    # would otherwise correlate with (and drop) the outer join
    held = quarantine_placements.alias("held")
    c, q, f, rm = tracing_contacts.c, held.c, quarantine_facilities.c, quarantine_rooms.c
    states = contact_states(rules, at)
    in_force = sa.and_(
        q.person_id == c.person_id,
        q.starts_at <= at,
        sa.or_(q.ended_at.is_(None), q.ended_at > at),
        q.status != "cancelled",
    )
    of_case = select(tracing_exposures.c.contact_id).where(tracing_exposures.c.case_id == case_id)
    rows = conn.execute(
        select(
            c.id, c.status, q.kind, q.starts_at, q.planned_end, f.name, f.code,
            rm.code.label("room"),
            _flag(states.counted, "counted"), _flag(states.placed, "placed"),
            _flag(states.home_order, "home_order"), _flag(states.awaiting, "awaiting"),
            _flag(states.overdue, "overdue"),
        )
        .select_from(
            tracing_contacts.outerjoin(held, in_force)
            .outerjoin(quarantine_facilities, f.id == q.facility_id)
            .outerjoin(quarantine_rooms, rm.id == q.room_id)
        )
        .where(c.id.in_(of_case))
        .order_by(c.id, q.starts_at.desc())
    ).all()  # fmt: skip
    a = quarantine_alerts.c
    alerts: dict[int, set[str]] = {}
    for cid, kind in conn.execute(
        select(c.id, a.kind)
        .join(quarantine_alerts, a.person_id == c.person_id)
        .where(c.id.in_(of_case), a.resolved_at.is_(None), a.at <= at)
    ):
        alerts.setdefault(int(cid), set()).add(str(kind))
    out: dict[int, Management] = {}
    counts: Counter[str] = Counter(dict.fromkeys(COUNTS, 0))
    for r in rows:
        cid = int(r.id)
        if cid in out:  # a second placement in force: the latest was kept
            continue
        state = str(r.kind) if r.kind is not None else "awaiting" if r.awaiting else "none"
        reasons = (("placement",) if r.overdue else ()) + (("lost",) if r.status == "lost" else ())
        reasons += tuple(sorted(alerts.get(cid, ())))
        centralised = r.kind == "centralised"
        out[cid] = Management(
            state, r.name if centralised else None, r.code if centralised else None,
            r.room if centralised else None, r.starts_at, r.planned_end, reasons,
        )  # fmt: skip
        if r.counted:
            counts.update(
                k for k, on in zip(COUNTS, (1, r.placed, r.home_order, r.awaiting, r.overdue),
                                   strict=True)
                if on
            )  # fmt: skip
    return CaseManagement(out, dict(counts))


__all__ = ["COUNTS", "OVERDUE", "STATES", "CaseManagement", "Management", "case_management"]
