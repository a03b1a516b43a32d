"""The raising job: each source raises exactly one task (and a rerun nothing), condition
tasks close when the condition clears, a resolved source closes its task in its own
service's transaction; migration 0019 copies the old deadlines onto tasks."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, Engine, func, select

from fangkong import clock
from fangkong.alerts import service as alert_service
from fangkong.alerts.tables import alerts
from fangkong.arrivals.loop import enter_stage
from fangkong.arrivals.rules import ArrivalRules
from fangkong.arrivals.tables import alerts as loop_alerts
from fangkong.arrivals.tables import manifests, travellers
from fangkong.command.raising import RaiseOutcome, RaisingRules, raise_tasks
from fangkong.command.tables import command_task_changes, command_tasks
from fangkong.demo.loop import ProvinceLoop
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.quarantine.tables import quarantine_placements
from fangkong.registry.service import ImportOptions, import_file
from fangkong.riskareas.needs import set_need_status
from fangkong.riskareas.tables import risk_area_needs, risk_areas
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from fangkong.store.schema import persons, regions, venues
from fangkong.testing.tables import batches, results, tubes
from fangkong.tracing.tables import tracing_contacts
from fangkong.twin.registry import AS_OF, generate_registry, write_registry
from fangkong.twin.scenario import default_scenario, with_overrides
from tests.command.conftest import T0, TREE, TZ
from tests.conftest import TEST_SEAL_KEY

H = timedelta(hours=1)
LOOP_DAYS = 8
KINDS = ("alert", "closed_loop_overdue", "area_need", "awaiting_placement", "late_tubes",
         "lifting_due", "capacity_shortage")  # fmt: skip


_SERIAL = itertools.count()


def _fill(table: sa.Table, given: dict[str, Any]) -> dict[str, Any]:
    """The row with every NOT NULL column the test does not care about filled in."""
    out = dict(given)
    for col in table.columns:
        if col.name in out or col.nullable or (col.primary_key and col.autoincrement):
            continue
        typ = col.type
        typ = getattr(typ, "impl_instance", typ)  # a TypeDecorator: what it stores
        try:
            kind: type = typ.python_type
        except NotImplementedError:  # JSON
            kind = dict
        width = getattr(typ, "length", None) or 40  # PostgreSQL holds strings to their width
        text = f"x{next(_SERIAL)}"[:width]
        filler: dict[type, Any] = {str: text, int: 1, float: 0.0, bool: False,
                                   bytes: f"b{id(out)}{col.name}".encode(), datetime: T0,
                                   date: T0.date(), dict: {}, list: []}  # fmt: skip
        out[col.name] = filler.get(kind, "x")
    return out


def _insert(conn: Connection, table: sa.Table, **given: Any) -> int:
    key = conn.execute(table.insert().values(**_fill(table, given))).inserted_primary_key
    return int(key[0]) if key and isinstance(key[0], int) else 0


def _person(conn: Connection, home: str) -> int:
    return _insert(conn, persons, sex="F", residence_code=home, household_code=None,
                   venue_code=None, created_at=T0, updated_at=T0)  # fmt: skip


def _sources(conn: Connection) -> dict[str, int]:
    """One of each source, in county 140101 (the township 140101001)."""
    home = "140101001"
    alert = _insert(conn, alerts, kind="trigger", severity="high", status="raised",
                    region_code="140101", escalated_to=None, escalations=0, raised_at=T0,
                    verify_due=T0 + 2 * H, investigate_due=T0 + 24 * H, verified_at=None,
                    investigated_at=None, closed_at=None, escalated_at=None)  # fmt: skip
    _insert(conn, venues, code="PORT1", region_code=home, created_at=T0, updated_at=T0)
    manifest = _insert(conn, manifests, mode="flight", point_code="PORT1")
    traveller = _insert(
        conn, travellers, manifest_id=manifest, person_id=_person(conn, home),
        point_code="PORT1", destination_region=home, responsible_region="140101",
        stage="registered", stage_since=T0 - 10 * H, due_at=T0 - 4 * H, landing_test=True,
        transfer=True, placement_id=None, trip_id=None, history=[],
    )  # fmt: skip
    area = _insert(conn, risk_areas, code=home, region_code=home, building=None,
                   granularity="compound", name="甲小区", level="high", origin="designated",
                   since=T0 - 30 * 24 * H)  # fmt: skip
    need = _insert(conn, risk_area_needs, area_id=area, person_id=_person(conn, home),
                   kind="supplies", status="open", due_at=T0 + 12 * H,
                   assigned_to=None)  # fmt: skip
    contact = _insert(conn, tracing_contacts, person_id=_person(conn, home), kind="close",
                      status="identified", last_exposure_at=T0 - 24 * H,
                      identified_at=T0 - 20 * H)  # fmt: skip
    tube = _insert(conn, tubes, pool_size=1, purpose="screening", region_code=home,
                   collected_at=T0 - 30 * H, campaign_id=None, lab_code=None, flag=None,
                   received_at=None)  # fmt: skip
    return {"alert": alert, "traveller": traveller, "area": area, "need": need,
            "contact": contact, "tube": tube}  # fmt: skip


@pytest.fixture
def ctx() -> CodeContext:
    # the raising job reads the pack and the zone only
    return CodeContext(pack=load_pack("protocol-9"), sealer=None, qr=None, tz=TZ)  # type: ignore[arg-type]


@pytest.fixture
def world(tree: Engine) -> Iterator[tuple[Engine, dict[str, int]]]:
    with tree.begin() as conn:
        ids = _sources(conn)
    return tree, ids


def _run(engine: Engine, ctx: CodeContext, at: datetime, **kw: Any) -> RaiseOutcome:
    with engine.begin() as conn:
        return raise_tasks(conn, RaisingRules.from_context(ctx), at=at, **kw)


def _tasks(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.kind: r for r in conn.execute(select(command_tasks)).all()}


def test_each_source_raises_exactly_one_task(world: Any, ctx: CodeContext) -> None:
    engine, ids = world
    shortage = {"140201": (T0 + 72 * H).date()}
    first = _run(engine, ctx, T0, run_out=shortage)
    assert {k: first.raised[k] for k in KINDS} == dict.fromkeys(KINDS, 1)
    again = _run(engine, ctx, T0 + H, run_out=shortage)
    assert again.total_raised == 0
    assert again.total_closed == 0
    got = _tasks(engine)
    assert set(got) == set(KINDS)
    alert = got["alert"]
    assert (alert.source_id, alert.region_code, alert.role) == (str(ids["alert"]), "140101",
                                                               "epidemiologist")  # fmt: skip
    assert alert.deadline_at == T0 + 2 * H  # the alert's verify_due
    loop = got["closed_loop_overdue"]
    assert (loop.source_id, loop.role) == (f"{ids['traveller']}/registered", "port_officer")
    assert loop.deadline_at == T0 + 2 * H  # protocol-9: closed_loop_overdue 2 h
    assert got["area_need"].deadline_at == T0 + 12 * H  # the need's own due_at
    assert got["area_need"].region_code == "140101001"
    for kind in ("awaiting_placement", "late_tubes"):  # per county, keyed by the first day
        assert got[kind].source_id == "140101/2026-12-01"
        assert got[kind].region_code == "140101"
    assert got["awaiting_placement"].params["persons"] == 1
    assert got["late_tubes"].params == {"tubes": 1, "region": "甲县"}
    assert got["lifting_due"].source_id.startswith(f"{ids['area']}/")
    assert got["capacity_shortage"].source_id == "140201/2026-12-01"
    with engine.connect() as conn:
        changes = conn.execute(select(func.count()).select_from(command_task_changes)).scalar()
    assert changes == len(KINDS)  # one "raised" row each


def test_conditions_close_when_cleared(world: Any, ctx: CodeContext) -> None:
    engine, ids = world
    _run(engine, ctx, T0, run_out={"140201": (T0 + 72 * H).date()})
    with engine.begin() as conn:
        batch = _insert(conn, batches, lab_code=None)
        _insert(conn, results, tube_id=ids["tube"], batch_id=batch, outcome="negative")
        conn.execute(sa.update(tracing_contacts).where(tracing_contacts.c.id == ids["contact"])
                     .values(status="quarantined"))  # fmt: skip
    out = _run(engine, ctx, T0 + H, run_out={})
    for kind in ("awaiting_placement", "late_tubes", "capacity_shortage"):
        assert out.closed[kind] == 1
    got = _tasks(engine)
    for kind in ("awaiting_placement", "late_tubes", "capacity_shortage"):
        assert (got[kind].status, got[kind].closed_by) == ("done", "job:raise")
        assert got[kind].evidence
    assert got["alert"].status == "open"
    # a new episode later is a new task, keyed by its own first day
    with engine.begin() as conn:
        _insert(conn, tubes, pool_size=1, purpose="screening", region_code="140101001",
                collected_at=T0, campaign_id=None, lab_code=None, flag=None,
                received_at=None)  # fmt: skip
    later = _run(engine, ctx, T0 + 48 * H, run_out={})
    assert later.raised["late_tubes"] == 1
    with engine.connect() as conn:
        keys = set(conn.execute(select(command_tasks.c.source_id).where(
            command_tasks.c.kind == "late_tubes")).scalars())  # fmt: skip
    assert keys == {"140101/2026-12-01", "140101/2026-12-03"}


def test_conditions_close_when_the_events_cleared_them(world: Any, ctx: CodeContext) -> None:
    """Closed at the last placement of a person living in the county and the last result of
    a late tube sampled there, not at the job's run a day later; a shortage (seen by the
    forecast run only) and a condition cleared by no stored event close at the run."""
    engine, ids = world
    _run(engine, ctx, T0, run_out={"140201": (T0 + 72 * H).date()})
    with engine.begin() as conn:
        batch = _insert(conn, batches, lab_code=None)
        _insert(conn, results, tube_id=ids["tube"], batch_id=batch, outcome="negative",
                tested_at=T0 + 3 * H)  # fmt: skip
        person = conn.execute(select(tracing_contacts.c.person_id).where(
            tracing_contacts.c.id == ids["contact"])).scalar_one()  # fmt: skip
        _insert(conn, quarantine_placements, person_id=person, kind="centralised",
                risk_group="close_contact", status="active", active=True,
                starts_at=T0 + 2 * H, room_id=None, booking_id=None, facility_id=None,
                region_code=None)  # fmt: skip
        conn.execute(sa.update(tracing_contacts).where(tracing_contacts.c.id == ids["contact"])
                     .values(status="quarantined"))  # fmt: skip
    _run(engine, ctx, T0 + 24 * H, run_out={})
    got = _tasks(engine)
    assert got["awaiting_placement"].closed_at == T0 + 2 * H  # within its 6 h: on time
    assert got["late_tubes"].closed_at == T0 + 3 * H
    assert got["capacity_shortage"].closed_at == T0 + 24 * H
    with engine.connect() as conn:  # the history agrees with the task
        at = dict(conn.execute(
            select(command_tasks.c.kind, command_task_changes.c.at)
            .join(command_tasks, command_tasks.c.id == command_task_changes.c.task_id)
            .where(command_task_changes.c.to_status == "done")).all())  # fmt: skip
    assert at["awaiting_placement"] == T0 + 2 * H


def test_a_clearing_event_before_the_last_change_closes_at_that_change(
    world: Any, ctx: CodeContext
) -> None:
    """Never closed before the task's last change (its history stays in order)."""
    engine, ids = world
    _run(engine, ctx, T0)
    with engine.begin() as conn:
        batch = _insert(conn, batches, lab_code=None)
        _insert(conn, results, tube_id=ids["tube"], batch_id=batch, outcome="negative",
                tested_at=T0 - H)  # recorded late, dated before the task was raised  # fmt: skip
    _run(engine, ctx, T0 + 24 * H)
    assert _tasks(engine)["late_tubes"].closed_at == T0 + 24 * H  # no event after T0: the run


