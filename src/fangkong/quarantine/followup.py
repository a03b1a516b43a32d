"""Follow-up (随访): daily health checks, scheduled tests, release, conversion, absconding,
period changes. Every number from the pack (``[quarantine]`` groups and ``follow_up``).

    record_check   one per placement and day: done / not_done / abnormal (temperature ≥
                   fever_celsius or any symptom makes it abnormal) → alert on abnormal
                   (``abnormal_check``) or not done (``missed_check``)
    record_test    a test of the schedule; a positive result converts the person to a case:
                   the placement ends (``converted``), the room is freed, an alert
                   (``positive_test``) is raised and the case is registered with tracing
                   (``fangkong.tracing.contacts.register_case``: listed untraced, so the next
                   trace run finds their contacts)
    release        at or after the planned end, with a negative test sampled on or after
                   the last test day of the phase (pack: release_needs_negative_test); the
                   group's next phase (7+3: home monitoring) starts as a new placement, its
                   day 1 where the period before ended (a case's: at discharge)
    abscond        the placement ends (``absconded``), the room is freed, alert ``absconded``
    change_period  extend or shorten (a new planned end), by a user holding
                   ``quarantine.adjust`` (checked by the caller), with a reason; kept in
                   ``quarantine_period_changes``

Test day N is the N-th local calendar day from the period's day 1 (``period_from``: a
close contact's last exposure; the placement's start when not given).

Alerts are rows of ``quarantine_alerts`` (kind, person, placement, time, detail; open
until resolved): others read them with ``open_alerts``. A ``not_placed`` alert (raised by
the intake job) has no placement and a deadline (``due_at``). Codes follow every change: a
new ``period`` fact that starts at the change (so it is the latest) and ends at the new
end — at the change itself when the placement ended.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select, update

from fangkong import bounds, clock
from fangkong.errors import BadInput, Conflict, FieldProblem, InvalidFields, NotFound, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.feed import record_facts
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.writer import FactInput
from fangkong.quarantine.placement import SHANGHAI, period_end, period_fact, test_dates
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import (
    CHECK_STATUSES,
    TEST_RESULTS,
    quarantine_alerts,
    quarantine_bookings,
    quarantine_checks,
    quarantine_facilities,
    quarantine_period_changes,
    quarantine_placements,
    quarantine_rooms,
    quarantine_tests,
)
from fangkong.store.tx import Bind, write_transaction


class PlacementUnknown(NotFound):
    """quarantine.placement_unknown: no placement with this id."""


class PlacementClosed(Conflict):
    """quarantine.placement_closed: the placement has ended; nothing more can be recorded."""


class ReleaseRefused(Conflict):
    """quarantine.release_refused: the period is not over, or the final test is missing."""


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(code, zh, en)


@dataclass(frozen=True)
class PlacementView:
    id: int
    person_id: int
    kind: str
    risk_group: str
    status: str
    facility_id: int | None
    facility_name: str | None
    room_code: str | None
    zone: str | None
    region_code: str | None
    starts_at: datetime
    planned_end: datetime | None
    ended_at: datetime | None
    test_days: tuple[int, ...]
    follows_id: int | None
    booking_id: int | None
    period_from: datetime | None = None

    @property
    def day_one(self) -> datetime:
        """The time day 1 of the period holds (test day N counts from it)."""
        return self.period_from or self.starts_at


def _view(conn: Connection, placement_id: int) -> PlacementView:
    q, f, r = quarantine_placements.c, quarantine_facilities.c, quarantine_rooms.c
    row = conn.execute(
        select(quarantine_placements, f.name.label("fname"), r.code.label("rcode"), r.zone)
        .outerjoin(quarantine_facilities, f.id == q.facility_id)
        .outerjoin(quarantine_rooms, r.id == q.room_id)
        .where(q.id == placement_id)
    ).first()
    if row is None:
        raise PlacementUnknown(
            _p(
                "quarantine.placement_unknown",
                f"无此安置记录（{placement_id}）",
                f"no placement {placement_id}",
            )
        )
    return PlacementView(
        row.id,
        row.person_id,
        row.kind,
        row.risk_group,
        row.status,
        row.facility_id,
        row.fname,
        row.rcode,
        row.zone,
        row.region_code,
        row.starts_at,
        row.planned_end,
        row.ended_at,
        tuple(json.loads(row.test_days)),
        row.follows_id,
        row.booking_id,
        row.period_from,
    )


def get_placement(bind: Bind, placement_id: int) -> PlacementView:
    with write_transaction(bind) as conn:
        return _view(conn, placement_id)


def placements_of(bind: Bind, person_id: int) -> list[PlacementView]:
    q = quarantine_placements.c
    with write_transaction(bind) as conn:
        ids = conn.execute(select(q.id).where(q.person_id == person_id).order_by(q.id)).scalars()
        return [_view(conn, int(i)) for i in ids]


def _open(conn: Connection, placement_id: int) -> PlacementView:
    view = _view(conn, placement_id)
    if view.status != "active":
        raise PlacementClosed(
            _p(
                "quarantine.placement_closed",
                f"安置记录 {placement_id} 已结束（{view.status}）",
                f"placement {placement_id} has ended ({view.status})",
            )
        )
    return view


def _alert(conn: Connection, view: PlacementView, kind: str, at: datetime, detail: str) -> int:
    t = quarantine_alerts
    return int(
        conn.execute(
            t.insert()
            .values(
                placement_id=view.id,
                person_id=view.person_id,
                kind=kind,
                at=at,
                detail=detail,
                resolved_at=None,
                resolved_by=None,
            )
            .returning(t.c.id)
        ).scalar_one()
    )


def _end(conn: Connection, view: PlacementView, status: str, at: datetime, reason: str) -> None:
    q, b, r = quarantine_placements, quarantine_bookings, quarantine_rooms
    conn.execute(
        update(q)
        .where(q.c.id == view.id)
        .values(status=status, active=None, ended_at=at, end_reason=reason)
    )
    if view.booking_id is None:
        return
    sharing = conn.execute(
        select(func.count())
        .select_from(q)
        .where(q.c.booking_id == view.booking_id, q.c.active.is_(True))
    ).scalar_one()
    if sharing == 0:  # the last of the family leaves: the room is free again
        conn.execute(update(b).where(b.c.id == view.booking_id).values(active=None, freed_at=at))
        room = conn.execute(select(b.c.room_id).where(b.c.id == view.booking_id)).scalar()
        conn.execute(update(r).where(r.c.id == room).values(state="free"))


def send_codes(
    engine: Engine,
    facts: Sequence[tuple[int, FactInput]],
    by: str,
    at: datetime,
    codes: CodeContext | None,
) -> None:
    if facts:
        record_facts(engine, facts, recorded_by=by[:80], now=at)
        if codes is not None:
            recompute_all(engine, codes, at, trigger="quarantine")


def _place_name(view: PlacementView) -> str:
    return view.facility_name or "居家 / home"


def _now(at: datetime | None) -> datetime:
    return at or clock.now()


# ---- daily health checks --------------------------------------------------------------------


def record_check(
    bind: Bind,
    placement_id: int,
    day: date,
    rules: QuarantineRules,
    *,
    by: str,
    status: str = "done",
    temperature: float | None = None,
    symptoms: str = "",
    at: datetime | None = None,
) -> str:
    """Record a day's health check; returns the status stored (abnormal when feverish or
    symptomatic). A second check of the same day replaces the first."""
    at = _now(at)
    if status not in CHECK_STATUSES:
        raise BadInput(
            _p(
                "quarantine.check_invalid",
                f"无效的健康监测状态 {status!r}",
                f"not a check status: {status!r}",
            )
        )
    if temperature is not None and not 30.0 <= temperature <= 45.0:
        raise BadInput(
            _p(
                "quarantine.check_invalid",
                f"体温 {temperature} 不在 30–45 ℃ 之间",
                f"temperature {temperature} is not within 30–45 °C",
            )
        )
    if (bad_day := bounds.date_problem(day, "event", "day", now=at)) is not None:
        raise InvalidFields(
            _p("quarantine.check_invalid", "监测日期无效", "the day of the check is invalid"),
            [FieldProblem("day", bad_day)],
        )
    if (bad_text := bounds.text_problem(symptoms, "symptoms", multiline=True)) is not None:
        raise InvalidFields(bad_text, [FieldProblem("symptoms", bad_text)])
    symptoms = symptoms.strip()[:200]
    if status == "done" and (
        (temperature is not None and temperature >= rules.follow_up.fever_celsius) or symptoms
    ):
        status = "abnormal"
    t = quarantine_checks
    with write_transaction(bind) as conn:
        view = _open(conn, placement_id)
        conn.execute(t.delete().where(t.c.placement_id == placement_id, t.c.day == day))
        conn.execute(
            t.insert().values(
                placement_id=placement_id,
                day=day,
                status=status,
                temperature=temperature,
                symptoms=symptoms,
                recorded_at=at,
                recorded_by=by[:80],
            )
        )
        if status == "abnormal":
            _alert(
                conn,
                view,
                "abnormal_check",
                at,
                f"{day}: {temperature if temperature is not None else '-'} ℃ {symptoms}",
            )
        elif status == "not_done":
            _alert(conn, view, "missed_check", at, f"{day}")
    return status


# ---- tests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False
    test_id: int
    converted: bool
    case_id: int | None


Facts = list[tuple[int, FactInput]]


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
            from fangkong.tracing.contacts import register_case

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


def _ended_fact(view: PlacementView, at: datetime) -> FactInput:
    start = max(view.starts_at, at)
    return period_fact(view.id, view.kind, start, start, _place_name(view), version="-end")


# ---- release, absconding --------------------------------------------------------------------


def final_negative(
    day_one: datetime, test_days: Sequence[int], negatives: Iterable[datetime], tz: ZoneInfo
) -> bool:
    """Whether one of the ``negatives`` (sampling times) lies on or after the last test
    day of a period from ``day_one`` (True when no test is scheduled)."""
    if not test_days:
        return True
    last = test_dates(day_one, [max(test_days)], tz)[0]
    return any(s.astimezone(tz).date() >= last for s in negatives)


def final_test_ok(conn: Connection, view: PlacementView, tz: ZoneInfo) -> bool:
    """A negative test sampled on or after the last test day (True when none is scheduled)."""
    if not view.test_days:
        return True
    t = quarantine_tests.c
    sampled = conn.execute(
        select(t.sampled_at).where(t.placement_id == view.id, t.result == "negative")
    ).scalars()
    return final_negative(view.day_one, view.test_days, sampled, tz)


@dataclass(frozen=True)
class Release:
    placement_id: int
    next_placement_id: int | None
    next_kind: str | None
    next_end: datetime | None


def release_in(
    conn: Connection,
    placement_id: int,
    rules: QuarantineRules,
    *,
    by: str,
    at: datetime,
    tz: ZoneInfo = SHANGHAI,
    pack_ref: str = "",
) -> tuple[Release, Facts]:
    """``release`` inside the caller's transaction: the release and the facts to record."""
    view = _open(conn, placement_id)
    refused = release_refusal(conn, view, rules, at, tz)
    if refused is not None:
        raise ReleaseRefused(refused)
    return finish_in(conn, view, rules, reason="期满解除 / released", by=by, at=at,
                     pack_ref=pack_ref)  # fmt: skip


