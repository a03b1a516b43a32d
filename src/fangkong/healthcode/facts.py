"""A person's facts, as the health-code rules read them (plain data, no database).

Every fact carries its own time. Evaluating at time ``at`` uses the facts that started
by then (``diagnosed_at``, ``exposed_at``, ``arrived_at``, ``since`` … ≤ at); a test
counts as a sample once sampled and as a result once reported. Planned ends — a
discharge, a period's end, a decision's expiry — are used as recorded. For each kind of
fact only the latest counts (a new exposure restarts the clock; a new decision replaces
the previous one), chosen by its start, then its end (open ends last), then its colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fangkong.policy.model import Colour

CaseStatus = Literal["confirmed", "asymptomatic", "suspected"]
ExposureKind = Literal["close_contact", "contact_of_contact", "companion"]
ArrivalRisk = Literal["high", "medium", "low", "inbound"]
TestResult = Literal["negative", "positive", "pending"]
PeriodKind = Literal["centralised_quarantine", "home_quarantine", "home_monitoring"]
RiskLevel = Literal["high", "medium"]


@dataclass(frozen=True)
class CaseFact:
    """A case (病例): confirmed, asymptomatic or suspected; discharged when recorded."""

    status: CaseStatus
    diagnosed_at: datetime
    discharged_at: datetime | None = None


@dataclass(frozen=True)
class ExposureFact:
    """Close contact (密接), contact of a close contact (次密接) or companion (时空伴随)."""

    kind: ExposureKind
    exposed_at: datetime  # last exposure


@dataclass(frozen=True)
class ArrivalFact:
    """Arrival from an area of a risk level, or from abroad (入境)."""

    risk: ArrivalRisk
    arrived_at: datetime
    origin: str = ""


@dataclass(frozen=True)
class TestFact:
    """A nucleic-acid test: sampled, then reported (pooled: a member of a pooled tube)."""

    __test__ = False  # not a pytest test class

    sampled_at: datetime
    result: TestResult = "pending"
    reported_at: datetime | None = None
    pooled: bool = False


@dataclass(frozen=True)
class Enrolment:
    """Membership of a testing group (检测人群) named in the policy pack."""

    group: str
    since: datetime


@dataclass(frozen=True)
class ResidenceFact:
    """Residence in a high- or medium-risk area (from designation to lifting)."""

    level: RiskLevel
    since: datetime
    until: datetime | None = None
    area: str = ""


@dataclass(frozen=True)
class PeriodFact:
    """A recorded quarantine or home-monitoring period (placement by a site or community)."""

    kind: PeriodKind
    start: datetime
    end: datetime | None = None
    place: str = ""


@dataclass(frozen=True)
class ManualFact:
    """A decision by an authorised officer (人工研判); the latest replaces earlier ones.

    Green withdraws an earlier decision; a decision never lowers what other rules say —
    a wrong fact is corrected by voiding it (纠错), not by overriding the code.
    """

    colour: Colour
    since: datetime
    until: datetime | None = None
    note_zh: str = ""
    note_en: str = ""
    decided_by: str = ""


@dataclass(frozen=True)
class PersonFacts:
    """Everything the health-code rules read about one person."""

    cases: tuple[CaseFact, ...] = ()
    exposures: tuple[ExposureFact, ...] = ()
    arrivals: tuple[ArrivalFact, ...] = ()
    tests: tuple[TestFact, ...] = ()
    enrolment: Enrolment | None = None
    residences: tuple[ResidenceFact, ...] = ()
    clinic_visits: tuple[datetime, ...] = ()
    periods: tuple[PeriodFact, ...] = ()
    manual: tuple[ManualFact, ...] = ()
