"""How a placement ends or changes length: release (``quarantine.place``; refused with
the reason while the period runs or the final negative test is missing), a period
change with its reason (``quarantine.adjust``), absconding (an alert). Audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from fangkong.auth.guard import Call
from fangkong.auth.rights import QUARANTINE_ADJUST, QUARANTINE_PLACE
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine import ending, periods
from fangkong.quarantine.access._reach import reachable, with_codes
from fangkong.quarantine.ending import Release
from fangkong.quarantine.periods import PeriodChangeView
from fangkong.quarantine.placed import Facts
from fangkong.quarantine.rules import QuarantineRules


def release(
    call: Call, placement_id: int, rules: QuarantineRules,
    *, codes: CodeContext | None = None, pack_ref: str = "",
) -> Release:  # fmt: skip
    """Release (quarantine.place); refused with the reason (``quarantine.release_refused``)
    while the period runs or the final negative test is missing. Audited."""
    at = call.now()

    def change(conn: Connection) -> tuple[Release, Facts, str]:
        done, facts = ending.release_in(conn, placement_id, rules, by=call.actor.name, at=at,
                                          tz=call.tz, pack_ref=pack_ref)  # fmt: skip
        return done, facts, f"next {done.next_placement_id or '-'}"

    return with_codes(call, "quarantine.release", placement_id, QUARANTINE_PLACE, change, at,
                      codes)  # fmt: skip


def change_period(
    call: Call, placement_id: int, *, days: int | None = None, new_end: datetime | None = None,
    reason: str, codes: CodeContext | None = None, rules: QuarantineRules | None = None,
) -> PeriodChangeView:  # fmt: skip
    """Extend or shorten (quarantine.adjust) with a reason, kept in history; with
    ``rules`` the end stays within ``rules.longest_days()`` of the start. Audited."""
    at = call.now()

    def change(conn: Connection) -> tuple[PeriodChangeView, Facts, str]:
        done, facts = periods.change_period_in(
            conn, placement_id, new_end=new_end, days=days, reason=reason, by=call.actor.name,
            at=at, longest_days=None if rules is None else rules.longest_days(),
        )  # fmt: skip
        return done, facts, f"{done.old_end:%F %H:%M} -> {done.new_end:%F %H:%M}"

    return with_codes(call, "quarantine.period", placement_id, QUARANTINE_ADJUST, change, at,
                      codes)  # fmt: skip


def abscond(call: Call, placement_id: int, *, note: str = "") -> int:
    """The person left without release (quarantine.place): an alert (its id). Audited."""

    def body(conn: Connection) -> tuple[int, str]:
        call.require(QUARANTINE_PLACE)
        reachable(conn, call.actor, placement_id)
        alert = ending.abscond(conn, placement_id, by=call.actor.name, note=note, at=call.at)
        return alert, f"alert {alert}"

    return call.audited("quarantine.abscond", "placement", str(placement_id), body)
