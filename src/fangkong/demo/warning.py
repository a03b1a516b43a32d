"""Early warning in ``fangkong demo``: the twin's days as signals, the detection job run
at the end of each simulated day, and what it found before the first confirmed case.

The platform sees only the observables; the first confirmed case is the first positive
test result it received.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow.compute as _pc
from sqlalchemy import Engine

from fangkong.alerts.detection import RunResult, run_detection
from fangkong.alerts.rules import AlertRules
from fangkong.alerts.series import RegionTree
from fangkong.alerts.signals import record_signals_rows
from fangkong.demo.signals import TwinSignals, background_twin
from fangkong.store.tx import write_transaction
from fangkong.twin.events import DayEvents

pc: Any = _pc
HISTORY_DAYS = 28  # weeks of quiet signals before the outbreak: the detectors' baseline


@dataclass
class AlertFeed:
    engine: Engine
    rules: AlertRules
    signals: TwinSignals
    tz: ZoneInfo
    start: date
    tree: RegionTree | None = None
    first_alert: dict[str, date] = field(default_factory=dict)  # rule → first day (outbreak)
    first_confirmed: date | None = None
    history_alerts: int = 0

    @classmethod
    def build(cls, engine: Engine, rules: AlertRules, registry: Any, scenario: Any) -> AlertFeed:
        codes = registry.persons.column("residence_code").to_pylist()
        start = scenario.run.start_date
        return cls(engine, rules, TwinSignals(codes, start), ZoneInfo(scenario.run.timezone),
                   start)  # fmt: skip

    def end_of(self, day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(0), self.tz).astimezone(UTC)

    def history(self, registry: Any, scenario: Any, seed: int, days: int = HISTORY_DAYS,
                *, detect: bool = True) -> int | None:  # fmt: skip
        """Feed ``days`` quiet days before the outbreak; with ``detect``, run the job on each
        and return the alerts it raised (all false: there is no outbreak yet)."""
        quiet = background_twin(registry, scenario, seed, days)
        feed = TwinSignals(registry.persons.column("residence_code").to_pylist(),
                           self.start - timedelta(days=days))  # fmt: skip
        with write_transaction(self.engine) as conn:
            self.tree = RegionTree.load(conn)
        for events in quiet.run(days):
            day = feed.start + timedelta(days=events.day)
            record_signals_rows(self.engine, feed.rows(events))
            if not detect:
                continue
            self.history_alerts += run_detection(self.engine, self.rules, day, self.end_of(day),
                                                 tree=self.tree).raised  # fmt: skip
        return self.history_alerts if detect else None

    def day(
        self,
        events: DayEvents,
        managed: npt.NDArray[np.bool_] | None,
        confirmed: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None,
    ) -> RunResult:
        """Record the day's signals (``confirmed``: the platform's positives, see
        ``TwinSignals.rows``) and run detection at the end of the day; an overdue alert
        escalates through its command task (the province loop's command step)."""
        day = self.start + timedelta(days=events.day)
        record_signals_rows(self.engine, self.signals.rows(events, managed, confirmed))
        now = self.end_of(day)
        if self.tree is None:
            with write_transaction(self.engine) as conn:
                self.tree = RegionTree.load(conn)
        result = run_detection(self.engine, self.rules, day, now, tree=self.tree)
        positive = (
            len(confirmed[0]) > 0 if confirmed is not None
            else bool(pc.any(events.test_results["positive"]).as_py())
        )  # fmt: skip
        if self.first_confirmed is None and positive:
            self.first_confirmed = day
        return result


def managed_before(orders: Any, n: int, day: int) -> npt.NDArray[np.bool_]:
    """Persons ordered isolated or quarantined before ``day`` (the response's decisions)."""
    managed = np.zeros(n, bool)
    if orders.num_rows:
        early = orders.filter(pc.less(orders["day"], day))
        managed[np.asarray(early["person"].to_numpy(), np.int64)] = True
    return managed


def summary(engine: Engine, feed: AlertFeed, duty: Any = None) -> list[str]:
    """Lines for the demo: alerts by rule, the first one of each before/after the first
    confirmed case, how many the quiet weeks raised; ``duty`` (the loop's ``AlertDesk``):
    how its officers answered them."""
    from sqlalchemy import func, select

    from fangkong.alerts.tables import alerts

    a = alerts.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(a.rule, func.count(), func.min(a.first_period), func.min(a.id))
            .where(a.first_period >= feed.start)
            .group_by(a.rule)
            .order_by(func.min(a.first_period))
        ).all()
    confirmed = feed.first_confirmed
    lines = [
        f"预警 alerts（{HISTORY_DAYS} 天无疫情的信号作基线 {HISTORY_DAYS} quiet days as baseline）"
        f" 首例确诊 first confirmed {confirmed or '—'}; 首条预警未必为真 the first alert of a "
        "rule may be a false one (scripts/alerts_lead_time.py tells them apart)"
    ]
    for rule, n, first, first_id in rows:
        lead = "" if confirmed is None else f"  提前 lead {(confirmed - first).days:+d} 天 days"
        lines.append(f"  {rule:<28} {n:>3} 条 alerts, 首次 first {first} (#{first_id}){lead}")
    if duty is not None:
        lines.append(
            f"  值班流调 duty epidemiologists: 核实 verified {duty.outcomes['verified']}, "
            f"结案 closed {duty.outcomes['closed']}, 排除 dismissed {duty.outcomes['dismissed']}"
        )
    return lines
