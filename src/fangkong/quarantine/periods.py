"""Period changes (调整隔离期): extend or shorten a placement, with a reason, kept as history.

``change_period`` (``change_period_in`` inside the caller's transaction): a new planned
end, by a user holding ``quarantine.adjust`` (checked by the caller), with a reason;
kept in ``quarantine_period_changes`` (``period_history``). An end further from the start
than the pack's longest period plus its allowed extension is refused
(``period_too_long``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select, update

from fangkong.errors import BadInput, FieldProblem, InvalidFields
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.placed import Facts, _now, _open, _p, _place_name, send_codes
from fangkong.quarantine.tables import (
    quarantine_period_changes,
    quarantine_placements,
)
from fangkong.quarantine.terms import period_fact
from fangkong.store.tx import Bind, write_transaction


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


__all__ = [
    "PeriodChangeView",
    "change_period",
    "change_period_in",
    "period_history",
    "period_too_long",
]