def test_resolved_sources_close_their_tasks(world: Any, ctx: CodeContext) -> None:
    engine, ids = world
    _run(engine, ctx, T0)
    with engine.begin() as conn:  # verified: the task now answers to investigate_due
        alert_service.transition(conn, ids["alert"], "verified", by="u1", note="核实", now=T0 + H)
    _run(engine, ctx, T0 + H)
    assert _tasks(engine)["alert"].deadline_at == T0 + 24 * H
    with engine.begin() as conn:
        alert_service.transition(conn, ids["alert"], "dismissed", by="u1", note="误报",
                                 now=T0 + 2 * H)  # fmt: skip
        rules = ArrivalRules.from_pack(ctx.pack)
        enter_stage(conn, ids["traveller"], "registered", "sampled", rules, at=T0 + 2 * H,
                    by="u2", via="form")  # fmt: skip
    set_need_status(engine, ids["need"], "done", by="u3", now=T0 + 2 * H)
    got = _tasks(engine)
    assert (got["alert"].status, got["alert"].closed_by) == ("cancelled", "u1")
    assert (got["closed_loop_overdue"].status, got["closed_loop_overdue"].closed_by) == (
        "done", "u2")  # fmt: skip
    assert (got["area_need"].status, got["area_need"].closed_by) == ("done", "u3")
    again = _run(engine, ctx, T0 + 3 * H)  # nothing left to close, nothing raised again
    assert again.closed["alert"] == 0
    assert again.raised["alert"] == 0


