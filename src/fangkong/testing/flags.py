"""Late results and lost tubes (超时未出结果 / 样本遗失): flag tubes without a result.

``flag_overdue`` marks ``lost`` the tubes no lab received ``lost_tube_hours`` after
collection and ``late`` those without a result after ``result_hours``; a flag stays as
history (the overdue page lists them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import update

from fangkong.store.tx import write_transaction
from fangkong.testing._common import Bind, _now
from fangkong.testing.rules import TestingRules
from fangkong.testing.tables import results, tubes


@dataclass(frozen=True)
class FlagOutcome:
    lost: int
    late: int


def flag_overdue(bind: Bind, rules: TestingRules, *, at: datetime | None = None) -> FlagOutcome:
    """Flag tubes without a result: ``lost`` when no lab received them ``lost_tube_hours``
    after collection, ``late`` when ``result_hours`` passed. A flag stays as history."""
    at = _now(at)
    t = tubes.c
    no_result = ~sa.exists().where(results.c.tube_id == t.id)
    with write_transaction(bind) as conn:
        lost = conn.execute(
            update(tubes)
            .where(
                t.received_at.is_(None),
                t.collected_at < at - timedelta(hours=rules.lost_tube_hours),
                sa.or_(t.flag.is_(None), t.flag == "late"),
                no_result,
            )
            .values(flag="lost", flagged_at=at)
        ).rowcount
        late = conn.execute(
            update(tubes)
            .where(
                t.collected_at < at - timedelta(hours=rules.result_hours),
                t.flag.is_(None),
                no_result,
            )
            .values(flag="late", flagged_at=at)
        ).rowcount
    return FlagOutcome(int(lost), int(late))


__all__ = [
    "FlagOutcome",
    "flag_overdue",
]
