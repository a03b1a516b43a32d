"""The region hierarchy as SQL: a recursive query over ``regions.parent_code`` (the same
SQL on SQLite and PostgreSQL), so nothing depends on how region codes are spelled. Both
jurisdiction (``fangkong.auth.jurisdiction``) and the audit log's reads build on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import CTE, Select, select

from fangkong.store.schema import regions


def subtree(region_code: str) -> Select[tuple[str]]:
    """The codes of ``region_code`` and every region below it."""
    tree = (
        select(regions.c.code).where(regions.c.code == region_code).cte("subtree", recursive=True)
    )
    tree = tree.union_all(select(regions.c.code).where(regions.c.parent_code == tree.c.code))
    return select(tree.c.code)


def subtrees(roots: Sequence[str], *, label: str = "root", name: str = "subtrees") -> CTE:
    """(code, ``label``) for every region in the subtree of each of ``roots`` (the root
    included), ``label`` naming the root: one recursive query for many subtrees. A region
    under two of the roots (one root inside another's subtree) comes once for each."""
    tree = (
        select(regions.c.code, regions.c.code.label(label))
        .where(regions.c.code.in_(list(roots)))
        .cte(name, recursive=True)
    )
    return tree.union_all(
        select(regions.c.code, tree.c[label]).where(regions.c.parent_code == tree.c.code)
    )