def test_the_sweep_closes_what_a_service_did_not(world: Any, ctx: CodeContext) -> None:
    """A source resolved outside its service (an import, an old code path) is caught."""
    engine, ids = world
    _run(engine, ctx, T0)
    with engine.begin() as conn:
        conn.execute(sa.update(alerts).where(alerts.c.id == ids["alert"])
                     .values(status="closed", closed_at=T0 + H))  # fmt: skip
        conn.execute(sa.update(risk_area_needs).where(risk_area_needs.c.id == ids["need"])
                     .values(status="cancelled"))  # fmt: skip
        conn.execute(sa.update(travellers).where(travellers.c.id == ids["traveller"])
                     .values(stage="sampled", due_at=T0 + 24 * H))  # fmt: skip
    out = _run(engine, ctx, T0 + H)
    assert (out.closed["alert"], out.closed["area_need"], out.closed["closed_loop_overdue"]) == (
        1, 1, 1)  # fmt: skip
    assert _tasks(engine)["area_need"].status == "cancelled"


# ---- migration 0019 -----------------------------------------------------------------------


def test_migration_copies_alerts_needs_and_loop_alerts(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0018")
    with empty_engine.begin() as conn:
        for code, parent, level, name in TREE:
            conn.execute(regions.insert().values(
                code=code, parent_code=parent, level=level, name=name, created_at=T0,
                updated_at=T0))  # fmt: skip
        ids = _sources(conn)
        common = {"kind": "trigger", "severity": "low", "region_code": "140101",
                      "escalations": 1, "escalated_to": "1401", "escalated_at": T0 + 3 * H,
                      "raised_at": T0, "verify_due": T0 + 2 * H, "investigate_due": T0 + 24 * H,
                      "verified_at": T0 + H, "investigated_at": None}  # fmt: skip
        closed = _insert(conn, alerts, status="closed", closed_at=T0 + 5 * H, **common)
        _insert(conn, risk_area_needs, area_id=ids["area"], person_id=_person(conn, "140101"),
                kind="care", status="done", due_at=T0, status_at=T0 + H, status_by="u9",
                assigned_to=None)  # fmt: skip
        for active, stage, level in ((None, "registered", 1), (True, "sampled", 3)):
            _insert(conn, loop_alerts, traveller_id=ids["traveller"], kind="overdue",
                    stage=stage, region_code="140101", team_code=None, notified=[],
                    level=level, due_at=T0, raised_at=T0, escalated_at=None,
                    resolved_at=None if active else T0 + H, active=active)  # fmt: skip
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)  # harmless twice
    with empty_engine.connect() as conn:
        rows = {(r.kind, r.source_id): r for r in conn.execute(select(command_tasks))}
        changes = conn.execute(select(command_task_changes)).all()
    assert len(rows) == 6
    assert len(changes) == 6
    assert {c.note for c in changes} == {"migrated"}
    old = rows[("alert", str(closed))]
    assert (old.status, old.region_code, old.origin_region_code, old.escalation_level) == (
        "done", "1401", "140101", 1)  # fmt: skip
    assert old.deadline_at == T0 + 24 * H
    assert old.closed_at == T0 + 5 * H
    assert rows[("alert", str(ids["alert"]))].status == "open"
    assert rows[("area_need", str(ids["need"]))].status == "open"
    statuses = {r.status for (k, _), r in rows.items() if k == "area_need"}
    assert statuses == {"open", "done"}
    t = ids["traveller"]
    assert rows[("closed_loop_overdue", f"{t}/registered")].status == "done"
    escalated = rows[("closed_loop_overdue", f"{t}/sampled")]
    assert (escalated.status, escalated.escalation_level, escalated.role) == (
        "open", 2, "port_officer")  # fmt: skip
    migrate.downgrade(empty_engine, "0018")
    with empty_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(command_tasks)).scalar() == 0


