"""The figures job: every figure of every kept region equals a direct count from the
database (both backends), drill-down sums equal the parent, a re-run replaces the day."""

# ruff: noqa: S608  (the direct counts are SQL text built from constants)
from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, bindparam, select, text
from typer.testing import CliRunner

from fangkong import clock
from fangkong.cli import app
from fangkong.command.figures import (
    KEPT_LEVELS,
    LIFT_KEYS,
    FigureRules,
    compute_figures,
    load_tree,
    run_figures,
)
from fangkong.command.model import FIGURES
from fangkong.command.tables import command_figures
from fangkong.demo.loop import ProvinceLoop
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.registry.service import ImportOptions, import_file
from fangkong.riskareas.service import list_areas
from fangkong.store.engine import make_engine
from fangkong.store.tx import write_transaction
from fangkong.store.types import UTCDateTime
from fangkong.twin.registry import AS_OF, generate_registry, write_registry
from fangkong.twin.scenario import default_scenario, with_overrides
from tests.command.board_world import AT, COUNTY_A, COUNTY_B, DAY, START, TZ, build
from tests.conftest import TEST_SEAL_KEY, shell_env

RULES = FigureRules.from_pack(load_pack("protocol-9"), TZ)
Count = Callable[[Connection, list[str]], float]


WINDOW = {"s": START, "at": AT}  # the day counted (the loop's test sets its own)


def _n(conn: Connection, sql: str, codes: list[str], **params: object) -> float:
    values = {"codes": codes, **WINDOW, "due": WINDOW["at"] - timedelta(hours=24), **params}
    # instants bound as the columns store them (SQLite compares the text)
    used = set(re.findall(r":(\w+)", sql))
    when = [bindparam(n, type_=UTCDateTime()) for n in ("s", "at", "due") if n in used]
    query = text(sql).bindparams(bindparam("codes", expanding=True), *when)
    values = {k: v for k, v in values.items() if k in used}
    return float(conn.execute(query, values).scalar())


RESIDENT = "JOIN persons p ON p.id = x.person_id WHERE p.residence_code IN :codes"
CONFIRMING = """(SELECT min(t.collected_at) FROM testing_tubes t
    JOIN testing_tube_members m ON m.tube_id = t.id JOIN testing_results r ON r.tube_id = t.id
    WHERE m.person_id = x.person_id AND t.pool_size = 1 AND r.outcome = 'positive')"""
# under control at the confirming sample: a placement made before it and not ended, or a
# sealed (high) area's compound the person lives in (the world's areas are compounds)
CONTROLLED = f"""EXISTS (SELECT 1 FROM quarantine_placements q WHERE q.person_id = x.person_id
      AND q.kind IN ('centralised', 'home_quarantine') AND q.created_at <= {CONFIRMING}
      AND (q.ended_at IS NULL OR q.ended_at > {CONFIRMING}))
  OR EXISTS (SELECT 1 FROM risk_areas a JOIN risk_area_changes c ON c.area_id = a.id
      WHERE a.region_code = p.residence_code AND c.to_level = 'high'
      AND c.at <= {CONFIRMING})"""
NEW_CASE = f"SELECT count(*) FROM tracing_cases x {RESIDENT} AND x.registered_at > :s " \
           "AND x.registered_at <= :at"  # fmt: skip
CLOSE = f"SELECT count(*) FROM tracing_contacts x {RESIDENT} AND x.kind = 'close' " \
        "AND x.identified_at <= :at"  # fmt: skip
IN_FORCE = """EXISTS (SELECT 1 FROM quarantine_placements q WHERE q.person_id = x.person_id
    AND q.starts_at <= :at AND (q.ended_at IS NULL OR q.ended_at > :at)
    AND q.status <> 'cancelled' {})"""
CENTRALISED = IN_FORCE.format("AND q.kind = 'centralised'")
HOME = IN_FORCE.format("AND q.kind = 'home_quarantine'")
AWAITING = f"x.status IN ('identified', 'notified', 'lost') AND NOT {IN_FORCE.format('')}"
ROOMS = """SELECT count(*) FROM quarantine_rooms rm JOIN quarantine_facilities f
    ON f.id = rm.facility_id WHERE f.region_code IN :codes AND rm.state <> 'out_of_service'"""
HELD = """EXISTS (SELECT 1 FROM quarantine_bookings b WHERE b.room_id = rm.id
    AND b.booked_at <= :at AND (b.freed_at IS NULL OR b.freed_at > :at))"""
KIND = {"hotel": "f.kind = 'hotel' AND f.status = 'open'",
        "standby": "f.status IN ('standby', 'activating')",
        "fangcang": "f.kind = 'fangcang' AND f.status = 'open'"}  # fmt: skip
