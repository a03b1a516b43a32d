"""Quarantine facilities of the jurisdiction: the list, one facility, adding or changing
one (``quarantine.manage``, audited), and the people placed in one now (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, and_, select

from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.guard import Call, inside
from fangkong.auth.model import Actor
from fangkong.auth.rights import PERSON_READ_FULL, QUARANTINE_MANAGE, QUARANTINE_READ
from fangkong.quarantine.access._reach import masked_note, names_of, region_codes
from fangkong.quarantine.facilities import (
    FacilityInput,
    FacilityUnknown,
    FacilityView,
    _save,
    list_facilities,
    page_facilities,
)
from fangkong.quarantine.tables import quarantine_checks, quarantine_placements, quarantine_rooms
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.tx import Bind


def _facility_unknown(code: str) -> FacilityUnknown:
    return FacilityUnknown(
        FacilityUnknown.of(
            "quarantine.facility_unknown",
            f"无此隔离场所（{code}）",
            f"no quarantine facility {code}",
        ).problem
    )


def facilities_view(
    call: Call, bounded: Bounded = listing.FIRST_PAGE
) -> tuple[list[FacilityView], int]:
    """One page of the facilities of the jurisdiction, and how many there are."""
    call.require(QUARANTINE_READ)
    return page_facilities(call.engine, bounded,
                           region_codes=region_codes(call.engine, call.actor))  # fmt: skip


def _facility_in_reach(bind: Bind, actor: Actor, code: str) -> FacilityView:
    actor.require(QUARANTINE_READ)
    found = list_facilities(bind, code=code)[0]
    codes = region_codes(bind, actor)
    if codes is not None and found.region_code not in codes:
        raise _facility_unknown(code)
    return found


def facility_view(call: Call, code: str) -> FacilityView:
    """A facility of the jurisdiction (else as if absent)."""
    return _facility_in_reach(call.engine, call.actor, code)


def save_facility(call: Call, facility: FacilityInput) -> int:
    """Add or change a facility (pages' edit form); audited."""
    actor = call.actor
    call.require(QUARANTINE_MANAGE)
    with transaction(call.engine) as conn:
        if actor.region_code is not None and not inside(conn, actor, facility.region_code):
            raise _facility_unknown(facility.code)
        fid, inserted, _ = _save(conn, facility, actor.name, call.now())
        record(conn, call.key, AuditEvent(actor.name, "quarantine.facility", "ok", call.address,
                                          "facility", facility.code,
                                          "added" if inserted else "changed"))  # fmt: skip
    return fid


@dataclass(frozen=True)
class Occupant:
    placement_id: int
    person_id: int
    name: str
    risk_group: str
    room_code: str | None
    zone: str | None
    starts_at: datetime
    planned_end: datetime | None
    check_today: str | None  # done / not_done / abnormal, None: not recorded yet


@dataclass(frozen=True)
class Occupants:
    facility: FacilityView
    day: date
    occupants: tuple[Occupant, ...]
    masked: bool
    total: int = 0  # everybody placed there now (``occupants``: one page of them)


# what the occupants may be sorted by (their whitelist)
OCCUPANT_SORTS: listing.Columns = {
    "zone": quarantine_rooms.c.zone, "room": quarantine_rooms.c.code,
    "risk": quarantine_placements.c.risk_group, "since": quarantine_placements.c.starts_at,
    "until": quarantine_placements.c.planned_end, "check": quarantine_checks.c.status,
}  # fmt: skip


def occupants_view(
    call: Call, code: str, *, day: date | None = None, bounded: Bounded | None = None
) -> Occupants:
    """The people placed in a facility now, by room (or by a key of
    :data:`OCCUPANT_SORTS`), with the day's (default: today's) health check; one page of
    them with ``bounded``, else all. Audited."""
    actor = call.actor
    day = day or call.today()

    def body(conn: Connection) -> tuple[Occupants, str]:
        found = _facility_in_reach(conn, actor, code)
        q, r, c = quarantine_placements.c, quarantine_rooms.c, quarantine_checks.c
        query = (
            select(q.id, q.person_id, q.risk_group, q.starts_at, q.planned_end, r.code, r.zone,
                   c.status)
            .outerjoin(quarantine_rooms, r.id == q.room_id)
            .outerjoin(quarantine_checks, and_(c.placement_id == q.id, c.day == day))
            .where(q.facility_id == found.id, q.active.is_(True))
        )  # fmt: skip
        rows, total = listing.fetch(conn, query, bounded, OCCUPANT_SORTS, (r.zone, r.code, q.id))
        named = names_of(conn, actor, [int(x.person_id) for x in rows])
        people = tuple(
            Occupant(int(x.id), int(x.person_id), named.get(int(x.person_id), "?"),
                     x.risk_group, x.code, x.zone, x.starts_at, x.planned_end, x.status)
            for x in rows
        )  # fmt: skip
        view = Occupants(found, day, people, not actor.can(PERSON_READ_FULL), total)
        return view, f"{len(people)} occupants{masked_note(actor)}"

    call.require(QUARANTINE_READ)
    return call.audited("quarantine.occupants", "facility", code, body)
