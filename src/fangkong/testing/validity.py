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
from typing import Any

from sqlalchemy import Connection, bindparam, select

from fangkong.store.fast import DriverSelect, in_list
from fangkong.testing.tables import results, tube_members, tubes

_t, _m, _r = tubes.c, tube_members.c, results.c


def _negatives(people: Any) -> Any:
    return (
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
            _m.person_id.in_(people),
            _t.collected_at >= bindparam("since"),
            _t.collected_at <= bindparam("until"),
            _r.tested_at <= bindparam("until"),
        )
    )


_NEGATIVES = _negatives(bindparam("people", expanding=True))
_FEW_NEGATIVES = DriverSelect(lambda n: _negatives(in_list(n)), arity=True)
_FEW = 16  # up to this many people: the driver's statement of that arity (a crossing)


def latest_negative(
    conn: Connection, person_ids: Sequence[int], *, since: datetime, until: datetime
) -> dict[int, datetime]:
    """Person id → the sampling time of their latest negative tube in [since, until]
    (persons without one are absent)."""
    people = sorted(set(person_ids))
    if not people:
        return {}
    if len(people) <= _FEW:
        rows = _FEW_NEGATIVES.rows_in(conn, people, since=since, until=until)
    else:
        rows = list(conn.execute(_NEGATIVES, {"people": people, "since": since, "until": until}))
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
