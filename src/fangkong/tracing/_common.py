"""Small pieces the tracing use cases share (cases, statuses, trace job, views).

``Bind`` (an engine or a connection inside the caller's transaction), ``SEVERITY`` (the
order of contact kinds: close > contact of a contact > general), aware "now", epoch
seconds and the chunks long ``IN`` lists are cut into.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from fangkong import clock

Bind = Engine | Connection
SEVERITY = {"close": 2, "contact_of_contact": 1, "general": 0}
_CHUNK = 5_000


def _now(at: datetime | None) -> datetime:
    if at is not None and at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    return (at or clock.now()).astimezone(UTC)


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]
