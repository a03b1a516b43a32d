"""Daily health checks (健康监测) of a placement, and the checks its page lists.

``record_check``: one per placement and day: done / not_done / abnormal (temperature ≥
the pack's ``follow_up.fever_celsius`` or any symptom makes it abnormal) → alert on
abnormal (``abnormal_check``) or not done (``missed_check``). A second check of the same
day replaces the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from fangkong import bounds
from fangkong.errors import BadInput, FieldProblem, InvalidFields
from fangkong.quarantine.alerts import _alert
from fangkong.quarantine.placed import _now, _open, _p
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import (
    CHECK_STATUSES,
    quarantine_checks,
)
from fangkong.store.tx import Bind, write_transaction

TEMPERATURE_RANGE = (30.0, 45.0)  # ℃ a thermometer reading can take; outside: a typing error


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
    low, high = TEMPERATURE_RANGE
    if temperature is not None and not low <= temperature <= high:
        raise BadInput(
            _p(
                "quarantine.check_invalid",
                f"体温 {temperature} 不在 {low:g}–{high:g} ℃ 之间",
                f"temperature {temperature} is not within {low:g}–{high:g} °C",
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


@dataclass(frozen=True)
class CheckView:
    day: date
    status: str
    temperature: float | None
    symptoms: str
    recorded_at: datetime
    recorded_by: str


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


__all__ = [
    "CheckView",
    "checks_of",
    "record_check",
]
