"""A small road world for the tests and the benchmark: a region tree, checkpoints with
their coordinates, crossings written straight into logistics' tables (their owner's
services are tested in tests/logistics)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import count

from sqlalchemy import Connection, insert

from fangkong.logistics.tables import checkpoints, crossings
from fangkong.store.schema import regions
from tests.command.conftest import TREE  # province → city → county → township

_refs = count(1)


def add_regions(conn: Connection) -> None:
    conn.execute(insert(regions), [
        {"code": c, "parent_code": p, "level": lv, "name": n} for c, p, lv, n in TREE
    ])  # fmt: skip


def add_checkpoint(conn: Connection, code: str, region: str = "140101001", *,
                   name: str | None = None, lat: float = 37.8, lon: float = 112.5,
                   kind: str = "toll_station", lanes: int = 4) -> None:  # fmt: skip
    conn.execute(insert(checkpoints).values(
        code=code, name=name or f"{code} 收费站", kind=kind, region_code=region,
        road="G5 京昆高速", latitude=lat, longitude=lon, venue_code=None, lanes=lanes,
    ))  # fmt: skip


def add_crossings(conn: Connection, code: str, times: Sequence[datetime],
                  waited: Sequence[int | None] | None = None) -> None:  # fmt: skip
    rows = []
    for i, at in enumerate(times):
        rows.append({
            "checkpoint_code": code, "ref": f"x{next(_refs)}", "at": at, "direction": "in",
            "plate": "晋A12345", "vehicle_kind": "lorry", "cargo_class": "key_supplies",
            "origin_region": "140101", "destination_region": "140201", "history": [],
            "pass_serial": None, "pass_verdict": "none", "outcome": "passed",
            "waited_minutes": None if waited is None else waited[i],
            "recorded_at": at, "recorded_by": "test", "via": "api",
        })  # fmt: skip
    if rows:
        conn.execute(insert(crossings), rows)


def spread(at: datetime, n: int, minutes: float) -> list[datetime]:
    """``n`` instants evenly over the ``minutes`` before ``at`` (the last at ``at``)."""
    return [at - timedelta(minutes=minutes * i / max(n, 1)) for i in range(n)]
