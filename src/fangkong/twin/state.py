"""The twin's state (孪生状态): who is infected and how their infection runs, the orders
in force, the clock and the random streams — the base every part of the twin works on.

``TwinBase`` holds the attributes ``Twin.__init__`` sets and the steps every part shares:
the generator of a purpose and day (``_rng``, common random numbers: docs/twin.md,
"Random streams"), local time stamps, checking and applying the day's orders, and
starting an infection's natural history (``_infect``, which also records the ground
truth). The parts of a day are mixins over it: ``fangkong.twin.mobility``,
``fangkong.twin.transmission``, ``fangkong.twin.observations``; ``fangkong.twin.sim``
puts them together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from fangkong.errors import BadInput, Problem
from fangkong.twin._ct import draw_courses
from fangkong.twin._gates import GateState
from fangkong.twin._kernel import discrete_lognormal, draw_delay
from fangkong.twin._population import Population, VenueChooser
from fangkong.twin.events import TIME, TRUTH_SCHEMA
from fangkong.twin.orders import Interventions, _region_prefix
from fangkong.twin.scenario import DRUG_CLASSES, Scenario

Ints = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Arrow: TypeAlias = "pa.Array[Any]"

SETTINGS = ("seed", "imported", "household", "school", "workplace", "venue")
SET = {name: i for i, name in enumerate(SETTINGS)}
FREE, HOME, CENTRAL = 0, 1, 2  # quarantine states: none, home (居家), centralised (集中)
LATER = np.int32(2**30)  # a day that never comes

# random streams: default_rng([seed, STREAM, day, part]); SETUP and COURSE have no day
SETUP, SEEDS, TRAVEL, MOBILITY, TRANSMISSION, COURSE, TESTING, LAB = range(8)
FREIGHT, PROVISIONS = 8, 9  # freight traffic; markets, sealed compounds, medical needs


@dataclass
class _State:
    """Per-person infection state and scheduled observables."""

    infected: Bools
    inf_day: I32
    onset_day: I32
    inf_start: I32
    inf_end: I32
    asymptomatic: Bools
    stay_home: Bools
    clinic_day: I32
    pharmacy_day: list[I32]
    quarantine: npt.NDArray[np.int8]
    routine_phase: I32
    ct_peak: npt.NDArray[np.float32]  # the Ct course: peak Ct, day of the peak, day it ends
    ct_t_peak: npt.NDArray[np.float32]
    ct_t_end: npt.NDArray[np.float32]

    @classmethod
    def empty(cls, n: int, n_drugs: int, rng: np.random.Generator) -> _State:
        """No one infected; ``rng`` draws the routine-test phase of each person."""

        def later() -> I32:
            return np.full(n, LATER, dtype=np.int32)

        return cls(
            infected=np.zeros(n, dtype=np.bool_),
            inf_day=later(),
            onset_day=later(),
            inf_start=later(),
            inf_end=np.full(n, -LATER, dtype=np.int32),
            asymptomatic=np.zeros(n, dtype=np.bool_),
            stay_home=np.zeros(n, dtype=np.bool_),
            clinic_day=later(),
            pharmacy_day=[later() for _ in range(n_drugs)],
            quarantine=np.zeros(n, dtype=np.int8),
            routine_phase=rng.integers(0, 2**15, n).astype(np.int32),
            ct_peak=np.zeros(n, dtype=np.float32),
            ct_t_peak=np.zeros(n, dtype=np.float32),
            ct_t_end=np.full(n, -np.inf, dtype=np.float32),
        )


@dataclass(frozen=True)
class _Course:
    """Each person's natural history should they be infected, relative to the day of
    infection: drawn once up front, so a person infected in two arms of one seed has the
    same course in both (common random numbers)."""

    incubation: npt.NDArray[np.int16]  # days to onset
    presymptomatic: npt.NDArray[np.int16]  # infectious this many days before onset
    infectious: npt.NDArray[np.int16]  # days infectious
    asymptomatic: Bools
    stay_home: Bools  # symptomatic and stays home from onset
    clinic_delay: npt.NDArray[np.int16]  # fever clinic this long after onset, -1 never
    pharmacy_delay: npt.NDArray[np.int16]  # (drug, person): purchase after onset, -1 never
    ct_peak: npt.NDArray[np.float32]  # the Ct course, times relative to infection
    ct_t_peak: npt.NDArray[np.float32]
    ct_t_end: npt.NDArray[np.float32]

    @classmethod
    def draw(cls, n: int, scenario: Scenario, rng: np.random.Generator) -> _Course:
        nh, obs = scenario.natural_history, scenario.observables
        i16 = np.int16
        inc = discrete_lognormal(nh.incubation_mean_days, nh.incubation_sd_days, n, rng)
        lo, hi = nh.presymptomatic_days
        pre = rng.integers(lo, hi + 1, n)
        lo, hi = nh.infectious_days
        length = rng.integers(lo, hi + 1, n)
        asym = rng.random(n) < nh.asymptomatic_fraction
        stay = ~asym & (rng.random(n) < nh.symptomatic_stay_home)
        clinic = ~asym & (rng.random(n) < obs.fever_clinic_prob)
        clinic_delay = np.where(clinic, draw_delay(obs.fever_clinic_delay_days, n, rng), -1)
        pharmacy = np.full((len(DRUG_CLASSES), n), -1, dtype=i16)
        for j, drug in enumerate(DRUG_CLASSES):
            buys = ~asym & (rng.random(n) < obs.pharmacy_prob[drug])
            pharmacy[j] = np.where(buys, draw_delay(obs.pharmacy_delay_days, n, rng), -1)
        peak, t_peak, t_end = draw_courses(np.zeros(n, np.int64), inc, scenario.testing, rng)
        return cls(
            inc.astype(i16),
            pre.astype(i16),
            length.astype(i16),
            asym,
            stay,
            clinic_delay.astype(i16),
            pharmacy,
            peak,
            t_peak,
            t_end,
        )


def _dict_array(indices: npt.NDArray[np.integer[Any]], dictionary: Arrow) -> Arrow:
    idx = indices.astype(np.int32)
    mask = idx < 0
    codes = _nullable(np.maximum(idx, 0), pa.int32(), mask)
    return pa.DictionaryArray.from_arrays(codes, dictionary)


def _nullable(values: npt.NDArray[Any], type_: pa.DataType, null: Bools | None) -> Arrow:
    """An Arrow array of fixed-width values, null where ``null`` (validity bitmap packed
    directly: ``pa.array(mask=...)`` takes a slow path)."""
    values = np.ascontiguousarray(values)
    if null is None or not null.any():
        return pa.array(values, type=type_)
    valid = pa.py_buffer(np.packbits(~null, bitorder="little").data)
    arr: Arrow = pa.Array.from_buffers(type_, len(values), [valid, pa.py_buffer(values.data)])
    return arr


def _words(words: Sequence[str]) -> Arrow:
    return pa.array(list(words), type=pa.string())


class TwinBase:
    """The twin's state and the steps its parts share (see the module docstring)."""

    pop: Population
    scenario: Scenario
    seed: int
    lab_rng: np.random.Generator
    routine_tests: bool
    day: int
    state: _State
    course: _Course
    sealed: Bools  # per compound: sealed (封控)
    closed: Bools  # per venue (last: "no venue"): closed
    chooser: VenueChooser
    _age_members: list[Ints]
    _zone_base: Ints
    _zone_words: Arrow
    _tz: ZoneInfo
    _compound_index: dict[str, int]
    _venue_index: dict[str, int]
    _occ_interval: Ints
    _origins: Arrow
    _home_region: str
    _truth: list[dict[str, npt.NDArray[np.generic]]]
    _seeded: bool
    _gate: GateState | None

    def _rng(self, stream: int, day: int = 0, part: int = 0) -> np.random.Generator:
        """The generator of one purpose (``stream``) on one day: common random numbers."""
        return np.random.default_rng([self.seed, stream, day, part])

    # -- time ---------------------------------------------------------------------------

    def local_midnight(self, day: int) -> int:
        """Epoch seconds of local midnight starting ``day`` (day 0 = run.start_date)."""
        d = self.scenario.run.start_date + timedelta(days=day)
        return int(datetime.combine(d, time(0), tzinfo=self._tz).timestamp())

    def weekday(self, day: int) -> int:
        return (self.scenario.run.start_date + timedelta(days=day)).weekday()

    def _stamp(self, day: int, minutes: Floats, mask: Bools | None = None) -> Arrow:
        seconds = self.local_midnight(day) + np.rint(minutes * 60).astype(np.int64)
        return _nullable(seconds, pa.int64(), mask).cast(TIME)

    # -- interventions ------------------------------------------------------------------

    def _lookup(self, codes: Sequence[str], index: dict[str, int], what: str) -> Ints:
        missing = [c for c in codes if c not in index]
        if missing:
            raise BadInput(
                Problem(
                    "twin.unknown_code",
                    f"未知的{what}代码：{', '.join(missing[:5])}",
                    f"unknown {what} code(s): {', '.join(missing[:5])}",
                )
            )
        return np.array([index[c] for c in codes], dtype=np.int64)

    def _persons(self, persons: Sequence[int] | npt.NDArray[np.integer[Any]]) -> Ints:
        idx = np.asarray(persons, dtype=np.int64).reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= self.pop.n):
            raise BadInput(
                Problem("twin.unknown_person", "人员序号超出范围", "person index out of range")
            )
        return idx

    def _apply(self, iv: Interventions) -> None:
        """Check every order first, then apply them all (a bad order changes nothing)."""
        release, home, isolate = map(self._persons, (iv.release, iv.home_quarantine, iv.isolate))
        compound, venue = (self._compound_index, "小区/compound"), (self._venue_index, "场所/venue")
        unseal, seal = (
            self._lookup(c, *compound) for c in (iv.unseal_compounds, iv.seal_compounds)
        )
        reopen, close = (self._lookup(c, *venue) for c in (iv.reopen_venues, iv.close_venues))
        self._persons(iv.test_persons)
        g = iv.gate
        gate = (
            GateState.resolve(self.pop, g.labels, g.admit, g.default_label, self._persons)
            if g
            else None
        )
        q = self.state.quarantine
        q[release] = FREE
        q[home] = HOME
        q[isolate] = CENTRAL
        self.sealed[unseal] = False
        self.sealed[seal] = True
        self.closed[reopen] = False
        self.closed[close] = True
        if gate is not None:
            self._gate = gate
        self._apply_logistics(iv)

    def _apply_logistics(self, iv: Interventions) -> None:
        """Freight drivers under the closed loop, deliveries, transfers (``Twin``)."""

    def _admitted(self, person: Ints, venue: Ints) -> Bools | None:
        """Which of these entries the gate in force lets through; None: all of them."""
        if self._gate is None or not self._gate.active:
            return None
        return self._gate.admits(person, venue, self.pop.venue_type)

    def _region_persons(self, codes: Sequence[str]) -> Ints:
        if not codes:
            return np.zeros(0, dtype=np.int64)
        prefixes = tuple(_region_prefix(c) for c in codes)
        in_region = np.array([c.startswith(prefixes) for c in self.pop.compounds], dtype=np.bool_)
        return np.flatnonzero(in_region[self.pop.compound]).astype(np.int64)

    # -- infection ----------------------------------------------------------------------

    def _infect(
        self, who: Ints, day: Ints, infector: Ints, setting: Ints, venue: Ints, today: int
    ) -> None:
        """Start the natural history of newly infected persons (all susceptible, distinct)."""
        if len(who) == 0:
            return
        s, c, nh = self.state, self.course, self.scenario.natural_history
        onset = day + c.incubation[who]
        start = np.maximum(day + nh.latent_min_days, onset - c.presymptomatic[who])
        end = start + c.infectious[who]
        asym = c.asymptomatic[who]
        s.infected[who] = True
        s.inf_day[who] = day
        s.onset_day[who] = onset
        s.inf_start[who] = start
        s.inf_end[who] = end
        s.asymptomatic[who] = asym
        s.stay_home[who] = c.stay_home[who]
        delay = c.clinic_delay[who]
        s.clinic_day[who] = np.where(delay >= 0, onset + delay, LATER)
        for j in range(len(DRUG_CLASSES)):
            delay = c.pharmacy_delay[j][who]
            s.pharmacy_day[j][who] = np.where(delay >= 0, onset + delay, LATER)
        s.ct_peak[who] = c.ct_peak[who]
        s.ct_t_peak[who] = day + c.ct_t_peak[who]
        s.ct_t_end[who] = day + c.ct_t_end[who]
        self._truth.append(
            {
                "infectee": who,
                "infector": infector,
                "day": day,
                "setting": setting,
                "venue": venue,
                "onset": np.where(asym, -1, onset),
                "asym": asym,
                "start": start,
                "end": end,
            }
        )

    def _truth_table(self) -> pa.Table:
        if not self._truth:
            return TRUTH_SCHEMA.empty_table()
        cols = {k: np.concatenate([t[k] for t in self._truth]) for k in self._truth[0]}
        venue = cols["venue"]
        codes = self.pop.venue_codes.take(pa.array(np.maximum(venue, 0), type=pa.int64()))
        codes = pc.if_else(pa.array(venue >= 0), codes, pa.scalar(None, pa.string()))
        onset = cols["onset"]
        return pa.Table.from_arrays(
            [
                pa.array(cols["infectee"].astype(np.int32)),
                _nullable(cols["infector"].astype(np.int32), pa.int32(), cols["infector"] < 0),
                pa.array(cols["day"].astype(np.int32)),
                _dict_array(cols["setting"], _words(SETTINGS)),
                codes,
                _nullable(onset.astype(np.int32), pa.int32(), onset < 0),
                pa.array(cols["asym"]),
                pa.array(cols["start"].astype(np.int32)),
                pa.array(cols["end"].astype(np.int32)),
            ],
            schema=TRUTH_SCHEMA,
        )
