"""`fangkong care …` end to end on a SQLite home: wards, a need registered, planned,
started, completed; a refusal exits 2 with its reason; the sweep."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.store.engine import make_engine
from tests.care.conftest import build_world
from tests.conftest import shell_env

runner = CliRunner()


def run(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def test_care_commands(tmp_path: Path) -> None:
    env = shell_env(tmp_path)
    run(env, "db", "upgrade")
    engine = make_engine(f"sqlite:///{tmp_path}/fangkong.db")
    world = build_world(engine, wards=False)
    engine.dispose()
    at = "2026-12-01T09:00+08:00"
    run(env, "care", "ward", "add", "W1", "--hospital", "省人民医院", "--name", "缓冲病区",
        "--region", "140101", "--lat", "37.88", "--lon", "112.56",
        "--kinds", "dialysis,emergency", "--beds", "4", "--free", "1", "--buffer")  # fmt: skip
    bad = run(env, "care", "ward", "add", "W2", "--hospital", "x", "--name", "y", "--region",
              "140101", "--lat", "37", "--lon", "112", "--kinds", "massage", "--beds", "1",
              code=2)  # fmt: skip
    assert "care.ward_kinds" in bad
    wards = [line.split() for line in run(env, "care", "ward", "list").splitlines()]
    assert wards[1] == ["W1", "省人民医院", "缓冲病区", "140101", "yes", "4", "1",
                        "dialysis,emergency"]  # fmt: skip
    text = run(env, "care", "need", "add", str(world.residents[0]), "dialysis", "--detail",
               "血透", "--at", at)  # fmt: skip
    need = text.split()[-1]
    second = run(env, "care", "need", "add", str(world.residents[1]), "dialysis", "--at",
                 at).split()[-1]  # fmt: skip
    assert "care.need_kind" in run(env, "care", "need", "add", str(world.residents[0]), "spa",
                                   code=2)  # fmt: skip
    listed = [line.split() for line in run(env, "care", "need", "list", "--at", at).splitlines()]
    assert listed[1][:6] == [need, "dialysis", "open", "2026-12-02", "09:00", "甲镇封控区"]
    planned = run(env, "care", "need", "plan", need, "--at", at)
    assert "V1 → W1" in planned
    refused = run(env, "care", "need", "plan", second, "--at", at, code=2)
    assert "care.no_ward" in refused  # the one free bed is taken
    run(env, "care", "need", "start", need, "--at", "2026-12-01T09:30+08:00")
    run(env, "care", "need", "done", need, "--outcome", "admitted", "--at",
        "2026-12-01T10:00+08:00")  # fmt: skip
    assert " done " in run(env, "care", "need", "list", "--all")
    swept = run(env, "care", "need", "escalate", "--at", "2026-12-02T11:00+08:00")
    assert "escalated 1" in swept  # the second need, an hour past its deadline
    assert "overdue 1" in swept
