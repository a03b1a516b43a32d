"""The detection job (预警分析): triggers and detectors of the pack over the stored signals.

For one day ``as_of``:

* each single-event trigger (单事件触发) sums its signal over the last ``days`` days per
  region (the reported one, or its ancestor at the trigger's ``level``); a sum of at least
  ``min_count`` is a hit at once;
* each detector sums its signals per region of its ``level`` per day or ISO week, runs
  its method (``fangkong.surveillance``) over the series up to the period holding
  ``as_of`` (a week only once it is complete) and takes an alarm there, with at least
  ``min_count`` observed, as a hit.

Every hit becomes a candidate alert with its evidence (the series, the thresholds the
method drew over the last periods, the method and its parameters) and goes through
``service.file_candidate`` (new alert, or a repeat folded into the open one).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow.compute as _pc

from fangkong.alerts.methods import history_periods, run_latest
from fangkong.alerts.rules import AlertRules, Detector, Trigger
from fangkong.alerts.series import (
    RegionTree,
    aggregate,
    load_signals,
    period_start,
    select_signals,
)
from fangkong.alerts.service import Candidate, Outcome, file_candidate
from fangkong.store.tx import Bind, write_transaction

pc: Any = _pc
EVIDENCE_PERIODS = {"day": 56, "week": 52}  # how much of the series an alert shows


@dataclass(frozen=True)
class RunResult:
    as_of: date
    candidates: int
    raised: int
    repeated: int
    skipped: tuple[str, ...]  # detectors without enough history, with why

    def __add__(self, other: RunResult) -> RunResult:
        return RunResult(max(self.as_of, other.as_of), self.candidates + other.candidates,
                         self.raised + other.raised, self.repeated + other.repeated,
                         self.skipped + other.skipped)  # fmt: skip


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _trigger_first(t: Trigger, as_of: date) -> date:
    return as_of - timedelta(days=t.days - 1)


def _detector_span(d: Detector, as_of: date) -> tuple[date, date]:
    """(first day read, last period start) of a detector: the evidence window and the
    method's reference window before it; a week only once it is complete."""
    step = 7 if d.frequency == "week" else 1
    last = period_start(as_of, d.frequency)
    if d.frequency == "week" and as_of < last + timedelta(days=6):
        last -= timedelta(days=7)
    back = EVIDENCE_PERIODS[d.frequency] + history_periods(d.method, d.params, d.frequency)
    return last - timedelta(days=step * back), last


def trigger_hits(counts: Any, t: Trigger, tree: RegionTree, as_of: date) -> Iterator[Candidate]:
    first = _trigger_first(t, as_of)
    raw = select_signals(counts, [t.signal], first, as_of)
    if raw.num_rows == 0:
        return
    if t.level is None:
        sums: dict[str, dict[date, int]] = {}
        columns = (raw.column(k).to_pylist() for k in ("region_code", "day", "count"))
        for code, day, n in zip(*columns, strict=True):
            sums.setdefault(code, {})[day] = sums.get(code, {}).get(day, 0) + n
        days = [first + timedelta(days=i) for i in range(t.days)]
        series = {c: [float(v.get(d, 0)) for d in days] for c, v in sums.items()}
    else:
        s = aggregate(raw, tree, t.level, "day", first, as_of)
        days = s.periods
        series = {c: s.counts[i].tolist() for i, c in enumerate(s.regions) if s.counts[i].any()}
    for code, values in sorted(series.items()):
        total = float(sum(values))
        if total < t.min_count:
            continue
        yield Candidate(
            kind="trigger", rule=t.id, signals=(t.signal,), method="trigger",
            region_code=code, level=t.level or tree.level.get(code, ""), frequency="day",
            severity=t.severity, period=as_of, observed=total, expected=None,
            threshold=float(t.min_count),
            evidence={"periods": [d.isoformat() for d in days], "counts": values,
                      "thresholds": [None] * len(days), "alarms": [False] * len(days),
                      "params": {"min_count": t.min_count, "days": t.days,
                                 "level": t.level or "reported"},
                      "population": tree.population.get(code), "label_zh": t.label_zh,
                      "label_en": t.label_en},
        )  # fmt: skip


