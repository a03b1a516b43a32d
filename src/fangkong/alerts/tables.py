"""Early-warning tables (migration 0008): signal counts, alerts, their history.

``signal_counts`` holds one count per reporting point (``source``), signal, region and
day; its ``key`` is a digest of those four, so a resent or corrected report replaces the
row (idempotent ingest). ``alerts`` holds one row per alert with its evidence (JSON:
the series, thresholds, method and parameters), its owner (the region where it
happened) and its lifecycle times; ``alert_changes`` every step. ``escalations`` /
``escalated_to`` / ``escalated_at`` and the ``escalated`` action hold what the alerts'
former escalation wrote (before migration 0019 copied it onto command tasks); nothing
writes them now — an alert escalates through its task (docs/alerts.md).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.alerts.model import KINDS, SEVERITIES, SIGNALS, STATUSES, in_check
from fangkong.store.schema import Base
from fangkong.store.types import UTCDateTime

ACTIONS = ("raised", "repeated", *STATUSES[1:], "escalated")


class SignalCount(Base):
    """A count reported by one point (fever clinic, pharmacy, lab, school...) for a day."""

    __tablename__ = "signal_counts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)  # digest(source, signal, region, day)
    source: Mapped[str] = mapped_column(String(64))
    signal: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(in_check("signal", tuple(SIGNALS)), name="signal"),
        CheckConstraint("count >= 0", name="count"),
    )


class Alert(Base):
    """An early-warning alert (预警信号) with its evidence, owner and deadlines."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120), index=True)  # rule|region: repeats fold in
    kind: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str] = mapped_column(String(64))
    signals: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(24))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    level: Mapped[str] = mapped_column(String(12))
    frequency: Mapped[str] = mapped_column(String(4))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12), index=True)
    first_period: Mapped[date] = mapped_column(Date)
    last_period: Mapped[date] = mapped_column(Date)
    observed: Mapped[float] = mapped_column(Float)
    expected: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    repeats: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[str] = mapped_column(Text)
    rules_source: Mapped[str] = mapped_column(String(160))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verify_due: Mapped[datetime] = mapped_column(UTCDateTime())
    investigate_due: Mapped[datetime] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    investigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalations: Mapped[int] = mapped_column(Integer)
    escalated_to: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(in_check("kind", KINDS), name="kind"),
        CheckConstraint(in_check("severity", SEVERITIES), name="severity"),
        CheckConstraint(in_check("status", STATUSES), name="status"),
        CheckConstraint("escalations >= 0", name="escalations"),
    )


class AlertChange(Base):
    """One step of an alert: raised, repeated, a status change, an escalation (kept)."""

    __tablename__ = "alert_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(12))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    changed_by: Mapped[str] = mapped_column(String(80))
    note: Mapped[str] = mapped_column(Text)

    __table_args__ = (CheckConstraint(in_check("action", ACTIONS), name="action"),)


Index("ix_signal_counts_signal_day", SignalCount.signal, SignalCount.day)

signal_counts = cast(Table, SignalCount.__table__)
alerts = cast(Table, Alert.__table__)
alert_changes = cast(Table, AlertChange.__table__)
