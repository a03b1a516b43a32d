"""Road-status tables (migration 0026): checkpoints' reports, the refreshed status, alerts.

``roads_reports`` keeps each report a checkpoint makes of itself (vehicles waiting, the
wait, lanes open, open / restricted / closed and, for a closure, the authority that
ordered it), once per (checkpoint, ref) — the sender's idempotency key. ``roads_status``
holds one row per checkpoint as the last refresh found it (the map and the list read it,
not the crossings). ``roads_alerts`` holds one row per episode of a condition (a queue or
a wait over the pack's limit, a closure without authority): ``open_key`` is
"<checkpoint>|<condition>" while the episode lasts and NULL once it cleared, so UNIQUE on
it lets one condition hold one open alert however often the status is refreshed (NULLs
never collide); the alert's command task (kind ``road_alert``) carries the deadline and
the escalation.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
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

from fangkong.roads.rules import AUTHORITY_LEVELS, CONDITIONS
from fangkong.roads.state import REPORT_STATUSES, STATES
from fangkong.store.schema import Base
from fangkong.store.types import UTCDateTime

REPORT_VIAS = ("api", "file", "form", "cli")
AUTHORITY_MAX = 120  # an order's number and the body that issued it
REASON_MAX = 300
REF_MAX = 64


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class RoadReport(Base):
    """A checkpoint's report of itself (卡口自报): queue, wait, lanes, open or closed."""

    __tablename__ = "roads_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checkpoint_code: Mapped[str] = mapped_column(ForeignKey("logistics_checkpoints.code"))
    ref: Mapped[str] = mapped_column(String(REF_MAX))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    vehicles_waiting: Mapped[int] = mapped_column(Integer)
    wait_minutes: Mapped[int | None] = mapped_column(Integer)
    lanes_open: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    authority_level: Mapped[str | None] = mapped_column(String(10))
    authority: Mapped[str | None] = mapped_column(String(AUTHORITY_MAX))
    reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    reported_by: Mapped[str] = mapped_column(String(80))
    via: Mapped[str] = mapped_column(String(4))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("checkpoint_code", "ref"),
        CheckConstraint(_in("status", REPORT_STATUSES), name="status"),
        CheckConstraint(_in("authority_level", AUTHORITY_LEVELS), name="authority_level"),
        CheckConstraint(_in("via", REPORT_VIAS), name="via"),
        CheckConstraint("vehicles_waiting >= 0 AND lanes_open >= 0", name="counts"),
        CheckConstraint("wait_minutes IS NULL OR wait_minutes >= 0", name="wait"),
    )


class RoadStatus(Base):
    """A checkpoint's state as the last refresh found it (one row per checkpoint)."""

    __tablename__ = "roads_status"

    checkpoint_code: Mapped[str] = mapped_column(
        ForeignKey("logistics_checkpoints.code"), primary_key=True
    )
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str | None] = mapped_column(String(10))
    waiting: Mapped[int | None] = mapped_column(Integer)
    wait_minutes: Mapped[int | None] = mapped_column(Integer)
    wait_median: Mapped[int | None] = mapped_column(Integer)
    throughput_hour: Mapped[float] = mapped_column(Float)
    crossings: Mapped[int] = mapped_column(Integer)
    authority_level: Mapped[str | None] = mapped_column(String(10))
    authority: Mapped[str | None] = mapped_column(String(AUTHORITY_MAX))
    report_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(_in("state", STATES), name="state"),)


class RoadAlert(Base):
    """One episode of a condition at a checkpoint (open while ``open_key`` is set)."""

    __tablename__ = "roads_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checkpoint_code: Mapped[str] = mapped_column(ForeignKey("logistics_checkpoints.code"))
    condition: Mapped[str] = mapped_column(String(24))
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))  # the unit owing it
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    observed: Mapped[float | None] = mapped_column(Float)  # vehicles or minutes
    limit: Mapped[float | None] = mapped_column(Float)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(_in("condition", CONDITIONS), name="condition"),)


Index("ix_roads_reports_checkpoint_at", RoadReport.checkpoint_code, RoadReport.at)
Index("ix_roads_alerts_checkpoint", RoadAlert.checkpoint_code, RoadAlert.opened_at)

road_reports = cast(Table, RoadReport.__table__)
road_status = cast(Table, RoadStatus.__table__)
road_alerts = cast(Table, RoadAlert.__table__)
