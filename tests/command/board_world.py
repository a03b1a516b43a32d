"""A small outbreak world for the board's tests, written straight into the tables.

The province of the ``province`` fixture (two counties, one township each) gets, around
the day ``DAY`` (Asia/Shanghai): cases new and old, found under control (a placement; a
sealed area) and in the community; close contacts awaiting (one overdue), placed, home
ordered; quarantine rooms of every capacity kind; risk areas; a campaign and late tubes;
travellers at several stages, one overdue; codes; alerts; tasks. Rows are written with
``put``, which fills every required column the test does not care about, so each test
names only what it counts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, Table, select

from fangkong.alerts.tables import alerts
from fangkong.arrivals.tables import manifests, travellers
from fangkong.command.tables import command_tasks
from fangkong.healthcode.tables import health_codes
from fangkong.quarantine.tables import (
    quarantine_bookings,
    quarantine_facilities,
    quarantine_placements,
    quarantine_rooms,
)
from fangkong.riskareas.tables import risk_area_changes, risk_areas
from fangkong.store.schema import persons, venues
from fangkong.testing.tables import batches, campaigns, results, tube_members, tubes
from fangkong.tracing.tables import tracing_cases, tracing_contacts, tracing_exposures

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 20)
START = datetime.combine(DAY, time(0), TZ).astimezone(UTC)
AT = START + timedelta(days=1)  # the end of the day: what the job counts
COUNTY_A, COUNTY_B = "140102", "140121"
_serial = itertools.count(1)


def local(hours: float, days: int = 0) -> datetime:
    """``hours`` after DAY's local midnight, ``days`` later (negative: before)."""
    return START + timedelta(days=days, hours=hours)


def _filler(column: sa.Column[Any], n: int) -> Any:
    kind = type(column.type).__name__
    if kind in ("JSON",):
        return {}
    if kind in ("UTCDateTime", "DateTime"):
        return local(1, -30)
    if kind == "Date":
        return DAY
    if kind == "Boolean":
        return False
    if kind == "LargeBinary":
        return n.to_bytes(16, "big")
    if kind in ("Integer", "BigInteger"):
        return 1
    if kind == "Float":
        return 1.0
    length = getattr(column.type, "length", None) or 40
    return f"{column.name[:6]}{n}"[:length]


def put(conn: Connection, table: Table, **given: Any) -> int:
    """Insert a row: ``given`` plus a dull value for every other required column."""
    n = next(_serial)
    row = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable:
            continue
        serial = column.autoincrement is not False and len(table.primary_key) == 1
        if column.primary_key and serial and isinstance(column.type, sa.Integer):  # BigId too
            continue
        if column.default is not None or column.server_default is not None:
            continue
        row[column.name] = _filler(column, n)
    inserted = conn.execute(sa.insert(table).values(**row))
    key = inserted.inserted_primary_key
    return int(key[0]) if key and isinstance(key[0], int) else 0


@dataclass
class World:
    a: list[int] = field(default_factory=list)  # person ids living in county A
    b: list[int] = field(default_factory=list)
    hotel: int = 0  # the open hotel of county A


def residents(conn: Connection, county: str) -> list[int]:
    p = persons.c
    return [
        int(i)
        for i in conn.execute(
            select(p.id).where(p.residence_code.like(f"{county}%")).order_by(p.id)
        ).scalars()
    ]


def build(engine: Engine) -> World:
    with engine.begin() as conn:
        w = World(residents(conn, COUNTY_A), residents(conn, COUNTY_B))
        comp_a = _home(conn, w.a[0])
        comp_b = _home(conn, w.b[0])
        _quarantine(conn, w, comp_a, comp_b)
        _cases(conn, w)
        _contacts(conn, w)
        _areas(conn, w, comp_a, comp_b)
        _testing(conn, w, comp_a, comp_b)
        _arrivals(conn, w, comp_a, comp_b)
        _codes(conn, w)
        _work(conn, comp_a, comp_b)
    return w


def _home(conn: Connection, pid: int) -> str:
    return str(conn.execute(select(persons.c.residence_code).where(persons.c.id == pid)).scalar())


def _facility(conn: Connection, region: str, kind: str, status: str, rooms: list[str]) -> int:
    fid = put(conn, quarantine_facilities, kind=kind, status=status, region_code=region)
    for k, state in enumerate(rooms):
        room = put(conn, quarantine_rooms, facility_id=fid, kind="single", beds=1,
                   state="free" if state == "freed" else state, code=f"R{fid}-{k}")  # fmt: skip
        if state == "occupied":
            put(conn, quarantine_bookings, room_id=room, active=True, risk_group="close_contact",
                booked_at=local(1, -2))  # fmt: skip
        if state == "freed":  # booked and freed before the end of the day: free again
            put(conn, quarantine_bookings, room_id=room, active=None, risk_group="close_contact",
                booked_at=local(1, -2), freed_at=local(10))  # fmt: skip
    return fid