TRAVELLERS = """SELECT count(*) FROM arrivals_travellers WHERE responsible_region IN :codes
    AND stage <> 'released' AND arrived_at <= :at"""
TASKS = """SELECT count(*) FROM command_tasks WHERE region_code IN :codes
    AND status IN ('open', 'acknowledged', 'in_progress')"""
RUNNING = """SELECT id FROM testing_campaigns WHERE starts_at <= :at
    AND (closed_at IS NULL OR closed_at > :s)"""
CAMPAIGN_AREA = f"""WITH RECURSIVE area(code) AS (
    SELECT region_code FROM testing_campaigns WHERE id IN ({RUNNING})
    UNION ALL SELECT r.code FROM regions r JOIN area ON r.parent_code = area.code)"""


def _direct(key: str) -> Count:
    counts: dict[str, Count] = {
        "cases.new": lambda c, codes: _n(c, NEW_CASE, codes),
        "cases.cumulative": lambda c, codes: _n(
            c, f"SELECT count(*) FROM tracing_cases x {RESIDENT} AND x.registered_at <= :at", codes
        ),
        "cases.found_controlled": lambda c, codes: _n(c, f"{NEW_CASE} AND ({CONTROLLED})", codes),
        "cases.found_community": lambda c, codes: _n(
            c, f"{NEW_CASE} AND NOT ({CONTROLLED})", codes
        ),
        "contacts.identified": lambda c, codes: _n(c, CLOSE, codes),
        "contacts.placed": lambda c, codes: _n(c, f"{CLOSE} AND {CENTRALISED}", codes),
        "contacts.home_orders": lambda c, codes: _n(c, f"{CLOSE} AND {HOME}", codes),
        "contacts.awaiting": lambda c, codes: _n(c, f"{CLOSE} AND {AWAITING}", codes),
        "contacts.overdue": lambda c, codes: _n(
            c,
            f"""{CLOSE} AND {AWAITING} AND coalesce((SELECT min(k.registered_at)
                FROM tracing_exposures e JOIN tracing_cases k ON k.id = e.case_id
                WHERE e.contact_id = x.id AND e.kind = x.kind), x.identified_at) < :due""",
            codes,
        ),
        "risk_areas.high": _areas("high"),
        "risk_areas.medium": _areas("medium"),
        "risk_areas.low": _areas("low"),
        "testing.campaign_persons": lambda c, codes: _n(
            c,
            f"""{CAMPAIGN_AREA} SELECT count(*) FROM persons p WHERE p.residence_code IN :codes
                AND p.residence_code IN (SELECT code FROM area)""",
            codes,
        ),
        "testing.campaign_tested": lambda c, codes: _n(
            c,
            f"""{CAMPAIGN_AREA} SELECT count(*) FROM persons p WHERE p.residence_code IN :codes
                AND p.residence_code IN (SELECT code FROM area) AND p.id IN (
                SELECT m.person_id FROM testing_tube_members m JOIN testing_tubes t
                ON t.id = m.tube_id WHERE t.campaign_id IN ({RUNNING})
                AND t.collected_at <= :at)""",
            codes,
        ),
        "testing.late_tubes": lambda c, codes: _n(
            c,
            """SELECT count(*) FROM testing_tubes t WHERE t.region_code IN :codes
               AND t.flag IN ('late', 'lost') AND t.collected_at <= :at
               AND NOT EXISTS (SELECT 1 FROM testing_results r WHERE r.tube_id = t.id)""",
            codes,
        ),
        "arrivals.overdue": lambda c, codes: _n(c, f"{TRAVELLERS} AND due_at < :at", codes),
        "work.alerts_open": lambda c, codes: _n(
            c,
            """SELECT count(*) FROM alerts WHERE region_code IN :codes
               AND status IN ('raised', 'verified', 'investigated')""",
            codes,
        ),
        "work.tasks_open": lambda c, codes: _n(c, TASKS, codes),
        "work.tasks_due_today": lambda c, codes: _n(
            c, f"{TASKS} AND deadline_at > :s AND deadline_at <= :at", codes
        ),
        "work.tasks_overdue": lambda c, codes: _n(c, f"{TASKS} AND deadline_at < :at", codes),
    }
    for kind, where in KIND.items():
        counts[f"quarantine.capacity_{kind}"] = _rooms(where)
        counts[f"quarantine.occupied_{kind}"] = _rooms(f"{where} AND {HELD}")
    for stage in ("registered", "sampled", "boarded", "handed_over", "managed"):
        counts[f"arrivals.{stage}"] = _stage(stage)
    for colour in ("green", "yellow", "red"):
        counts[f"codes.{colour}"] = _colour(colour)
    return counts[key]


