"""A small region tree for tests: ``(code, parent, level, name)`` rows inserted at once."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from fangkong.store.schema import regions

Row = tuple[str, str | None, str, str]


def insert_tree(conn: Connection, tree: Iterable[Row]) -> None:
    """Insert the regions of ``tree`` (parents before children), one statement."""
    conn.execute(regions.insert(), [
        {"code": code, "parent_code": parent, "level": level, "name": name}
        for code, parent, level, name in tree
    ])  # fmt: skip
