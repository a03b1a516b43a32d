"""The CSV files of ``fangkong rt`` and ``fangkong cluster-scan``: daily incidence, a
serial interval distribution, regions with coordinates, cases per region and day in;
R per window and clusters out. A bad file is a ``BadInput`` naming the row and field."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from fangkong.errors import BadInput, Problem
from fangkong.surveillance.rt import RtEstimate
from fangkong.surveillance.spacetime import ScanResult

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


def read_regions(path: Path) -> tuple[list[str], np.ndarray, str, np.ndarray | None]:
    """``region_code,x,y`` or ``region_code,lon,lat`` (haversine) [,population]."""
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


def read_case_table(path: Path, codes: list[str]) -> tuple[np.ndarray, date]:
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


def cluster_rows(result: ScanResult, codes: list[str], first: date) -> list[list[str]]:
    """The clusters as the output CSV's rows (region codes and dates, not indexes)."""
    end = (first + timedelta(days=result.n_days - 1)).isoformat()
    return [
        [str(rank), " ".join(codes[r] for r in c.regions), codes[c.centre], _fmt(c.radius),
         (first + timedelta(days=c.start_day)).isoformat(), end, str(c.days), f"{c.observed:g}",
         _fmt(c.expected), _fmt(c.ratio), _fmt(c.llr), _fmt(c.p_value),
         _fmt(c.recurrence_interval_days)]
        for rank, c in enumerate(result.clusters, start=1)
    ]  # fmt: skip


def write_clusters(rows: Sequence[Sequence[str]], path: Path) -> None:
    """The clusters' CSV (:data:`SCAN_COLUMNS`), one row per cluster, most likely first."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(SCAN_COLUMNS)
        writer.writerows(rows)
