"""Tube custody (转运, 签收): tubes leave collection points for a lab, a lab signs for them.
All tubes of a hand-over or none; a resent hand-over changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from fangkong.auth.guard import Call, within
from fangkong.auth.model import Actor
from fangkong.auth.rights import RESULT_POST, SAMPLE_COLLECT
from fangkong.errors import FieldProblem, InvalidFields, Problem
from fangkong.testing.access._reach import lab_in_reach, tube_missing
from fangkong.testing.custody import CustodyOutcome, receive, ship
from fangkong.testing.samples import TubeUnknown
from fangkong.testing.tables import tubes

MAX_TUBES = 5_000  # tubes in one hand-over


def _tubes_in_reach(conn: Connection, actor: Actor, barcodes: Sequence[str]) -> None:
    codes = sorted(set(barcodes))
    found = set(
        conn.execute(
            select(tubes.c.barcode).where(
                tubes.c.barcode.in_(codes), within(actor, tubes.c.region_code)
            )
        ).scalars()
    )
    for b in codes:
        if b not in found:
            raise TubeUnknown(tube_missing(b))


def _handover(
    call: Call, barcodes: Sequence[str], lab_code: str, at: datetime | None, receiving: bool
) -> CustodyOutcome:
    actor = call.actor

    def body(conn: Connection) -> tuple[CustodyOutcome, str]:
        if len(barcodes) > MAX_TUBES:
            raise InvalidFields(
                Problem(
                    "request.invalid", f"一次最多 {MAX_TUBES} 管", f"at most {MAX_TUBES} tubes"
                ),
                [FieldProblem("barcodes", Problem("value.too_long", "太多", "too many"))],
            )
        if receiving:
            call.require(RESULT_POST)
            lab_in_reach(conn, actor, lab_code)
            out = receive(conn, barcodes, lab_code, by=actor.name, at=at)
        else:
            call.require(SAMPLE_COLLECT)
            _tubes_in_reach(conn, actor, barcodes)
            out = ship(conn, barcodes, lab_code, at=at)
        return out, f"{out.changed} changed, {out.already} already"

    action = "testing.receive" if receiving else "testing.ship"
    return call.audited(action, "lab", lab_code, body)


def ship_tubes(
    call: Call, barcodes: Sequence[str], lab_code: str, *, at: datetime | None = None
) -> CustodyOutcome:
    """Tubes leave collection points of the actor's jurisdiction for a lab (转运); ``at``:
    when they left, as the sender says (default: now)."""
    return _handover(call, barcodes, lab_code, at or call.at, receiving=False)


def receive_tubes(
    call: Call, barcodes: Sequence[str], lab_code: str, *, at: datetime | None = None
) -> CustodyOutcome:
    """A lab on the actor's branch of the tree signs for tubes (签收), wherever they came
    from; ``at``: when, as the lab says (default: now)."""
    return _handover(call, barcodes, lab_code, at or call.at, receiving=True)
