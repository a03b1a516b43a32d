"""Command tables (migration 0018): tasks and their history, the board's figures, briefings.

``command_tasks`` holds one row per task (任务) a unit owes: raised from a source row
(an alert, an overdue traveller, a sealed area's need ...) or by a commander. Raising
is idempotent: UNIQUE(kind, source_type, source_id) lets the raising job run again
without a second task for the same source (manual tasks have no source; NULLs never
collide). ``region_code`` is the unit that owes the task now — escalation moves it one
level up — and ``origin_region_code`` the unit it was first set to, which accountability
counts it against. Every change is a ``command_task_changes`` row (kept, never edited).

``command_figures`` keeps the board's aggregates per region × day × figure key, filled
by a job after each daily run, so the board reads a few rows instead of raw tables.
``command_briefings`` keeps each region's daily briefing (日报) once per day.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
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

from fangkong.command.model import SOURCE_TYPES, TASK_KINDS, TASK_STATUSES
from fangkong.store.schema import Base
from fangkong.store.types import UTCDateTime

EVIDENCE_MAX = 2000  # characters of evidence a unit writes when closing (a sentence or two)
REF_MAX = 64  # a change's idempotency key, as the other device APIs' (placement refs)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class CommandTask(Base):
    """A task (任务) a unit owes: a region and, optionally, a role or team within it."""

    __tablename__ = "command_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    source_type: Mapped[str | None] = mapped_column(String(24))  # None: a manual task
    source_id: Mapped[str | None] = mapped_column(String(80))  # the source row's id or key
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))  # owes it now
    origin_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    role: Mapped[str | None] = mapped_column(String(40))  # responsible role (None: the unit)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # for title and explanation
    status: Mapped[str] = mapped_column(String(12))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    raised_by: Mapped[str] = mapped_column(String(80))  # a user, or job:raise
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 0: the unit itself
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(80))
    evidence: Mapped[str | None] = mapped_column(String(EVIDENCE_MAX))

    __table_args__ = (
        UniqueConstraint("kind", "source_type", "source_id"),
        CheckConstraint(_in("kind", tuple(k.key for k in TASK_KINDS)), name="kind"),
        CheckConstraint(_in("status", tuple(s.key for s in TASK_STATUSES)), name="status"),
        CheckConstraint(_in("source_type", SOURCE_TYPES), name="source_type"),
        CheckConstraint("escalation_level >= 0", name="escalation_level"),
    )


class CommandTaskChange(Base):
    """A change of a task: status, or region when it escalates (kept, never edited)."""

    __tablename__ = "command_task_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("command_tasks.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_by: Mapped[str] = mapped_column(String(80))  # a user, or job:escalate
    from_status: Mapped[str | None] = mapped_column(String(12))  # None: raised
    to_status: Mapped[str] = mapped_column(String(12))
    from_region: Mapped[str | None] = mapped_column(String(15))  # set on escalation
    to_region: Mapped[str | None] = mapped_column(String(15))
    note: Mapped[str] = mapped_column(Text)
    # the sender's idempotency key (migration 0021): a change resent with it is not repeated
    ref: Mapped[str | None] = mapped_column(String(REF_MAX))

    __table_args__ = (UniqueConstraint("task_id", "ref"),)


class CommandFigure(Base):
    """One figure of the board for a region on a day (a key of ``model.FIGURES``)."""

    __tablename__ = "command_figures"

    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CommandBriefing(Base):
    """A region's daily briefing (日报) as written: HTML and CSV, or a file path."""

    __tablename__ = "command_briefings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    day: Mapped[date] = mapped_column(Date)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())
    written_by: Mapped[str] = mapped_column(String(80))  # a user, or job:briefing
    html: Mapped[str | None] = mapped_column(Text)
    csv: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(String(500))  # when kept as a file instead

    __table_args__ = (
        UniqueConstraint("region_code", "day"),
        CheckConstraint("html IS NOT NULL OR path IS NOT NULL", name="content"),
    )


Index(
    "ix_command_tasks_region_status_deadline",
    CommandTask.region_code,
    CommandTask.status,
    CommandTask.deadline_at,
)
# the escalation job's scan: open tasks past their deadline, province-wide
Index("ix_command_tasks_status_deadline", CommandTask.status, CommandTask.deadline_at)

command_tasks = cast(Table, CommandTask.__table__)
command_task_changes = cast(Table, CommandTaskChange.__table__)
command_figures = cast(Table, CommandFigure.__table__)
command_briefings = cast(Table, CommandBriefing.__table__)
