"""Individual results (单管结果): what a person's own single-tube tests said.

A pooled tube says nothing about one member (a positive pool's members are retested
singly), so only tubes of one person count here. Quarantine reads these to record the
scheduled tests of a placement (release) and to discharge cases (Ct per gene)::

    testing_tube_members ─▶ testing_tubes (pool_size = 1, collected_at ≥ since)
                         ─▶ testing_results (the tube's latest run)

``sampled_at`` is the tube's collection time, ``reported_at`` the lab's test time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from fangkong.testing.tables import results, tube_members, tubes

_CHUNK = 5_000


@dataclass(frozen=True)
class IndividualResult:
    """One single-tube result of a person: Ct per gene (None: not detected)."""

    person_id: int
    sampled_at: datetime
    reported_at: datetime
    outcome: str  # negative | positive | inconclusive | invalid (testing's, from the pack)
    ct_orf1ab: float | None
    ct_n: float | None
    result_id: int
    lab_valid: bool = True


def _chunks(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def individual_results(
    conn: Connection,
    person_ids: Sequence[int],
    *,
    since: datetime,
    until: datetime | None = None,
) -> list[IndividualResult]:
    """Single-tube results of these persons sampled at or after ``since`` (and reported by
    ``until`` when given), oldest sample first; a tube run more than once counts by its
    latest run."""
    t, m, r = tubes.c, tube_members.c, results.c
    latest: dict[int, IndividualResult] = {}  # tube id → its latest result
    ranks: dict[int, tuple[datetime, int]] = {}
    for chunk in _chunks(sorted(set(person_ids))):
        query = (
            select(
                m.person_id,
                t.id.label("tube"),
                t.collected_at,
                r.id,
                r.tested_at,
                r.outcome,
                r.ct_orf1ab,
                r.ct_n,
                r.lab_valid,
            )
            .join(tubes, t.id == m.tube_id)
            .join(results, r.tube_id == t.id)
            .where(m.person_id.in_(list(chunk)), t.pool_size == 1, t.collected_at >= since)
        )
        if until is not None:
            query = query.where(r.tested_at <= until)
        for row in conn.execute(query):
            rank = (row.tested_at, int(row.id))
            if int(row.tube) in ranks and ranks[int(row.tube)] >= rank:
                continue
            ranks[int(row.tube)] = rank
            latest[int(row.tube)] = IndividualResult(
                int(row.person_id),
                row.collected_at,
                row.tested_at,
                row.outcome,
                row.ct_orf1ab,
                row.ct_n,
                int(row.id),
                bool(row.lab_valid),
            )
    return sorted(latest.values(), key=lambda x: (x.person_id, x.sampled_at, x.result_id))
