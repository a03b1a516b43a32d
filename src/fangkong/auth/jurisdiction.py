"""Jurisdiction (辖区): a user sees the records inside the subtree of their region.

The subtree is a recursive query over ``regions.parent_code`` (the same SQL on SQLite
and PostgreSQL), so nothing depends on how region codes are spelled.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, Select, select, true

from fangkong.auth.model import Actor
from fangkong.store.regions import subtree as subtree  # re-exported: jurisdiction's base
from fangkong.store.schema import regions


def within(actor: Actor, column: ColumnElement[str | None]) -> ColumnElement[bool]:
    """A WHERE clause: ``column`` (a region code) lies in the actor's jurisdiction."""
    if actor.region_code is None:
        return true()
    return column.in_(subtree(actor.region_code))


def branches(region_code: str) -> Select[tuple[str, str]]:
    """(code, branch) for every region below ``region_code``: branch is the child of
    ``region_code`` it lies under. Feeds the per-area numbers on the home page."""
    tree = (
        select(regions.c.code, regions.c.code.label("branch"))
        .where(regions.c.parent_code == region_code)
        .cte("branches", recursive=True)
    )
    tree = tree.union_all(
        select(regions.c.code, tree.c.branch).where(regions.c.parent_code == tree.c.code)
    )
    return select(tree.c.code, tree.c.branch)


def branch_of(conn: Connection, region_code: str) -> dict[str, tuple[str, str]]:
    """Every region below ``region_code`` → (its branch, the branch's name): counts made
    once per region code (a ``GROUP BY`` of the region column) fold into the per-area
    numbers of the home page without joining the subtree to every row."""
    tree = branches(region_code).subquery()
    rows = conn.execute(
        select(tree.c.code, tree.c.branch, regions.c.name).join(
            regions, regions.c.code == tree.c.branch
        )
    )
    return {str(code): (str(branch), str(name)) for code, branch, name in rows}


def region_exists(conn: Connection, code: str) -> bool:
    return conn.execute(select(regions.c.code).where(regions.c.code == code)).first() is not None


def in_subtree(conn: Connection, root: str, code: str) -> bool:
    """Whether region ``code`` lies in the subtree of ``root`` (``root`` included)."""
    codes = subtree(root).subquery()
    return conn.execute(select(codes.c.code).where(codes.c.code == code)).first() is not None