# ---- the province loop ----------------------------------------------------------------------


@pytest.mark.slow
def test_the_province_loop_raises_escalates_and_closes_tasks(tmp_path: Path) -> None:
    """A small province, a few days, SQLite: the day's step raises tasks, escalates the
    overdue ones and closes those done; the report's counts equal the database's."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fangkong.db'}")
    migrate.upgrade(engine)
    registry = generate_registry(1_500, seed=2)
    files = write_registry(registry, tmp_path / "province", "csv")
    sealer = Sealer(TEST_SEAL_KEY)
    for kind in ("regions", "venues", "persons"):
        import_file(engine, kind, files[kind], ImportOptions(today=AS_OF), sealer=sealer)
    ctx = CodeContext(pack=load_pack("protocol-9"), sealer=sealer, qr=QrKeys.generate())
    scenario = with_overrides(default_scenario(), {"seeds.infections": 8})
    loop = ProvinceLoop(engine, ctx, registry, scenario, 2, tmp_path / "run", history_days=7,
                        write_events=False)  # fmt: skip
    try:
        days = [d.figures.tasks for d in loop.run(LOOP_DAYS)]
    finally:
        clock.clear_replay(engine)
    assert sum(d["raised"] for d in days) > 0
    assert sum(d["escalated"] for d in days) > 0
    with engine.connect() as conn:
        t = command_tasks.c
        open_now = conn.execute(select(func.count()).where(
            t.status.in_(("open", "acknowledged", "in_progress")))).scalar_one()  # fmt: skip
        total = conn.execute(select(func.count()).select_from(command_tasks)).scalar_one()
        escalated = conn.execute(select(func.count()).select_from(command_task_changes).where(
            command_task_changes.c.to_region.is_not(None))).scalar_one()  # fmt: skip
    assert days[-1]["open"] == open_now
    assert total == sum(d["raised"] for d in days)
    assert escalated == sum(d["escalated"] for d in days)
    print("tasks per day", days)
    engine.dispose()
