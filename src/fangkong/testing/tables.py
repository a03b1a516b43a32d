"""Testing tables (migration 0007): labs, campaigns, tubes and their members, result
batches, results, test orders.

A tube (采样管) holds one sample or a pool (混管); ``testing_tube_members`` links it to
the persons sampled (registry rows: their identity stays sealed there). The chain of
custody is the tube's timestamps — collected → shipped (in transit) → received by a
lab — and its results (tested). A result is keyed by (tube, run): a lab resending a
batch changes nothing. Orders (检测任务) are what someone must be sampled for, and when.
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
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.store.schema import Base
from fangkong.store.types import BigId, UTCDateTime

PURPOSES = ("screening", "campaign", "scheduled", "retest", "landing")
OUTCOMES = ("negative", "positive", "inconclusive", "invalid")
ORDER_STATUSES = ("open", "done", "missed", "cancelled")
FLAGS = ("late", "lost")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class Lab(Base):
    """A testing laboratory (检测机构) and its capacity in tubes per day."""

    __tablename__ = "testing_labs"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    capacity_per_day: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("capacity_per_day >= 0", name="capacity"),)


class TestingCampaign(Base):
    """A mass-testing campaign (区域核酸检测) over a region, with the plan it started from."""

    __tablename__ = "testing_campaigns"
    __test__ = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    pool_size: Mapped[int] = mapped_column(Integer)
    target_hours: Mapped[float] = mapped_column(Float)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(80))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Tube(Base):
    """A sampling tube: barcode, single or pooled, where/when/by whom, custody times."""

    __tablename__ = "testing_tubes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    barcode: Mapped[str] = mapped_column(String(40), unique=True)
    pool_size: Mapped[int] = mapped_column(Integer)  # persons sampled into it
    purpose: Mapped[str] = mapped_column(String(12))
    point: Mapped[str] = mapped_column(String(80))  # collection point (采样点)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    collector: Mapped[str] = mapped_column(String(80))
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("testing_campaigns.id"), index=True)
    lab_code: Mapped[str | None] = mapped_column(ForeignKey("testing_labs.code"))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_by: Mapped[str | None] = mapped_column(String(80))
    flag: Mapped[str | None] = mapped_column(String(6))
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("pool_size >= 1", name="pool_size"),
        CheckConstraint(_in("purpose", PURPOSES), name="purpose"),
        CheckConstraint("flag IS NULL OR " + _in("flag", FLAGS), name="flag"),
    )


class TubeMember(Base):
    """A person sampled into a tube (人管关联)."""

    __tablename__ = "testing_tube_members"

    tube_id: Mapped[int] = mapped_column(BigId, ForeignKey("testing_tubes.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True, index=True)


class ResultBatch(Base):
    """One batch of results posted by a lab (API or file); resolved when acted upon."""

    __tablename__ = "testing_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lab_code: Mapped[str | None] = mapped_column(ForeignKey("testing_labs.code"))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    posted_by: Mapped[str] = mapped_column(String(80))
    rows: Mapped[int] = mapped_column(Integer)
    inserted: Mapped[int] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class TestResult(Base):
    """A tube's result in one run: Ct per gene (None: not detected), outcome, time."""

    __tablename__ = "testing_results"
    __test__ = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tube_id: Mapped[int] = mapped_column(BigId, ForeignKey("testing_tubes.id"))
    run: Mapped[str] = mapped_column(String(40))
    batch_id: Mapped[int] = mapped_column(ForeignKey("testing_batches.id"), index=True)
    ct_orf1ab: Mapped[float | None] = mapped_column(Float)
    ct_n: Mapped[float | None] = mapped_column(Float)
    lab_valid: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(12))
    tested_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("tube_id", "run"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
    )


class TestOrder(Base):
    """A test someone must take (检测任务): why, the window, and how it ended."""

    __tablename__ = "testing_orders"
    __test__ = False

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    reason: Mapped[str] = mapped_column(String(24))
    due_from: Mapped[datetime] = mapped_column(UTCDateTime())
    due_by: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10))
    source_key: Mapped[str] = mapped_column(String(80), unique=True)
    single_tube: Mapped[bool] = mapped_column(Boolean)
    prev_order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("testing_orders.id"))
    gap_hours: Mapped[int | None] = mapped_column(Integer)
    result_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("testing_results.id"))
    tube_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("testing_tubes.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(_in("status", ORDER_STATUSES), name="status"),)


Index("ix_testing_orders_status_due_by", TestOrder.status, TestOrder.due_by)

labs = cast(Table, Lab.__table__)
campaigns = cast(Table, TestingCampaign.__table__)
tubes = cast(Table, Tube.__table__)
tube_members = cast(Table, TubeMember.__table__)
batches = cast(Table, ResultBatch.__table__)
results = cast(Table, TestResult.__table__)
orders = cast(Table, TestOrder.__table__)