def finish_in(
    conn: Connection,
    view: PlacementView,
    rules: QuarantineRules,
    *,
    reason: str,
    by: str,
    at: datetime,
    pack_ref: str = "",
) -> tuple[Release, Facts]:
    """End an active placement as released (no checks: the caller's) and start the
    group's next phase: day 1 where this period was planned to end (7+3 stays 10 days
    from the exposure however late the release), or now when it had no end (a case's
    discharge). A placement whose kind stood in for the group's first phase (a close
    contact at home for lack of a room) is followed by the group's second phase."""
    facts: Facts = [(view.person_id, _ended_fact(view, at))]
    _end(conn, view, "released", at, reason)
    phases = rules.phases(view.risk_group, view.kind) or rules.phases(view.risk_group)
    later = [p for p in phases[1:] if p.days]
    if not later:
        return Release(view.id, None, None, None), facts
    phase = later[0]
    anchor = view.planned_end or at
    nxt_end = period_end(anchor, phase)
    if nxt_end is not None and nxt_end <= at:  # released after the next phase's end too
        return Release(view.id, None, None, None), facts
    q = quarantine_placements
    nxt_id = int(
        conn.execute(
            q.insert()
            .values(
                person_id=view.person_id,
                kind=phase.kind,
                risk_group=view.risk_group,
                status="active",
                active=True,
                booking_id=None,
                room_id=None,
                facility_id=None,
                region_code=view.region_code,
                starts_at=at,
                period_from=anchor,
                planned_end=nxt_end,
                ended_at=None,
                test_days=json.dumps(list(phase.test_days)),
                follows_id=view.id,
                request_ref=None,
                pack_ref=pack_ref[:80],
                created_at=at,
                created_by=by[:80],
                end_reason=None,
            )
            .returning(q.c.id)
        ).scalar_one()
    )
    facts.append((view.person_id, period_fact(nxt_id, phase.kind, at, nxt_end, "居家 / home")))
    return Release(view.id, nxt_id, phase.kind, nxt_end), facts


