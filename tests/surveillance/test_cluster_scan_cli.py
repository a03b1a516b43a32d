"""`fangkong cluster-scan` end to end: the CSV contract, the planted cluster, bad rows named."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.surveillance.spacetime import ScanSettings, scan

runner = CliRunner()
START = date(2022, 3, 1)


def _files(tmp_path: Path, geo: bool = False) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(8)
    n, n_days = 16, 21
    coords = rng.uniform(0, 1, (n, 2)) * (0.3 if geo else 50) + ([116.2, 39.8] if geo else 0)
    rate = np.full((n, n_days), 2.0)
    rate[[4], -4:] *= 6
    counts = rng.poisson(rate)
    regions, cases = tmp_path / "regions.csv", tmp_path / "cases.csv"
    head = "region_code,lon,lat\n" if geo else "region_code,x,y\n"
    regions.write_text(
        head + "".join(f"R{i:02d},{float(x)!r},{float(y)!r}\n" for i, (x, y) in enumerate(coords))
    )
    with cases.open("w", encoding="utf-8") as fh:
        fh.write("region_code,date,count\n")
        for i in range(n):
            for d in range(n_days):
                if counts[i, d]:
                    fh.write(f"R{i:02d},{START + timedelta(days=d)},{counts[i, d]}\n")
    return regions, cases, counts, coords


def _invoke(tmp_path: Path, args: list[str]):  # type: ignore[no-untyped-def]
    return runner.invoke(app, args, env={"FANGKONG_HOME": str(tmp_path), "FANGKONG_LANG": "zh+en"})


@pytest.mark.parametrize("geo", [False, True])
def test_scan_finds_the_planted_cluster(tmp_path: Path, geo: bool) -> None:
    regions, cases, counts, coords = _files(tmp_path, geo)
    out = tmp_path / "clusters.csv"
    args = ["cluster-scan", str(cases), "--regions", str(regions), "--max-days", "7",
            "--replicates", "99", "--seed", "3", "-o", str(out)]  # fmt: skip
    result = _invoke(tmp_path, args)
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    top = rows[0]
    assert "R04" in top["regions"].split()
    assert float(top["p_value"]) == pytest.approx(0.01)
    assert top["end_date"] == str(START + timedelta(days=20))
    assert float(top["llr"]) > 5
    # The file is the library's answer on the same table (same seed, same replicates).
    lib = scan(counts, coords, ScanSettings(max_days=7, replicates=99),
               metric="haversine" if geo else "euclidean", rng=3)  # fmt: skip
    assert len(rows) == len(lib.clusters)
    for row, cluster in zip(rows, lib.clusters, strict=True):
        assert row["regions"].split() == [f"R{r:02d}" for r in cluster.regions]
        assert float(row["llr"]) == pytest.approx(cluster.llr, rel=1e-5)
        assert float(row["p_value"]) == cluster.p_value
        assert int(row["days"]) == cluster.days
    assert "R04" in result.output
    assert "LLR" in result.output


@pytest.mark.parametrize(
    ("cases", "row", "field"),
    [
        ("region_code,date,count\nR00,2022-03-01,1\nR99,2022-03-02,1\n", 2, "region_code"),
        ("region_code,date,count\nR00,2022-03-01,1\nR01,2022-03-02,-1\n", 2, "count"),
        ("region_code,date,count\nR00,2022-03-01,1\nR01,03/02/2022,1\n", 2, "date"),
    ],
)
def test_scan_bad_rows_are_named(tmp_path: Path, cases: str, row: int, field: str) -> None:
    regions, _, _, _ = _files(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(cases, encoding="utf-8")
    out = tmp_path / "clusters.csv"
    args = ["cluster-scan", str(bad), "--regions", str(regions), "-o", str(out)]
    result = _invoke(tmp_path, args)
    assert result.exit_code == 2
    assert f"row {row}, field {field}" in result.output
    assert f"第 {row} 行 {field}" in result.output
    assert not out.exists()


def test_scan_regions_need_coordinates(tmp_path: Path) -> None:
    _, cases, _, _ = _files(tmp_path)
    regions = tmp_path / "r.csv"
    regions.write_text("region_code,east,north\nR00,1,2\n", encoding="utf-8")
    args = ["cluster-scan", str(cases), "--regions", str(regions), "-o", "x.csv"]
    result = _invoke(tmp_path, args)
    assert result.exit_code == 2
    assert "x,y or lon,lat" in result.output