def _quarantine(conn: Connection, w: World, comp_a: str, comp_b: str) -> None:
    w_hotel = _facility(conn, COUNTY_A, "hotel", "open", ["occupied", "free", "out_of_service"])
    _facility(conn, comp_a, "hotel", "standby", ["free", "free"])
    _facility(conn, COUNTY_B, "fangcang", "open", ["occupied", "freed", "free"])
    _facility(conn, comp_b, "hotel", "closing", ["free"])  # counts nowhere
    w.hotel = w_hotel


def _place(conn: Connection, pid: int, kind: str, starts: datetime, *,
           ended: datetime | None = None, facility: int | None = None,
           status: str = "active") -> None:  # fmt: skip
    put(conn, quarantine_placements, person_id=pid, kind=kind, risk_group="close_contact",
        status=status, active=True if ended is None and status == "active" else None,
        starts_at=starts, created_at=starts, ended_at=ended, facility_id=facility,
        test_days="[]")  # fmt: skip


def _positive(conn: Connection, pid: int, at: datetime, region: str) -> None:
    tube = put(conn, tubes, pool_size=1, purpose="screening", region_code=region,
               collected_at=at)  # fmt: skip
    put(conn, tube_members, tube_id=tube, person_id=pid)
    batch = put(conn, batches, posted_at=at)
    put(conn, results, tube_id=tube, batch_id=batch, outcome="positive", lab_valid=True,
        tested_at=at + timedelta(hours=3))  # fmt: skip


def _case(conn: Connection, pid: int, registered: datetime) -> None:
    put(conn, tracing_cases, person_id=pid, registered_at=registered, sample_date=DAY,
        infectious_from=registered - timedelta(days=2))  # fmt: skip


def _cases(conn: Connection, w: World) -> None:
    a, b = w.a, w.b
    hotel = w.hotel
    # found under control: in a hotel since two days before the positive
    _place(conn, a[0], "centralised", local(8, -2), facility=hotel)
    _positive(conn, a[0], local(8), COUNTY_A)
    _case(conn, a[0], local(12))
    # community: positive, no control
    _positive(conn, a[1], local(9), COUNTY_A)
    _case(conn, a[1], local(13))
    # community: registered by hand (no confirming sample)
    _case(conn, b[1], local(14))
    # under control: lives in the sealed area of county B (b[0]'s compound, sealed since D-1)
    _positive(conn, b[0], local(9), COUNTY_B)
    _case(conn, b[0], local(15))
    # a placement that had ended before the positive does not count: community
    _place(conn, a[2], "home_quarantine", local(0, -10), ended=local(0, -3), status="released")
    _positive(conn, a[2], local(10), COUNTY_A)
    _case(conn, a[2], local(16))
    # earlier days (cumulative only) and the next day (nowhere)
    _case(conn, a[3], local(10, -3))
    _case(conn, a[4], local(2, 1))


def _contact(conn: Connection, pid: int, status: str, identified: datetime,
             kind: str = "close") -> int:  # fmt: skip
    return put(conn, tracing_contacts, person_id=pid, kind=kind, status=status,
               identified_at=identified, first_exposure_at=identified - timedelta(hours=20),
               last_exposure_at=identified - timedelta(hours=20), status_at=identified)  # fmt: skip


def _contacts(conn: Connection, w: World) -> None:
    a, b = w.a, w.b
    old_case = conn.execute(
        select(tracing_cases.c.id).where(tracing_cases.c.person_id == a[3])
    ).scalar_one()
    overdue = _contact(conn, a[10], "identified", local(12, -2))  # case reported D-3: overdue
    put(conn, tracing_exposures, case_id=old_case, contact_id=overdue, kind="close",
        setting="household", overlap_start=local(0, -4), overlap_end=local(1, -4),
        found_at=local(12, -2))  # fmt: skip
    _contact(conn, a[11], "notified", local(20))  # awaiting, deadline not passed
    _contact(conn, b[10], "lost", local(1, -3))  # awaiting, no case behind: from identification
    _contact(conn, a[12], "quarantined", local(10, -1))
    _place(conn, a[12], "centralised", local(14, -1), facility=w.hotel)
    _contact(conn, b[11], "quarantined", local(10, -1))
    _place(conn, b[11], "home_quarantine", local(14, -1))
    _contact(conn, a[13], "identified", local(10, -1))  # home monitoring: not awaiting
    _place(conn, a[13], "home_monitoring", local(14, -1))
    _contact(conn, a[14], "identified", local(10, -1), kind="contact_of_contact")  # not close
    _contact(conn, b[12], "identified", local(3, 1))  # the next day
    _contact(conn, b[13], "released", local(3, -12))  # identified, no longer awaiting


