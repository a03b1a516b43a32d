"""Care tables (migration 0028): urgent medical needs, their history, designated wards.

``care_needs`` is the register of residents of sealed or high-risk areas with an urgent
medical need (透析, 化疗, 孕产, 慢病用药, 急危重症 …): who, which area, what, the deadline
the pack gives the kind, and the green-channel transfer planned for it (a vehicle of the
closed loop, a designated ward, departure and arrival). Every status change is a
``care_need_changes`` row (kept, never edited). ``care_wards`` are hospitals' wards
designated for patients from controlled areas (定点医院, 缓冲病区) with their free beds.

``moved_from`` keeps the id a need had in ``risk_area_needs`` when migration 0028 moved
the sealed areas' ``medical`` and ``emergency`` needs here (the downgrade gives it back).
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
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.store.schema import Base
from fangkong.store.types import UTCDateTime

# 透析, 化疗, 孕产, 慢病用药, 急危重症, 其他就医 (the pack gives each its deadline)
NEED_KINDS = ("dialysis", "chemotherapy", "pregnancy", "chronic_medication", "emergency", "other")
# 待安排, 已安排转运, 转运中, 已完成, 已取消
NEED_STATUSES = ("open", "planned", "in_transfer", "done", "cancelled")
OPEN_STATUSES = ("open", "planned", "in_transfer")
CLOSED_STATUSES = ("done", "cancelled")
# 已收治入院, 诊疗后返回, 居家/社区处置, 其他
OUTCOMES = ("admitted", "treated_returned", "treated_at_home", "other")
DETAIL_MAX = 500  # what is needed, in a sentence or two
NOTE_MAX = 500
WARD_CODE_MAX = 40


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class CareWard(Base):
    """A hospital ward taking patients from controlled areas (定点医院病区, 缓冲病区)."""

    __tablename__ = "care_wards"

    code: Mapped[str] = mapped_column(String(WARD_CODE_MAX), primary_key=True)
    hospital: Mapped[str] = mapped_column(String(100))  # the hospital's name
    venue_code: Mapped[str | None] = mapped_column(ForeignKey("venues.code"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))  # the ward's name (血透室, 产科 …)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    kinds: Mapped[list[str]] = mapped_column(JSON)  # the need kinds it treats
    beds: Mapped[int] = mapped_column(Integer)
    beds_free: Mapped[int] = mapped_column(Integer)
    buffer: Mapped[bool] = mapped_column(Boolean)  # 缓冲病区: for patients from controlled areas
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (
        CheckConstraint("beds >= 1", name="beds"),
        CheckConstraint("beds_free >= 0 AND beds_free <= beds", name="beds_free"),
    )


class CareNeed(Base):
    """An urgent medical need of a resident of a sealed or high-risk area, its deadline
    and its green-channel transfer (绿色通道转运)."""

    __tablename__ = "care_needs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("risk_areas.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    raised_by: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ward_code: Mapped[str | None] = mapped_column(ForeignKey("care_wards.code"), index=True)
    vehicle_code: Mapped[str | None] = mapped_column(ForeignKey("arrivals_vehicles.code"))
    departs_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    arrives_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    distance_km: Mapped[float | None] = mapped_column(Float)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_by: Mapped[str] = mapped_column(String(80))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str | None] = mapped_column(String(20))
    moved_from: Mapped[int | None] = mapped_column(Integer, unique=True)  # risk_area_needs.id

    __table_args__ = (
        CheckConstraint(_in("kind", NEED_KINDS), name="kind"),
        CheckConstraint(_in("status", NEED_STATUSES), name="status"),
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', OUTCOMES)}", name="outcome"),
    )


class CareNeedChange(Base):
    """A status change of a need (kept, never edited)."""

    __tablename__ = "care_need_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("care_needs.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    changed_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text)


Index("ix_care_needs_status_due_at", CareNeed.status, CareNeed.due_at)

care_wards = cast(Table, CareWard.__table__)
care_needs = cast(Table, CareNeed.__table__)
care_need_changes = cast(Table, CareNeedChange.__table__)
