"""Scheduled tests of a placement: record a result (a positive converts to a case), the schedule.

``record_test`` (``record_test_in`` inside the caller's transaction): a test of the
schedule; a positive result converts the person to a case: the placement ends
(``converted``), the room is freed, an alert (``positive_test``) is raised and the case
is registered with tracing (``fangkong.tracing.cases.register_case``: listed untraced,
so the next trace run finds their contacts). A result entered by hand must have been
sampled between the placement's start and now (``sampling_time_problem``).

Test day N is the N-th local calendar day from the period's day 1 (``period_from``: a
close contact's last exposure; the placement's start when not given); ``schedule`` lists
the days with what was recorded for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from fangkong import bounds, clock
from fangkong.errors import BadInput, FieldProblem, InvalidFields, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.writer import FactInput
from fangkong.quarantine.alerts import _alert
from fangkong.quarantine.placed import (
    Facts,
    PlacementView,
    _end,
    _ended_fact,
    _open,
    _p,
    send_codes,
)
from fangkong.quarantine.tables import (
    TEST_RESULTS,
    quarantine_tests,
)
from fangkong.quarantine.terms import SHANGHAI, test_dates
from fangkong.store.tx import Bind, write_transaction


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False
    test_id: int
    converted: bool
    case_id: int | None


def record_test_in(
    conn: Connection,
    placement_id: int,
    *,
    day_number: int,
    sampled_at: datetime,
    result: str,
    by: str,
    reported_at: datetime | None = None,
    contact_rules: Any = None,
    tz: ZoneInfo = SHANGHAI,
    ref: str | None = None,
    entered_at: datetime | None = None,
) -> tuple[TestOutcome, Facts]:
    """``record_test`` inside the caller's transaction: the outcome and the facts codes
    follow (to record after the commit). ``ref``: the source of the result (a lab
    result's reference; unique: a result is recorded once). ``entered_at``: a result
    entered by hand at that instant — its sampling time must lie between the placement's
    start and then (:func:`sampling_time_problem`); lab results are matched to the
    placement by their own rule instead."""
    if result not in TEST_RESULTS:
        raise BadInput(
            _p(
                "quarantine.test_invalid",
                f"无效的检测结果 {result!r}",
                f"not a test result: {result!r}",
            )
        )
    if sampled_at.tzinfo is None:
        raise BadInput(
            _p("quarantine.test_invalid", "采样时间须带时区", "sampled_at must carry a time zone")
        )
    if day_number < 1:
        raise BadInput(
            _p("quarantine.test_invalid", f"无效的检测日 {day_number}", f"not a day: {day_number}")
        )
    reported = reported_at or (None if result == "pending" else sampled_at)
    at = reported or sampled_at
    t = quarantine_tests
    case_id = None
    view = _open(conn, placement_id)
    if entered_at is not None and (
        bad := sampling_time_problem(view.starts_at, sampled_at, entered_at)
    ):
        raise bad
    test_id = int(
        conn.execute(
            t.insert()
            .values(
                placement_id=placement_id,
                day_number=day_number,
                sampled_at=sampled_at,
                result=result,
                reported_at=reported,
                recorded_by=by[:80],
                source_ref=ref,
            )
            .returning(t.c.id)
        ).scalar_one()
    )
    if result == "positive":
        _end(conn, view, "converted", at, "阳性转为病例 / positive: converted to a case")
        _alert(conn, view, "positive_test", at, f"day {day_number}, sampled {sampled_at:%F}")
        if contact_rules is not None:
            from fangkong.tracing.cases import register_case

            case = register_case(
                conn,
                view.person_id,
                contact_rules,
                sampled=sampled_at.astimezone(tz).date(),
                isolated_at=view.starts_at,
                tz=tz,
                by=by,
                at=at,
            )
            case_id = case.id
    detail: dict[str, Any] = {
        "result": result,
        "sample_id": f"quarantine-test-{test_id}",
        "pooled": False,
    }
    if reported is not None:
        detail["reported_at"] = reported.isoformat()
    facts = [
        (view.person_id, FactInput("test", sampled_at, None, detail, f"quarantine-test-{test_id}"))
    ]
    if result == "positive":
        facts.append((view.person_id, _ended_fact(view, at)))
    return TestOutcome(test_id, result == "positive", case_id), facts


def record_test(
    engine: Engine,
    placement_id: int,
    *,
    day_number: int,
    sampled_at: datetime,
    result: str,
    by: str,
    reported_at: datetime | None = None,
    contact_rules: Any = None,
    codes: CodeContext | None = None,
    tz: ZoneInfo = SHANGHAI,
) -> TestOutcome:
    """Record a scheduled test. Positive: converts the person to a case (module docstring);
    ``contact_rules`` (``ContactRules``) are needed to register the case with tracing."""
    with write_transaction(engine) as conn:
        outcome, facts = record_test_in(
            conn, placement_id, day_number=day_number, sampled_at=sampled_at, result=result,
            by=by, reported_at=reported_at, contact_rules=contact_rules, tz=tz,
            entered_at=clock.now(),
        )  # fmt: skip
    send_codes(engine, facts, by, (reported_at or sampled_at), codes)
    return outcome


def sampling_time_problem(
    start: datetime, sampled_at: datetime, now: datetime
) -> InvalidFields | None:
    """Why a test entered by hand cannot have been sampled at ``sampled_at``: before the
    placement's ``start``, or outside the event window (in the future), or None."""
    if sampled_at < start:
        problem: Problem | None = _p(
            "value.date_too_early",
            f"sampled_at：采样时间不能早于隔离开始（{start:%Y-%m-%d %H:%M}）",
            f"sampled_at: the sample cannot precede the placement's start ({start:%Y-%m-%d %H:%M})",
        )
    else:
        problem = bounds.instant_problem(sampled_at, "event", "sampled_at", now=now)
    if problem is None:
        return None
    outer = _p("quarantine.test_invalid", "采样时间无效", "the sampling time is invalid")
    return InvalidFields(outer, [FieldProblem("sampled_at", problem)])


@dataclass(frozen=True)
class TestView:
    __test__ = False
    id: int
    day_number: int
    sampled_at: datetime
    result: str
    reported_at: datetime | None


@dataclass(frozen=True)
class ScheduledTest:
    """Day N of the test schedule, its local date and the tests recorded for it."""

    day_number: int
    day: date
    results: tuple[str, ...]


def tests_of(bind: Bind, placement_id: int) -> list[TestView]:
    t = quarantine_tests.c
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(quarantine_tests)
            .where(t.placement_id == placement_id)
            .order_by(t.sampled_at, t.id)
        ).all()
    return [TestView(r.id, r.day_number, r.sampled_at, r.result, r.reported_at) for r in rows]


def schedule(
    view: PlacementView, tests: Sequence[TestView], tz: ZoneInfo = SHANGHAI
) -> list[ScheduledTest]:
    """The placement's test days (pack) with their dates and what was recorded for each."""
    days = sorted(set(view.test_days))
    dates = test_dates(view.day_one, days, tz)
    return [
        ScheduledTest(n, d, tuple(t.result for t in tests if t.day_number == n))
        for n, d in zip(days, dates, strict=True)
    ]


__all__ = [
    "ScheduledTest",
    "TestOutcome",
    "TestView",
    "record_test",
    "record_test_in",
    "sampling_time_problem",
    "schedule",
    "tests_of",
]
