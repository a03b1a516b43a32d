"""Arrivals as people and devices reach them: rights, jurisdiction, masking, audit.

    manifest   device of scope checkpoint (arrival.manifest), bound to the arrival point it
               sends for; or a person with arrival.manage whose jurisdiction holds the point
    board      arrival.read; travellers the reader's jurisdiction answers for (or that are
               headed into it); ``check`` runs first, so the board never lags the job
    traveller  arrival.read and answerable (else NotFound, the answer for an absent one);
               the name in full with person.read_full, masked otherwise
    confirm    arrival.confirm, by traveller id (form) or resident ID number (scan)

One audit row per call (ids only, never names or numbers), also when refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from fangkong.arrivals.board import (
    OverdueRow,
    PointBoard,
    TravellerView,
    board,
    overdue_page,
    traveller,
)
from fangkong.arrivals.loop import TravellerUnknown, advance, check
from fangkong.arrivals.manifests import ManifestHeader, ManifestOutcome, import_manifest
from fangkong.arrivals.rules import ArrivalRules
from fangkong.arrivals.tables import travellers
from fangkong.auth.guard import Call, inside, names
from fangkong.auth.jurisdiction import subtree
from fangkong.auth.model import Actor, forbidden
from fangkong.auth.rights import ARRIVAL_CONFIRM, ARRIVAL_MANAGE, ARRIVAL_MANIFEST, ARRIVAL_READ
from fangkong.errors import Forbidden, Problem
from fangkong.healthcode.codes import person_by_id_number
from fangkong.healthcode.context import CodeContext
from fangkong.store.listing import Bounded
from fangkong.store.schema import venues


def _answerable(conn: Connection, actor: Actor, tid: int) -> Any:
    """The traveller, if the actor's jurisdiction answers for them or is their destination;
    else the NotFound of an absent one (audited as ``not_found`` either way)."""
    row = conn.execute(select(travellers).where(travellers.c.id == tid)).first()
    missing = TravellerUnknown(
        Problem("arrivals.traveller_unknown", f"无此旅客 {tid}", f"no traveller {tid}")
    )
    if row is None:
        raise missing
    if not any(
        inside(conn, actor, code) for code in (row.responsible_region, row.destination_region)
    ):
        raise missing
    return row


def submit_manifest(
    call: Call,
    codes: CodeContext,
    header: ManifestHeader,
    rows: Sequence[Mapping[str, Any]],
) -> ManifestOutcome:
    actor = call.actor

    def body() -> ManifestOutcome:
        if actor.kind == "device":
            call.require(ARRIVAL_MANIFEST)
            if actor.venue_code != header.point_code:
                raise Forbidden(
                    Problem(
                        "arrivals.point_forbidden",
                        "此设备令牌不属于该卡口",
                        "this device token belongs to another arrival point",
                    )
                )
        else:
            call.require(ARRIVAL_MANAGE)
            with call.engine.connect() as conn:
                region = conn.execute(
                    select(venues.c.region_code).where(venues.c.code == header.point_code)
                ).scalar()
                allowed = inside(conn, actor, region)
            if not allowed:
                raise forbidden(ARRIVAL_MANAGE)
        return import_manifest(
            call.engine,
            header,
            rows,
            ArrivalRules.from_pack(codes.pack),
            sealer=codes.sealer,
            codes=codes,
            by=actor.name,
            via="api",
            source=f"manifest {header.ref}",
            tz=codes.tz,
        )

    return call.audited_after("arrival.manifest", "traveller", header.ref[:80], body)


@dataclass(frozen=True)
class BoardView:
    points: list[PointBoard]
    names: dict[int, str]  # person id → name (masked by rights)
    at: datetime
    overdue: list[tuple[str, OverdueRow]] = field(default_factory=list)  # one page: (point, row)
    overdue_total: int = 0


def read_board(
    call: Call, rules: ArrivalRules, bounded: Bounded | None = None, *,
    point: str | None = None,
) -> BoardView:  # fmt: skip
    """The board of the points the actor's jurisdiction answers for, as of ``call.now()``
    (overdue travellers are checked first, so the board never lags the job). With
    ``bounded``: the points' counts and one page of the overdue travellers (of ``point``,
    or all) instead of every point's whole list."""
    actor, at = call.actor, call.now()

    def body() -> BoardView:
        call.require(ARRIVAL_READ)
        check(call.engine, rules, at=at)
        with call.engine.connect() as conn:
            scope = None if actor.region_code is None else subtree(actor.region_code)
            points = board(conn, regions=scope, at=at, with_overdue=bounded is None)
            late, total = ([], 0) if bounded is None else overdue_page(
                conn, bounded, regions=scope, at=at, point=point)  # fmt: skip
            ids = [o.person_id for p in points for o in p.overdue] + [o.person_id for _, o in late]
            name = names(conn, actor, ids)
        return BoardView(points, name, at, late, total)

    return call.audited_after("arrival.board", "traveller", None, body)


def read_traveller(call: Call, tid: int) -> tuple[TravellerView, str]:
    """One traveller's closed loop and name (masked by rights), if answerable."""

    def body() -> tuple[TravellerView, str]:
        call.require(ARRIVAL_READ)
        with call.engine.connect() as conn:
            _answerable(conn, call.actor, tid)
            view = traveller(conn, tid, at=call.now())
            assert view is not None  # noqa: S101 - answerable above
            return view, names(conn, call.actor, [view.person_id])[view.person_id]

    return call.audited_after("arrival.read", "traveller", str(tid), body)


def confirm_stage(
    call: Call,
    codes: CodeContext,
    stage: str,
    *,
    traveller_id: int | None = None,
    id_number: str | None = None,
    via: str = "form",
) -> tuple[int, str]:
    """Confirm ``stage`` for a traveller given by id (form) or resident ID number (scan);
    returns (traveller id, stage now)."""
    rules = ArrivalRules.from_pack(codes.pack)
    target = str(traveller_id) if traveller_id is not None else None

    def body() -> tuple[int, str]:
        call.require(ARRIVAL_CONFIRM)
        tid = traveller_id
        with call.engine.connect() as conn:
            if tid is None:
                person = person_by_id_number(conn, codes.sealer, id_number or "", call.today())
                tid = (
                    conn.execute(
                        select(travellers.c.id)
                        .where(travellers.c.person_id == person, travellers.c.stage != "released")
                        .order_by(travellers.c.id.desc())
                    ).scalar()
                    if person is not None
                    else None
                )
                if tid is None:
                    raise TravellerUnknown(
                        Problem(
                            "arrivals.traveller_unknown",
                            "此证件无在途旅客",
                            "no traveller in the loop holds this ID",
                        )
                    )
            _answerable(conn, call.actor, tid)
        return tid, advance(call.engine, rules, tid, stage, by=call.actor.name, via=via)

    return call.audited_after(f"arrival.{via}", "traveller", target, body)
