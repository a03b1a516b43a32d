"""`fangkong rt` end to end: EpiEstim's numbers through the CSV contract; bad rows named."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fangkong.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "epiestim"
runner = CliRunner()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _incidence(tmp_path: Path, case: str) -> Path:
    rows = _read(FIXTURES / f"{case}.incidence.csv")
    start = date(2020, 1, 1)
    path = tmp_path / "incidence.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("date,local,imported\n" if "imported" in rows[0] else "date,local\n")
        for i, row in enumerate(rows):
            extra = f",{row['imported']}" if "imported" in row else ""
            fh.write(f"{start + timedelta(days=i)},{row['local']}{extra}\n")
    return path


def _invoke(tmp_path: Path, args: list[str]):  # type: ignore[no-untyped-def]
    return runner.invoke(app, args, env={"FANGKONG_HOME": str(tmp_path), "FANGKONG_LANG": "zh+en"})


def _assert_matches(out: Path, case: str) -> None:
    got, want = _read(out), _read(FIXTURES / f"{case}.expected.csv")
    assert list(got[0]) == ["t_start", "t_end", "mean", "std", "q025", "median", "q975"]
    assert [r["t_start"] for r in got] == [r["t_start"] for r in want]
    assert [r["t_end"] for r in got] == [r["t_end"] for r in want]
    for column in ("mean", "std", "q025", "median", "q975"):
        have = np.array([float(r[column] or "nan") for r in got])
        ref = np.array([float(r[column] or "nan") for r in want])
        np.testing.assert_allclose(have, ref, rtol=1e-6, err_msg=column)


def test_rt_parametric_with_imported_cases(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    inc = _incidence(tmp_path, "mers2014_par")
    result = _invoke(
        tmp_path, ["rt", str(inc), "--si-mean", "6.8", "--si-sd", "4.1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    _assert_matches(out, "mers2014_par")
    assert "95% CrI" in result.output


def test_rt_non_parametric_and_window(tmp_path: Path) -> None:
    si = tmp_path / "si.csv"
    si.write_text((FIXTURES / "flu2009_np_w3_prior.si_distr.csv").read_text())
    inc = _incidence(tmp_path, "flu2009_np")
    out = tmp_path / "r.csv"
    result = _invoke(tmp_path, ["rt", str(inc), "--si-distr", str(si), "-o", str(out)])
    assert result.exit_code == 0, result.output
    _assert_matches(out, "flu2009_np")
    result = _invoke(tmp_path, ["rt", str(inc), "--si-mean", "2.6", "--si-sd", "1.5",
                                "--window", "14", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    _assert_matches(out, "flu2009_par_w14")


def test_rt_undefined_windows_are_empty(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    inc = _incidence(tmp_path, "measles1861_par")
    result = _invoke(
        tmp_path, ["rt", str(inc), "--si-mean", "12", "--si-sd", "3.5", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = _read(out)
    assert rows[0]["mean"] == ""
    _assert_matches(out, "measles1861_par")


@pytest.mark.parametrize(
    ("body", "row", "field"),
    [
        ("date,local\n2020-01-01,1\n2020-01-02,2\n2020-01-04,3\n", 3, "date"),
        ("date,local\n2020-01-01,1\n2020-01-02,-2\n", 2, "local"),
        ("date,local\n2020-01-01,1\n2020-01-02,two\n", 2, "local"),
        ("date,local,imported\n2020-01-01,1,0\n2020-01-02,2,\n", 2, "imported"),
        ("date,local\n2020-01-01,1\n2020-13-02,2\n", 2, "date"),
    ],
)
def test_rt_bad_rows_are_named(tmp_path: Path, body: str, row: int, field: str) -> None:
    inc = tmp_path / "incidence.csv"
    inc.write_text(body, encoding="utf-8")
    out = tmp_path / "r.csv"
    result = _invoke(tmp_path, ["rt", str(inc), "--si-mean", "3", "--si-sd", "2", "-o", str(out)])
    assert result.exit_code == 2
    assert f"row {row}, field {field}" in result.output
    assert f"第 {row} 行 {field}" in result.output
    assert not out.exists()


def test_rt_library_conditions_reach_the_user(tmp_path: Path) -> None:
    inc = _incidence(tmp_path, "flu2009_np")
    si = tmp_path / "si.csv"
    si.write_text("k,w\n0,0.2\n1,0.5\n2,0.3\n", encoding="utf-8")
    out = tmp_path / "r.csv"
    result = _invoke(tmp_path, ["rt", str(inc), "--si-distr", str(si), "-o", str(out)])
    assert result.exit_code == 2
    assert "rt.si_distr_first" in result.output
    missing = tmp_path / "missing.csv"
    missing.write_text("day,local\n1,2\n", encoding="utf-8")
    result = _invoke(
        tmp_path, ["rt", str(missing), "--si-mean", "3", "--si-sd", "2", "-o", str(out)]
    )
    assert result.exit_code == 2
    assert "missing column date" in result.output
