"""The tests of a placement's schedule (``quarantine.place``): a positive converts the
person to a case; the facts go to codes after the commit. Audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from fangkong.auth.guard import Call
from fangkong.auth.rights import QUARANTINE_PLACE
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.access._reach import with_codes
from fangkong.quarantine.placed import Facts
from fangkong.quarantine.scheduled_tests import TestOutcome, record_test_in


def record_test(
    call: Call, placement_id: int, *, day_number: int, sampled_at: datetime, result: str,
    contact_rules: Any = None, codes: CodeContext | None = None,
) -> TestOutcome:  # fmt: skip
    """A test of the schedule (quarantine.place); a positive converts to a case. Audited."""

    def change(conn: Connection) -> tuple[TestOutcome, Facts, str]:
        done, facts = record_test_in(conn, placement_id, day_number=day_number,
                                     sampled_at=sampled_at, result=result, by=call.actor.name,
                                     contact_rules=contact_rules, tz=call.tz,
                                     entered_at=call.now())  # fmt: skip
        return done, facts, f"day {day_number}: {result}"

    return with_codes(call, "quarantine.test", placement_id, QUARANTINE_PLACE, change,
                      sampled_at, codes)  # fmt: skip
