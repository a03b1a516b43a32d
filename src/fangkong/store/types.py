"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import BigInteger, ColumnElement, DateTime, Dialect, Integer, String, type_coerce
from sqlalchemy.types import TypeDecorator

# A high-volume id (scans, audit rows, lab results, orders, tubes, facts, crossings …) and
# every column that refers to one (migration 0029): 64-bit on PostgreSQL, where at 35
# million persons a 32-bit scan id runs out within weeks. SQLite's INTEGER is already
# 64-bit, and an ``INTEGER PRIMARY KEY`` (not ``BIGINT``) is what makes a column the
# rowid's alias there — the variant keeps SQLite's ids autoincrementing.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp. Naive datetimes are refused, never guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: fangkong stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)  # noqa: S101 - the driver returns datetimes here
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def undecoded(column: ColumnElement[datetime]) -> ColumnElement[Any]:
    """A ``UTCDateTime`` column read as the driver gives it, without a Python datetime
    made per value: for many rows, turned into numbers at once by ``epoch_seconds``."""
    return type_coerce(column, String)


def epoch_seconds(values: Sequence[Any]) -> NDArray[np.int64]:
    """Whole seconds since the epoch (as ``int(t.timestamp())``) of ``UTCDateTime`` values
    read ``undecoded``: SQLite's stored UTC text (``YYYY-MM-DD HH:MM:SS.ffffff``), parsed
    by NumPy in one call, or the aware datetimes PostgreSQL's driver returns."""
    if len(values) and isinstance(values[0], str):
        micros = np.array(values, dtype="datetime64[us]").astype(np.int64)
        return micros // 1_000_000
    return np.array([int(v.timestamp()) for v in values], np.int64)
