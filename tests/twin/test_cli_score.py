"""`fangkong twin generate|run|score` through the root app, and the scoring functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.twin.score import (
    DECISIONS,
    controlled_on,
    epidemic_curve,
    read_truth,
    rt_by_day,
    score,
)

runner = CliRunner()


def test_generate_run_score(tmp_path: Path) -> None:
    reg, free, ctl = tmp_path / "reg", tmp_path / "free", tmp_path / "ctl"
    result = runner.invoke(
        app,
        [
            "twin",
            "generate",
            "--people",
            "3000",
            "--seed",
            "2",
            "--out",
            str(reg),
            "--format",
            "parquet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (reg / "persons.parquet").exists()
    result = runner.invoke(
        app, ["twin", "run", "--registry", str(reg), "--days", "6", "--out", str(free)]
    )
    assert result.exit_code == 0, result.output
    assert "day 5" in result.output
    assert "check-ins" in result.output
    assert (free / "checkins" / "day=0005" / "part-0.parquet").exists()
    assert (free / "truth" / "infections" / "day=0000" / "part-0.parquet").exists()
    result = runner.invoke(
        app,
        [
            "twin",
            "run",
            "--registry",
            str(reg),
            "--days",
            "6",
            "--out",
            str(ctl),
            "--respond",
            "--seed",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (ctl / "decisions.parquet").exists()
    png = tmp_path / "curve.png"
    result = runner.invoke(
        app, ["twin", "score", "--run", str(ctl), "--baseline", str(free), "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert "averted_share" in result.output
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_bad_input_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["twin", "generate", "--people", "1", "--out", str(tmp_path)])
    assert result.exit_code == 2
    result = runner.invoke(
        app,
        ["twin", "run", "--registry", str(tmp_path), "--days", "1", "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[run]\nseed = 1\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "twin",
            "run",
            "--registry",
            str(tmp_path),
            "--days",
            "1",
            "--out",
            str(tmp_path / "o"),
            "--scenario",
            str(bad),
        ],
    )
    assert result.exit_code == 2


def _truth(rows: list[tuple[int, int | None, int, str]]) -> pa.Table:
    infectee, infector, day, setting = zip(*rows, strict=True)
    return pa.table(
        {
            "infectee": pa.array(infectee, pa.int32()),
            "infector": pa.array(infector, pa.int32()),
            "day": pa.array(day, pa.int32()),
            "setting": pa.array(setting, pa.string()),
        }
    )


def test_scores_on_a_hand_made_chain() -> None:
    truth = _truth(
        [(0, None, 0, "seed"), (1, 0, 2, "household"), (2, 0, 3, "venue"), (3, 1, 5, "household")]
    )
    assert epidemic_curve(truth, 6).tolist() == [1, 0, 1, 1, 0, 1]
    rt = rt_by_day(truth, 6)
    assert rt[0] == 2
    assert rt[2] == 1
    assert rt[3] == 0
    assert np.isnan(rt[1])
    decisions = pa.Table.from_pylist(
        [
            {"person": 1, "day": 4, "action": "isolate"},
            {"person": 1, "day": 9, "action": "release"},
        ],
        schema=DECISIONS,
    )
    on = controlled_on(decisions, np.array([1, 1, 1, 0]), np.array([3, 5, 9, 5]))
    assert on.tolist() == [False, True, False, False]
    found = pa.table(
        {"case": pa.array([0, 0], pa.int32()), "contact": pa.array([1, 7], pa.int32())}
    )
    s = score(
        truth,
        decisions,
        baseline=_truth([(i, None, 0, "seed") for i in range(8)]),
        first_alert_day=4,
        found=found,
    )
    assert s.infections == 4
    assert s.baseline_infections == 8
    assert s.averted_share == 0.5
    assert s.in_control_share == 1 / 3  # infectee 3 was infected by 1 while isolated
    assert s.detection_delay_days == 4
    assert s.contact_recall == 1 / 3
    assert s.contact_precision == 1 / 2


def test_read_truth_reads_a_partitioned_run(tmp_path: Path) -> None:
    folder = tmp_path / "truth" / "infections" / "day=0000"
    folder.mkdir(parents=True)
    t = _truth([(0, None, 0, "seed")]).append_column("venue_code", pa.array([None], pa.string()))
    t = t.append_column("onset_day", pa.array([2], pa.int32())).append_column(
        "asymptomatic", pa.array([False])
    )
    pq.write_table(t, folder / "part-0.parquet")
    assert read_truth(tmp_path).num_rows == 1
