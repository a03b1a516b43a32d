"""Contact-management tables (migration 0005; a case's steps: 0020): cases, contacts,
exposures, status history.

One ``tracing_contacts`` row per person (密接 / 密接的密接 / 一般接触者), however many
cases exposed them; each exposure is a ``tracing_exposures`` row linking the case, the
contact and (for a contact of a close contact) the close contact it came through. An
exposure's ``key`` is a digest of what identifies it (case, contact, kind, setting,
venue, the two check-in events or the source contact) — never its times — so a re-trace
finds the same row and only moves its end when the case's window moved.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.store.schema import Base
from fangkong.store.types import BigId, UTCDateTime

CONTACT_KINDS = ("close", "contact_of_contact", "general")  # 密接, 密接的密接, 一般接触者
SETTINGS = ("venue", "household", "class", "workplace", "vehicle")
STATUSES = (
    "identified",  # 已判定
    "notified",  # 已告知
    "quarantined",  # 隔离中
    "monitoring",  # 健康监测中
    "released",  # 已解除
    "became_case",  # 转为病例
    "lost",  # 失访
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class TracedCase(Base):
    """A case under investigation (流调病例): who, when, and the infectious window traced."""

    __tablename__ = "tracing_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    onset_date: Mapped[date | None] = mapped_column(Date)
    sample_date: Mapped[date | None] = mapped_column(Date)
    isolated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    infectious_from: Mapped[datetime] = mapped_column(UTCDateTime())
    infectious_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # open: isolated_at
    rules_source: Mapped[str] = mapped_column(String(120))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    registered_by: Mapped[str] = mapped_column(String(80))
    traced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the steps of the investigation (migration 0020): when each was recorded (the system
    # clock then, never a typed time) and by whom; None: not done yet (``steps.STEPS``)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 审核
    verified_by: Mapped[str | None] = mapped_column(String(80))
    on_site_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 到达现场
    on_site_by: Mapped[str | None] = mapped_column(String(80))
    core_facts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 核心信息
    core_facts_by: Mapped[str | None] = mapped_column(String(80))
    report_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # 流调报告
    report_by: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (
        CheckConstraint("onset_date IS NOT NULL OR sample_date IS NOT NULL", name="dated"),
    )


class TracedContact(Base):
    """A person exposed to one or more cases, with the status of their management."""

    __tablename__ = "tracing_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # the most severe exposure
    status: Mapped[str] = mapped_column(String(12), index=True)
    first_exposure_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_exposure_at: Mapped[datetime] = mapped_column(UTCDateTime())  # drives the period
    identified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (
        CheckConstraint(_in("kind", CONTACT_KINDS), name="kind"),
        CheckConstraint(_in("status", STATUSES), name="status"),
    )


class Exposure(Base):
    """One piece of evidence: a case (or, for 密接的密接, a close contact) met a contact."""

    __tablename__ = "tracing_exposures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("tracing_cases.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("tracing_contacts.id"))
    source_contact_id: Mapped[int | None] = mapped_column(ForeignKey("tracing_contacts.id"))
    kind: Mapped[str] = mapped_column(String(20))
    setting: Mapped[str] = mapped_column(String(12))
    place_code: Mapped[str | None] = mapped_column(String(64))  # venue, household, trip
    overlap_start: Mapped[datetime] = mapped_column(UTCDateTime())
    overlap_end: Mapped[datetime] = mapped_column(UTCDateTime())
    overlap_seconds: Mapped[int] = mapped_column(Integer)
    case_event_id: Mapped[str | None] = mapped_column(String(64))
    contact_event_id: Mapped[str | None] = mapped_column(String(64))
    found_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(_in("kind", CONTACT_KINDS), name="kind"),
        CheckConstraint(_in("setting", SETTINGS), name="setting"),
        CheckConstraint("overlap_seconds >= 0", name="overlap"),
    )


class ContactStatusChange(Base):
    """A change of a contact's status: from, to, who, when, why (kept, never edited)."""

    __tablename__ = "tracing_contact_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("tracing_contacts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    changed_by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)


Index("ix_tracing_exposures_contact_kind", Exposure.contact_id, Exposure.kind)

tracing_cases = cast(Table, TracedCase.__table__)
tracing_contacts = cast(Table, TracedContact.__table__)
tracing_exposures = cast(Table, Exposure.__table__)
tracing_contact_changes = cast(Table, ContactStatusChange.__table__)
