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

from sqlalchemy import Connection, select

from fangkong.testing.tables import results, tube_members, tubes


def latest_negative(
    conn: Connection, person_ids: Sequence[int], *, since: datetime, until: datetime
) -> dict[int, datetime]:
    """Person id → the sampling time of their latest negative tube in [since, until]
    (persons without one are absent)."""
    people = sorted(set(person_ids))
    if not people:
        return {}
    t, m, r = tubes.c, tube_members.c, results.c
    rows = conn.execute(
        select(
            m.person_id,
            t.id,
            t.collected_at,
            r.id.label("rid"),
            r.tested_at,
            r.outcome,
            r.lab_valid,
        )
        .join(tubes, t.id == m.tube_id)
        .join(results, r.tube_id == t.id)
        .where(
            m.person_id.in_(people),
            t.collected_at >= since,
            t.collected_at <= until,
            r.tested_at <= until,
        )
    ).all()
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
