"""Road status on both backends: reports stored once, refresh (states, snapshot), one open
alert per condition with its command task to the county, cleared when it ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from fangkong.command.tables import command_tasks
from fangkong.command.tasks import escalate_overdue
from fangkong.errors import BadInput
from fangkong.policy import load_pack
from fangkong.roads.rules import RoadRules
from fangkong.roads.status import (
    CheckpointUnknown,
    ReportIn,
    compute,
    read_status,
    record_report,
    refresh,
)
from fangkong.roads.tables import road_alerts, road_reports
from tests.roads.world import add_checkpoint, add_crossings, add_regions, spread

RULES = RoadRules.from_pack(load_pack("protocol-9"))
AT = datetime(2022, 4, 12, 2, 0, tzinfo=UTC)


@pytest.fixture
def world(engine: Engine) -> Engine:
    with engine.begin() as conn:
        add_regions(conn)
        add_checkpoint(conn, "CP1")
        add_checkpoint(conn, "CP2", "140201", lat=36.1, lon=113.1)
    return engine


def rep(code: str = "CP1", ref: str = "r1", *, at: datetime = AT, waiting: int = 0,
        status: str = "open", lanes: int = 4, **kw: object) -> ReportIn:  # fmt: skip
    return ReportIn(
        code,
        ref,
        at,
        waiting,
        kw.pop("wait", None),
        lanes,
        status,  # type: ignore[arg-type]
        **kw,
    )  # type: ignore[arg-type]


def test_a_report_is_stored_once_per_ref(world: Engine) -> None:
    with world.begin() as conn:
        first = record_report(conn, rep(waiting=12), at=AT, by="device:1", via="api")
        again = record_report(conn, rep(waiting=99), at=AT, by="device:1", via="api")
        assert first.created
        assert not again.created
        assert first.id == again.id
        stored = conn.execute(select(road_reports.c.vehicles_waiting)).scalars().all()
    assert stored == [12]


@pytest.mark.parametrize(
    ("report", "code"),
    [
        (rep(waiting=-1), "value.out_of_range"),
        (rep(lanes=5), "value.out_of_range"),
        (rep(status="jammed"), "roads.status"),
        (rep(status="closed", lanes=2), "roads.closed_lanes"),
        (rep(at=AT + timedelta(hours=2)), "value.date_too_late"),
        (rep(authority_level="mayor"), "roads.authority_level"),
        (rep(ref="a\nb"), "value.text_control"),
    ],
)
def test_bad_reports_are_refused_in_both_languages(world: Engine, report: ReportIn,
                                                   code: str) -> None:  # fmt: skip
    with world.begin() as conn, pytest.raises(BadInput) as err:
        record_report(conn, report, at=AT, by="t", via="api")
    assert err.value.problem.code == code
    assert err.value.problem.message_zh
    assert err.value.problem.message_en
    with world.connect() as conn:
        assert conn.execute(select(func.count()).select_from(road_reports)).scalar() == 0


def test_unknown_checkpoint(world: Engine) -> None:
    with world.begin() as conn, pytest.raises(CheckpointUnknown):
        record_report(conn, rep("NOPE"), at=AT, by="t", via="api")


def test_refresh_counts_the_window_and_stores_the_snapshot(world: Engine) -> None:
    with world.begin() as conn:
        add_crossings(conn, "CP1", spread(AT, 30, 59), [5] * 30)
        add_crossings(conn, "CP1", [AT - timedelta(minutes=90)], [500])  # outside the window
        add_crossings(conn, "CP1", [AT + timedelta(minutes=1)], [500])  # after `at`
        record_report(conn, rep(waiting=40, at=AT - timedelta(minutes=10)), at=AT, by="t",
                      via="api")  # fmt: skip
        states = {s.checkpoint_code: s for s in refresh(conn, at=AT, rules=RULES)}
        stored = read_status(conn)
    assert states["CP1"].crossings == 30
    assert states["CP1"].throughput_hour == 30
    assert (states["CP1"].state, states["CP1"].wait_minutes, states["CP1"].waiting) == (
        "normal",
        5,
        40,
    )
    assert states["CP2"].state == "no_data"
    assert stored["CP1"]["state"] == "normal"
    assert stored["CP1"]["crossings"] == 30
    assert set(stored) == {"CP1", "CP2"}


def _tasks(engine: Engine) -> list[tuple[str, str, str, str]]:
    t = command_tasks.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            select(t.kind, t.region_code, t.status, t.params["condition"].as_string())
            .order_by(t.id))]  # fmt: skip


def test_a_queue_raises_one_alert_and_task_until_it_clears(world: Engine) -> None:
    over = RULES.queue_limit_vehicles + 50
    with world.begin() as conn:
        record_report(conn, rep(waiting=over, at=AT), at=AT, by="t", via="api")
        refresh(conn, at=AT, rules=RULES)
        refresh(conn, at=AT + timedelta(minutes=5), rules=RULES)  # the same condition
    assert _tasks(world) == [("road_alert", "140101", "open", "queue")]  # the county
    with world.connect() as conn:
        alerts = conn.execute(select(road_alerts)).all()
    assert len(alerts) == 1
    assert alerts[0].open_key == "CP1|queue"
    assert alerts[0].observed == over
    # overdue: escalates like any task
    late = AT + timedelta(hours=RULES.task_hours["queue"] + 3)
    moved = escalate_overdue(world, RULES.command, at=late)  # type: ignore[arg-type]
    assert [(m.from_region, m.to_region) for m in moved] == [("140101", "1401")]
    with world.begin() as conn:
        record_report(conn, rep(ref="r2", waiting=3, at=late), at=late, by="t", via="api")
        refresh(conn, at=late, rules=RULES)
    assert _tasks(world) == [("road_alert", "1401", "done", "queue")]
    with world.connect() as conn:
        alert = conn.execute(select(road_alerts)).one()
    assert alert.open_key is None
    assert alert.cleared_at == late
    # a later episode is a new alert and a new task
    again = late + timedelta(hours=1)
    with world.begin() as conn:
        record_report(conn, rep(ref="r3", waiting=over, at=again), at=again, by="t", via="api")
        refresh(conn, at=again, rules=RULES)
    assert [x[2] for x in _tasks(world)] == ["done", "open"]


def test_a_closure_without_authority_raises_an_alert(world: Engine) -> None:
    with world.begin() as conn:
        record_report(conn, rep("CP2", status="closed", lanes=0, reason="本地疫情"), at=AT,
                      by="t", via="form")  # fmt: skip
        record_report(conn, rep("CP1", status="closed", lanes=0, authority_level="province",
                                authority="省联防联控机制〔2022〕7号"), at=AT, by="t",
                      via="form")  # fmt: skip
        states = {s.checkpoint_code: s.state for s in refresh(conn, at=AT, rules=RULES)}
    assert states == {"CP1": "closed_authorised", "CP2": "closed_unauthorised"}
    assert _tasks(world) == [("road_alert", "140201", "open", "closure_unauthorised")]


def test_a_long_wait_measured_by_crossings_raises_the_wait_alert(world: Engine) -> None:
    slow = RULES.wait_limit_minutes + 30
    with world.begin() as conn:
        add_crossings(conn, "CP2", spread(AT, 20, 50), [slow] * 20)
        states = {s.checkpoint_code: s for s in compute(conn, at=AT, rules=RULES)}
        refresh(conn, at=AT, rules=RULES)
    assert states["CP2"].conditions == ("wait",)
    assert _tasks(world) == [("road_alert", "140201", "open", "wait")]
