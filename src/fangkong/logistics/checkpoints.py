"""The checkpoint registry (卡口): add one (idempotent: the same code with the same values
is found, with other values a conflict), get one by code or by the venue a device's token
is bound to, list them one page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select

from fangkong.errors import Conflict, FieldProblem, InvalidFields, NotFound
from fangkong.logistics.crossing_input import CODE, _p
from fangkong.logistics.model import CHECKPOINT_KINDS
from fangkong.logistics.tables import checkpoints
from fangkong.store.listing import Bounded, fetch
from fangkong.store.schema import regions, venues


class CheckpointUnknown(NotFound):
    """logistics.checkpoint_unknown: no checkpoint with this code (or for this venue)."""


class CheckpointConflict(Conflict):
    """logistics.checkpoint_conflict: the code or the venue belongs to another checkpoint."""


@dataclass(frozen=True)
class CheckpointIn:
    code: str
    name: str
    kind: str
    region_code: str
    road: str
    latitude: float
    longitude: float
    lanes: int = 1
    venue_code: str | None = None


def add_checkpoint(conn: Connection, cp: CheckpointIn) -> bool:
    """Add a checkpoint (True), or find it already stored as given (False); the same code
    with other values, or a venue another checkpoint holds, is a conflict."""
    bad: list[FieldProblem] = []

    def add(name: str, zh: str, en: str) -> None:
        bad.append(FieldProblem(name, _p("checkpoint_invalid", f"{name}：{zh}", f"{name}: {en}")))

    if not CODE.fullmatch(cp.code or ""):
        add("code", "应为 1–40 位字母、数字、- 或 _", "must be 1–40 letters, digits, - or _")
    if not cp.name or not cp.name.strip() or len(cp.name) > 100:
        add("name", "应为 1–100 个字符", "must be 1–100 characters")
    if cp.kind not in CHECKPOINT_KINDS:
        add("kind", f"应为 {'、'.join(CHECKPOINT_KINDS)} 之一",
            f"must be one of {', '.join(CHECKPOINT_KINDS)}")  # fmt: skip
    if not cp.road or not cp.road.strip() or len(cp.road) > 60:
        add("road", "应为 1–60 个字符", "must be 1–60 characters")
    if not (-90 <= cp.latitude <= 90 and -180 <= cp.longitude <= 180):
        add("latitude", "经纬度超出范围", "latitude or longitude out of range")
    if not 1 <= cp.lanes <= 64:
        add("lanes", "应为 1–64", "must be 1–64")
    known = conn.execute(select(regions.c.code).where(regions.c.code == cp.region_code)).first()
    if known is None:
        add(
            "region_code",
            f"区划 {cp.region_code!r} 不存在",
            f"region {cp.region_code!r} is unknown",
        )
    if cp.venue_code is not None:
        venue = conn.execute(select(venues.c.code).where(venues.c.code == cp.venue_code)).first()
        if venue is None:
            add(
                "venue_code",
                f"场所 {cp.venue_code!r} 不存在",
                f"venue {cp.venue_code!r} is unknown",
            )
    if bad:
        raise InvalidFields(
            _p(
                "checkpoint_invalid",
                "卡口未保存：" + "；".join(f.problem.message_zh for f in bad),
                "checkpoint not saved: " + "; ".join(f.problem.message_en for f in bad),
            ),
            bad,
        )
    values = {
        "code": cp.code,
        "name": cp.name.strip(),
        "kind": cp.kind,
        "region_code": cp.region_code,
        "road": cp.road.strip(),
        "latitude": float(cp.latitude),
        "longitude": float(cp.longitude),
        "venue_code": cp.venue_code,
        "lanes": cp.lanes,
    }
    old = conn.execute(select(checkpoints).where(checkpoints.c.code == cp.code)).first()
    if old is not None:
        if {k: getattr(old, k) for k in values} != values:
            raise CheckpointConflict(
                _p(
                    "checkpoint_conflict",
                    f"卡口 {cp.code} 已存在，内容不同",
                    f"checkpoint {cp.code} exists with other values",
                )
            )
        return False
    if cp.venue_code is not None:
        holder = conn.execute(
            select(checkpoints.c.code).where(checkpoints.c.venue_code == cp.venue_code)
        ).scalar()
        if holder is not None:
            raise CheckpointConflict(
                _p(
                    "checkpoint_conflict",
                    f"场所 {cp.venue_code} 已属于卡口 {holder}",
                    f"venue {cp.venue_code} already belongs to checkpoint {holder}",
                )
            )
    conn.execute(checkpoints.insert().values(**values))
    return True


_CHECKPOINT = select(checkpoints).where(checkpoints.c.code == bindparam("code"))
_BY_VENUE = select(checkpoints).where(checkpoints.c.venue_code == bindparam("venue"))


def get_checkpoint(conn: Connection, code: str) -> Row[Any]:
    row = conn.execute(_CHECKPOINT, {"code": code}).first()
    if row is None:
        raise CheckpointUnknown(
            _p("checkpoint_unknown", f"无此卡口 {code!r}", f"no checkpoint {code!r}")
        )
    return row


def checkpoint_of_venue(conn: Connection, venue_code: str | None) -> Row[Any]:
    """The checkpoint a device's venue belongs to."""
    row = conn.execute(_BY_VENUE, {"venue": venue_code}).first() if venue_code else None
    if row is None:
        raise CheckpointUnknown(
            _p(
                "checkpoint_unknown",
                f"场所 {venue_code!r} 不属于任何卡口",
                f"venue {venue_code!r} belongs to no checkpoint",
            )
        )
    return row


CHECKPOINT_SORTS = {
    "code": checkpoints.c.code,
    "name": checkpoints.c.name,
    "kind": checkpoints.c.kind,
    "road": checkpoints.c.road,
    "region": checkpoints.c.region_code,
}


def list_checkpoints(
    conn: Connection, *, regions_in: Any = None, bounded: Bounded | None = None
) -> tuple[list[Row[Any]], int]:
    """Checkpoints (inside ``regions_in``, a subquery of region codes, when given)."""
    query = select(checkpoints)
    if regions_in is not None:
        query = query.where(checkpoints.c.region_code.in_(regions_in))
    return fetch(conn, query, bounded, CHECKPOINT_SORTS, [checkpoints.c.code])
