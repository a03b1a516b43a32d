"""`fangkong detect` end to end: R's numbers through the CSV contract; bad input named."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import Result
from typer.testing import CliRunner

from fangkong.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def _fixture(method: str, dataset: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / method / f"{dataset}.json").read_text())
    return data


def _write(path: Path, series: dict[str, list[float]], start: date, step: int = 7) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("series,period,count\n")
        for name, counts in series.items():
            for i, c in enumerate(counts):
                fh.write(f"{name},{start + timedelta(days=step * i)},{int(c)}\n")
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _invoke(tmp_path: Path, args: list[str]) -> Result:
    env = {"FANGKONG_HOME": str(tmp_path), "FANGKONG_LANG": "zh+en"}
    return runner.invoke(app, args, env=env)


def _case(data: dict[str, Any], name: str) -> dict[str, Any]:
    case: dict[str, Any] = next(c for c in data["cases"] if c["name"] == name)
    return case


def _expected(case: dict[str, Any]) -> tuple[list[float], list[str]]:
    bounds = [np.nan if v is None else float(v) for v in case["upperbound"]]
    alarms = ["" if v is None else ("true" if v else "false") for v in case["alarm"]]
    return bounds, alarms


def _thresholds(rows: list[dict[str, str]]) -> list[float]:
    return [np.nan if r["threshold"] == "" else float(r["threshold"]) for r in rows]


# 1990-01-01 is the Monday of ISO week 1, so R's start = c(1990, 1) holds for the file
AGONA_START = date(1990, 1, 1)


def test_ears_c1_on_two_series_matches_r(tmp_path: Path) -> None:
    agona = _fixture("ears", "salmonella_agona")
    seasonal = _fixture("ears", "synth_seasonal")
    counts = tmp_path / "counts.csv"
    _write(counts, {"agona": agona["counts"], "synth": seasonal["counts"]}, AGONA_START)
    out = tmp_path / "out.csv"
    result = _invoke(tmp_path, ["detect", "ears-c1", str(counts), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = _read(out)
    assert list(rows[0]) == ["series", "period", "count", "threshold", "alarm"]
    for name, data in (("agona", agona), ("synth", seasonal)):
        mine = [r for r in rows if r["series"] == name]
        bounds, alarms = _expected(_case(data, "c1_1"))
        first = _case(data, "c1_1")["range"][0] - 1
        assert mine[0]["period"] == str(AGONA_START + timedelta(weeks=first))
        assert [int(r["count"]) for r in mine] == data["counts"][first:]
        np.testing.assert_allclose(_thresholds(mine), bounds, rtol=1e-6)
        assert [r["alarm"] for r in mine] == alarms


def test_cusum_glm_uses_the_iso_week_of_the_first_period(tmp_path: Path) -> None:
    data = _fixture("cusum", "salmonella_agona")
    case = _case(data, "cusum_8")  # m = "glm": the harmonic depends on R's start[2]
    assert case["params"] == {"m": "glm"}
    counts = _write(tmp_path / "c.csv", {"agona": data["counts"]}, AGONA_START)
    first = AGONA_START + timedelta(weeks=case["range"][0] - 1)
    out = tmp_path / "out.csv"
    args = [
        "detect",
        "cusum",
        str(counts),
        "--from",
        str(first),
        "--param",
        "m=glm",
        "-o",
        str(out),
    ]
    result = _invoke(tmp_path, args)
    assert result.exit_code == 0, result.output
    rows = _read(out)
    bounds, alarms = _expected(case)
    np.testing.assert_allclose(_thresholds(rows), bounds, rtol=1e-6)
    assert [r["alarm"] for r in rows] == alarms


def test_daily_series_with_freq_day(tmp_path: Path) -> None:
    data = _fixture("bayes", "synth_daily")
    case = _case(data, "bayes_2")  # b = 1 year of 365 days back
    counts = _write(tmp_path / "c.csv", {"d": data["counts"]}, date(2020, 1, 1), step=1)
    first = date(2020, 1, 1) + timedelta(days=case["range"][0] - 1)
    out = tmp_path / "out.csv"
    params = ["--param", "b=1", "--param", "w=6"]
    args = ["detect", "bayes", str(counts), "--freq", "day", "--from", str(first), *params]
    result = _invoke(tmp_path, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = _read(out)
    bounds, alarms = _expected(case)
    np.testing.assert_allclose(_thresholds(rows), bounds, rtol=1e-6)
    assert [r["alarm"] for r in rows] == alarms


def test_from_to_outputs_exactly_those_periods(tmp_path: Path) -> None:
    data = _fixture("ears", "shadar")
    counts = _write(tmp_path / "c.csv", {"s": data["counts"]}, date(2001, 1, 1))
    out = tmp_path / "out.csv"
    # C2 with baseline 7 evaluates from the 10th period (index 9); ask from the 6th
    args = ["detect", "ears-c2", str(counts), "--from", "2001-02-05", "--to", "2001-04-02"]
    result = _invoke(tmp_path, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = _read(out)
    periods = [r["period"] for r in rows]
    assert periods == [str(date(2001, 2, 5) + timedelta(weeks=i)) for i in range(9)]
    assert [r["threshold"] for r in rows[:4]] == ["", "", "", ""]
    assert [r["alarm"] for r in rows[:4]] == ["", "", "", ""]
    bounds, _ = _expected(_case(data, "c2_2"))
    np.testing.assert_allclose(_thresholds(rows[4:]), bounds[:5], rtol=1e-6)


def test_r_na_thresholds_are_empty_cells(tmp_path: Path) -> None:
    data = _fixture("ears", "synth_flat")  # constant windows: C3's statistic is 0/0 in R
    counts = _write(tmp_path / "c.csv", {"flat": data["counts"]}, date(2000, 1, 3))
    out = tmp_path / "out.csv"
    result = _invoke(tmp_path, ["detect", "ears-c3", str(counts), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = _read(out)
    bounds, alarms = _expected(_case(data, "c3_3"))
    assert [r["threshold"] == "" for r in rows] == [bool(np.isnan(b)) for b in bounds]
    assert sum(r["threshold"] == "" for r in rows) > 100
    assert [r["alarm"] for r in rows] == alarms


def test_a_gap_is_refused_naming_series_and_period(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "series,period,count\n"
        "north,2024-01-01,1\nnorth,2024-01-08,2\nnorth,2024-01-22,3\n"
        "south,2024-01-01,1\n",
        encoding="utf-8",
    )
    result = _invoke(tmp_path, ["detect", "ears-c1", str(path), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert "series.gap" in result.output
    assert "north" in result.output
    assert "2024-01-15" in result.output
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    ("text", "code", "names"),
    [
        ("series,period,count\na,2024-01-01,1\na,2024-01-01,2\n", "series.duplicate", ["a"]),
        ("series,period,count\na,2024-01-01,1\na,2024-01-09,2\n", "series.gap", ["2024-01-09"]),
        ("series,period,count\na,2024-01-01,1\na,2024-01-08,2.5\n", "count.invalid", ["row 2"]),
        ("series,period,count\na,2024-01-01,-1\n", "count.invalid", ["row 1", "count"]),
        ("series,period,count\na,01/02/2024,1\n", "period.invalid", ["row 1", "period"]),
        ("series,period,cases\na,2024-01-01,1\n", "file.header", ["count", "cases"]),
        ("series,period,count\n,2024-01-01,1\n", "series.invalid", ["row 1"]),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, text: str, code: str, names: list[str]) -> None:
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    result = _invoke(tmp_path, ["detect", "ears-c1", str(path), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert code in result.output
    for name in names:
        assert name in result.output


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        (["--param", "minSigma=1"], "param.unknown", ["min_sigma", "minSigma"]),
        (["--param", "alpha=often"], "param.invalid", ["alpha", "often", "number"]),
        (["--param", "baseline=2.5"], "param.invalid", ["baseline", "integer"]),
        (["--param", "baseline"], "param.syntax", ["NAME=VALUE"]),
        (["--param", "baseline=2"], "param.invalid", ["at least 3"]),
        (["--param", "alpha=0.1", "--param", "alpha=0.2"], "param.repeated", ["alpha"]),
    ],
)
def test_bad_params_are_refused(
    tmp_path: Path, params: list[str], code: str, words: list[str]
) -> None:
    counts = _write(tmp_path / "c.csv", {"a": list(range(20))}, date(2024, 1, 1))
    args = ["detect", "ears-c1", str(counts), *params, "-o", str(tmp_path / "o.csv")]
    result = _invoke(tmp_path, args)
    assert result.exit_code == 2, result.output
    assert code in result.output
    for word in words:
        assert word in result.output


def test_unknown_method_lists_the_methods(tmp_path: Path) -> None:
    counts = _write(tmp_path / "c.csv", {"a": list(range(20))}, date(2024, 1, 1))
    result = _invoke(tmp_path, ["detect", "ears-c4", str(counts), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert "method.unknown" in result.output
    assert "farrington-flexible" in result.output


def test_from_outside_the_series_is_refused(tmp_path: Path) -> None:
    counts = _write(tmp_path / "c.csv", {"a": list(range(20))}, date(2024, 1, 1))
    args = ["detect", "ears-c1", str(counts), "--from", "2023-12-25", "-o", str(tmp_path / "o")]
    result = _invoke(tmp_path, args)
    assert result.exit_code == 2
    assert "period.outside" in result.output
    assert "2023-12-25" in result.output


@pytest.mark.parametrize("method", ["ears-c2", "cusum", "glrnb", "bayes", "mpm", "ewma"])
def test_every_method_runs_through_the_cli(tmp_path: Path, method: str) -> None:
    data = _fixture("ears", "synth_seasonal")
    counts = _write(tmp_path / "c.csv", {"s": data["counts"]}, date(2000, 1, 3))
    out = tmp_path / "out.csv"
    args = ["detect", method, str(counts), "--from", "2005-01-03", "-o", str(out)]
    result = _invoke(tmp_path, args)
    assert result.exit_code == 0, result.output
    rows = _read(out)
    assert rows[0]["period"] == "2005-01-03"
    assert rows[-1]["period"] == str(date(2000, 1, 3) + timedelta(weeks=len(data["counts"]) - 1))
    assert all(r["threshold"] != "" for r in rows)
    assert {r["alarm"] for r in rows} <= {"true", "false"}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _param_args(control: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for key, value in control.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list):
            text = ",".join(str(v) for v in value)
        else:
            text = str(value)
        args += ["--param", f"{_snake(key)}={text}"]
    return args


FARRINGTON_CASES = (
    "021-farringtonFlexible-salmNewport", "022-farringtonFlexible-salmNewport",
    "029-farringtonFlexible-salmNewport", "036-farringtonFlexible-salmNewport.Bavaria",
    "128-farrington-salmNewport", "133-farrington-salmNewport",
    "134-farrington-salmNewport",
)  # fmt: skip


@pytest.mark.parametrize("case_id", FARRINGTON_CASES)
def test_farrington_through_the_cli_matches_r_on_dated_series(tmp_path: Path, case_id: str) -> None:
    # R's fixtures from the Farrington module's own script (salmNewport is an sts with
    # dates): the CLI passes the periods' dates, R's epochAsDate logic
    folder = FIXTURES / "farrington"
    if not (folder / "cases.json").exists():
        pytest.skip("the Farrington fixtures are not there")
    case = next(c for c in json.loads((folder / "cases.json").read_text()) if c["id"] == case_id)
    series = json.loads((folder / "series.json").read_text())[case["series"]]
    path = tmp_path / "c.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("series,period,count\n")
        for day, count in zip(series["dates"], series["counts"], strict=True):
            fh.write(f"x,{day},{int(count)}\n")
    method = "farrington" if case["method"] == "farrington" else "farrington-flexible"
    first = series["dates"][case["start"] - 1]
    out = tmp_path / "out.csv"
    args = ["detect", method, str(path), "--from", first, *_param_args(case["control"])]
    result = _invoke(tmp_path, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = _read(out)
    assert [r["period"] for r in rows] == series["dates"][case["start"] - 1 : case["end"]]
    bounds = [np.nan if v is None else v for v in case["upperbound"]]
    np.testing.assert_allclose(_thresholds(rows), bounds, rtol=1e-6)
    assert [r["alarm"] == "true" for r in rows] == [bool(a) for a in case["alarm"]]
