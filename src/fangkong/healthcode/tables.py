"""Health-code tables (migration 0003): facts, current codes, transitions, corrections, scans."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.store.schema import Base
from fangkong.store.types import BigId, UTCDateTime


class PersonFactRow(Base):
    """One fact about a person (病例、密接、入境、检测…) that the code rules read.

    Append-only: a wrong fact is voided by an upheld correction, never edited. ``kind``
    and ``detail`` are described in docs/policy.md; ``client_event_id`` makes a resent
    fact harmless.
    """

    __tablename__ = "person_facts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    client_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(Text)


class HealthCodeRow(Base):
    """A person's current code (健康码): colour, reasons, the pack that decided it.

    ``review_at`` (migration 0014): the first instant after ``evaluated_at`` at which the
    explanation may change with no new fact (``rules.review_time``); ``fact_count`` and
    ``last_fact_id``: the person's ``person_facts`` rows (voided ones included) when it
    was evaluated — a row recorded since changes them. ``recompute_all`` re-explains a
    code when its review time has come or its facts moved.
    """

    __tablename__ = "health_codes"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), primary_key=True)
    colour: Mapped[str] = mapped_column(String(6), index=True)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    pack_name: Mapped[str] = mapped_column(String(60))
    pack_version: Mapped[str] = mapped_column(String(40))
    next_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # opaque reference carried by QR tokens instead of any personal data
    qr_ref: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    review_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    fact_count: Mapped[int] = mapped_column(Integer, server_default="0")
    last_fact_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (CheckConstraint("colour IN ('green','yellow','red')", name="colour"),)


class CodeTransitionRow(Base):
    """A change of colour (转码): from, to, the rule, what triggered it, the pack."""

    __tablename__ = "code_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_colour: Mapped[str | None] = mapped_column(String(6))
    to_colour: Mapped[str] = mapped_column(String(6))
    rule_id: Mapped[str | None] = mapped_column(String(60))
    trigger: Mapped[str] = mapped_column(String(60))
    pack_name: Mapped[str] = mapped_column(String(60))
    pack_version: Mapped[str] = mapped_column(String(40))


class CorrectionRow(Base):
    """An objection to a code (纠错): filed by the person or an officer, decided by another."""

    __tablename__ = "code_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    fact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("person_facts.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    filed_by: Mapped[str] = mapped_column(String(80))
    filer_role: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(8), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("state IN ('open','upheld','rejected')", name="state"),
        CheckConstraint("filer_role IN ('person','officer')", name="filer_role"),
    )


class ScanRow(Base):
    """A verified scan at a venue or checkpoint, kept as a check-in event (场所码登记)."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    venue_code: Mapped[str] = mapped_column(ForeignKey("venues.code"))
    device_time: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    colour: Mapped[str] = mapped_column(String(6))
    allowed: Mapped[bool] = mapped_column(Boolean)
    flagged: Mapped[bool] = mapped_column(Boolean)
    token_digest: Mapped[bytes | None] = mapped_column(LargeBinary(16), index=True)
    request_digest: Mapped[bytes] = mapped_column(LargeBinary(16))
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON)
    pack_name: Mapped[str] = mapped_column(String(60))
    pack_version: Mapped[str] = mapped_column(String(40))
    zone: Mapped[str | None] = mapped_column(String(16))  # table or room (migration 0016)


Index("ix_scans_venue_time", ScanRow.venue_code, ScanRow.device_time)
Index("ix_person_facts_person_kind", PersonFactRow.person_id, PersonFactRow.kind)

person_facts = cast(Table, PersonFactRow.__table__)
health_codes = cast(Table, HealthCodeRow.__table__)
code_transitions = cast(Table, CodeTransitionRow.__table__)
code_corrections = cast(Table, CorrectionRow.__table__)
scans = cast(Table, ScanRow.__table__)
