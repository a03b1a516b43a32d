"""`fangkong checkins import|compact` and `fangkong trace` end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.tracing.cli import parse_duration
from fangkong.tracing.trace import OUTPUT_COLUMNS

from .samples import cases, checkins

runner = CliRunner()


def _write(tmp_path: Path) -> tuple[Path, Path]:
    ck, cs = tmp_path / "checkins.parquet", tmp_path / "cases.parquet"
    pq.write_table(checkins(), ck)
    pq.write_table(cases(), cs)
    return ck, cs


def test_trace_writes_close_contacts_with_evidence(tmp_path: Path) -> None:
    ck, cs = _write(tmp_path)
    out, general = tmp_path / "contacts.csv", tmp_path / "general.parquet"
    env = {"FANGKONG_HOME": str(tmp_path)}
    args = ["trace", "--checkins", str(ck), "--cases", str(cs), "-o", str(out),
            "--general", str(general)]  # fmt: skip
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    table = pacsv.read_csv(out)
    assert table.column_names == list(OUTPUT_COLUMNS)
    assert table.num_rows > 0
    assert pq.read_table(general).num_rows > 0
    assert out.read_text(encoding="utf-8").splitlines()[1].count("+08:00") == 2
    longer = tmp_path / "long.parquet"
    result = runner.invoke(app, [*args[:5], "-o", str(longer), "--min-overlap", "1h"], env=env)
    assert result.exit_code == 0, result.output
    seconds = pq.read_table(longer).column("overlap_seconds").to_pylist()
    assert seconds
    assert min(seconds) >= 3600


def test_trace_cases_by_onset_date(tmp_path: Path) -> None:
    ck, _ = _write(tmp_path)
    cs = tmp_path / "cases.csv"
    with cs.open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["person_id", "onset_date", "sample_date", "isolated_at"])
        w.writerow(["p1", "2022-03-21", "", "2022-03-19T08:00:00+08:00"])
        w.writerow(["p2", "", "2022-03-22", ""])
    out = tmp_path / "c.parquet"
    result = runner.invoke(app, ["trace", "--checkins", str(ck), "--cases", str(cs), "-o",
                                 str(out)], env={"FANGKONG_HOME": str(tmp_path)})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert set(pq.read_table(out).column("case_id").to_pylist()) == {"p1", "p2"}


def test_trace_bad_input_exits_2(tmp_path: Path) -> None:
    ck, cs = _write(tmp_path)
    env = {"FANGKONG_HOME": str(tmp_path)}
    base = ["trace", "--checkins", str(ck), "--cases", str(cs), "-o", str(tmp_path / "o.csv")]
    assert runner.invoke(app, [*base, "--min-overlap", "soon"], env=env).exit_code == 2
    assert runner.invoke(app, [*base, "--engine", "oracle"], env=env).exit_code == 2
    bad_cases = tmp_path / "bad.csv"
    bad_cases.write_text("person_id,onset_date\np1,2022-13-01\n", encoding="utf-8")
    result = runner.invoke(app, [*base[:3], "--cases", str(bad_cases), "-o", "x.csv"], env=env)
    assert result.exit_code == 2
    assert "date.invalid" in bad_cases.with_name("bad.csv.errors.csv").read_text(
        encoding="utf-8-sig"
    )


def test_checkins_import_then_compact_then_trace_the_lake(tmp_path: Path) -> None:
    ck, cs = _write(tmp_path)
    env = {"FANGKONG_HOME": str(tmp_path / "home")}
    assert runner.invoke(app, ["checkins", "import", str(ck)], env=env).exit_code == 0
    again = runner.invoke(app, ["checkins", "import", str(ck)], env=env)
    assert again.exit_code == 0
    assert "2000" in again.output
    assert runner.invoke(app, ["checkins", "compact"], env=env).exit_code == 0
    lake = tmp_path / "home" / "lake" / "checkins"
    assert list(lake.glob("compacted/day=*/part-0.parquet"))
    from_lake, from_file = tmp_path / "lake.parquet", tmp_path / "file.parquet"
    for source, out in ((lake, from_lake), (ck, from_file)):
        for engine in ("memory", "duckdb"):
            args = ["trace", "--checkins", str(source), "--cases", str(cs), "-o", str(out),
                    "--engine", engine]  # fmt: skip
            assert runner.invoke(app, args, env=env).exit_code == 0
    assert pq.read_table(from_lake).equals(pq.read_table(from_file))


def test_checkins_import_refuses_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "event_id,person_id,venue_id,venue_type,time_in\ne1,p1,V1,market,yesterday\n",
        encoding="utf-8",
    )
    env = {"FANGKONG_HOME": str(tmp_path / "home")}
    result = runner.invoke(app, ["checkins", "import", str(bad)], env=env)
    assert result.exit_code == 2
    assert not (tmp_path / "home" / "lake" / "checkins" / "landing").exists()


def test_parse_duration() -> None:
    assert [parse_duration(t) for t in ("15m", "900s", "1h", "15", "10 min")] == [
        900, 900, 3600, 900, 600]  # fmt: skip
