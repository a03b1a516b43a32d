"""What the testing use cases share: the not-found problems, and a lab in reach."""

from __future__ import annotations

from sqlalchemy import Connection, select

from fangkong.auth.guard import hidden, inside
from fangkong.auth.jurisdiction import in_subtree
from fangkong.auth.model import Actor
from fangkong.errors import NotFound, Problem
from fangkong.testing.tables import labs


def tube_missing(barcode: str) -> Problem:
    return Problem("testing.tube_unknown", f"无此采样管 {barcode}", f"no tube {barcode}")


def lab_missing(code: str) -> Problem:
    return Problem("testing.lab_unknown", f"无此实验室 {code}", f"no lab {code}")


def lab_in_reach(conn: Connection, actor: Actor, lab_code: str) -> None:
    """A lab whose region lies on the actor's branch of the tree: inside the jurisdiction,
    or above it (a lab system's token is bound to a venue below its lab's region)."""
    region = conn.execute(select(labs.c.region_code).where(labs.c.code == lab_code)).scalar()
    if region is None:
        raise NotFound(lab_missing(lab_code))
    if not (
        inside(conn, actor, region)
        or (actor.region_code is not None and in_subtree(conn, region, actor.region_code))
    ):
        raise hidden(NotFound(lab_missing(lab_code)))
