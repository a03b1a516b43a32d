"""Pass tables (migration 0025): key-freight passes and their drivers.

``freight_passes`` holds one row per pass (通行证): its serial (unique, printed and in
the QR token), its revision (a renewal raises it, so the old paper stops verifying), the
vehicle (normalised plate, kind), the cargo class, the route (origin and destination
admin-division codes and via points — codes of any province, so no foreign key), the
period, who issued it for which region, and its revocation. ``closed_loop`` marks a pass
issued point-to-point for a driver from a medium/high-risk area (闭环管理).

``freight_pass_drivers`` names its drivers: registry persons (their documents sealed
there, found or registered through ``registry.persons``), with what was checked at issue
(the negative sample's time, recognised from any province; the code's colour; from a
risk area or not).

No verification log: a crossing (``fangkong.logistics``) already records the serial and
the verdict of every pass it checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.passes.model import (
    CARGO_CLASSES,
    CARRIER_MAX,
    CODE_COLOURS,
    PLATE_MAX,
    REASON_MAX,
    REGION_CODE_MAX,
    SERIAL_MAX,
    VEHICLE_KINDS,
)
from fangkong.store.schema import Base
from fangkong.store.types import UTCDateTime


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class FreightPass(Base):
    """A key-freight vehicle pass (重点物资运输车辆通行证)."""

    __tablename__ = "freight_passes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(SERIAL_MAX), unique=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    plate: Mapped[str] = mapped_column(String(PLATE_MAX), index=True)
    vehicle_kind: Mapped[str] = mapped_column(String(8))
    cargo_class: Mapped[str] = mapped_column(String(16))
    carrier: Mapped[str | None] = mapped_column(String(CARRIER_MAX))  # 承运单位
    origin_region: Mapped[str] = mapped_column(String(REGION_CODE_MAX))
    destination_region: Mapped[str] = mapped_column(String(REGION_CODE_MAX))
    via: Mapped[list[str]] = mapped_column(JSON)  # admin-division codes, in order
    closed_loop: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(80))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(80))
    revoke_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    pack_ref: Mapped[str] = mapped_column(String(80))  # the pack whose rules it met

    __table_args__ = (
        CheckConstraint(_in("vehicle_kind", VEHICLE_KINDS), name="vehicle_kind"),
        CheckConstraint(_in("cargo_class", CARGO_CLASSES), name="cargo_class"),
        CheckConstraint("valid_until > valid_from", name="period"),
        CheckConstraint("revision >= 1", name="revision"),
        Index("ix_freight_passes_valid_until", "valid_until"),
    )


class FreightPassDriver(Base):
    """A driver named on a pass, and what was checked when it was issued."""

    __tablename__ = "freight_pass_drivers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pass_id: Mapped[int] = mapped_column(ForeignKey("freight_passes.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    tested_at: Mapped[datetime] = mapped_column(UTCDateTime())  # negative sample (互认)
    code_colour: Mapped[str] = mapped_column(String(8))
    from_risk_area: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("pass_id", "person_id"),
        CheckConstraint(_in("code_colour", CODE_COLOURS), name="code_colour"),
    )


freight_passes = cast(Table, FreightPass.__table__)
freight_pass_drivers = cast(Table, FreightPassDriver.__table__)
