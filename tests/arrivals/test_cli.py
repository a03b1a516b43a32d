"""`fangkong arrivals import|sample|plan|confirm|acknowledge|team|vehicle|check|board` end to
end through the Typer app on a SQLite home: teams and vehicles, a bad manifest (exit 2, the
error report names row and column, nothing written), a good one (sent twice), landing tests,
a hand-off acknowledged, transfers planned, stages confirmed, one traveller left at
``boarded`` until the clock passes the pack's deadline: ``check`` exits 1 and the board
lists them."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from fangkong.arrivals.rules import ArrivalRules
from fangkong.arrivals.tables import alerts, handoffs, manifests, travellers, trips
from fangkong.cli import app
from fangkong.policy import load_pack
from fangkong.store.engine import make_engine
from fangkong.store.schema import persons
from fangkong.store.schema import venues as venue_table
from tests.arrivals.world import COMPOUND_A, COMPOUND_B, COUNTY_A, COUNTY_B, POINT, resident_id
from tests.conftest import shell_env

runner = CliRunner()
COLUMNS = ("id_type", "id_number", "name", "phone", "arrived_at", "destination_region",
           "destination_address", "travel_history")  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, twin_files: dict[str, Path]) -> Iterator[tuple[dict[str, str], Engine]]:
    env = {**shell_env(tmp_path), "COLUMNS": "250"}
    for args in (["db", "upgrade"], *(["import", k, str(twin_files[k])]
                                      for k in ("regions", "venues", "persons"))):  # fmt: skip
        run(env, *args)
    engine = make_engine(f"sqlite:///{tmp_path}/fangkong.db")
    yield env, engine
    engine.dispose()


def run(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def _manifest(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return path


def _row(seq: int, history: str, destination: str = COMPOUND_A, **over: Any) -> dict[str, Any]:
    row = {
        "id_type": "resident_id",
        "id_number": resident_id("110105", date(1985, 1, seq), seq),
        "name": f"旅客{seq}",
        "phone": f"1380013{seq:04d}",
        "arrived_at": (datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
        "destination_region": destination,
        "destination_address": f"兴安市某路{seq}号",
        "travel_history": history,
    }
    row.update(over)
    return row


def _wrong_check(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _setup_teams_and_vehicles(env: dict[str, str], engine: Engine, tmp_path: Path) -> None:
    run(env, "arrivals", "team", "CMD-A", "--name", "右远区指挥部", "--kind", "command",
        "--region", COUNTY_A)  # fmt: skip
    run(env, "arrivals", "team", "CMD-B", "--name", "吕汾县指挥部", "--kind", "command",
        "--region", COUNTY_B)  # fmt: skip
    run(env, "arrivals", "team", "CHK-1", "--name", "兴安站专班", "--kind", "checkpoint",
        "--region", COUNTY_A, "--point", POINT, "--superior", "CMD-A")  # fmt: skip
    run(env, "arrivals", "team", "TR-1", "--name", "转运一队", "--kind", "transfer",
        "--region", COUNTY_A, "--superior", "CMD-A")  # fmt: skip
    out = run(env, "arrivals", "team", "RCV-A", "--name", "接收专班", "--kind", "receiving",
              "--region", COUNTY_A, "--superior", "CMD-A")  # fmt: skip
    assert "RCV-A" in out
    bad = run(env, "arrivals", "team", "X", "--name", "x", "--kind", "pilot", "--region",
              COUNTY_A, code=2)  # fmt: skip
    assert "arrivals.team_kind" in bad
    with engine.connect() as conn:
        v = conn.execute(select(venue_table).where(venue_table.c.code == POINT)).one()
    for code, kind, seats in (("VH1", "bus", "20"), ("VH2", "van", "6")):
        run(env, "arrivals", "vehicle", code, "--kind", kind, "--capacity", seats, "--team",
            "TR-1", "--lat", str(v.latitude), "--lon", str(v.longitude))  # fmt: skip
    assert "arrivals.vehicle_kind" in run(
        env, "arrivals", "vehicle", "VH9", "--kind", "rocket", "--capacity", "3", "--team",
        "TR-1", "--lat", "37", "--lon", "112", code=2)  # fmt: skip
    hotel = tmp_path / "hotels.csv"
    hotel.write_text(
        "code,name,kind,region_code,status,single_rooms,latitude,longitude\n"
        f"H1,西山隔离酒店,hotel,{COUNTY_A},open,10,{v.latitude + 0.1},{v.longitude + 0.1}\n",
        encoding="utf-8",
    )
    run(env, "quarantine", "import", str(hotel))


def test_arrivals_commands_end_to_end(home: tuple[dict[str, str], Engine], tmp_path: Path) -> None:
    env, engine = home
    rules = ArrivalRules.from_pack(load_pack())
    _setup_teams_and_vehicles(env, engine, tmp_path)
    five_days_ago = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    run(env, "riskarea", "designate", COMPOUND_A, "--level", "high", "--reason", "病例居住",
        "--at", five_days_ago)  # fmt: skip
    run(env, "riskarea", "designate", COMPOUND_B, "--level", "medium", "--reason", "病例到访",
        "--at", five_days_ago)  # fmt: skip
    persons_before = _count(engine, persons)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    flight = ["--ref", "CA1-T", "--mode", "flight", "--carrier", "CA1", "--point", POINT]

    # a bad manifest: exit 2, the report names each row and column, nothing written
    wrong = _wrong_check(resident_id("110105", date(1985, 1, 2), 2))
    bad = _manifest(tmp_path / "bad.csv", [
        _row(1, f"{COMPOUND_A}@{yesterday}"),
        _row(2, f"{COMPOUND_A}@{yesterday}", id_number=wrong),
        _row(3, f"{COMPOUND_A}@{yesterday}", destination="999999"),
        _row(4, f"{COMPOUND_A}@{yesterday}=severe"),
    ])  # fmt: skip
    out = run(env, "arrivals", "import", str(bad), *flight, code=2)
    assert "arrivals.manifest_invalid" in out
    report = tmp_path / "bad.csv.errors.csv"
    with report.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert {(r["row"], r["column"]) for r in lines} == {
        ("2", "id_number"), ("3", "destination_region"), ("4", "travel_history")
    }  # fmt: skip
    assert all(r["message_zh"] and r["message_en"] for r in lines)
    for table in (manifests, travellers, handoffs):
        assert _count(engine, table) == 0, table.name
    assert _count(engine, persons) == persons_before

    # the good manifest: high (stays), medium going to the other county (hand-off), low
    good = _manifest(tmp_path / "CA1.csv", [
        _row(1, f"{COMPOUND_A}@{yesterday}"),
        _row(2, f"{COMPOUND_B}@{yesterday}", destination=COMPOUND_B),
        _row(3, f"110105@{yesterday}=low"),
    ])  # fmt: skip
    out = run(env, "arrivals", "import", str(good), *flight)
    assert "登记 / registered 3" in out
    assert "新建人员 / persons created 3" in out
    assert "移交 / hand-offs 1" in out
    assert "high 1, low 1, medium 1" in out
    assert "未变 / unchanged 3" in run(env, "arrivals", "import", str(good), *flight)
    assert _count(engine, persons) == persons_before + 3
    with engine.connect() as conn:
        t = conn.execute(select(travellers).order_by(travellers.c.id)).all()
    high, medium, low = (int(r.id) for r in t)
    assert [r.risk for r in t] == ["high", "medium", "low"]

    # landing tests: one each for the quarantined (pack pool_size 1), refused as a pool
    assert "arrivals.sample_pool" in run(
        env, "arrivals", "sample", "LD0", str(high), str(medium), "--collector", "c", code=2
    )
    for barcode, tid in (("LD1", high), ("LD2", medium), ("LD3", low)):
        assert "1 人 / people" in run(
            env, "arrivals", "sample", barcode, str(tid), "--collector", "采样员"
        )
    # the hand-off holds the medium one back until the other county acknowledges
    out = run(env, "arrivals", "plan", POINT)
    assert "安置 / placed 1" in out
    assert "西山隔离酒店" in out
    assert "已接收 / acknowledged" in run(env, "arrivals", "acknowledge", str(medium))
    assert "此前已接收" in run(env, "arrivals", "acknowledge", str(medium))
    assert "arrivals.handoff_unknown" in run(env, "arrivals", "acknowledge", str(high), code=2)
    out = run(env, "arrivals", "plan", POINT)
    assert "安置 / placed 1" in out
    with engine.connect() as conn:
        planned = conn.execute(select(trips.c.risk, trips.c.destination_key)).all()
        stages = dict(conn.execute(select(travellers.c.id, travellers.c.stage)).all())
    assert sorted(r.risk for r in planned) == ["high", "medium"]
    assert any(r.destination_key.startswith("home:") for r in planned)
    assert stages == {high: "sampled", medium: "sampled", low: "released"}

    # confirmations: out of order refused, twice harmless
    refused = run(env, "arrivals", "confirm", str(high), "handed_over", code=2)
    assert "arrivals.stage_refused" in refused
    assert "“已交接”" in refused  # the stages by name, not by their stored keys
    assert "“handed_over”" not in refused
    for tid in (high, medium):
        assert "boarded" in run(env, "arrivals", "confirm", str(tid), "boarded")
    assert "handed_over" in run(env, "arrivals", "confirm", str(high), "handed_over",
                                "--note", "酒店前台扫码")  # fmt: skip
    assert "handed_over" in run(env, "arrivals", "confirm", str(high), "handed_over")
    out = run(env, "arrivals", "check")
    assert "超时 / overdue 0" in out

    # the medium one is never handed over: once its deadline (trip eta + the pack's hours)
    # is behind us, the job alerts the receiving side and exits 1
    later = timedelta(hours=rules.deadlines["boarded"] + 24)
    with engine.begin() as conn:  # the clock moves on: the deadline lies in the past
        due = conn.execute(
            select(travellers.c.due_at).where(travellers.c.id == medium)
        ).scalar_one()
        assert due is not None
        assert due > datetime.now(UTC)
        conn.execute(update(travellers).where(travellers.c.id == medium).values(due_at=due - later))
    out = run(env, "arrivals", "check", code=1)
    assert "新预警 / alerts 1" in out
    assert "超时 / overdue 1" in out
    with engine.connect() as conn:
        alert = conn.execute(select(alerts)).one()
    assert (alert.traveller_id, alert.stage, alert.kind) == (medium, "boarded", "overdue")
    assert "TR-1" in alert.notified  # the vehicle's team answers for the ride
    board = run(env, "arrivals", "board")
    line = next(x for x in board.splitlines() if POINT in x)
    cells = [c.strip() for c in line.split("│") if c.strip()]
    # point, registered, sampled, boarded, handed_over, managed, released, overdue, hand-offs
    assert cells[1:] == ["0", "0", "1", "1", "0", "1", "1", "0"], board