def release_refusal(
    conn: Connection, view: PlacementView, rules: QuarantineRules, at: datetime, tz: ZoneInfo
) -> Problem | None:
    """Why ``view`` cannot be released at ``at`` (None: it can): the period is not over,
    or the final negative test is missing (pack: release_needs_negative_test)."""
    if view.planned_end is None or at < view.planned_end:
        until = (
            "—" if view.planned_end is None else f"{bounds.local(view.planned_end, tz):%F %H:%M}"
        )
        return _p(
            "quarantine.release_refused",
            f"隔离期未满（至 {until}）",
            f"the period is not over (until {until})",
        )
    if rules.follow_up.release_needs_negative_test and not final_test_ok(conn, view, tz):
        return _p(
            "quarantine.release_refused",
            f"缺少第 {max(view.test_days)} 天或之后采样的阴性检测结果",
            f"no negative test sampled on or after day {max(view.test_days)}",
        )
    return None


def release(
    engine: Engine,
    placement_id: int,
    rules: QuarantineRules,
    *,
    by: str,
    at: datetime | None = None,
    tz: ZoneInfo = SHANGHAI,
    codes: CodeContext | None = None,
    pack_ref: str = "",
) -> Release:
    """End a placement whose period is over and whose final test is negative; the next
    phase of the group (home monitoring after 7 days centralised) starts now."""
    at = _now(at)
    with write_transaction(engine) as conn:
        done, facts = release_in(conn, placement_id, rules, by=by, at=at, tz=tz, pack_ref=pack_ref)
    send_codes(engine, facts, by, at, codes)
    return done