def _areas(conn: Connection, w: World, comp_a: str, comp_b: str) -> None:
    high = put(conn, risk_areas, region_code=comp_b, level="high", origin="designated",
               granularity="compound", since=local(0, -1), designated_at=local(0, -1),
               code=f"{comp_b}-h")  # fmt: skip
    put(conn, risk_area_changes, area_id=high, at=local(0, -1), to_level="high",
        origin="designated")  # fmt: skip
    put(conn, risk_areas, region_code=comp_a, level="medium", origin="designated",
        granularity="compound", since=local(0, -2), designated_at=local(0, -2),
        code=f"{comp_a}-m")  # fmt: skip
    put(conn, risk_areas, region_code=comp_a, level="low", origin="designated",
        granularity="compound", since=local(5, 1), designated_at=local(5, 1),
        code=f"{comp_a}-l")  # the next day  # fmt: skip


def _testing(conn: Connection, w: World, comp_a: str, comp_b: str) -> None:
    running = put(conn, campaigns, region_code=comp_a, starts_at=local(6), pool_size=3,
                  target_hours=24.0, created_at=local(5))  # fmt: skip
    closed = put(conn, campaigns, region_code=COUNTY_B, starts_at=local(6, -5),
                 closed_at=local(6, -3), pool_size=3, target_hours=24.0,
                 created_at=local(5, -5))  # closed before the day  # fmt: skip
    old = put(conn, tubes, pool_size=1, purpose="campaign", region_code=COUNTY_B,
              collected_at=local(7, -5), campaign_id=closed)  # fmt: skip
    put(conn, tube_members, tube_id=old, person_id=w.b[21])
    # a second running campaign over the whole county: its residents count once
    put(conn, campaigns, region_code=COUNTY_A, starts_at=local(5), pool_size=3,
        target_hours=24.0, created_at=local(5))  # fmt: skip
    tube = put(conn, tubes, pool_size=3, purpose="campaign", region_code=comp_a,
               collected_at=local(7), campaign_id=running)  # fmt: skip
    for pid in w.a[20:23]:
        put(conn, tube_members, tube_id=tube, person_id=pid)
    put(conn, tube_members, tube_id=tube, person_id=w.b[20])  # sampled, not a resident
    for flag, region in (("late", comp_b), ("lost", COUNTY_A), (None, COUNTY_A)):
        put(conn, tubes, pool_size=1, purpose="screening", region_code=region,
            collected_at=local(2), flag=flag)  # fmt: skip
    resulted = put(conn, tubes, pool_size=1, purpose="screening", region_code=comp_b,
                   collected_at=local(2), flag="late")  # fmt: skip
    batch = put(conn, batches, posted_at=local(20))
    put(conn, results, tube_id=resulted, batch_id=batch, outcome="negative", lab_valid=True,
        tested_at=local(20))  # fmt: skip


def _arrivals(conn: Connection, w: World, comp_a: str, comp_b: str) -> None:
    venue = str(conn.execute(select(venues.c.code).limit(1)).scalar_one())
    manifest = put(conn, manifests, point_code=venue, mode="flight", received_at=local(1))
    for pid, stage, region, due in (
        (w.a[30], "registered", COUNTY_A, local(30)),
        (w.a[31], "boarded", comp_a, local(5)),  # overdue
        (w.b[30], "managed", comp_b, None),
        (w.b[31], "released", comp_b, local(5)),  # released: nowhere
        (w.a[32], "sampled", COUNTY_A, local(30)),
        (w.a[33], "handed_over", COUNTY_A, local(20)),  # overdue
    ):
        put(conn, travellers, manifest_id=manifest, person_id=pid, point_code=venue,
            arrived_at=local(2), destination_region=region, responsible_region=region,
            stage=stage, stage_since=local(3), due_at=due, history=[])  # fmt: skip


def _codes(conn: Connection, w: World) -> None:
    for pid, colour in zip(w.a[:6] + w.b[:4], ["red", "red", "yellow"] + ["green"] * 7,
                           strict=True):  # fmt: skip
        put(conn, health_codes, person_id=pid, colour=colour, reasons=[])


def _work(conn: Connection, comp_a: str, comp_b: str) -> None:
    for region, status in ((COUNTY_A, "raised"), (comp_b, "verified"), (COUNTY_A, "closed")):
        put(conn, alerts, region_code=region, status=status, first_period=DAY, last_period=DAY,
            kind="trigger", severity="high",
            escalations=0, repeats=1)  # fmt: skip
    for region, status, deadline in (
        (comp_a, "open", local(18)),  # due today, overdue at 24:00
        (COUNTY_B, "acknowledged", local(30)),  # due tomorrow
        (COUNTY_A, "in_progress", local(10, -2)),  # overdue
        (COUNTY_A, "done", local(10)),
    ):
        put(conn, command_tasks, kind="manual", region_code=region, origin_region_code=region,
            status=status, deadline_at=deadline, raised_at=local(1), params={},
            escalation_level=0)  # fmt: skip
