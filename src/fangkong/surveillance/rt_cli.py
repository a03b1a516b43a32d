"""`fangkong rt` and `fangkong cluster-scan`: read CSV, call the library, write CSV, print a
summary."""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from fangkong.cli_support import err, out
from fangkong.errors import BadInput, Problem
from fangkong.surveillance.rt import RtEstimate, RtWarning, estimate_r
from fangkong.surveillance.spacetime import ScanResult, ScanSettings, scan

RT_COLUMNS = ("t_start", "t_end", "mean", "std", "q025", "median", "q975")
SCAN_COLUMNS = (
    "rank", "regions", "centre", "radius", "start_date", "end_date", "days",
    "observed", "expected", "ratio", "llr", "p_value", "recurrence_interval_days",
)  # fmt: skip

Row = dict[str, str]


def _bad(path: Path, row: int | None, field: str | None, zh: str, en: str) -> BadInput:
    where_zh = f"{path}" + (f" 第 {row} 行" if row else "") + (f" {field}" if field else "")
    where_en = f"{path}" + (f" row {row}" if row else "") + (f", field {field}" if field else "")
    return BadInput(Problem("file.invalid", f"{where_zh}：{zh}", f"{where_en}: {en}"))


def _rows(path: Path, required: Sequence[str], one_of: Sequence[Sequence[str]] = ()) -> list[Row]:
    """Data rows (numbered from 1) of a UTF-8 CSV with the required header columns."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k} for r in reader]
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(path, None, None, f"无法读取（{exc}）", f"cannot be read ({exc})") from exc
    missing = [c for c in required if c not in header]
    if one_of and not any(all(c in header for c in group) for group in one_of):
        missing.append(" or ".join(",".join(g) for g in one_of))
    if missing:
        raise _bad(
            path, None, None, f"缺少列 {', '.join(missing)}", f"missing column {', '.join(missing)}"
        )
    return rows


def _date(path: Path, n: int, text: str, field: str = "date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _bad(path, n, field, f"不是日期 {text!r}（应为 YYYY-MM-DD）",
                   f"not a date {text!r} (use YYYY-MM-DD)") from None  # fmt: skip


def _number(path: Path, n: int, row: Row, field: str, *, count: bool = True) -> float:
    text = row.get(field, "")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (count and (value < 0 or value % 1 != 0)):
        kind_zh, kind_en = (
            ("非负整数", "a non-negative whole number") if count else ("数值", "a number")
        )
        raise _bad(path, n, field, f"{text!r} 不是{kind_zh}", f"{text!r} is not {kind_en}")
    return value


def read_incidence(path: Path) -> tuple[list[date], np.ndarray, np.ndarray | None]:
    """``date,local[,imported]``, one row per consecutive day."""
    rows = _rows(path, ("date", "local"))
    if not rows:
        raise _bad(path, None, None, "没有数据行", "has no data rows")
    has_imported = "imported" in rows[0]
    days: list[date] = []
    local, imported = [], []
    for n, row in enumerate(rows, start=1):
        day = _date(path, n, row["date"])
        expected = days[-1] + timedelta(days=1) if days else day
        if day != expected:
            raise _bad(path, n, "date", f"日期须逐日连续，应为 {expected}，实为 {day}",
                       f"dates must be consecutive: expected {expected}, found {day}")  # fmt: skip
        days.append(day)
        local.append(_number(path, n, row, "local"))
        if has_imported:
            imported.append(_number(path, n, row, "imported"))
    return days, np.array(local), np.array(imported) if has_imported else None


def read_si_distr(path: Path) -> np.ndarray:
    """``k,w``: the probability ``w`` of a serial interval of ``k`` days, k = 0, 1, 2, ..."""
    rows = _rows(path, ("k", "w"))
    weights = []
    for n, row in enumerate(rows, start=1):
        if _number(path, n, row, "k") != n - 1:
            raise _bad(path, n, "k", f"k 应为 {n - 1}（从 0 起逐一递增）",
                       f"k should be {n - 1} (0, 1, 2, ... in order)")  # fmt: skip
        weights.append(_number(path, n, row, "w", count=False))
    return np.array(weights)


def _fmt(value: float) -> str:
    return "" if math.isnan(value) else repr(float(value))


def write_rt(result: RtEstimate, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(RT_COLUMNS)
        for i in range(len(result)):
            writer.writerow([int(result.t_start[i]), int(result.t_end[i]),
                             *(_fmt(getattr(result, c)[i]) for c in RT_COLUMNS[2:])])  # fmt: skip


def rt_command(
    incidence: Annotated[Path, typer.Argument(help="CSV date,local[,imported], consecutive days.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output CSV of R per window.")],
    si_mean: Annotated[float | None, typer.Option(help="Serial interval mean (days).")] = None,
    si_sd: Annotated[float | None, typer.Option(help="Serial interval standard deviation.")] = None,
    si_distr: Annotated[
        Path | None, typer.Option(help="CSV k,w: a non-parametric serial interval.")
    ] = None,
    window: Annotated[int, typer.Option(help="Days per sliding window.")] = 7,
) -> None:
    """Time-varying reproduction number R (Cori et al. 2013, as R EpiEstim). 实时再生数."""
    days, local, imported = read_incidence(incidence)
    distr = read_si_distr(si_distr) if si_distr is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RtWarning)
        result = estimate_r(local, imported=imported, si_mean=si_mean, si_sd=si_sd,
                            si_distr=distr, window=window)  # fmt: skip
    for warning in caught:
        err.print(f"[yellow]注意 / note[/yellow] {warning.message}")
    write_rt(result, output)
    defined = np.flatnonzero(~np.isnan(result.mean))
    out.print(f"{len(result)} windows / 个窗口 → {output}")
    if defined.size:
        i = int(defined[-1])
        end = days[int(result.t_end[i]) - 1]
        out.print(f"R ({days[int(result.t_start[i]) - 1]} – {end}): {result.mean[i]:.2f} "
                  f"(95% CrI {result.q025[i]:.2f}–{result.q975[i]:.2f})")  # fmt: skip


def _regions(path: Path) -> tuple[list[str], np.ndarray, str, np.ndarray | None]:
    rows = _rows(path, ("region_code",), one_of=(("x", "y"), ("lon", "lat")))
    geo = "lon" in rows[0] if rows else False
    names = ("lon", "lat") if geo else ("x", "y")
    codes: list[str] = []
    coords, population = [], []
    for n, row in enumerate(rows, start=1):
        code = row["region_code"]
        if not code or code in codes:
            raise _bad(
                path, n, "region_code", "区域代码为空或重复", "region code empty or repeated"
            )
        codes.append(code)
        coords.append([_number(path, n, row, f, count=False) for f in names])
        if "population" in row:
            population.append(_number(path, n, row, "population"))
    if not codes:
        raise _bad(path, None, None, "没有数据行", "has no data rows")
    pop = np.array(population) if population else None
    return codes, np.array(coords), "haversine" if geo else "euclidean", pop


def _case_table(path: Path, codes: list[str]) -> tuple[np.ndarray, date]:
    """Regions × days counts from ``region_code,date,count`` (rows for one cell add up)."""
    index = {code: i for i, code in enumerate(codes)}
    entries = []
    for n, row in enumerate(_rows(path, ("region_code", "date", "count")), start=1):
        if row["region_code"] not in index:
            raise _bad(path, n, "region_code", f"区域 {row['region_code']!r} 不在区域文件中",
                       f"region {row['region_code']!r} is not in the regions file")  # fmt: skip
        entries.append((index[row["region_code"]], _date(path, n, row["date"]),
                        _number(path, n, row, "count")))  # fmt: skip
    if not entries:
        raise _bad(path, None, None, "没有数据行", "has no data rows")
    first = min(e[1] for e in entries)
    n_days = (max(e[1] for e in entries) - first).days + 1
    table = np.zeros((len(codes), n_days))
    for region, day, count in entries:
        table[region, (day - first).days] += count
    return table, first


def _cluster_rows(result: ScanResult, codes: list[str], first: date) -> list[list[str]]:
    end = (first + timedelta(days=result.n_days - 1)).isoformat()
    return [
        [str(rank), " ".join(codes[r] for r in c.regions), codes[c.centre], _fmt(c.radius),
         (first + timedelta(days=c.start_day)).isoformat(), end, str(c.days), f"{c.observed:g}",
         _fmt(c.expected), _fmt(c.ratio), _fmt(c.llr), _fmt(c.p_value),
         _fmt(c.recurrence_interval_days)]
        for rank, c in enumerate(result.clusters, start=1)
    ]  # fmt: skip


def _summary(result: ScanResult, rows: list[list[str]]) -> Table:
    shown = Table("#", "regions / 区域", "from / 自", "days / 天", "obs", "exp", "obs/exp",
                  "LLR", "p", "RI (days)")  # fmt: skip
    for row, c in zip(rows, result.clusters, strict=True):
        shown.add_row(row[0], row[1], row[4], row[6], row[7], f"{c.expected:.1f}",
                      f"{c.ratio:.2f}", f"{c.llr:.2f}", f"{c.p_value:.3g}",
                      f"{c.recurrence_interval_days:.0f}")  # fmt: skip
    return shown


def scan_command(
    cases: Annotated[Path, typer.Argument(help="CSV region_code,date,count.")],
    regions: Annotated[
        Path, typer.Option(help="CSV region_code,x,y or region_code,lon,lat [,population].")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output CSV of clusters.")],
    max_days: Annotated[
        int | None, typer.Option(help="Longest cluster in days (default: half the period).")
    ] = None,
    max_k: Annotated[int | None, typer.Option(help="Most regions in a zone.")] = None,
    max_share: Annotated[
        float, typer.Option(help="Largest share of population (or cases) in a zone.")
    ] = 0.5,
    replicates: Annotated[int, typer.Option(help="Monte Carlo replicates.")] = 999,
    seed: Annotated[int | None, typer.Option(help="Random seed, for repeatable p-values.")] = None,
) -> None:
    """Prospective space-time permutation scan (Kulldorff 2005). 时空聚集性扫描."""
    codes, coords, metric, population = _regions(regions)
    table, first = _case_table(cases, codes)
    cfg = ScanSettings(max_days=max_days, max_k=max_k, max_share=max_share, replicates=replicates)
    result = scan(table, coords, cfg, metric=metric, population=population, rng=seed)
    rows = _cluster_rows(result, codes, first)
    with output.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(SCAN_COLUMNS)
        writer.writerows(rows)
    out.print(f"{result.total_cases:g} cases / 例, {result.n_days} days / 天 "
              f"(to / 至 {rows[0][5] if rows else ''}), {result.n_cylinders} cylinders, "
              f"{replicates} replicates → {output}")  # fmt: skip
    out.print(_summary(result, rows))
