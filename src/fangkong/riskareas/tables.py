"""Risk-area tables (migration 0009): areas, their households, level changes, need tasks.

One ``risk_areas`` row per area (a region, or a building of a compound given as its
households), holding its current level; every change — designation, automatic lifting,
manual change — is a ``risk_area_changes`` row naming who or what made it and by which
rule. Need tasks (生活必需品, 药品) of residents of sealed areas are ``risk_area_needs``
with their status history in ``risk_area_need_changes`` (medical and emergency needs moved
to ``care_needs``, migration 0028).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.store.schema import Base
from fangkong.store.types import UTCDateTime

AREA_LEVELS = ("high", "medium", "low")
AREA_ORIGINS = ("designated", "downgraded")
AREA_GRANULARITIES = ("building", "compound", "community")
NEED_STATUSES = ("open", "in_progress", "done", "cancelled")  # 待办, 处理中, 已完成, 已取消


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class RiskArea(Base):
    """A risk area (风险区) and its current level; ``since`` is when that level began."""

    __tablename__ = "risk_areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)  # region code[/building]
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    building: Mapped[str | None] = mapped_column(String(60))
    granularity: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(8), index=True)
    origin: Mapped[str] = mapped_column(String(12))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)  # Chinese (or the one language typed)
    reason_en: Mapped[str | None] = mapped_column(Text)  # English (migration 0022)
    designated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    designated_by: Mapped[str] = mapped_column(String(80))
    pack_name: Mapped[str] = mapped_column(String(60))
    pack_version: Mapped[str] = mapped_column(String(40))

    __table_args__ = (
        CheckConstraint(_in("level", AREA_LEVELS), name="level"),
        CheckConstraint(_in("origin", AREA_ORIGINS), name="origin"),
        CheckConstraint(_in("granularity", AREA_GRANULARITIES), name="granularity"),
    )


class RiskAreaHousehold(Base):
    """The households of a building-level area (楼栋): its residents are theirs."""

    __tablename__ = "risk_area_households"

    area_id: Mapped[int] = mapped_column(ForeignKey("risk_areas.id"), primary_key=True)
    household_code: Mapped[str] = mapped_column(ForeignKey("households.code"), primary_key=True)


class RiskAreaChange(Base):
    """A change of an area's level: when it took effect, who or what made it, why."""

    __tablename__ = "risk_area_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("risk_areas.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())  # effective
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_level: Mapped[str | None] = mapped_column(String(8))
    to_level: Mapped[str] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(String(12))
    changed_by: Mapped[str] = mapped_column(String(80))  # a user, or job:lifting
    rule: Mapped[str | None] = mapped_column(String(80))  # e.g. lifting.high (7 days)
    reason: Mapped[str] = mapped_column(Text)  # Chinese (or the one language typed)
    reason_en: Mapped[str | None] = mapped_column(Text)  # English (migration 0022)
    pack_name: Mapped[str] = mapped_column(String(60))
    pack_version: Mapped[str] = mapped_column(String(40))


class RiskAreaNeed(Base):
    """A resident's need in a sealed area (生活必需品, 就医 …): a task with a deadline."""

    __tablename__ = "risk_area_needs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("risk_areas.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # a kind of the pack's [risk_areas.needs]
    note: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    raised_by: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assigned_to: Mapped[str | None] = mapped_column(String(80))
    status_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (CheckConstraint(_in("status", NEED_STATUSES), name="status"),)


class RiskAreaNeedChange(Base):
    """A status change of a need task (kept, never edited)."""

    __tablename__ = "risk_area_need_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("risk_area_needs.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    changed_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text)


Index("ix_risk_area_needs_status_due_at", RiskAreaNeed.status, RiskAreaNeed.due_at)

risk_areas = cast(Table, RiskArea.__table__)
risk_area_households = cast(Table, RiskAreaHousehold.__table__)
risk_area_changes = cast(Table, RiskAreaChange.__table__)
risk_area_needs = cast(Table, RiskAreaNeed.__table__)
risk_area_need_changes = cast(Table, RiskAreaNeedChange.__table__)
