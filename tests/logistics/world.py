"""The logistics world on the twin's province: the arrivals world (a high-risk compound in
county A, teams, vehicles, a lab) and a road checkpoint on a checkpoint venue of county A;
crossings with valid synthetic resident IDs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from fangkong.logistics.crossings import (
    CheckpointIn,
    CrossingIn,
    CrossingOut,
    PersonIn,
    add_checkpoint,
    record_crossing,
)
from fangkong.logistics.rules import LogisticsRules
from fangkong.store.schema import regions, venues
from tests.arrivals.world import COUNTY_A, COUNTY_B, T0, World, make_world, resident_id

CHECKPOINT = "CK-G5-01"


@dataclass(frozen=True)
class LWorld:
    w: World
    rules: LogisticsRules
    venue: str
    region: str


def checkpoint_venue(engine: Engine) -> tuple[str, str]:
    """A checkpoint venue of the twin in county A (its code and region)."""
    with engine.connect() as conn:
        county = {
            r.code
            for r in conn.execute(select(regions.c.code).where(regions.c.parent_code == COUNTY_A))
        } | {COUNTY_A}
        for v in conn.execute(
            select(venues.c.code, venues.c.region_code)
            .where(venues.c.type == "checkpoint")
            .order_by(venues.c.code)
        ):
            if v.region_code in county:
                return str(v.code), str(v.region_code)
        v = conn.execute(
            select(venues.c.code, venues.c.region_code)
            .where(venues.c.type == "checkpoint")
            .order_by(venues.c.code)
        ).first()
        assert v is not None
        return str(v.code), str(v.region_code)


def make_lworld(engine: Engine, pack_name: str = "protocol-9") -> LWorld:
    w = make_world(engine, pack_name)
    venue, region = checkpoint_venue(engine)
    with engine.begin() as conn:
        add_checkpoint(
            conn,
            CheckpointIn(CHECKPOINT, "G5 京昆高速太原西收费站", "toll_station", region,
                         "G5 京昆高速", 37.8, 112.5, lanes=4, venue_code=venue),
        )  # fmt: skip
    return LWorld(w, LogisticsRules.from_pack(w.codes.pack), venue, region)


def person(seq: int, role: str = "driver", **over: Any) -> PersonIn:
    p = PersonIn(
        role=role,
        id_type="resident_id",
        id_number=resident_id("130102", date(1980, 1, 1 + seq % 27), seq),
        name=f"司机{seq}",
    )
    return replace(p, **over)


def crossing(ref: str = "r1", people: list[PersonIn] | None = None, **over: Any) -> CrossingIn:
    c = CrossingIn(
        checkpoint_code=CHECKPOINT,
        ref=ref,
        at=T0,
        direction="in",
        plate="冀A12345",
        vehicle_kind="lorry",
        cargo_class="key_supplies",
        origin_region="130102",  # 石家庄 (another province: outside the registry)
        destination_region=COUNTY_B,
        history=["130102"],
        people=people or [person(1)],
    )
    return replace(c, **over)


def record(lw: LWorld, c: CrossingIn, *, at: datetime | None = None, **kw: Any) -> CrossingOut:
    with lw.w.engine.begin() as conn:
        return record_crossing(
            conn,
            c,
            at=at or T0 + timedelta(minutes=5),
            actor="test-desk",
            via=kw.pop("via", "api"),
            rules=kw.pop("rules", lw.rules),
            sealer=lw.w.sealer,
            codes=lw.w.codes,
            **kw,
        )


__all__ = ["COUNTY_A", "COUNTY_B", "T0"]


def issue_pass(lw: LWorld, keys: Any, drivers: list[PersonIn], plate: str = "冀A12345") -> str:
    """A key-freight pass for ``plate`` and ``drivers`` (county B → county A, a week from
    T0 − 1 h), issued through passes' own service; its QR token signed with ``keys``."""
    from fangkong.passes.rules import PassRules
    from fangkong.passes.service import DriverIn, PassRequest, issue
    from fangkong.passes.token import issue_token

    at = T0 - timedelta(hours=1)
    req = PassRequest(
        plate=plate,
        vehicle_kind="lorry",
        cargo_class="key_supplies",
        origin_region=COUNTY_B,
        destination_region=COUNTY_A,
        valid_from=at,
        valid_until=at + timedelta(days=7),
        region_code="140000",
        drivers=tuple(DriverIn(d.id_number, d.name, T0 - timedelta(hours=20)) for d in drivers),
    )
    with lw.w.engine.begin() as conn:
        got = issue(conn, req, at=at, by="test", rules=PassRules.from_pack(lw.w.codes.pack),
                    sealer=lw.w.sealer, tz=lw.w.codes.tz)  # fmt: skip
    return issue_token(keys, got.serial, got.revision)


def verifier(lw: LWorld, keys: Any) -> Any:
    """passes' check_pass with the test's pass keys and the world's pack."""
    import functools

    from fangkong.passes.rules import PassRules
    from fangkong.passes.verify import check_pass

    return functools.partial(
        check_pass, keys=keys, rules=PassRules.from_pack(lw.w.codes.pack), tz=lw.w.codes.tz
    )
