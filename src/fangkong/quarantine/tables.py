"""Quarantine tables (migrations 0006, 0015): facilities, rooms, bookings, placements,
follow-up, alerts, candidate sites.

A room is never double-booked: a ``quarantine_bookings`` row holds a room while
``active`` is true (set to NULL when freed), and ``(room_id, active)`` is unique — NULLs
never collide, so a room has any number of past bookings and at most one current one.
The placement service also takes the room with a conditional update (``state = 'free'``)
so a racing request loses cleanly instead of hitting the constraint. A family shares one
booking; each person has one placement per phase, and at most one active placement
(``(person_id, active)`` unique the same way).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.quarantine.rules import (
    ACCESS,
    FACILITY_KINDS,
    FACILITY_STATUSES,
    POWER,
    ROOM_KINDS,
    SITE_TYPES,
)
from fangkong.store.schema import Base
from fangkong.store.types import UTCDateTime

ROOM_STATES = ("free", "occupied", "out_of_service")
PLACEMENT_KINDS = ("centralised", "home_quarantine", "home_monitoring")
PLACEMENT_STATUSES = ("active", "released", "converted", "absconded", "cancelled")
CHECK_STATUSES = ("done", "not_done", "abnormal")  # 已完成, 未完成, 异常
TEST_RESULTS = ("pending", "negative", "positive")
ALERT_KINDS = ("absconded", "abnormal_check", "positive_test", "missed_check", "not_placed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class Facility(Base):
    """A quarantine hotel, fangcang hospital or designated hospital (隔离场所)."""

    __tablename__ = "quarantine_facilities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12))
    staff: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # activating: first guest
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (
        CheckConstraint(_in("kind", FACILITY_KINDS), name="kind"),
        CheckConstraint(_in("status", FACILITY_STATUSES), name="status"),
        CheckConstraint("staff >= 0", name="staff"),
    )


class Room(Base):
    """A room (or a fangcang bed): kind, beds, zone (隔离区), state."""

    __tablename__ = "quarantine_rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("quarantine_facilities.id"))
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    beds: Mapped[int] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        UniqueConstraint("facility_id", "code"),
        CheckConstraint(_in("kind", ROOM_KINDS), name="kind"),
        CheckConstraint(_in("state", ROOM_STATES), name="state"),
        CheckConstraint("beds >= 1", name="beds"),
    )


class Booking(Base):
    """A room held for one placement unit (a person, a family, a child and guardian)."""

    __tablename__ = "quarantine_bookings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("quarantine_rooms.id"))
    active: Mapped[bool | None] = mapped_column(Boolean)  # true while held, NULL after
    risk_group: Mapped[str] = mapped_column(String(24))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    freed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("room_id", "active"),
        CheckConstraint("active IS NULL OR active", name="active"),
    )


class Placement(Base):
    """One phase of a person's management: centralised (a room) or at home."""

    __tablename__ = "quarantine_placements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    kind: Mapped[str] = mapped_column(String(20))
    risk_group: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool | None] = mapped_column(Boolean)  # true while active, NULL after
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("quarantine_bookings.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("quarantine_rooms.id"))
    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("quarantine_facilities.id"), index=True
    )
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())  # in effect from (placed)
    period_from: Mapped[datetime | None] = mapped_column(UTCDateTime())  # day 1 (NULL: start)
    planned_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    test_days: Mapped[str] = mapped_column(String(200))  # JSON list of day numbers
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("quarantine_placements.id"))
    request_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    pack_ref: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(80))
    end_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("person_id", "active"),
        CheckConstraint("active IS NULL OR active", name="active"),
        CheckConstraint(_in("kind", PLACEMENT_KINDS), name="kind"),
        CheckConstraint(_in("status", PLACEMENT_STATUSES), name="status"),
    )


class HealthCheck(Base):
    """A daily health check (每日健康监测): temperature, symptoms, done / not done / abnormal."""

    __tablename__ = "quarantine_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("quarantine_placements.id"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    temperature: Mapped[float | None] = mapped_column(Float)
    symptoms: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (
        UniqueConstraint("placement_id", "day"),
        CheckConstraint(_in("status", CHECK_STATUSES), name="status"),
    )


class PlacementTest(Base):
    """A test of the placement's schedule (day N) and its result."""

    __tablename__ = "quarantine_tests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("quarantine_placements.id"), index=True)
    day_number: Mapped[int] = mapped_column(Integer)
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    result: Mapped[str] = mapped_column(String(12))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))
    source_ref: Mapped[str | None] = mapped_column(String(64))  # e.g. the lab result's id

    __table_args__ = (CheckConstraint(_in("result", TEST_RESULTS), name="result"),)


class PeriodChange(Base):
    """A period extended or shortened by an authorised user, with the reason (kept)."""

    __tablename__ = "quarantine_period_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("quarantine_placements.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_by: Mapped[str] = mapped_column(String(80))
    old_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    new_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)


class Alert(Base):
    """An alert others can read (absconded, abnormal check, positive test, missed check;
    not placed: a person due for placement has none by ``due_at``, the deadline)."""

    __tablename__ = "quarantine_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    placement_id: Mapped[int | None] = mapped_column(ForeignKey("quarantine_placements.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (CheckConstraint(_in("kind", ALERT_KINDS), name="kind"),)


class Site(Base):
    """A candidate site of the survey (潜力调查): gym, hall, school, hotel, warehouse..."""

    __tablename__ = "quarantine_sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    site_type: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    floor_area_m2: Mapped[float] = mapped_column(Float)
    rooms: Mapped[int | None] = mapped_column(Integer)
    toilets: Mapped[int] = mapped_column(Integer)
    power: Mapped[str] = mapped_column(String(12))
    access: Mapped[str] = mapped_column(String(12))
    hospital_km: Mapped[float] = mapped_column(Float)
    surveyed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    surveyed_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (
        CheckConstraint(_in("site_type", SITE_TYPES), name="site_type"),
        CheckConstraint(_in("power", POWER), name="power"),
        CheckConstraint(_in("access", ACCESS), name="access"),
        CheckConstraint("floor_area_m2 >= 0 AND toilets >= 0 AND hospital_km >= 0", name="sizes"),
    )


Index("ix_quarantine_rooms_facility_state", Room.facility_id, Room.state)
Index("ix_quarantine_alerts_open", Alert.kind, Alert.resolved_at)
Index("ix_quarantine_checks_day", HealthCheck.day)
Index("ix_quarantine_tests_source_ref", PlacementTest.source_ref, unique=True)

quarantine_facilities = cast(Table, Facility.__table__)
quarantine_rooms = cast(Table, Room.__table__)
quarantine_bookings = cast(Table, Booking.__table__)
quarantine_placements = cast(Table, Placement.__table__)
quarantine_checks = cast(Table, HealthCheck.__table__)
quarantine_tests = cast(Table, PlacementTest.__table__)
quarantine_period_changes = cast(Table, PeriodChange.__table__)
quarantine_alerts = cast(Table, Alert.__table__)
quarantine_sites = cast(Table, Site.__table__)
