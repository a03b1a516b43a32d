"""Which alerts were true, and how early (docs/evaluation.md, "alert lead time").

An alert is **kept** when its signal, in its region, on a day of its period, counted a
person the truth says was infected by then: a fever-clinic visit, a purchase of a drug
class, an illness absence of an infected person (the twin's events of the day), or one
of the platform's own confirmed cases for the three positive-test signals. Other alerts
are **dropped**. For each county, the lead is the simulated day of its first confirmed
case minus the day of its first kept alert (positive: the alert came first); an alert
above county level is its own "county".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc
from sqlalchemy import Engine, select

from fangkong.alerts.tables import alerts
from fangkong.store.schema import regions
from fangkong.twin.events import DayEvents
from fangkong.twin.registry import Registry

pc: Any = _pc
DRUGS = ("antipyretic", "cough", "antiviral", "antibiotic", "cold")
POSITIVE_SIGNALS = ("lab_positive", "positive_outside_quarantine", "screening_positive")


@dataclass
class SignalWitness:
    """Where infected persons showed up in the day's signals: (signal, day) → compounds."""

    compound: np.ndarray  # residence compound code per twin row
    infected: np.ndarray  # infected so far (truth)
    seen: dict[tuple[str, int], set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, registry: Registry) -> SignalWitness:
        codes = np.asarray(registry.persons.column("residence_code").to_pylist(), dtype=object)
        return cls(codes, np.zeros(len(codes), np.bool_))

    def _mark(self, signal: str, day: int, persons: Any) -> None:
        who = np.asarray(persons.to_numpy(zero_copy_only=False), np.int64)
        who = who[self.infected[who]]
        if len(who):
            self.seen.setdefault((signal, day), set()).update(self.compound[who].tolist())

    def day(self, events: DayEvents) -> None:
        """The province loop's ``on_events`` hook."""
        self.infected[np.asarray(events.truth["infectee"].to_numpy(), np.int64)] = True
        self._mark("fever_clinic", events.day, events.fever_clinic_visits["person"])
        sales = events.pharmacy_sales
        drug = pc.cast(sales["drug_class"], pa.string())
        for name in DRUGS:
            self._mark(f"pharmacy_{name}", events.day, sales.filter(pc.equal(drug, name))["person"])
        absent = events.school_absences
        ill = pc.equal(pc.cast(absent["reason"], pa.string()), "illness")
        self._mark("school_absence", events.day, absent.filter(ill)["person"])

    def cases(self, confirmed: Iterable[tuple[int, int]]) -> None:
        """The platform's confirmed cases as (twin row, day): the positive-test signals."""
        for row, day in confirmed:
            if self.infected[row]:
                for signal in POSITIVE_SIGNALS:
                    self.seen.setdefault((signal, day), set()).add(str(self.compound[row]))


@dataclass(frozen=True)
class AlertLeads:
    kept: int
    dropped: int
    leads: list[int]  # per county with a kept alert and a confirmed case (days)


def alert_leads(
    engine: Engine, witness: SignalWitness, confirmed: list[tuple[int, int]], start: date
) -> AlertLeads:
    """Alerts raised from ``start`` on, kept or dropped, and the counties' lead times;
    ``confirmed``: the platform's cases as (twin row, simulated day registered)."""
    witness.cases(confirmed)
    with engine.connect() as conn:
        r = regions.c
        tree = {str(c): (None if p is None else str(p), str(lv)) for c, p, lv in
                conn.execute(select(r.code, r.parent_code, r.level))}  # fmt: skip
        rows = conn.execute(
            select(alerts.c.signals, alerts.c.region_code, alerts.c.frequency,
                   alerts.c.first_period, alerts.c.last_period)
            .where(alerts.c.first_period >= start)
            .order_by(alerts.c.first_period, alerts.c.id)
        ).all()  # fmt: skip

    cache: dict[str, frozenset[str]] = {}

    def within(code: str) -> frozenset[str]:  # the code and every region above it
        if code not in cache:
            chain, at = [], code
            while at is not None and at in tree:
                chain.append(at)
                at = tree[at][0]  # type: ignore[assignment]
            cache[code] = frozenset(chain) | {code}
        return cache[code]

    def county(code: str) -> str:
        at: str | None = code
        while at is not None and at in tree:
            if tree[at][1] == "county":
                return at
            at = tree[at][0]
        return code

    first_case: dict[str, int] = {}
    for row, day in confirmed:
        for region in within(str(witness.compound[row])):
            first_case[region] = min(day, first_case.get(region, day))
    kept = dropped = 0
    first_alert: dict[str, int] = {}
    for signals, region, frequency, first, last in rows:
        span = (last - first).days + (7 if frequency in ("week", "w") else 1)
        day0 = (first - start).days
        true = any(
            region in within(c)
            for s in str(signals).split(",")
            for d in range(day0, day0 + span)
            for c in witness.seen.get((s, d), ())
        )
        if not true:
            dropped += 1
            continue
        kept += 1
        where = county(str(region))
        first_alert[where] = min(day0, first_alert.get(where, day0))
    leads = [first_case[c] - d for c, d in sorted(first_alert.items()) if c in first_case]
    return AlertLeads(kept, dropped, leads)
