"""Rooms booked for a batch, never double-booked on either backend.

``placement.place`` hands the centralised requests to ``_place_rooms``::

    round (one write transaction; SQLite: BEGIN IMMEDIATE, one writer at a time)
      ├─ free rooms + zone groups ─▶ assign (pure, nearest first) ─▶ facilities wanted
      ├─ PostgreSQL: lock those facility rows (SELECT … ORDER BY id FOR UPDATE: one
      │  statement, sorted, so no deadlock), reload their rooms and zones, assign again
      ├─ UPDATE rooms SET state='occupied' WHERE id IN (…) AND state='free' RETURNING id
      │  (a room another writer took is simply not returned: its unit tries again)
      └─ bookings (UNIQUE (room_id, active): the database refuses a second holder),
         placements (UNIQUE (person_id, active): one active placement per person)
    units that lost a race go round again (fresh snapshot); the rest get ``no_room``

``_insert_placements`` writes the placement rows of both rooms and homes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, Engine, and_, select, update

from fangkong.quarantine.assign import RoomPool, Unit, assign, form_units
from fangkong.quarantine.bulk import Same, _chunks, insert_with_ids
from fangkong.quarantine.pool import load_pool
from fangkong.quarantine.regions import RegionIndex
from fangkong.quarantine.rules import Phase, QuarantineRules
from fangkong.quarantine.tables import (
    quarantine_bookings,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.quarantine.terms import Assignment, PlacementRequest
from fangkong.store.tx import write_transaction

_ROUNDS = 10


@dataclass
class _Job:
    """A request being placed: its phase and times."""

    index: int
    request: PlacementRequest
    kind: str
    phase: Phase
    start: datetime
    end: datetime | None
    region: str | None
    household: str | None
    child: bool
    anchor: datetime | None = None  # day 1 of the period (None: start)


def _assignment(
    j: _Job,
    placement_id: int,
    outcome: str,
    room: tuple[str, str, str, str] | None,
    tz: ZoneInfo,
    where: tuple[str, str | None] | None = None,  # the facility's kind and region
) -> Assignment:
    fcode, fname, rcode, zone = room or (None, None, None, None)
    fkind, fregion = where or (None, None)
    return Assignment(
        j.request.person_id,
        outcome,
        placement_id,
        j.kind,
        fcode,
        fname,
        rcode,
        zone,
        j.start,
        j.end,
        j.phase.test_days,
        fkind,
        fregion,
        j.anchor,
    )


def _insert_placements(
    conn: Connection,
    items: Sequence[tuple[_Job, int | None, int | None, int | None]],  # job, booking, room, fac
    rules: QuarantineRules,
    by: str,
    at: datetime,
    pack_ref: str,
) -> list[int]:
    jobs = [item[0] for item in items]
    days: dict[tuple[int, ...], str] = {}
    columns: dict[str, Any] = {
        "person_id": [j.request.person_id for j in jobs],
        "kind": [j.kind for j in jobs],
        "risk_group": [j.request.risk_group for j in jobs],
        "status": Same("active"),
        "active": Same(True),
        "booking_id": [item[1] for item in items],
        "room_id": [item[2] for item in items],
        "facility_id": [item[3] for item in items],
        "region_code": [j.region for j in jobs],
        "starts_at": [j.start for j in jobs],
        "period_from": [j.anchor or j.start for j in jobs],
        "planned_end": [j.end for j in jobs],
        "ended_at": Same(None),
        "test_days": [
            days.get(j.phase.test_days)
            or days.setdefault(j.phase.test_days, json.dumps(list(j.phase.test_days)))
            for j in jobs
        ],
        "follows_id": Same(None),
        "request_ref": [j.request.ref for j in jobs],
        "pack_ref": Same(pack_ref[:80]),
        "created_at": Same(at),
        "created_by": Same(by[:80]),
        "end_reason": Same(None),
    }
    return insert_with_ids(conn, quarantine_placements, len(items), columns, key="person_id")


def _locations(jobs: Sequence[_Job], index: RegionIndex) -> tuple[list[int], Any, Any]:
    codes: dict[str | None, int] = {}
    loc = [codes.setdefault(j.region, len(codes)) for j in jobs]
    points = [index.point(code) for code in codes]
    lat = np.array([p[0] for p in points], dtype=np.float64)
    lon = np.array([p[1] for p in points], dtype=np.float64)
    return loc, lat, lon


def _split(units: list[Unit], pool: RoomPool) -> list[Unit]:
    """Units larger than the largest free family room are split into room-sized parts."""
    biggest = max(
        (b for b, k in zip(pool.room_beds, pool.room_kind, strict=True) if k != "single"), default=1
    )
    out: list[Unit] = []
    for u in units:
        if len(u.members) <= biggest:
            out.append(u)
            continue
        for s in range(0, len(u.members), biggest):
            out.append(replace(u, members=u.members[s : s + biggest]))
    return out


def _place_rooms(
    engine: Engine,
    jobs: Sequence[_Job],
    rules: QuarantineRules,
    index: RegionIndex,
    by: str,
    at: datetime,
    pack_ref: str,
    tz: ZoneInfo,
    reach: str | None = None,
) -> list[tuple[_Job, Assignment]]:
    loc, lat, lon = _locations(jobs, index)
    located = list(dict.fromkeys(j.region for j in jobs))  # the order of _locations' codes
    position = {j.request.person_id: k for k, j in enumerate(jobs)}
    guardians = [position.get(j.request.guardian_id or -1, -1) for j in jobs]
    units = form_units(
        [j.request.risk_group for j in jobs],
        [j.household for j in jobs],
        guardians,
        [j.request.needs_accessible for j in jobs],
        loc,
        [j.child for j in jobs],
        rules.placement,
    )
    done: list[tuple[_Job, Assignment]] = []
    pending = units
    lost: list[Unit] = []
    postgres = engine.dialect.name == "postgresql"
    for round_no in range(_ROUNDS):
        with write_transaction(engine) as conn:
            pool = load_pool(conn, rules, index)
            if round_no == 0:
                pending = _split(pending, pool)
            areas = _areas(located, pool, index, reach)
            choice = assign(pending, pool, lat, lon, rules.placement, areas=areas)
            if postgres:
                wanted = sorted(
                    {pool.facility_ids[pool.room_facility[c]] for c in choice if c >= 0}
                )
                pool = load_pool(conn, rules, index, wanted, lock=True)
                areas = _areas(located, pool, index, reach)
                choice = assign(pending, pool, lat, lon, rules.placement, areas=areas)
            placed, lost = _book(conn, pending, choice, pool, jobs, rules, by, at, pack_ref, tz)
            done += placed
        if not lost:
            break
        pending = lost  # another writer took their rooms: a fresh snapshot, nearest again
    placed_people = {j.request.person_id for j, _ in done}
    for j in jobs:
        if j.request.person_id not in placed_people:
            done.append((j, Assignment(j.request.person_id, "no_room")))
    return done


def _areas(
    located: Sequence[str | None], pool: RoomPool, index: RegionIndex, reach: str | None
) -> tuple[list[str | None], list[str | None]] | None:
    """Each location's and each facility's region at the ``reach`` level (None: no limit)."""
    if reach is None:
        return None
    return (
        [index.ancestor(code, reach) for code in located],
        [index.ancestor(code, reach) for code in pool.facility_region],
    )


def _book(
    conn: Connection,
    units: Sequence[Unit],
    choice: Sequence[int],
    pool: RoomPool,
    jobs: Sequence[_Job],
    rules: QuarantineRules,
    by: str,
    at: datetime,
    pack_ref: str,
    tz: ZoneInfo,
) -> tuple[list[tuple[_Job, Assignment]], list[Unit]]:
    """Take the chosen rooms (conditional update), book them, write the placements.
    Returns the placed people and the units whose room another writer took first."""
    r, b = quarantine_rooms, quarantine_bookings
    chosen = [(u, c) for u, c in zip(units, choice, strict=True) if c >= 0]
    room_ids = [pool.room_id[c] for _, c in chosen]
    won: set[int] = set()
    if conn.dialect.name == "sqlite" and room_ids:
        # one writer at a time: every room still free in the snapshot is ours to take
        taken = conn.exec_driver_sql(
            "UPDATE quarantine_rooms SET state = 'occupied' WHERE state = 'free' "
            "AND id IN (SELECT value FROM json_each(?))",
            (json.dumps(room_ids),),
        ).rowcount
        if taken == len(room_ids):
            won, room_ids = set(room_ids), []
        else:  # cannot happen under BEGIN IMMEDIATE: refuse rather than guess
            raise RuntimeError("a room changed under the SQLite write lock")
    for chunk in _chunks(sorted(room_ids)):
        won.update(
            int(x)
            for x in conn.execute(
                update(r)
                .where(and_(r.c.id.in_(chunk), r.c.state == "free"))
                .values(state="occupied")
                .returning(r.c.id)
            ).scalars()
        )
    lost = [u for u, c in chosen if pool.room_id[c] not in won]
    chosen = [(u, c) for u, c in chosen if pool.room_id[c] in won]
    booking_ids = insert_with_ids(
        conn,
        b,
        len(chosen),
        {
            "room_id": [pool.room_id[c] for _, c in chosen],
            "active": Same(True),
            "risk_group": [u.group for u, _ in chosen],
            "booked_at": Same(at),
            "freed_at": Same(None),
        },
        key="room_id",
    )
    names = _facility_names(conn, {pool.facility_ids[pool.room_facility[c]] for _, c in chosen})
    items: list[tuple[_Job, int | None, int | None, int | None]] = []
    labels: list[tuple[str, str, str, str]] = []
    where: list[tuple[str, str | None]] = []
    for (u, c), booking in zip(chosen, booking_ids, strict=True):
        f = pool.room_facility[c]
        fid = pool.facility_ids[f]
        rid = pool.room_id[c]
        for m in u.members:
            items.append((jobs[m], booking, rid, fid))
            labels.append((*names[fid], *pool.room_label[c]))
            where.append((pool.facility_kind[f], pool.facility_region[f]))
    ids = _insert_placements(conn, items, rules, by, at, pack_ref)
    placed = [
        (item[0], _assignment(item[0], pid, "placed", label, tz, w))
        for item, pid, label, w in zip(items, ids, labels, where, strict=True)
    ]
    return placed, lost


def _facility_names(conn: Connection, ids: set[int]) -> dict[int, tuple[str, str]]:
    f = quarantine_facilities.c
    rows = conn.execute(select(f.id, f.code, f.name).where(f.id.in_(list(ids)))).all()
    return {int(x.id): (x.code, x.name) for x in rows}
