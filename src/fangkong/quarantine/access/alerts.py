"""Open quarantine alerts of the jurisdiction (names by rights) and closing one
(``quarantine.place``). Audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from fangkong.auth.guard import Call, within
from fangkong.auth.jurisdiction import in_subtree
from fangkong.auth.rights import QUARANTINE_PLACE, QUARANTINE_READ
from fangkong.errors import NotFound, Problem
from fangkong.quarantine import alerts as stored_alerts
from fangkong.quarantine.access._reach import masked_note, names_of, reachable, where_alerted
from fangkong.quarantine.alerts import AlertView
from fangkong.quarantine.tables import (
    quarantine_alerts,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.schema import persons


@dataclass(frozen=True)
class AlertRow:
    alert: AlertView
    name: str
    facility_code: str | None
    facility_name: str | None
    room_code: str | None


# what the open alerts may be sorted by (their whitelist)
ALERT_SORTS: listing.Columns = {
    "id": quarantine_alerts.c.id, "kind": quarantine_alerts.c.kind,
    "at": quarantine_alerts.c.at, "due": quarantine_alerts.c.due_at,
    "facility": quarantine_facilities.c.name, "room": quarantine_rooms.c.code,
}  # fmt: skip


def alerts_view(
    call: Call, kind: str | None = None, bounded: Bounded | None = None
) -> list[AlertRow]:
    """Open quarantine alerts in the jurisdiction, oldest first unless sorted by a key of
    :data:`ALERT_SORTS` (names by rights): one page with ``bounded``, else all. Audited."""
    return alerts_page(call, kind, bounded)[0]


def alerts_page(
    call: Call, kind: str | None = None, bounded: Bounded | None = None
) -> tuple[list[AlertRow], int]:
    """:func:`alerts_view` and how many alerts are open."""
    actor = call.actor

    def body(conn: Connection) -> tuple[tuple[list[AlertRow], int], str]:
        call.require(QUARANTINE_READ)
        a, q, f, r = (quarantine_alerts.c, quarantine_placements.c, quarantine_facilities.c,
                      quarantine_rooms.c)  # fmt: skip
        query = (
            select(quarantine_alerts, f.code.label("fcode"), f.name.label("fname"),
                   r.code.label("rcode"))
            .outerjoin(quarantine_placements, q.id == a.placement_id)
            .outerjoin(quarantine_facilities, f.id == q.facility_id)
            .outerjoin(quarantine_rooms, r.id == q.room_id)
            .join(persons, persons.c.id == a.person_id)
            .where(a.resolved_at.is_(None), within(actor, where_alerted()))
        )  # fmt: skip
        if kind:
            query = query.where(a.kind == kind)
        rows, total = listing.fetch(conn, query, bounded, ALERT_SORTS, (a.id,))
        named = names_of(conn, actor, [int(x.person_id) for x in rows])
        out = [
            AlertRow(AlertView(x.id, x.placement_id, x.person_id, x.kind, x.at, x.detail,
                               x.due_at),
                     named.get(int(x.person_id), "?"), x.fcode, x.fname, x.rcode)
            for x in rows
        ]  # fmt: skip
        return (out, total), f"{len(out)} open{masked_note(actor)}"

    return call.audited("quarantine.alerts", None, None, body)


def resolve_alert(call: Call, alert_id: int) -> None:
    """Close an open alert of the jurisdiction (quarantine.place). Audited."""
    actor = call.actor

    def body(conn: Connection) -> tuple[None, str]:
        call.require(QUARANTINE_PLACE)
        a = quarantine_alerts.c
        found = conn.execute(
            select(a.placement_id, persons.c.residence_code)
            .join(persons, persons.c.id == a.person_id)
            .where(a.id == alert_id)
        ).first()
        missing = NotFound(Problem("quarantine.alert_unknown", f"无此未处理预警（{alert_id}）",
                                   f"no open alert {alert_id}"))  # fmt: skip
        if found is None:
            raise missing
        if found.placement_id is not None:
            reachable(conn, actor, int(found.placement_id))
        elif actor.region_code is not None and not in_subtree(
            conn, actor.region_code, found.residence_code
        ):
            raise missing  # a person out of the jurisdiction: as if absent
        stored_alerts.resolve_alert(conn, alert_id, by=actor.name)
        placement = found.placement_id
        return None, f"placement {placement}" if placement else f"alert {alert_id}"

    call.audited("quarantine.resolve", "alert", str(alert_id), body)
