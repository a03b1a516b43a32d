"""A placement's terms: the request, the assignment that answers it, the period and test days.

``PlacementRequest`` (one person to place) and ``Assignment`` (what became of them,
``outcome`` one of ``OUTCOMES``) are what ``placement.place`` takes and returns. A
period ends ``phase.days`` after its day 1 (``period_end``); test day N is the N-th local
calendar day from day 1 (``test_dates``); ``period_fact`` is the health-code fact of a
placement (centralised_quarantine / home_quarantine / home_monitoring, idempotent by
client event id, a new ``version`` when its end changes). Follow-up reads the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fangkong.healthcode.writer import FactInput
from fangkong.quarantine.rules import FACT_PERIOD, Phase
from fangkong.settings import default_tz

SHANGHAI = default_tz()
OUTCOMES = ("placed", "home", "no_room", "not_managed", "already_placed")


@dataclass(frozen=True)
class PlacementRequest:
    """One person to place. ``kind``: centralised | home_quarantine | home_monitoring."""

    person_id: int
    risk_group: str
    kind: str | None = None
    household: str | None = None  # None: the registry's household
    guardian_id: int | None = None  # a child's guardian, placed in the same room
    needs_accessible: bool = False
    region_code: str | None = None  # where the person is; None: the registry's residence
    starts_at: datetime | None = None  # when the placement takes effect; None: now
    ref: str | None = None  # the caller's reference: a repeated ref changes nothing
    period_from: datetime | None = None  # day 1 of the period; None: starts_at


@dataclass(frozen=True)
class Assignment:
    """What became of one request (``outcome`` one of ``OUTCOMES``)."""

    person_id: int
    outcome: str
    placement_id: int | None = None
    kind: str | None = None
    facility_code: str | None = None
    facility_name: str | None = None
    room_code: str | None = None
    zone: str | None = None
    starts_at: datetime | None = None
    planned_end: datetime | None = None
    test_days: tuple[int, ...] = ()
    facility_kind: str | None = None
    facility_region: str | None = None
    period_from: datetime | None = None


def period_end(start: datetime, phase: Phase) -> datetime | None:
    return None if phase.days is None else start + timedelta(days=phase.days)


def test_dates(start: datetime, days: Sequence[int], tz: ZoneInfo) -> list[date]:
    """Day N of a placement is the N-th local calendar day from its start (day 1)."""
    first = start.astimezone(tz).date()
    return [first + timedelta(days=d - 1) for d in days]


def period_fact(
    placement_id: int,
    kind: str,
    start: datetime,
    end: datetime | None,
    place: str,
    *,
    version: str = "",
) -> FactInput:
    """The health-code fact of a placement (a new ``version`` when its end changes)."""
    stamp = "open" if end is None else str(int(end.timestamp()))
    return FactInput(
        "period",
        start,
        end,
        {"period": FACT_PERIOD[kind], "place": place[:200]},
        f"quarantine-{placement_id}-{stamp}{version}",
    )


__all__ = [
    "OUTCOMES",
    "SHANGHAI",
    "Assignment",
    "PlacementRequest",
    "period_end",
    "period_fact",
    "test_dates",
]
