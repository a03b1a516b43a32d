"""Logistics tables (migration 0024): checkpoints, crossings, the people of a crossing.

A checkpoint (卡口, 服务区, 收费站, 物流枢纽) stands in a region on a road; its venue (if
any) is where a ``checkpoint``-scope device token is bound, so a device finds its
checkpoint through its venue. A crossing is one vehicle through one checkpoint, recorded
once per (checkpoint, ref) — the device's idempotency key — with the check's outcome; its
people (driver, passengers) are registry persons, each with the facts the check read and
what was done (sampled, handed to the arrivals closed loop).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.logistics.model import (
    CARGO_CLASSES,
    CHECKPOINT_KINDS,
    CODE_COLOURS,
    CROSSING_VIAS,
    DIRECTIONS,
    OUTCOMES,
    PASS_VERDICTS,
    PERSON_ROLES,
    VEHICLE_KINDS,
)
from fangkong.store.schema import Base
from fangkong.store.types import BigId, UTCDateTime


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class Checkpoint(Base):
    """A road checkpoint, service area, toll station or freight hub; the responsible unit
    is its region's county."""

    __tablename__ = "logistics_checkpoints"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    road: Mapped[str] = mapped_column(String(60))  # e.g. "G4 京港澳高速"
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    venue_code: Mapped[str | None] = mapped_column(ForeignKey("venues.code"), unique=True)
    lanes: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(_in("kind", CHECKPOINT_KINDS), name="kind"),
        CheckConstraint("lanes >= 1", name="lanes"),
    )


class Crossing(Base):
    """One vehicle through one checkpoint and the check's outcome (idempotent by ref)."""

    __tablename__ = "logistics_crossings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    checkpoint_code: Mapped[str] = mapped_column(ForeignKey("logistics_checkpoints.code"))
    ref: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    direction: Mapped[str] = mapped_column(String(3))
    plate: Mapped[str] = mapped_column(String(16))
    vehicle_kind: Mapped[str] = mapped_column(String(8))
    cargo_class: Mapped[str] = mapped_column(String(16))
    # admin-division codes, possibly outside the province: no foreign key
    origin_region: Mapped[str] = mapped_column(String(12))
    destination_region: Mapped[str] = mapped_column(String(12))
    history: Mapped[list[str]] = mapped_column(JSON)  # region codes visited in the window
    pass_serial: Mapped[str | None] = mapped_column(String(32))
    pass_verdict: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(20))
    waited_minutes: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))
    via: Mapped[str] = mapped_column(String(4))

    __table_args__ = (
        UniqueConstraint("checkpoint_code", "ref"),
        CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint(_in("vehicle_kind", VEHICLE_KINDS), name="vehicle_kind"),
        CheckConstraint(_in("cargo_class", CARGO_CLASSES), name="cargo_class"),
        CheckConstraint(_in("pass_verdict", PASS_VERDICTS), name="pass_verdict"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        CheckConstraint(_in("via", CROSSING_VIAS), name="via"),
    )


class CrossingPerson(Base):
    """A driver or passenger of a crossing: the facts the check read and what was done."""

    __tablename__ = "logistics_crossing_people"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    crossing_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("logistics_crossings.id"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    role: Mapped[str] = mapped_column(String(9))
    code_colour: Mapped[str] = mapped_column(String(6))
    test_valid: Mapped[bool] = mapped_column(Boolean)
    from_risk_area: Mapped[bool] = mapped_column(Boolean)
    sampled: Mapped[bool] = mapped_column(Boolean)
    traveller_id: Mapped[int | None] = mapped_column(ForeignKey("arrivals_travellers.id"))
    sample_barcode: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        CheckConstraint(_in("role", PERSON_ROLES), name="role"),
        CheckConstraint(_in("code_colour", CODE_COLOURS), name="code_colour"),
    )


Index("ix_logistics_crossings_checkpoint_at", Crossing.checkpoint_code, Crossing.at)

checkpoints = cast(Table, Checkpoint.__table__)
crossings = cast(Table, Crossing.__table__)
crossing_people = cast(Table, CrossingPerson.__table__)
