"""Facts in bulk (批量事实): feeds from labs, tracing or the twin, then one recompute.

``record_fact`` re-evaluates one person per call — right for a tracer's click, slow for
a lab's batch of thousands. ``record_facts`` validates every fact first (nothing is
written if one is bad), inserts them in one transaction, idempotent by client event id,
and leaves the codes to ``recompute_all``, which re-explains only the persons whose
colour or next change moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from fangkong import clock
from fangkong.healthcode.service import FactInput
from fangkong.healthcode.store import check_fact
from fangkong.healthcode.tables import person_facts
from fangkong.store.upsert import stored_keys


def record_facts(
    engine: Engine,
    facts: Sequence[tuple[int, FactInput]],
    *,
    recorded_by: str,
    now: datetime | None = None,
) -> int:
    """Store ``(person_id, fact)`` pairs; returns how many were new."""
    now = now or clock.now()
    for _, fact in facts:
        check_fact(fact.kind, fact.starts_at, fact.ends_at, fact.detail)
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        ids = [f.client_event_id for _, f in facts if f.client_event_id is not None]
        seen = stored_keys(conn, person_facts, "client_event_id", ids) if ids else set()
        fresh = []
        for person_id, f in facts:
            if f.client_event_id is not None:
                if f.client_event_id in seen:
                    continue  # stored before, or repeated in this batch: the first counts
                seen.add(f.client_event_id)
            fresh.append((person_id, f))
        rows = [_row(person_id, f, recorded_by, now) for person_id, f in fresh]
        if rows:
            conn.execute(person_facts.insert(), rows)
    return len(rows)


def _row(person_id: int, f: FactInput, recorded_by: str, now: datetime) -> dict[str, object]:
    return {
        "person_id": person_id, "kind": f.kind, "starts_at": f.starts_at, "ends_at": f.ends_at,
        "detail": dict(f.detail), "client_event_id": f.client_event_id, "recorded_at": now,
        "recorded_by": recorded_by,
    }  # fmt: skip