def _areas(level: str) -> Count:
    return lambda c, codes: _n(
        c,
        "SELECT count(*) FROM risk_areas WHERE region_code IN :codes AND level = :level "
        "AND designated_at <= :at",
        codes,
        level=level,
    )


def _rooms(where: str) -> Count:
    return lambda c, codes: _n(c, f"{ROOMS} AND {where}", codes)


def _stage(stage: str) -> Count:
    return lambda c, codes: _n(c, f"{TRAVELLERS} AND stage = :stage", codes, stage=stage)


def _colour(colour: str) -> Count:
    return lambda c, codes: _n(
        c, f"SELECT count(*) FROM health_codes x {RESIDENT} AND x.colour = :colour", codes,
        colour=colour,
    )  # fmt: skip


def _below(conn: Connection, code: str) -> list[str]:
    tree = load_tree(conn)
    return [c for c in tree.parent if code in tree.ancestors(c)]


def _figures(conn: Connection, code: str, day: date = DAY) -> dict[str, float]:
    f = command_figures.c
    return {
        str(k): float(v)
        for k, v in conn.execute(select(f.key, f.value).where(f.region_code == code, f.day == day))
    }


def _check_every_tile(conn: Connection, day: date) -> None:
    tree = load_tree(conn)
    for code in [c for c, lv in tree.level.items() if lv in KEPT_LEVELS]:
        stored, codes = _figures(conn, code, day), _below(conn, code)
        direct = {key: _direct(key)(conn, codes) for key in DIRECT}
        assert {k: stored[k] for k in DIRECT} == direct, code


@pytest.fixture
def world(province: Engine) -> Engine:
    build(province)
    with write_transaction(province) as conn:
        done = compute_figures(conn, RULES, day=DAY, at=AT)
    assert done.regions == 6  # province, city, two counties, two townships
    return province


DIRECT = [
    f.key
    for f in FIGURES
    if f.key not in ("testing.coverage", "quarantine.days_left") and f.key not in LIFT_KEYS
]


def test_every_tile_equals_a_direct_count(world: Engine) -> None:
    with world.connect() as conn:
        _check_every_tile(conn, DAY)


def test_the_world_exercises_every_tile(world: Engine) -> None:
    """Known numbers at the province (the world's docstring), so the direct counts and
    the job cannot agree on nothing."""
    with world.connect() as conn:
        got = _figures(conn, "140000")
    assert {k: v for k, v in got.items() if k.startswith("cases.")} == {
        "cases.new": 5, "cases.cumulative": 6, "cases.found_controlled": 2,
        "cases.found_community": 3,
    }  # fmt: skip
    assert (got["contacts.identified"], got["contacts.awaiting"]) == (7, 3)
    assert (got["contacts.placed"], got["contacts.home_orders"]) == (1, 1)
    assert got["contacts.overdue"] == 2
    assert (got["quarantine.capacity_hotel"], got["quarantine.occupied_hotel"]) == (2, 1)
    assert (got["quarantine.capacity_standby"], got["quarantine.occupied_standby"]) == (2, 0)
    assert (got["quarantine.capacity_fangcang"], got["quarantine.occupied_fangcang"]) == (3, 1)
    # free rooms taking guests (1 hotel + 2 fangcang) ÷ intake (2 in 7 days)
    assert got["quarantine.days_left"] == pytest.approx(3 / (2 / 7))
    assert (got["risk_areas.high"], got["risk_areas.medium"], got["risk_areas.low"]) == (1, 1, 0)
    assert (got["testing.campaign_tested"], got["testing.late_tubes"]) == (3, 2)
    assert got["testing.campaign_persons"] == 215  # county A's residents, once
    assert got["testing.coverage"] == pytest.approx(100 * 3 / got["testing.campaign_persons"])
    assert (got["arrivals.overdue"], got["arrivals.managed"]) == (2, 1)
    assert (got["codes.red"], got["codes.yellow"], got["codes.green"]) == (2, 1, 7)
    assert got["work.alerts_open"] == 2
    assert (got["work.tasks_open"], got["work.tasks_due_today"], got["work.tasks_overdue"]) == (
        3, 1, 2,
    )  # fmt: skip


def _nearest_lift(conn: Connection, ctx: CodeContext, code: str, level: str) -> float | None:
    """Directly from the risk-area list (what the figure links to): the least whole days
    from the day's end to an area's expected lifting, over the region's areas at ``level``
    designated by then (0 when due and not yet lifted); None without such an area."""
    below = set(_below(conn, code))
    days = [
        max(0, math.ceil((a.expected_lift_at - AT) / timedelta(days=1)))
        for a in list_areas(conn, ctx, levels=(level,))
        if a.region_code in below and a.designated_at <= AT and a.expected_lift_at is not None
    ]
    return float(min(days)) if days else None


