"""Arrivals tables (migration 0011): teams, vehicles, manifests, travellers and their stage
history, transfer trips, hand-offs between jurisdictions, closed-loop alerts.

A traveller (来返人员) is one row of one manifest, linked to a registry person (found by
the sealed document hash, or created). The traveller's own contact phone and destination
address are sealed here as the registry seals identifiers. ``stage`` is the closed loop's
state; every change is a row of ``arrivals_stage_changes``. An alert or hand-off is
``active`` (true) while open and NULL after, so a unique key allows one open at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.store.schema import Base
from fangkong.store.types import UTCDateTime

MODES = ("flight", "train", "highway")  # 航班, 列车, 公路卡口
STAGES = ("registered", "sampled", "boarded", "handed_over", "managed", "released")
TEAM_KINDS = ("checkpoint", "transfer", "receiving", "command")
TRIP_STATUSES = ("planned", "done", "cancelled")
ALERT_KINDS = ("overdue", "handoff")
VIAS = ("import", "api", "scan", "form", "job", "cli")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class Team(Base):
    """A team (专班) answering for a stage: checkpoint, transfer, receiving side, command;
    its superior is alerted with it (一级抓一级)."""

    __tablename__ = "arrivals_teams"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    venue_code: Mapped[str | None] = mapped_column(ForeignKey("venues.code"), index=True)
    superior_code: Mapped[str | None] = mapped_column(ForeignKey("arrivals_teams.code"))

    __table_args__ = (CheckConstraint(_in("kind", TEAM_KINDS), name="kind"),)


class Vehicle(Base):
    """A transfer vehicle (转运车辆): capacity, where it stands, its team."""

    __tablename__ = "arrivals_vehicles"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    capacity: Mapped[int] = mapped_column(Integer)
    team_code: Mapped[str] = mapped_column(ForeignKey("arrivals_teams.code"), index=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    in_service: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (CheckConstraint("capacity >= 1", name="capacity"),)


class Manifest(Base):
    """A traveller list from a flight, train or highway checkpoint (idempotent by ``ref``)."""

    __tablename__ = "arrivals_manifests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(80), unique=True)
    mode: Mapped[str] = mapped_column(String(8))
    carrier: Mapped[str] = mapped_column(String(40))  # flight or train number, plate
    point_code: Mapped[str] = mapped_column(ForeignKey("venues.code"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (CheckConstraint(_in("mode", MODES), name="mode"),)


class Trip(Base):
    """A point-to-point run (点对点转运): one vehicle, one destination, one risk level."""

    __tablename__ = "arrivals_trips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vehicle_code: Mapped[str] = mapped_column(ForeignKey("arrivals_vehicles.code"), index=True)
    point_code: Mapped[str] = mapped_column(ForeignKey("venues.code"), index=True)
    risk: Mapped[str] = mapped_column(String(8))
    destination_key: Mapped[str] = mapped_column(String(60))
    destination_name: Mapped[str] = mapped_column(String(200))
    seats: Mapped[int] = mapped_column(Integer)
    departs_at: Mapped[datetime] = mapped_column(UTCDateTime())
    eta: Mapped[datetime] = mapped_column(UTCDateTime())
    distance_km: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10))
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    planned_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (CheckConstraint(_in("status", TRIP_STATUSES), name="status"),)


class Traveller(Base):
    """One traveller of one manifest, the risk decision and the closed-loop stage."""

    __tablename__ = "arrivals_travellers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    manifest_id: Mapped[int] = mapped_column(ForeignKey("arrivals_manifests.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    doc_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # the row as sent
    phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    point_code: Mapped[str] = mapped_column(ForeignKey("venues.code"), index=True)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime())
    destination_region: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    risk: Mapped[str] = mapped_column(String(8))
    management: Mapped[str] = mapped_column(String(24))
    rule_id: Mapped[str] = mapped_column(String(60))
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    landing_test: Mapped[bool] = mapped_column(Boolean)
    transfer: Mapped[bool] = mapped_column(Boolean)
    stage: Mapped[str] = mapped_column(String(12), index=True)
    stage_since: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    responsible_region: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    tube_barcode: Mapped[str | None] = mapped_column(String(40))
    placement_id: Mapped[int | None] = mapped_column(ForeignKey("quarantine_placements.id"))
    destination_key: Mapped[str | None] = mapped_column(String(60))
    destination_name: Mapped[str | None] = mapped_column(String(200))
    trip_id: Mapped[int | None] = mapped_column(ForeignKey("arrivals_trips.id"), index=True)
    pack_ref: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("manifest_id", "doc_hash"),
        CheckConstraint(_in("stage", STAGES), name="stage"),
    )


class StageChange(Base):
    """One step of a traveller through the closed loop: who confirmed it, how, when."""

    __tablename__ = "arrivals_stage_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey("arrivals_travellers.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(12))
    to_stage: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(80))
    via: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (CheckConstraint(_in("via", VIAS), name="via"),)


class Handoff(Base):
    """A traveller handed to another jurisdiction (跨地区移交), which must acknowledge."""

    __tablename__ = "arrivals_handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey("arrivals_travellers.id"), unique=True)
    from_region: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    to_region: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(80))


class LoopAlert(Base):
    """An overdue stage or an unacknowledged hand-off, sent to a team and its superiors;
    ``level`` counts the superiors told (1: the team's superior)."""

    __tablename__ = "arrivals_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey("arrivals_travellers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str] = mapped_column(String(12))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    team_code: Mapped[str | None] = mapped_column(ForeignKey("arrivals_teams.code"))
    notified: Mapped[list[str]] = mapped_column(JSON)  # team codes told, in order
    # level > 1 and escalated_at: the former team escalation's (historic rows); a new
    # alert is level 1 and escalates through its command task (docs/command.md)
    level: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        UniqueConstraint("traveller_id", "kind", "stage", "active"),
        CheckConstraint(_in("kind", ALERT_KINDS), name="kind"),
    )


Index("ix_arrivals_travellers_point_stage", Traveller.point_code, Traveller.stage)

teams = cast(Table, Team.__table__)
vehicles = cast(Table, Vehicle.__table__)
manifests = cast(Table, Manifest.__table__)
trips = cast(Table, Trip.__table__)
travellers = cast(Table, Traveller.__table__)
stage_changes = cast(Table, StageChange.__table__)
handoffs = cast(Table, Handoff.__table__)
alerts = cast(Table, LoopAlert.__table__)
