"""Facts in bulk (批量事实): feeds from labs, tracing or the twin, then one recompute.

``record_fact`` re-evaluates one person per call — right for a tracer's click, slow for
a lab's batch of thousands. ``record_facts`` hands the batch to the one writer
(``writer.write_facts``: every fact checked first, nothing written if one is bad, one
transaction, idempotent by client event id) and leaves the codes to ``recompute_all``,
which re-explains the persons whose facts moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fangkong.healthcode.writer import Bind, FactInput, write_facts


def record_facts(
    bind: Bind,
    facts: Sequence[tuple[int, FactInput]],
    *,
    recorded_by: str,
    now: datetime | None = None,
) -> int:
    """Store ``(person_id, fact)`` pairs; returns how many were new."""
    return write_facts(bind, facts, recorded_by=recorded_by, now=now).facts
