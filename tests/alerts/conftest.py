"""The small province of the shell tests (two counties) with the alert rules of protocol-9."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fangkong.alerts.rules import AlertRules

COMPOUND_A = "140102001001001"  # in county 140102 (community 140102001001)
COMPOUND_B = "140121100200001"  # in county 140121
DAY0 = date(2026, 11, 2)  # a Monday


def at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture(scope="session")
def rules() -> AlertRules:
    return AlertRules.shipped("protocol-9")