def test_days_to_lift_equal_the_risk_area_list(world: Engine) -> None:
    ctx = CodeContext(pack=load_pack("protocol-9"), sealer=Sealer(TEST_SEAL_KEY),
                      qr=QrKeys.generate(), tz=TZ)  # fmt: skip
    with world.connect() as conn:
        tree = load_tree(conn)
        for code in [c for c, lv in tree.level.items() if lv in KEPT_LEVELS]:
            stored = _figures(conn, code)
            for key, level in LIFT_KEYS.items():
                assert stored.get(key) == _nearest_lift(conn, ctx, code, level), (code, key)
        got, county_b = _figures(conn, "140000"), _figures(conn, COUNTY_B)
    # both areas have a case of D living in them (county B's high compound since D-1,
    # county A's medium one since D-2): the clock restarts at the end of D, 7 days each
    assert (got["risk_areas.high_days_to_lift"], got["risk_areas.medium_days_to_lift"]) == (7, 7)
    assert "risk_areas.medium_days_to_lift" not in county_b  # no medium area there: absent


def test_children_add_up_to_the_parent(world: Engine) -> None:
    with world.connect() as conn:
        parent = _figures(conn, "140100")
        a, b = _figures(conn, COUNTY_A), _figures(conn, COUNTY_B)
    for key in DIRECT:
        assert a[key] + b[key] == parent[key], key
    # a share is computed from its parts at each level, never added
    assert "testing.coverage" not in b  # no campaign there: no share
    assert parent["testing.coverage"] == a["testing.coverage"]


def test_a_rerun_replaces_the_day(world: Engine) -> None:
    later = AT + timedelta(hours=5)
    with write_transaction(world) as conn:
        compute_figures(conn, RULES, day=DAY, at=later)
    with world.connect() as conn:
        rows = conn.execute(
            select(command_figures.c.computed_at).where(command_figures.c.day == DAY)
        ).scalars()
        stamps = set(rows)
    assert stamps == {later}


def test_run_figures_defaults_to_the_clock_day(world: Engine) -> None:
    noon = START + timedelta(days=1, hours=12)
    with clock.frozen(noon):
        done = run_figures(world, RULES)
    assert (done.day, done.at) == (DAY + timedelta(days=1), noon)


def test_the_loop_leaves_the_board_on_its_last_day(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The province loop computes each day's figures after the codes: after the run the
    board's last day is the loop's last day, and its tiles equal direct counts."""
    registry = generate_registry(600, seed=1)
    files = write_registry(registry, tmp_path / "province", "csv")
    sealer = Sealer(TEST_SEAL_KEY)
    for kind in ("regions", "venues", "persons"):
        import_file(engine, kind, files[kind], ImportOptions(today=AS_OF), sealer=sealer)
    ctx = CodeContext(pack=load_pack("protocol-9"), sealer=sealer, qr=QrKeys.generate())
    scenario = with_overrides(default_scenario(), {"seeds.infections": 8})
    loop = ProvinceLoop(engine, ctx, registry, scenario, 1, tmp_path / "run", history_days=0)
    try:
        loop.run(4)
    finally:
        clock.clear_replay(engine)
    last = loop.start + timedelta(days=3)
    with engine.connect() as conn:
        days = set(conn.execute(select(command_figures.c.day).distinct()).scalars())
        assert days == {loop.start + timedelta(days=d) for d in range(4)}
        monkeypatch.setitem(WINDOW, "s", loop.midnight(3))
        monkeypatch.setitem(WINDOW, "at", loop.midnight(4))
        _check_every_tile(conn, last)


def test_cli_figures_for_a_day(tmp_path: Path, twin_files: dict[str, Path]) -> None:
    """`fangkong command figures --date D` fills the day; a bad date is refused (exit 2)."""
    runner, env = CliRunner(), shell_env(tmp_path)
    for args in (["db", "upgrade"], *(["import", k, str(twin_files[k])]
                                      for k in ("regions", "venues", "persons"))):  # fmt: skip
        assert runner.invoke(app, args, env=env).exit_code == 0
    done = runner.invoke(app, ["command", "figures", "--date", DAY.isoformat()], env=env)
    assert done.exit_code == 0, done.output
    assert "6" in done.output  # regions written
    engine = make_engine(f"sqlite:///{tmp_path}/fangkong.db")
    with engine.connect() as conn:
        days = set(conn.execute(select(command_figures.c.day).distinct()).scalars())
    engine.dispose()
    assert days == {DAY}
    bad = runner.invoke(app, ["command", "figures", "--date", "20-11-2026"], env=env)
    assert bad.exit_code == 2, bad.output