def close_in(
    conn: Connection, placement_id: int, *, status: str, reason: str, at: datetime
) -> Facts:
    """End an active placement as ``status`` (converted: the person is now a case;
    cancelled: replaced by another placement), free its room; the code fact to record."""
    view = _open(conn, placement_id)
    _end(conn, view, status, at, reason)
    return [(view.person_id, _ended_fact(view, at))]


def abscond(
    engine: Bind,
    placement_id: int,
    *,
    by: str,
    note: str = "",
    at: datetime | None = None,
    codes: CodeContext | None = None,
) -> int:
    """The person left without release (脱管): the placement ends, the room is freed, an
    alert is raised (returns its id). Their code stays as the other facts say."""
    at = _now(at)
    with write_transaction(engine) as conn:
        view = _open(conn, placement_id)
        _end(conn, view, "absconded", at, note.strip() or "脱离管控 / absconded")
        alert = _alert(conn, view, "absconded", at, note.strip()[:500])
    return alert


# ---- period changes -------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodChangeView:
    at: datetime
    by: str
    old_end: datetime | None
    new_end: datetime | None
    reason: str


def period_too_long(start: datetime, longest_days: int, field: str) -> InvalidFields:
    """A planned end more than ``longest_days`` after ``start`` (the pack's longest period
    and the extension it allows): refused, naming ``field``."""
    latest = f"{start + timedelta(days=longest_days):%Y-%m-%d %H:%M}"
    problem = _p(
        "quarantine.period_too_long",
        f"结束时间不能晚于开始后 {longest_days} 天（{latest}）",
        f"the end cannot lie more than {longest_days} days after the start ({latest})",
    )
    named = _p(problem.code, f"{field}：{problem.message_zh}", f"{field}: {problem.message_en}")
    return InvalidFields(problem, [FieldProblem(field, named)])


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


