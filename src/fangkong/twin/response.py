"""A reference response (参照处置): the least a platform would do, for scoring baselines.

It reads only observables — yesterday's positive PCR results — and the registry's
households: positives go to centralised isolation, their household members to home
quarantine, and everyone in their compound is tested (pooled) the same day. Never the ground truth.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fangkong.twin.events import DayEvents
from fangkong.twin.orders import Interventions
from fangkong.twin.score import DECISIONS
from fangkong.twin.sim import Twin


class ReferenceResponse:
    """``interventions_fn`` for ``Twin.run``; ``decisions()`` is what it ordered."""

    def __init__(self, twin: Twin) -> None:
        self.pop = twin.pop
        self._done = np.zeros(twin.pop.n, dtype=np.bool_)
        self._rows: list[tuple[np.ndarray, int, str]] = []

    def __call__(self, day: int, last: DayEvents | None) -> Interventions:
        if last is None:
            return Interventions()
        t = last.test_results
        positive = np.unique(t.filter(pc.field("positive"))["person"].to_numpy())
        positive = positive[~self._done[positive]]
        if len(positive) == 0:
            return Interventions()
        self._done[positive] = True
        members = np.flatnonzero(np.isin(self.pop.household, self.pop.household[positive]))
        members = members[~self._done[members]]
        self._rows.append((positive, day, "isolate"))
        self._rows.append((members, day, "home_quarantine"))
        compounds = sorted({self.pop.compounds[c] for c in self.pop.compound[positive].tolist()})
        return Interventions(
            isolate=positive.tolist(), home_quarantine=members.tolist(), test_regions=compounds
        )

    def decisions(self) -> pa.Table:
        if not self._rows:
            return DECISIONS.empty_table()
        persons = np.concatenate([r[0] for r in self._rows]).astype(np.int32)
        days = np.concatenate([np.full(len(r[0]), r[1]) for r in self._rows]).astype(np.int32)
        actions = [r[2] for r in self._rows for _ in range(len(r[0]))]
        return pa.Table.from_arrays(
            [pa.array(persons), pa.array(days), pa.array(actions, pa.string())], schema=DECISIONS
        )
