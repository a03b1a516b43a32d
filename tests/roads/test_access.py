"""The guarded road-status use cases on both backends: rights, jurisdiction (a checkpoint
outside answers as absent), a file all or nothing, one audit row per call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from fangkong.auth.guard import Call
from fangkong.auth.model import Actor
from fangkong.auth.rights import ROAD_READ, ROAD_REPORT
from fangkong.errors import BadInput, Forbidden, NotFound
from fangkong.policy import load_pack
from fangkong.roads import access
from fangkong.roads.rules import RoadRules
from fangkong.roads.status import ReportIn
from fangkong.roads.tables import road_reports
from fangkong.store.schema import audit_log
from tests.roads.world import add_checkpoint, add_regions

KEY = b"k" * 32
AT = datetime(2022, 4, 12, 2, 0, tzinfo=UTC)


@pytest.fixture
def world(engine: Engine) -> Engine:
    with engine.begin() as conn:
        add_regions(conn)
        add_checkpoint(conn, "CP1", "140101001")
        add_checkpoint(conn, "CP2", "140201")
    return engine


def _call(engine: Engine, region: str | None, *rights: str) -> Call:
    actor = Actor(kind="user", name="u", rights=frozenset(rights), region_code=region)
    return Call(engine, KEY, actor, address="test", at=AT)


def _audit(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.outcome)
                            .order_by(audit_log.c.seq)).all()  # fmt: skip
    return [(str(a), str(o)) for a, o in rows]


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(road_reports)).scalar_one())


def test_rights_and_jurisdiction(world: Engine) -> None:
    county = _call(world, "140101", ROAD_READ, ROAD_REPORT)
    rows, total = access.read_road_status(county)
    assert (total, [r.code for r in rows], rows[0].state) == (1, ["CP1"], "no_data")
    with pytest.raises(Forbidden):
        access.read_road_status(_call(world, "14", ROAD_REPORT))
    access.report_road(county, ReportIn("CP1", "a", AT, 3, None, 2, "open"), via="form")
    with pytest.raises(NotFound):  # outside: as absent
        access.report_road(county, ReportIn("CP2", "a", AT, 3, None, 2, "open"), via="form")
    with pytest.raises(Forbidden):
        access.report_road(_call(world, "14", ROAD_READ),
                           ReportIn("CP1", "b", AT, 3, None, 2, "open"), via="form")  # fmt: skip
    assert _audit(world) == [("roads.report", "ok"),
                             ("roads.report", "out_of_jurisdiction"),
                             ("roads.report", "forbidden")]  # fmt: skip
    province = _call(world, "14", ROAD_READ, ROAD_REPORT)
    states = access.refresh_roads(province, RoadRules.from_pack(load_pack("protocol-9")))
    assert {s.checkpoint_code: s.state for s in states} == {"CP1": "normal", "CP2": "no_data"}
    assert access.read_road_status(province, state="no_data")[1] == 1


def test_a_file_is_stored_all_or_none(world: Engine) -> None:
    province = _call(world, "14", ROAD_REPORT)
    good = ReportIn("CP1", "f1", AT, 3, None, 2, "open")
    bad = ReportIn("CP2", "f2", AT, 3, None, 99, "open")  # more lanes than it has
    with pytest.raises(BadInput) as err:
        access.report_file(province, [good, bad])
    assert err.value.problem.message_en.startswith("row 3:")
    assert _count(world) == 0
    assert [o.created for o in access.report_file(province, [good])] == [True]
    assert _count(world) == 1