def change_period_in(
    conn: Connection,
    placement_id: int,
    *,
    new_end: datetime | None = None,
    days: int | None = None,
    reason: str,
    by: str,
    at: datetime,
    longest_days: int | None = None,
) -> tuple[PeriodChangeView, Facts]:
    """``change_period`` inside the caller's transaction: the change and its code fact.
    With ``longest_days`` (``QuarantineRules.longest_days``) an end further than that from
    the placement's start is refused (``quarantine.period_too_long``, naming the field)."""
    if not reason.strip():
        raise BadInput(
            _p(
                "quarantine.reason_missing",
                "须说明延长或缩短的理由",
                "give a reason for the change",
            )
        )
    if (new_end is None) == (days is None):
        raise BadInput(
            _p(
                "quarantine.period_invalid",
                "请给出新的结束时间或调整天数之一",
                "give either a new end or a number of days",
            )
        )
    if new_end is not None and new_end.tzinfo is None:
        raise BadInput(
            _p("quarantine.period_invalid", "结束时间须带时区", "the end must carry a time zone")
        )
    view = _open(conn, placement_id)
    if new_end is None:
        if view.planned_end is None:
            raise BadInput(
                _p(
                    "quarantine.period_invalid",
                    "该安置没有计划结束时间",
                    "this placement has no planned end",
                )
            )
        new_end = view.planned_end + timedelta(days=days or 0)
    if longest_days is not None and new_end - view.starts_at > timedelta(days=longest_days):
        raise period_too_long(
            view.starts_at, longest_days, "days" if days is not None else "new_end"
        )
    if new_end <= view.starts_at:
        raise BadInput(
            _p(
                "quarantine.period_invalid",
                "结束时间须晚于开始时间",
                "the end must come after the start",
            )
        )
    q = quarantine_placements
    conn.execute(update(q).where(q.c.id == placement_id).values(planned_end=new_end))
    conn.execute(
        quarantine_period_changes.insert().values(
            placement_id=placement_id,
            at=at,
            changed_by=by[:80],
            old_end=view.planned_end,
            new_end=new_end,
            reason=reason.strip(),
        )
    )
    start = max(view.starts_at, at)
    fact = period_fact(
        placement_id,
        view.kind,
        start,
        new_end,
        _place_name(view),
        version=f"-c{int(at.timestamp())}",
    )
    change = PeriodChangeView(at, by, view.planned_end, new_end, reason.strip())
    return change, [(view.person_id, fact)]


def change_period(
    engine: Engine,
    placement_id: int,
    *,
    new_end: datetime | None = None,
    days: int | None = None,
    reason: str,
    by: str,
    at: datetime | None = None,
    codes: CodeContext | None = None,
    longest_days: int | None = None,
) -> PeriodChangeView:
    """Extend or shorten a placement (``new_end``, or ``days`` added to the planned end,
    negative to shorten). A reason is required; every change is kept."""
    at = _now(at)
    with write_transaction(engine) as conn:
        change, facts = change_period_in(
            conn, placement_id, new_end=new_end, days=days, reason=reason, by=by, at=at,
            longest_days=longest_days,
        )  # fmt: skip
    send_codes(engine, facts, by, at, codes)
    return change


def period_history(bind: Bind, placement_id: int) -> list[PeriodChangeView]:
    t = quarantine_period_changes.c
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(quarantine_period_changes).where(t.placement_id == placement_id).order_by(t.id)
        ).all()
    return [PeriodChangeView(r.at, r.changed_by, r.old_end, r.new_end, r.reason) for r in rows]


# ---- alerts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertView:
    id: int
    placement_id: int | None  # None: not placed (the intake job's not_placed alert)
    person_id: int
    kind: str
    at: datetime
    detail: str
    due_at: datetime | None = None


def open_alerts(bind: Bind, kinds: Sequence[str] | None = None) -> list[AlertView]:
    """Unresolved alerts, oldest first (the events other capabilities read)."""
    t = quarantine_alerts.c
    with write_transaction(bind) as conn:
        q = select(quarantine_alerts).where(t.resolved_at.is_(None)).order_by(t.id)
        if kinds is not None:
            q = q.where(t.kind.in_(list(kinds)))
        rows = conn.execute(q).all()
    return [
        AlertView(r.id, r.placement_id, r.person_id, r.kind, r.at, r.detail, r.due_at) for r in rows
    ]


def resolve_alert(bind: Bind, alert_id: int, *, by: str, at: datetime | None = None) -> None:
    t = quarantine_alerts
    with write_transaction(bind) as conn:
        done = conn.execute(
            update(t)
            .where(t.c.id == alert_id, t.c.resolved_at.is_(None))
            .values(resolved_at=_now(at), resolved_by=by[:80])
        ).rowcount
    if not done:
        raise NotFound(
            _p(
                "quarantine.alert_unknown",
                f"无此未处理预警（{alert_id}）",
                f"no open alert {alert_id}",
            )
        )


# ---- what a placement's page shows ----------------------------------------------------------


@dataclass(frozen=True)
class CheckView:
    day: date
    status: str
    temperature: float | None
    symptoms: str
    recorded_at: datetime
    recorded_by: str


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


def checks_of(bind: Bind, placement_id: int) -> list[CheckView]:
    t = quarantine_checks.c
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(quarantine_checks).where(t.placement_id == placement_id).order_by(t.day)
        ).all()
    return [
        CheckView(r.day, r.status, r.temperature, r.symptoms, r.recorded_at, r.recorded_by)
        for r in rows
    ]


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