def detector_hits(
    counts: Any, d: Detector, tree: RegionTree, as_of: date, skipped: list[str]
) -> Iterator[Candidate]:
    step = 7 if d.frequency == "week" else 1
    since, last = _detector_span(d, as_of)
    raw = select_signals(counts, d.signals, since, last + timedelta(days=step - 1))
    if raw.num_rows == 0:
        return
    first = period_start(pc.min(raw.column("day")).as_py(), d.frequency)
    if first > last:
        return
    s = aggregate(raw, tree, d.level, d.frequency, first, last + timedelta(days=step - 1))
    shown = EVIDENCE_PERIODS[d.frequency]
    pop = np.repeat(s.population[:, None], len(s.periods), axis=1)
    found = run_latest(d.method, s.counts, shown, d.params, s.periods, freq=d.frequency,
                       population=pop if (s.population > 0).all() else None)  # fmt: skip
    short = 0
    for i, (code, det) in enumerate(zip(s.regions, found, strict=True)):
        x = s.counts[i]
        if det is None:
            short += 1
            continue
        if not (det.index[-1] == len(x) - 1 and det.alarm[-1] and x[-1] >= d.min_count):
            continue
        lo = max(0, len(x) - shown)
        thresholds = dict(zip(det.index.tolist(), det.threshold.tolist(), strict=True))
        alarms = dict(zip(det.index.tolist(), det.alarm.tolist(), strict=True))
        expected = float(det.expected[-1])
        yield Candidate(
            kind="detection", rule=d.id, signals=d.signals, method=d.method, region_code=code,
            level=d.level, frequency=d.frequency, severity=d.severity, period=s.periods[-1],
            observed=float(x[-1]), expected=None if math.isnan(expected) else expected,
            threshold=float(det.threshold[-1]),
            evidence={"periods": [p.isoformat() for p in s.periods[lo:]],
                      "counts": x[lo:].tolist(),
                      "thresholds": [_num(thresholds[k]) if k in thresholds else None
                                     for k in range(lo, len(x))],
                      "alarms": [bool(alarms.get(k, False)) for k in range(lo, len(x))],
                      "params": dict(det.params), "population": int(s.population[i]),
                      "label_zh": d.label_zh, "label_en": d.label_en},
        )  # fmt: skip
    if short:
        skipped.append(f"{d.id}: {short} series too short for {d.method}")


def run_detection(
    bind: Bind, rules: AlertRules, as_of: date, now: datetime, *, by: str = "system",
    tree: RegionTree | None = None,
) -> RunResult:  # fmt: skip
    """Triggers and detectors for the day ``as_of``: alerts raised or updated at ``now``.
    Idempotent: a second run for the same day changes nothing."""
    skipped: list[str] = []
    outcomes: list[Outcome] = []
    with write_transaction(bind) as conn:
        tree = tree or RegionTree.load(conn)
        starts = [_trigger_first(t, as_of) for t in rules.triggers.values()]
        starts += [_detector_span(d, as_of)[0] for d in rules.detectors.values()]
        signals = [t.signal for t in rules.triggers.values()]
        signals += [s for d in rules.detectors.values() for s in d.signals]
        counts = load_signals(conn, signals, min(starts, default=as_of), as_of)
        found: list[Candidate] = []
        for t in rules.triggers.values():
            found.extend(trigger_hits(counts, t, tree, as_of))
        for d in rules.detectors.values():
            found.extend(detector_hits(counts, d, tree, as_of, skipped))
        for c in found:
            outcomes.append(file_candidate(conn, c, rules, now, by=by))
    return RunResult(as_of, len(found), sum(o.action == "raised" for o in outcomes),
                     sum(o.action == "repeated" for o in outcomes), tuple(skipped))  # fmt: skip


def detect_days(
    bind: Bind, rules: AlertRules, first: date, last: date, now: datetime, *, by: str = "system"
) -> Iterator[tuple[date, RunResult]]:
    """:func:`run_detection` for each day from ``first`` to ``last`` (the region tree read
    once), yielding each day with its result as it is done."""
    with write_transaction(bind) as conn:
        tree = RegionTree.load(conn)
    day = first
    while day <= last:
        yield day, run_detection(bind, rules, day, now, by=by, tree=tree)
        day += timedelta(days=1)
