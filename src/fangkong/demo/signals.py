"""The twin's observables as signals (孪生数据 → 监测信号), one simulated day at a time.

Each fever-clinic visit, purchase of the five drug classes, school absence for illness
and positive test is counted at the residence compound of the person, as a real-name
register would place it: the region tree then adds compounds up to communities,
townships and counties. A positive of a person under no management order yet counts as
``positive_outside_quarantine`` (社会面阳性); positives of routine and area screening
also as ``screening_positive``. In the province loop the positives are the platform's
own confirmed cases of the day (``confirmed``), not the twin's raw samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as _pc

from fangkong.alerts.signals import SignalRow
from fangkong.twin.events import DayEvents

pc: Any = _pc
SOURCE = "twin"
SCREENING = ("routine", "region")


class TwinSignals:
    """Turns each ``DayEvents`` into signal rows, by residence compound."""

    def __init__(self, residence_codes: Sequence[str], start: date) -> None:
        self.compounds, self.compound_of = np.unique(np.asarray(residence_codes, dtype=object),
                                                     return_inverse=True)  # fmt: skip
        self.start = start

    def _persons(self, column: Any) -> npt.NDArray[np.int64]:
        return np.asarray(column.to_numpy(zero_copy_only=False), np.int64)

    def _count(self, signal: str, persons: npt.NDArray[np.int64], day: date) -> list[SignalRow]:
        counts = np.bincount(self.compound_of[persons], minlength=len(self.compounds))
        return [SignalRow(SOURCE, signal, str(self.compounds[i]), day, int(counts[i]))
                for i in np.flatnonzero(counts).tolist()]  # fmt: skip

    def rows(
        self,
        events: DayEvents,
        managed: npt.NDArray[np.bool_] | None = None,
        confirmed: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None,
    ) -> list[SignalRow]:
        """The day's signals; ``managed[p]`` is true for persons already under an order
        (isolated or quarantined) when the day began. ``confirmed``: the platform's own
        positives of the day as (persons, screened persons) — when given, they count
        instead of the twin's own positive samples (the closed loop: a pool member is not
        a positive until retested singly)."""
        day = self.start + timedelta(days=events.day)
        out = self._count("fever_clinic", self._persons(events.fever_clinic_visits["person"]), day)
        sales = events.pharmacy_sales
        drug = pc.cast(sales["drug_class"], pa.string())
        for name in ("antipyretic", "cough", "antiviral", "antibiotic", "cold"):
            who = self._persons(sales.filter(pc.equal(drug, name))["person"])
            out += self._count(f"pharmacy_{name}", who, day)
        absent = events.school_absences
        ill = pc.equal(pc.cast(absent["reason"], pa.string()), "illness")
        out += self._count("school_absence", self._persons(absent.filter(ill)["person"]), day)
        if confirmed is None:
            tests = events.test_results.filter(pc.field("positive"))
            who = self._persons(tests["person"])
            reason = pc.cast(tests["reason"], pa.string())
            screened = self._persons(tests.filter(pc.is_in(reason, pa.array(SCREENING)))["person"])
        else:
            who, screened = confirmed
        out += self._count("lab_positive", who, day)
        outside = who if managed is None else who[~managed[who]]
        out += self._count("positive_outside_quarantine", np.unique(outside), day)
        out += self._count("screening_positive", screened, day)
        return out


def background_twin(registry: Any, scenario: Any, seed: int, days: int) -> Any:
    """A twin of the same province with no outbreak, starting ``days`` days before the
    scenario's start: the signals the platform received in the weeks before (the
    detectors' baseline). Its days are numbered from its own start."""
    import dataclasses

    from fangkong.twin.sim import Twin

    quiet = dataclasses.replace(
        scenario,
        seeds=dataclasses.replace(scenario.seeds, infections=0),
        run=dataclasses.replace(scenario.run,
                                start_date=scenario.run.start_date - timedelta(days=days)),
    )  # fmt: skip
    return Twin.from_registry(registry, quiet, seed=seed + 7_919)
