"""Count series files (``series,period,count[,population]``): read, validate, regularise.

Each row is one period of one series: ``period`` is the ISO date the period starts
(weekly by default, daily with ``freq="day"``; a weekly period may also be written as an
ISO week ``2024-W05``, read as its Monday), ``count`` a non-negative integer and
``population`` (optional) a positive number. Every series must be regular and gap-free:
consecutive periods exactly one week (one day) apart. A gap, a repeated period, a bad
value or a missing column is refused with a message naming the file, the row (data rows
count from 1), the field and the series, in Chinese and English.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from epiweeks import Week

from fangkong.errors import BadInput, Problem

Freq = Literal["week", "day"]
COLUMNS = ("series", "period", "count", "population")
REQUIRED = COLUMNS[:3]
PERIODS_PER_YEAR: dict[str, int] = {"week": 52, "day": 365}
STEP: dict[str, dt.timedelta] = {"week": dt.timedelta(days=7), "day": dt.timedelta(days=1)}
_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


@dataclass(frozen=True)
class CountSeries:
    """One regular, gap-free series: the start date of each period and its counts."""

    name: str
    freq: Freq
    periods: tuple[dt.date, ...]
    counts: npt.NDArray[np.float64]
    population: npt.NDArray[np.float64] | None

    @property
    def start_phase(self) -> int:
        """R's ``start[2]``: ISO week of the first period (weekly) or day of the year."""
        first = self.periods[0]
        return first.timetuple().tm_yday if self.freq == "day" else first.isocalendar().week

    def position(self, day: dt.date) -> int | None:
        """0-based index of the period starting on ``day`` (None when it is not one)."""
        offset = (day - self.periods[0]).days
        step = STEP[self.freq].days
        if offset < 0 or offset % step or offset // step >= len(self.periods):
            return None
        return offset // step


def _bad(code: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem(code, zh, en))


def parse_period(text: str, freq: Freq) -> dt.date:
    """An ISO date, or for weekly data an ISO week (``2024-W05``, its Monday)."""
    value = text.strip()
    match = _ISO_WEEK.match(value)
    if match is not None and freq == "week":
        return Week(int(match.group(1)), int(match.group(2)), system="iso").startdate()
    return dt.date.fromisoformat(value)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in REQUIRED if c not in header]
            unknown = [c for c in header if c not in COLUMNS]
            if missing or unknown:
                raise _bad(
                    "file.header",
                    f"{path} 表头有误：缺少列 {', '.join(missing) or '无'}；未知列 "
                    f"{', '.join(unknown) or '无'}。应有的列：series,period,count[,population]",
                    f"{path} header: missing columns {', '.join(missing) or 'none'}; unknown "
                    f"columns {', '.join(unknown) or 'none'}. "
                    "Expected columns: series,period,count[,population]",
                )
            for number, row in enumerate(reader, start=1):
                yield number, {k.strip(): (v or "").strip() for k, v in row.items() if k}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise _bad(
            "file.unreadable", f"{path} 无法读取：{exc}", f"{path} cannot be read: {exc}"
        ) from exc


def _field_error(path: Path, row: int, field: str, zh: str, en: str) -> BadInput:
    return _bad(
        f"{field}.invalid",
        f"{path} 第 {row} 行 {field} 列：{zh}",
        f"{path} row {row}, field {field}: {en}",
    )


def read_series(path: Path, *, freq: Freq = "week") -> list[CountSeries]:
    """Every series in the file, in order of first appearance, each sorted by period."""
    if freq not in STEP:
        raise _bad("freq.invalid", f"不支持的周期 {freq!r}", f"unknown --freq {freq!r}")
    rows: dict[str, list[tuple[dt.date, float, float | None, int]]] = {}
    has_population = False
    for number, row in _rows(path):
        name = row.get("series", "")
        if not name:
            raise _field_error(path, number, "series", "不能为空", "must not be empty")
        try:
            period = parse_period(row.get("period", ""), freq)
        except ValueError as exc:
            raise _field_error(
                path, number, "period",
                f"{row.get('period')!r} 不是 ISO 日期（如 2024-01-29）",
                f"{row.get('period')!r} is not an ISO date (e.g. 2024-01-29)",
            ) from exc  # fmt: skip
        count = _number(path, number, "count", row.get("count", ""), integer=True)
        population = None
        if row.get("population"):
            population = _number(path, number, "population", row["population"], integer=False)
            has_population = True
        rows.setdefault(name, []).append((period, count, population, number))
    if not rows:
        raise _bad("file.empty", f"{path} 没有数据行", f"{path} has no data rows")
    return [_one_series(path, name, items, freq, has_population) for name, items in rows.items()]


def _number(path: Path, row: int, field: str, text: str, *, integer: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or value < 0 or (integer and value != int(value)):
        kind_zh, kind_en = (
            ("非负整数", "a non-negative integer") if integer else ("正数", "a number")
        )
        raise _field_error(
            path, row, field, f"{text!r} 应为{kind_zh}", f"{text!r} must be {kind_en}"
        )
    if not integer and value <= 0:
        raise _field_error(path, row, field, f"{text!r} 应为正数", f"{text!r} must be positive")
    return value


def _one_series(
    path: Path,
    name: str,
    items: list[tuple[dt.date, float, float | None, int]],
    freq: Freq,
    has_population: bool,
) -> CountSeries:
    items.sort(key=lambda item: item[0])
    step = STEP[freq]
    for (before, _, _, row_a), (after, _, _, row_b) in itertools.pairwise(items):
        if after == before:
            raise _bad(
                "series.duplicate",
                f"{path} 序列 {name}：时期 {after} 重复（第 {row_a} 行与第 {row_b} 行）",
                f"{path} series {name}: period {after} appears twice (rows {row_a} and {row_b})",
            )
        if after - before != step:
            unit_zh, unit_en = ("周", "week") if freq == "week" else ("天", "day")
            missing = before + step
            if (after - before) % step == dt.timedelta(0):
                zh = f"缺少时期 {missing}（{before} 之后下一{unit_zh}）"
                en = f"period {missing} is missing (the {unit_en} after {before})"
            else:
                zh = f"时期 {after} 与 {before} 相隔不是整{unit_zh}"
                en = f"period {after} is not a whole {unit_en} after {before}"
            raise _bad(
                "series.gap",
                f"{path} 序列 {name}：{zh}；序列必须连续（第 {row_b} 行）",
                f"{path} series {name}: {en}; series must be regular and gap-free (row {row_b})",
            )
    population = None
    if has_population:
        missing_rows = [row for _, _, pop, row in items if pop is None]
        if missing_rows:
            raise _field_error(
                path, missing_rows[0], "population",
                f"序列 {name} 缺少人口（文件有人口列时每行都要填）",
                f"series {name} has no population here (once the file has populations, "
                "every row needs one)",
            )  # fmt: skip
        population = np.array([pop for _, _, pop, _ in items], dtype=np.float64)
    return CountSeries(
        name,
        freq,
        tuple(item[0] for item in items),
        np.array([item[1] for item in items], dtype=np.float64),
        population,
    )
