"""One page of a list, sorted and counted in SQL (列表分页与排序).

A list page asks for a :class:`Bounded` slice: a sort key, a direction, how many rows and
from where. The capability that owns the list names the columns a key may sort by (its
whitelist) and calls :func:`fetch`, which adds ``ORDER BY`` (the chosen column, then the
list's own order as tie-breakers), ``LIMIT``/``OFFSET`` and a ``COUNT`` of the whole
filtered list. No row beyond the page leaves the database, and a key outside the
whitelist never reaches SQL: it sorts in the list's own order.

The web shell parses the query string into a ``Bounded`` (``fangkong.web.listing``); the
API and the commands may build one by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, func, select
from sqlalchemy.sql.elements import ColumnElement

# a page never holds more rows than this, whoever asks
MAX_LIMIT = 500


@dataclass(frozen=True)
class Bounded:
    """Which slice of a list to read: sorted by ``sort`` (a key of the list's whitelist;
    ``None`` for the list's own order), ``descending`` or not, ``limit`` rows from
    ``offset``."""

    sort: str | None = None
    descending: bool = False
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT or self.offset < 0:
            raise ValueError(f"bounded page out of range: {self.limit} from {self.offset}")


# the first page in the list's own order: the default of a query function's ``bounded``
FIRST_PAGE = Bounded()

Columns = Mapping[str, ColumnElement[Any]]


def order(bounded: Bounded, columns: Columns, default: Sequence[ColumnElement[Any]]) -> list[Any]:
    """The ORDER BY of one page: the chosen column (empty values last, whichever the
    direction and the database), then the list's own order so equal keys stay stable."""
    chosen = columns.get(bounded.sort) if bounded.sort else None
    if chosen is None:
        return list(default)
    key = chosen.desc() if bounded.descending else chosen.asc()
    return [key.nulls_last(), *default]


def fetch(
    conn: Connection, query: Select[Any], bounded: Bounded | None, columns: Columns,
    default: Sequence[ColumnElement[Any]],
) -> tuple[list[Row[Any]], int]:  # fmt: skip
    """One page of ``query`` (without its own ORDER BY or LIMIT) and the list's length;
    ``bounded`` None: every row in the list's own order (the API's and commands' lists that
    were never paged)."""
    if bounded is None:
        rows = conn.execute(query.order_by(None).order_by(*default)).all()
        return list(rows), len(rows)
    total = conn.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    page = query.order_by(None).order_by(*order(bounded, columns, default))
    rows = conn.execute(page.limit(bounded.limit).offset(bounded.offset)).all()
    return list(rows), int(total)


def window(
    conn: Connection, query: Select[Any], bounded: Bounded, columns: Columns,
    default: Sequence[ColumnElement[Any]],
) -> tuple[list[Row[Any]], bool]:  # fmt: skip
    """One page of ``query`` and whether more rows follow — no COUNT, for lists too long
    to count on every view (the audit log): one row more than the page is read."""
    page = query.order_by(None).order_by(*order(bounded, columns, default))
    rows = conn.execute(page.limit(bounded.limit + 1).offset(bounded.offset)).all()
    return list(rows[: bounded.limit]), len(rows) > bounded.limit
