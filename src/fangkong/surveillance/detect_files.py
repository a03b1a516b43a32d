"""Aberration detection over count series files (``fangkong detect``): which periods of
each series to evaluate (:func:`plan`; errors name the series and period), the method
run per series — EARS and farringtonFlexible batched over series that share their
periods (:func:`detect_all`) — and the output CSV, one row per series and period
(:func:`write_rows`)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fangkong.errors import BadInput, Problem
from fangkong.surveillance.detect import Method, SeriesInput, run_batch, run_method
from fangkong.surveillance.result import Detection
from fangkong.surveillance.series import PERIODS_PER_YEAR, CountSeries

OUTPUT_COLUMNS = ("series", "period", "count", "threshold", "alarm")


@dataclass(frozen=True)
class Plan:
    """What to evaluate for one series: rows from ``start`` to ``stop`` (inclusive),
    the method from ``first`` on (periods before it cannot be evaluated)."""

    series: CountSeries
    start: int
    first: int
    stop: int

    @property
    def positions(self) -> npt.NDArray[np.int64]:
        return np.arange(self.first, self.stop + 1, dtype=np.int64)


def bad(code: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem(code, zh, en))


def _position(s: CountSeries, day: dt.date, option: str) -> int:
    index = s.position(day)
    if index is None:
        raise bad(
            "period.outside",
            f"序列 {s.name} 没有时期 {day}（{option}）；该序列为 {s.periods[0]} 至 {s.periods[-1]}",
            f"series {s.name} has no period {day} ({option}); it runs from {s.periods[0]} "
            f"to {s.periods[-1]}",
        )
    return index


def plan(
    s: CountSeries, method: Method, params: Mapping[str, Any],
    start: dt.date | None, stop: dt.date | None,
) -> Plan:  # fmt: skip
    """Rows and evaluated periods for one series (errors name the series and period)."""
    first = max(0, method.first(params, PERIODS_PER_YEAR[s.freq]))
    last = len(s.counts) - 1 if stop is None else _position(s, stop, "--to")
    begin = first if start is None else _position(s, start, "--from")
    if first > last and start is None:
        raise bad(
            "series.short",
            f"序列 {s.name} 太短：方法 {method.name} 需要在第一个评估时期前有 {first} 个时期，"
            f"而到 {s.periods[last]} 只有 {last + 1} 个",
            f"series {s.name} is too short: method {method.name} needs {first} periods before "
            f"the first one it evaluates, there are {last + 1} up to {s.periods[last]}",
        )
    if begin > last:
        raise bad(
            "period.order",
            f"序列 {s.name}：--from 晚于 --to",
            f"series {s.name}: --from is after --to",
        )
    return Plan(s, begin, max(begin, first), last)


def _input(s: CountSeries) -> SeriesInput:
    return SeriesInput(
        counts=s.counts, freq=PERIODS_PER_YEAR[s.freq], start_phase=s.start_phase,
        dates=s.periods, population=s.population,
    )  # fmt: skip


def detect_all(method: Method, plans: Sequence[Plan], params: Mapping[str, Any]) -> list[Detection]:
    """One Detection per plan; aligned plans go through the batched form when there is one."""
    results: dict[int, Detection] = {}
    if method.batch is not None:
        groups: dict[tuple[dt.date, int, int, int], list[int]] = {}
        for i, p in enumerate(plans):
            key = (p.series.periods[0], len(p.series.counts), p.first, p.stop)
            groups.setdefault(key, []).append(i)
        for members in groups.values():
            if len(members) < 2:
                continue
            counts = np.stack([plans[i].series.counts for i in members])
            pops = [plans[i].series.population for i in members]
            population = None if any(p is None for p in pops) else np.stack(pops)  # type: ignore[arg-type]
            head = plans[members[0]]
            found = run_batch(
                method, method.batch, counts, population, _input(head.series), head.positions,
                params,
            )  # fmt: skip
            results.update(zip(members, found, strict=True))
    for i, p in enumerate(plans):
        if i not in results:
            results[i] = run_method(method, _input(p.series), p.positions, params)
    return [results[i] for i in range(len(plans))]


def _number(value: float) -> str:
    if np.isnan(value):
        return ""
    return (
        str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    )


def write_rows(path: Path, plans: Sequence[Plan], found: Sequence[Detection]) -> int:
    """The output CSV; returns the number of alarms."""
    alarms = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(OUTPUT_COLUMNS)
        for p, d in zip(plans, found, strict=True):
            by_index = {int(i): k for k, i in enumerate(d.index)}
            for t in range(p.start, p.stop + 1):
                k = by_index.get(t)
                if k is None:
                    count, threshold, alarm = p.series.counts[t], "", ""
                else:
                    count, threshold = d.observed[k], _number(d.threshold[k])
                    alarm = ("true" if d.alarm[k] else "false") if d.alarm_defined[k] else ""
                    alarms += bool(d.alarm[k])
                writer.writerow(
                    [
                        p.series.name,
                        p.series.periods[t].isoformat(),
                        _number(count),
                        threshold,
                        alarm,
                    ]
                )
    return alarms
