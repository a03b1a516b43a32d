"""Negative tests still valid (核酸阴性证明), for the capabilities that accept one.

A checkpoint accepts a negative test for ``test_valid_hours`` from its sampling, wherever
it was taken (互认). Here: a person's latest tube collected at or after ``since`` whose
latest run reported by ``until`` is a lab-valid negative. A pooled tube counts (a
negative pool clears every member); a positive or inconclusive run counts for nothing
here (its members are retested and chased by testing's own flow).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from fangkong.testing.tables import results, tube_members, tubes

_t, _m, _r = tubes.c, tube_members.c, results.c
_NEGATIVES = (
    select(
        _m.person_id,
        _t.id,
        _t.collected_at,
        _r.id.label("rid"),
        _r.tested_at,
        _r.outcome,
        _r.lab_valid,
    )
    .join(tubes, _t.id == _m.tube_id)
    .join(results, _r.tube_id == _t.id)
    .where(
        _m.person_id.in_(bindparam("people", expanding=True)),
        _t.collected_at >= bindparam("since"),
        _t.collected_at <= bindparam("until"),
        _r.tested_at <= bindparam("until"),
    )
)


def latest_negative(
    conn: Connection, person_ids: Sequence[int], *, since: datetime, until: datetime
) -> dict[int, datetime]:
    """Person id → the sampling time of their latest negative tube in [since, until]
    (persons without one are absent)."""
    people = sorted(set(person_ids))
    if not people:
        return {}
    rows = conn.execute(_NEGATIVES, {"people": people, "since": since, "until": until}).all()
    latest: dict[tuple[int, int], tuple[tuple[datetime, int], bool, datetime]] = {}
    for row in rows:
        key = (int(row.person_id), int(row.id))
        rank = (row.tested_at, int(row.rid))
        if key not in latest or latest[key][0] < rank:
            negative = row.outcome == "negative" and bool(row.lab_valid)
            latest[key] = (rank, negative, row.collected_at)
    out: dict[int, datetime] = {}
    for (person, _), (_, negative, collected) in latest.items():
        if negative and (person not in out or out[person] < collected):
            out[person] = collected
    return out
