"""The region hierarchy as SQL: a recursive query over ``regions.parent_code`` (the same
SQL on SQLite and PostgreSQL), so nothing depends on how region codes are spelled. Both
jurisdiction (``fangkong.auth.jurisdiction``) and the audit log's reads build on it.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from fangkong.store.schema import regions


def subtree(region_code: str) -> Select[tuple[str]]:
    """The codes of ``region_code`` and every region below it."""
    tree = (
        select(regions.c.code).where(regions.c.code == region_code).cte("subtree", recursive=True)
    )
    tree = tree.union_all(select(regions.c.code).where(regions.c.parent_code == tree.c.code))
    return select(tree.c.code)
