"""Finding the person a health code is asked for by their resident ID number (the
``fangkong code`` commands): the number is looked up by its sealed hash, never in clear."""

from __future__ import annotations

from sqlalchemy import Engine

from fangkong import clock
from fangkong.errors import Problem
from fangkong.healthcode.codes import person_by_id_number
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.errors import PersonUnknown


def person_with_id_number(engine: Engine, ctx: CodeContext, number: str) -> int:
    """The row id of the person holding ``number``; ``PersonUnknown`` when nobody does,
    ``ScanMalformed`` for a number that is no resident ID number."""
    with engine.connect() as conn:
        found = person_by_id_number(conn, ctx.sealer, number, clock.now().astimezone(ctx.tz).date())
    if found is None:
        raise PersonUnknown(
            Problem("code.person_unknown", "登记中查无此证件号", "no person with this ID number")
        )
    return found
