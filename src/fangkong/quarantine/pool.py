"""What the placement algorithm reads: the persons to place and the free rooms (the pool).

``_people`` (household, residence, date of birth) and ``_active`` (placements already
active) for a batch; ``load_pool`` the free rooms of the facilities that take placements
now (pack: placeable_statuses), with their zones and the risk groups already held there,
optionally only some facilities and locked (PostgreSQL: ``FOR UPDATE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import Connection, String, cast, select

from fangkong.quarantine.assign import RoomPool
from fangkong.quarantine.bulk import _among, _chunks
from fangkong.quarantine.regions import RegionIndex
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import (
    quarantine_bookings,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.store.schema import persons


@dataclass
class _Person:
    household: str | None
    residence: str | None
    birth: date | None


def _people(conn: Connection, ids: Sequence[int]) -> dict[int, _Person]:
    p = persons.c
    out: dict[int, _Person] = {}
    # the date as text: the driver's string, parsed once here, costs less than the
    # dialect's date processing of every row
    birth = cast(p.birth_date, String(10)).label("birth")
    parsed: dict[str | None, date | None] = {None: None}
    for among in _among(conn, p.id, list(ids)):
        for pid, household, residence, born in conn.execute(
            select(p.id, p.household_code, p.residence_code, birth).where(among)
        ):
            if born not in parsed:
                parsed[born] = date.fromisoformat(born[:10])
            out[int(pid)] = _Person(household, residence, parsed[born])
    return out


def _active(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    q = quarantine_placements.c
    out: dict[int, int] = {}
    for among in _among(conn, q.person_id, list(ids)):
        for pid, plid in conn.execute(select(q.person_id, q.id).where(among, q.active.is_(True))):
            out[int(pid)] = int(plid)
    return out


def load_pool(
    conn: Connection,
    rules: QuarantineRules,
    index: RegionIndex,
    only: Sequence[int] | None = None,
    *,
    lock: bool = False,
) -> RoomPool:
    """Free rooms of the facilities that take placements now (pack: placeable_statuses)."""
    f, r, b = quarantine_facilities.c, quarantine_rooms.c, quarantine_bookings.c
    q = select(f.id, f.kind, f.latitude, f.longitude, f.region_code).where(
        f.status.in_(rules.placement.placeable_statuses)
    )
    if only is not None:
        q = q.where(f.id.in_(list(only)))
    q = q.order_by(f.id)
    if lock:
        q = q.with_for_update()
    facilities = conn.execute(q).all()
    position = {int(row.id): i for i, row in enumerate(facilities)}
    lat = np.empty(len(facilities))
    lon = np.empty(len(facilities))
    for i, row in enumerate(facilities):
        lat[i], lon[i] = (
            (row.latitude, row.longitude)
            if row.latitude is not None
            else index.point(row.region_code)
        )
    ids = list(position)
    zone_index: dict[tuple[int, str], int] = {}
    zone_group: list[str] = []
    zone_facility: list[int] = []

    def zone_of(fid: int, zone: str) -> int:
        key = (fid, zone)
        z = zone_index.get(key)
        if z is None:
            z = zone_index[key] = len(zone_group)
            zone_group.append("")
            zone_facility.append(position[fid])
        return z

    room_id: list[int] = []
    room_facility: list[int] = []
    room_zone: list[int] = []
    room_kind: list[str] = []
    room_beds: list[int] = []
    room_label: list[tuple[str, str]] = []
    held: list[tuple[int, str, str]] = []
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(r.id, r.facility_id, r.kind, r.beds, r.zone, r.code)
            .where(r.facility_id.in_(chunk), r.state == "free")
            .order_by(r.facility_id, r.code)
        ).all()
        for room in rows:
            room_id.append(int(room.id))
            room_facility.append(position[int(room.facility_id)])
            room_zone.append(zone_of(int(room.facility_id), room.zone))
            room_kind.append(room.kind)
            room_beds.append(int(room.beds))
            room_label.append((room.code, room.zone))
        held += [
            (int(x.facility_id), x.zone, x.risk_group)
            for x in conn.execute(
                select(r.facility_id, r.zone, b.risk_group)
                .distinct()
                .join(quarantine_rooms, r.id == b.room_id)
                .where(b.active.is_(True), r.facility_id.in_(chunk))
            )
        ]
    facility_groups: list[set[str]] = [set() for _ in ids]
    for fid, zone, group in held:
        z = zone_of(fid, zone)
        zone_group[z] = zone_group[z] or group  # a mixed zone (pack changed) keeps one
        facility_groups[position[fid]].add(group)
    return RoomPool(
        facility_ids=ids,
        facility_kind=[row.kind for row in facilities],
        facility_lat=lat,
        facility_lon=lon,
        room_id=room_id,
        room_facility=room_facility,
        room_zone=room_zone,
        room_kind=room_kind,
        room_beds=room_beds,
        zone_group=zone_group,
        zone_facility=zone_facility,
        facility_groups=facility_groups,
        room_label=room_label,
        facility_region=[row.region_code for row in facilities],
    )


__all__ = [
    "load_pool",
]
