"""Small pieces the testing use cases share: ``Bind``, aware "now", chunks of ids.

``Bind`` is an engine (the use case opens and commits its own transaction) or a
connection (it works inside the caller's).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from fangkong import clock

Bind = Engine | Connection
_CHUNK = 5_000  # ids per IN list (SQLite's bound-parameter limit)


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _now(at: datetime | None) -> datetime:
    if at is not None and at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    return (at or clock.now()).astimezone(UTC)
