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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from fangkong import clock
from fangkong.arrivals.board import PointBoard, TravellerView, board, traveller
from fangkong.arrivals.loop import TravellerUnknown, advance, check
from fangkong.arrivals.manifests import ManifestHeader, ManifestOutcome, import_manifest
from fangkong.arrivals.rules import ArrivalRules
from fangkong.arrivals.tables import travellers
from fangkong.audit.calls import audited_after
from fangkong.auth.jurisdiction import in_subtree, subtree
from fangkong.auth.model import Actor, forbidden
from fangkong.auth.rights import (
    ARRIVAL_CONFIRM,
    ARRIVAL_MANAGE,
    ARRIVAL_MANIFEST,
    ARRIVAL_READ,
    PERSON_READ_FULL,
)
from fangkong.errors import Forbidden, Problem
from fangkong.healthcode.codes import person_by_id_number
from fangkong.healthcode.context import CodeContext
from fangkong.identity.masking import mask_name
from fangkong.store.schema import persons, venues


def _answerable(conn: Connection, actor: Actor, tid: int) -> Any:
    row = conn.execute(select(travellers).where(travellers.c.id == tid)).first()
    missing = TravellerUnknown(
        Problem("arrivals.traveller_unknown", f"无此旅客 {tid}", f"no traveller {tid}")
    )
    if row is None:
        raise missing
    if actor.region_code is not None and not any(
        in_subtree(conn, actor.region_code, code)
        for code in (row.responsible_region, row.destination_region)
    ):
        raise missing
    return row


def submit_manifest(
    engine: Engine,
    key: bytes,
    actor: Actor,
    codes: CodeContext,
    header: ManifestHeader,
    rows: Sequence[Mapping[str, Any]],
    address: str,
) -> ManifestOutcome:
    def body() -> ManifestOutcome:
        if actor.kind == "device":
            actor.require(ARRIVAL_MANIFEST)
            if actor.venue_code != header.point_code:
                raise Forbidden(
                    Problem(
                        "arrivals.point_forbidden",
                        "此设备令牌不属于该卡口",
                        "this device token belongs to another arrival point",
                    )
                )
        else:
            actor.require(ARRIVAL_MANAGE)
            with engine.connect() as conn:
                region = conn.execute(
                    select(venues.c.region_code).where(venues.c.code == header.point_code)
                ).scalar()
                inside = actor.region_code is None or (
                    region is not None and in_subtree(conn, actor.region_code, region)
                )
            if not inside:
                raise forbidden(ARRIVAL_MANAGE)
        return import_manifest(
            engine,
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

    return audited_after(
        engine, key, actor, address, "arrival.manifest", "traveller", header.ref[:80], body
    )


@dataclass(frozen=True)
class BoardView:
    points: list[PointBoard]
    names: dict[int, str]  # person id → name (masked by rights)
    at: datetime


def board_view(
    engine: Engine,
    key: bytes,
    actor: Actor,
    rules: ArrivalRules,
    address: str,
    *,
    at: datetime | None = None,
) -> BoardView:
    at = at or clock.now()

    def body() -> BoardView:
        actor.require(ARRIVAL_READ)
        check(engine, rules, at=at)
        with engine.connect() as conn:
            scope = None if actor.region_code is None else subtree(actor.region_code)
            points = board(conn, regions=scope, at=at)
            ids = [o.person_id for p in points for o in p.overdue]
            names = _names(conn, actor, ids)
        return BoardView(points, names, at)

    return audited_after(engine, key, actor, address, "arrival.board", "traveller", None, body)


def _names(conn: Connection, actor: Actor, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    full = actor.can(PERSON_READ_FULL)
    rows = conn.execute(select(persons.c.id, persons.c.name).where(persons.c.id.in_(list(ids))))
    return {int(i): n if full else mask_name(n) for i, n in rows}


def traveller_view(
    engine: Engine, key: bytes, actor: Actor, tid: int, address: str
) -> tuple[TravellerView, str]:
    def body() -> tuple[TravellerView, str]:
        actor.require(ARRIVAL_READ)
        with engine.connect() as conn:
            _answerable(conn, actor, tid)
            view = traveller(conn, tid)
            assert view is not None  # noqa: S101 - answerable above
            return view, _names(conn, actor, [view.person_id])[view.person_id]

    return audited_after(engine, key, actor, address, "arrival.read", "traveller", str(tid), body)


def confirm_stage(
    engine: Engine,
    key: bytes,
    actor: Actor,
    codes: CodeContext,
    stage: str,
    address: str,
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
        actor.require(ARRIVAL_CONFIRM)
        tid = traveller_id
        with engine.connect() as conn:
            if tid is None:
                person = person_by_id_number(
                    conn, codes.sealer, id_number or "", clock.now().astimezone(codes.tz).date()
                )
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
            _answerable(conn, actor, tid)
        return tid, advance(engine, rules, tid, stage, by=actor.name, via=via)

    return audited_after(engine, key, actor, address, f"arrival.{via}", "traveller", target, body)
