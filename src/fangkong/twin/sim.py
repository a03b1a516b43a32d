"""The twin's outbreak (孪生疫情): a day-by-day agent-based simulation over arrays.

``Twin.from_registry(registry, scenario)`` builds the population; each
``Twin.step(day, interventions)`` simulates one day and returns its ``DayEvents``::

    interventions ─▶ apply (quarantine, seal, close) ─▶ who is infectious, who goes out
         ▲                    │
         │                    ▼
         │      mobility: home gate, school/work, shops, restaurants, clinics ─▶ check-ins
         │                    │
         │                    ▼
         │      hazards: household + class + workplace + venue overlap (∫ presence dt)
         │                    │
         │                    ▼  new infections: setting, infector, natural history
         │      observables: fever clinics, pharmacies, absences, PCR (Ct), travellers
         └──── platform ◀─────┘  (ground truth kept apart)

Everything is vectorised over persons, visits and groups; the only Python loops run over
venue types, age groups and drug classes.

Random streams (common random numbers): each purpose draws from its own generator,
``default_rng([seed, stream, day, part])``, and draws the same numbers whatever the
platform does — mobility for every person of an age group before dropping those who
cannot go, the transmission uniform for every person, each person's natural history
once up front (docs/twin.md, "Random streams"). Two twins of one seed under different
orders differ only where the orders act.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from fangkong.errors import BadInput, Problem
from fangkong.twin import _names as names
from fangkong.twin._ct import course_ct, draw_courses, measure, tube_cts
from fangkong.twin._gates import GateState
from fangkong.twin._kernel import (
    Presence,
    discrete_lognormal,
    draw_delay,
    group_pressure,
    members_of,
    pick_in_segments,
)
from fangkong.twin._population import Population, VenueChooser, build_population
from fangkong.twin.events import (
    HISTORY,
    SCHEMAS,
    TIME,
    TRUTH_SCHEMA,
    Compression,
    DayEvents,
    EventWriter,
)
from fangkong.twin.registry import Registry
from fangkong.twin.scenario import (
    DRUG_CLASSES,
    RISK_LEVELS,
    TRAVEL_MODES,
    VISIT_TYPES,
    Scenario,
    default_scenario,
)

Ints = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Arrow: TypeAlias = "pa.Array[Any]"

SETTINGS = ("seed", "imported", "household", "school", "workplace", "venue")
SET = {name: i for i, name in enumerate(SETTINGS)}
ABSENCE_REASONS = ("illness", "quarantine", "other", "code")  # code: refused at the school gate
TEST_REASONS = ("routine", "fever_clinic", "region", "requested")
FREE, HOME, CENTRAL = 0, 1, 2  # quarantine states: none, home (居家), centralised (集中)
LATER = np.int32(2**30)  # a day that never comes

# random streams: default_rng([seed, STREAM, day, part]); SETUP and COURSE have no day
SETUP, SEEDS, TRAVEL, MOBILITY, TRANSMISSION, COURSE, TESTING, LAB = range(8)


@dataclass(frozen=True)
class Gate:
    """Code checks at venue gates (用码): who holds which pass label, which labels each
    venue type admits. The twin knows nothing of colours: labels are any strings.

    ``labels`` maps a label to the persons (registry rows) holding it; everyone else
    holds ``default_label``. ``admit`` maps a venue type (``school``, ``supermarket``,
    ``hospital``, ... — the registry's venue types) to the labels it admits; types not
    listed admit everyone. A refused person does not enter (no check-in, no mixing) and
    the scanner records the refusal (``refused_scans``). A compound gate always admits
    its own residents; arrivals at transit hubs and checkpoints are not gated.
    """

    labels: Mapping[str, Sequence[int] | npt.NDArray[np.integer[Any]]] = field(default_factory=dict)
    admit: Mapping[str, Sequence[str]] = field(default_factory=dict)
    default_label: str = "green"


@dataclass(frozen=True)
class Interventions:
    """The platform's orders for one day (管控措施). Persons are registry rows.

    Quarantine and isolation, seals and closures last until released; tests are for
    the day. Region codes may be of any level (county, township, community, compound).
    A ``gate`` replaces the gate in force from this day on; ``None`` keeps it (``Gate()``
    lifts every check).
    """

    isolate: Sequence[int] = ()  # centralised isolation/quarantine (集中隔离): no mixing
    home_quarantine: Sequence[int] = ()  # home quarantine (居家隔离): household only
    release: Sequence[int] = ()
    seal_compounds: Sequence[str] = ()  # high-risk area (封控): residents stay in
    unseal_compounds: Sequence[str] = ()
    close_venues: Sequence[str] = ()
    reopen_venues: Sequence[str] = ()
    test_regions: Sequence[str] = ()  # everyone living there, pooled (区域核酸)
    test_persons: Sequence[int] = ()  # single-tube tests
    gate: Gate | None = None  # code checks at venues (用码): replaces the gate in force


NO_INTERVENTIONS = Interventions()


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


@dataclass(frozen=True)
class _VenueHazard:
    """The outings of a day with their venue hazard: ``room`` (anyone in the venue) and
    ``near`` (the same zone), and the infectious presences they were computed from."""

    person: Ints
    venue: Ints
    slot: Ints  # zone slot (Population.zone_base[venue] + zone), -1 unzoned
    t_in: Floats
    t_out: Floats
    room: Floats
    near: Floats
    inf_v: Bools  # the infectious outings (rows of ``presence``)
    inf_z: Bools  # the infectious zoned outings (rows of ``zoned``)
    presence: Presence
    zoned: Presence | None

    @property
    def hazard(self) -> Floats:
        total: Floats = self.room + self.near
        return total

    def pick(self, targets: Ints, u: Floats) -> tuple[Ints, Ints]:
        """The outing that infected each target (∝ its hazard), then zone or room (∝ each
        term) and whom it met there (∝ weight × shared minutes, ``Presence.pick``).
        ``targets`` ascending; ``u``: three uniforms per person (rows: outing, met, range)."""
        is_target = np.zeros(len(u[0]), dtype=np.bool_)
        is_target[targets] = True
        vh = self.hazard
        rows = np.flatnonzero(vh > 0)
        rows = rows[is_target[self.person[rows]]]
        rows = rows[np.argsort(self.person[rows], kind="stable")]
        seg = np.searchsorted(targets, self.person[rows])
        visit = rows[pick_in_segments(seg, vh[rows], u[0][targets])]
        met_u = u[1][targets]
        near = u[2][targets] * vh[visit] < self.near[visit]
        infector = np.zeros(len(targets), dtype=np.int64)
        far = np.flatnonzero(~near)
        v = visit[far]
        met = self.presence.pick(self.venue[v], self.t_in[v], self.t_out[v], met_u[far])
        infector[far] = self.person[np.flatnonzero(self.inf_v)[met]]
        close = np.flatnonzero(near)
        if len(close) and self.zoned is not None:
            v = visit[close]
            met = self.zoned.pick(self.slot[v], self.t_in[v], self.t_out[v], met_u[close])
            infector[close] = self.person[np.flatnonzero(self.inf_z)[met]]
        where: Ints = self.venue[visit]
        return infector, where


@dataclass
class _Visits:
    """Stays of the day: person, venue, zone (-1 none), minutes after local midnight,
    visit type index."""

    person: list[Ints] = field(default_factory=list)
    venue: list[Ints] = field(default_factory=list)
    zone: list[Ints] = field(default_factory=list)
    t_in: list[Floats] = field(default_factory=list)
    t_out: list[Floats] = field(default_factory=list)
    timed: list[Bools] = field(default_factory=list)  # venue records time out
    kind: list[Ints] = field(default_factory=list)  # VISIT_TYPES index, -1 other scans
    refused: list[tuple[Ints, Ints, Floats]] = field(default_factory=list)  # at code gates

    def refuse(self, person: Ints, venue: Ints, t: Floats) -> None:
        if len(person):
            self.refused.append((person.astype(np.int64), venue.astype(np.int64), t))

    def add(
        self,
        person: Ints,
        venue: Ints,
        t_in: Floats,
        t_out: Floats,
        timed: bool,
        kind: int,
        zone: Ints | None = None,
    ) -> None:
        self.person.append(person.astype(np.int64))
        self.venue.append(venue.astype(np.int64))
        self.zone.append(
            np.full(len(person), -1, dtype=np.int64) if zone is None else zone.astype(np.int64)
        )
        self.t_in.append(t_in)
        self.t_out.append(t_out)
        self.timed.append(np.full(len(person), timed))
        self.kind.append(np.full(len(person), kind, dtype=np.int64))

    def cat(self) -> tuple[Ints, Ints, Ints, Floats, Floats, Bools, Ints]:
        """All stays as whole columns: person, venue, zone, in, out, timed, kind."""
        return _cat(
            self.person, self.venue, self.zone, self.t_in, self.t_out, self.timed, self.kind
        )

    def mixing(self) -> tuple[Ints, Ints, Ints, Floats, Floats, Bools, Ints]:
        """The outings only (kind ≥ 0, where visitors mix), in the same order."""
        rows = [i for i, k in enumerate(self.kind) if len(k) and k[0] >= 0]
        cols = (self.person, self.venue, self.zone, self.t_in, self.t_out, self.timed, self.kind)
        return _cat(*([c[i] for i in rows] for c in cols))


def _cat(
    *columns: Sequence[npt.NDArray[Any]],
) -> tuple[Ints, Ints, Ints, Floats, Floats, Bools, Ints]:
    dtypes = (np.int64, np.int64, np.int64, np.float64, np.float64, np.bool_, np.int64)
    p, v, z, i, o, t, k = (
        np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        for parts, dtype in zip(columns, dtypes, strict=True)
    )
    return p, v, z, i, o, t, k


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


class Twin:
    """A simulated province and its outbreak, one day per ``step``.

    ``routine_tests`` switches the twin's own routine tests of key occupations
    (``testing.routine_interval_days``) on or off: off when the platform orders them
    itself. Fever-clinic testing stays on either way.
    """

    def __init__(
        self,
        pop: Population,
        scenario: Scenario,
        seed: int,
        *,
        routine_tests: bool = True,
        lab_rng: np.random.Generator | None = None,
    ) -> None:
        self.pop = pop
        self.scenario = scenario
        self.seed = seed
        # the lab's own draws for ``assay``: calling it never moves the outbreak's streams
        self.lab_rng = lab_rng if lab_rng is not None else self._rng(LAB)
        self.routine_tests = routine_tests
        self.day = 0
        self.state = _State.empty(pop.n, len(DRUG_CLASSES), self._rng(SETUP, 1))
        self.course = _Course.draw(pop.n, scenario, self._rng(COURSE))
        self._age_members = [
            np.flatnonzero(pop.age_group == g).astype(np.int64)
            for g in range(len(scenario.mobility.age_groups))
        ]
        self._zone_base = pop.zone_base
        width = max(2, len(str(max(int(pop.venue_zones.max(initial=0)) - 1, 0))))
        self._zone_words = _words(
            [f"Z{i:0{width}d}" for i in range(int(pop.venue_zones.max(initial=0)))]
        )
        self.sealed = np.zeros(len(pop.compounds), dtype=np.bool_)
        self.closed = np.zeros(pop.n_venues + 1, dtype=np.bool_)  # last: "no venue"
        self.chooser = VenueChooser.build(pop)
        self._tz = ZoneInfo(scenario.run.timezone)
        self._compound_index = {c: i for i, c in enumerate(pop.compounds)}
        self._venue_index = {str(c): i for i, c in enumerate(pop.venue_codes.to_pylist())}
        self._occ_interval = np.zeros(len(pop.occupations), dtype=np.int64)
        for occ, every in scenario.testing.routine_interval_days.items():
            if occ in pop.occupations:
                self._occ_interval[pop.occupations.index(occ)] = every
        province = pop.compounds[0][:2] if pop.compounds else "14"
        self._origins = _words([f"{p}0100" for p in sorted(names.PROVINCES) if p != province])
        self._home_region = f"{province}0000"
        self._truth: list[dict[str, npt.NDArray[np.generic]]] = []
        self._seeded = False
        self._gate: GateState | None = None

    @classmethod
    def from_registry(
        cls,
        registry: Registry,
        scenario: Scenario | None = None,
        *,
        seed: int | None = None,
        routine_tests: bool = True,
    ) -> Twin:
        """A twin of the registry's people; ``seed`` overrides the scenario's run.seed.

        ``routine_tests=False``: no built-in routine tests of key occupations (the
        platform orders them through ``Interventions.test_persons``).
        """
        scenario = scenario or default_scenario()
        seed = scenario.run.seed if seed is None else seed
        pop = build_population(registry, scenario, np.random.default_rng([seed, SETUP, 0]))
        return cls(pop, scenario, seed, routine_tests=routine_tests)

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

    def _seed(self, day: int) -> None:
        sd = self.scenario.seeds
        if self._seeded or day < sd.day:
            return
        self._seeded = True
        k = min(sd.infections, self.pop.n)
        rng = self._rng(SEEDS, day)
        who = np.sort(rng.choice(self.pop.n, size=k, replace=False)).astype(np.int64)
        none = np.full(k, -1, dtype=np.int64)
        self._infect(who, np.full(k, day), none, np.full(k, SET["seed"]), none, day)

    # -- the day ------------------------------------------------------------------------

    def step(self, day: int, interventions: Interventions | None = None) -> DayEvents:
        """Simulate ``day`` (0, 1, 2, ... in order) under the platform's orders."""
        if day != self.day:
            raise ValueError(
                f"步进须按顺序：应为第 {self.day} 天 / expected day {self.day}, got {day}"
            )
        self._apply(interventions or NO_INTERVENTIONS)
        self._truth = []
        self._seed(day)
        sc, pop, s = self.scenario, self.pop, self.state
        dow = self.weekday(day)
        nh = sc.natural_history
        infectious = (s.inf_start <= day) & (day < s.inf_end)
        w = np.where(
            infectious, np.where(s.asymptomatic, nh.asymptomatic_relative_infectiousness, 1.0), 0.0
        )
        sick_home = s.stay_home & (s.onset_day <= day) & (day < s.inf_end)
        free = (s.quarantine == FREE) & ~self.sealed[pop.compound]
        out = free & ~sick_home
        # one mobility stream a day: every draw has a size fixed by the day and the
        # registry (never by the orders), so the draws come in the same order in every arm
        mob = self._rng(MOBILITY, day)
        bg_sick = self._background_sick(dow, mob)
        visits = _Visits()
        attend_school, attend_work, absences = self._school_and_work(
            day, dow, out, bg_sick, sick_home, visits, mob
        )
        self._outings(out & ~bg_sick, visits, mob)
        self._home_scans(out, visits, mob)

        self._transmit(day, w, attend_school, attend_work, visits)
        clinic_visits, clinic_persons = self._fever_clinics(day, bg_sick, visits, mob)
        sales = self._pharmacies(day, bg_sick & free, visits, mob)
        travellers = self._travellers(day, free, visits)
        tests = self._tests(day, clinic_persons, interventions or NO_INTERVENTIONS)
        checkins = self._checkins(day, visits)
        truth = self._truth_table()
        self.day += 1
        return DayEvents(
            day=day,
            checkins=checkins,
            travellers=travellers,
            fever_clinic_visits=clinic_visits,
            pharmacy_sales=sales,
            school_absences=absences,
            test_results=tests,
            truth=truth,
            refused_scans=self._refused_table(day, visits),
        )

    # -- mobility -----------------------------------------------------------------------

    # Mobility draws for every person (of the age group) whatever the orders, then drops
    # those who cannot go: a person free in two arms makes the same outings in both.

    def _background_sick(self, dow: int, rng: np.random.Generator) -> Bools:
        bg = self.scenario.observables.background
        k = rng.poisson(self.pop.n * bg.ili_per_100k_per_day / 1e5 * bg.weekly[dow])
        sick = np.zeros(self.pop.n, dtype=np.bool_)
        sick[rng.integers(0, self.pop.n, k)] = True
        return sick

    def _school_and_work(
        self,
        day: int,
        dow: int,
        out: Bools,
        bg_sick: Bools,
        sick_home: Bools,
        visits: _Visits,
        rng: np.random.Generator,
    ) -> tuple[Bools, Bools, pa.Table]:
        sc, pop, s = self.scenario, self.pop, self.state
        other_u = rng.random(pop.n)
        # pupils and staff are disjoint: one arrival and one departure jitter per person
        jitter_in, jitter_out = rng.normal(0, 10, pop.n), rng.normal(0, 15, pop.n)
        employer_open = pop.employer >= 0
        employer_open &= ~self.closed[np.where(pop.employer >= 0, pop.employer, pop.n_venues)]
        school_day = dow in sc.transmission.school_days
        pupils = pop.student & employer_open & school_day
        other = pupils & (other_u < sc.observables.background.school_absence_per_1k_per_day / 1000)
        attend_school = pupils & out & ~bg_sick & ~other
        attend_work = (
            (pop.work_group >= 0)
            & employer_open
            & out
            & ~bg_sick
            & (dow in sc.transmission.work_days)
        )
        timed_out = sc.mobility.records_time_out
        barred = np.zeros(pop.n, dtype=np.bool_)  # turned away at the gate (用码)
        for mask, kind in ((attend_school, "school"), (attend_work, "workplace")):
            who = np.flatnonzero(mask).astype(np.int64)
            open_, close = sc.mobility.opening_hours[kind]
            t_in = np.clip(open_ * 60 + jitter_in[who], 0, 1439)
            t_out = np.clip(close * 60 + jitter_out[who], t_in + 1, 1439.5)
            where = pop.employer[who].astype(np.int64)
            ok = self._admitted(who, where)
            if ok is not None:
                visits.refuse(who[~ok], where[~ok], t_in[~ok])
                barred[who[~ok]] = True
                mask[who[~ok]] = False
                who, where, t_in, t_out = who[ok], where[ok], t_in[ok], t_out[ok]
            visits.add(who, where, t_in, t_out, kind in timed_out, -1)
        ill = pupils & (sick_home | bg_sick) & (s.quarantine == FREE)
        quarantined = pupils & ((s.quarantine != FREE) | self.sealed[pop.compound])
        absent = np.flatnonzero(pupils & ~attend_school)
        reason = np.where(
            ill[absent], 0, np.where(quarantined[absent], 1, np.where(barred[absent], 3, 2))
        )
        absences = pa.Table.from_arrays(
            [
                pa.array(absent.astype(np.int32)),
                _dict_array(pop.employer[absent], pop.venue_codes),
                pa.array(np.full(len(absent), np.datetime64(sc.run.start_date, "D") + day)),
                _dict_array(reason, _words(ABSENCE_REASONS)),
            ],
            schema=SCHEMAS["school_absences"],
        )
        return attend_school, attend_work, absences

    def _outings(self, out: Bools, visits: _Visits, rng: np.random.Generator) -> None:
        """Shops, markets, restaurants, pharmacies, hospitals: Poisson visits per age group,
        drawn over everyone of the group (who, venue, times, zone), then kept for those
        out (not ill, isolated or sealed in), at open venues, admitted at the gate."""
        sc, pop = self.scenario, self.pop
        m = sc.mobility
        for t, vtype in enumerate(VISIT_TYPES):
            code = pop.venue_type_code(vtype)
            if code < 0:
                continue
            rates = m.visits_per_day[vtype]
            who = np.concatenate(
                [
                    g[rng.integers(0, len(g), rng.poisson(len(g) * r))]
                    for g, r in zip(self._age_members, rates, strict=True)
                    if len(g)
                ]
                or [np.zeros(0, dtype=np.int64)]
            ).astype(np.int64)
            u_venue, u_stay, u_time, u_zone = rng.random((4, len(who)))
            venue = self.chooser.choose(code, pop.county[who], u_venue).astype(np.int64)
            mean = m.stay_minutes[vtype]
            dur = mean * (1 + m.stay_jitter * (2 * u_stay - 1))
            open_, close = m.opening_hours[vtype]
            t_in = open_ * 60 + u_time * (60 * (close - open_) - dur)
            zones = pop.venue_zones[venue]
            zone = np.where(zones > 0, (u_zone * zones).astype(np.int64), -1)
            ok = out[who] & (venue >= 0) & ~self.closed[venue]
            who, venue, dur, t_in, zone = who[ok], venue[ok], dur[ok], t_in[ok], zone[ok]
            admitted = self._admitted(who, venue)
            if admitted is not None:
                visits.refuse(who[~admitted], venue[~admitted], t_in[~admitted])
                who, venue = who[admitted], venue[admitted]
                t_in, dur, zone = t_in[admitted], dur[admitted], zone[admitted]
            visits.add(who, venue, t_in, t_in + dur, vtype in m.records_time_out, t, zone)

    def _home_scans(self, out: Bools, visits: _Visits, rng: np.random.Generator) -> None:
        m, pop = self.scenario.mobility, self.pop
        u_scan, u_time = rng.random((2, pop.n))
        who = np.flatnonzero(out & (u_scan < m.home_scan_prob))
        venue = pop.compound_venue[pop.compound[who]].astype(np.int64)
        who, venue = who[venue >= 0], venue[venue >= 0]
        lo, hi = m.home_scan_hours
        t_in = 60 * (lo + (hi - lo) * u_time[who])
        visits.add(who, venue, t_in, t_in, False, -1)

    # -- transmission -------------------------------------------------------------------

    def _transmit(self, day: int, w: Floats, school: Bools, work: Bools, visits: _Visits) -> Ints:
        """New infections of the day: a person is infected iff u < 1 − e^(−hazard), ``u``
        drawn for every person (transmission stream); setting and infector are drawn in
        proportion to each one's share of the hazard."""
        sc, pop, s = self.scenario, self.pop, self.state
        tr = sc.transmission
        sus = ~s.infected
        home = s.quarantine != CENTRAL
        hazard = np.zeros((4, pop.n))
        wh = w * home
        hh = group_pressure(pop.household, wh, len(pop.household_size))
        hazard[0] = np.where(sus & home, tr.household_daily_prob * hh[pop.household], 0.0)
        groups = (
            (
                pop.school_class,
                pop.class_size,
                school,
                tr.class_contacts_per_day,
                tr.class_prob_per_contact,
            ),
            (
                pop.work_group,
                pop.work_size,
                work,
                tr.work_contacts_per_day,
                tr.work_prob_per_contact,
            ),
        )
        for row, (group, size, present, contacts, prob) in enumerate(groups, start=1):
            g = np.where(present, group, -1)
            pressure = group_pressure(g, w, len(size))
            per_pair = prob * np.minimum(1.0, contacts / np.maximum(size - 1, 1))
            gi = np.maximum(g, 0)
            hazard[row] = np.where(sus & present, per_pair[gi] * pressure[gi], 0.0)
        venues = self._venue_hazard(w, sus, visits)
        if venues is not None:
            hazard[3] = np.bincount(venues.person, weights=venues.hazard, minlength=pop.n)
        total = hazard.sum(axis=0)
        if not (total > 0).any():
            return np.zeros(0, dtype=np.int64)
        # u: infection, setting, infector (member or visit), whom the visit met, zone or room
        u = self._rng(TRANSMISSION, day).random((5, pop.n))
        new: Ints = np.flatnonzero((total > 0) & (u[0] < -np.expm1(-total)))
        if len(new) == 0:
            return new
        cum = np.cumsum(hazard[:, new], axis=0)
        setting = (cum < u[1][new] * cum[-1]).sum(axis=0).clip(0, 3)
        infector = np.full(len(new), -1, dtype=np.int64)
        where = np.full(len(new), -1, dtype=np.int64)
        for row, group, present in (
            (0, pop.household, home),
            (1, pop.school_class, school),
            (2, pop.work_group, work),
        ):
            sel = np.flatnonzero(setting == row)
            if len(sel):
                infector[sel] = self._pick_member(group, present & (w > 0), w, new[sel], u[2])
        sel = np.flatnonzero(setting == 3)
        if len(sel) and venues is not None:
            infector[sel], where[sel] = venues.pick(new[sel], u[2:5])
        codes = np.array([SET["household"], SET["school"], SET["workplace"], SET["venue"]])
        self._infect(new, np.full(len(new), day), infector, codes[setting], where, day)
        return new

    def _venue_hazard(self, w: Floats, sus: Bools, visits: _Visits) -> _VenueHazard | None:
        """Per outing, the hazard from the room (``venue_prob_per_minute`` × overlap in the
        venue) and from its zone (``zone_prob_per_minute`` × overlap in the same table or
        room); None when no infectious person is out."""
        tr, pop = self.scenario.transmission, self.pop
        person, venue, zone, t_in, t_out, _, kind = visits.mixing()
        inf_v = w[person] > 0
        if not inf_v.any():
            return None
        beta = np.array([tr.venue_prob_per_minute[t] for t in VISIT_TYPES])
        beta_z = np.array([tr.zone_prob_per_minute.get(t, 0.0) for t in VISIT_TYPES])
        room, near = np.zeros(len(person)), np.zeros(len(person))
        has = np.zeros(pop.n_venues, dtype=np.bool_)
        has[venue[inf_v]] = True
        sus_v = np.flatnonzero(sus[person])
        sus_v = sus_v[has[venue[sus_v]]]
        presence = Presence.build(venue[inf_v], t_in[inf_v], t_out[inf_v], w[person[inf_v]])
        room[sus_v] = beta[kind[sus_v]] * presence.overlap(venue[sus_v], t_in[sus_v], t_out[sus_v])
        # zones: the same axis trick over zone slots (zone_base[venue] + zone)
        slot = np.where(zone >= 0, self._zone_base[venue] + zone, -1)
        inf_z = inf_v & (slot >= 0)
        zoned: Presence | None = None
        if inf_z.any():
            has_z = np.zeros(int(pop.venue_zones.sum()), dtype=np.bool_)
            has_z[slot[inf_z]] = True
            sus_z = sus_v[slot[sus_v] >= 0]
            sus_z = sus_z[has_z[slot[sus_z]]]
            zoned = Presence.build(slot[inf_z], t_in[inf_z], t_out[inf_z], w[person[inf_z]])
            near[sus_z] = beta_z[kind[sus_z]] * zoned.overlap(
                slot[sus_z], t_in[sus_z], t_out[sus_z]
            )
        return _VenueHazard(
            person, venue, slot, t_in, t_out, room, near, inf_v, inf_z, presence, zoned
        )

    def _pick_member(
        self, group: I32, candidate: Bools, w: Floats, targets: Ints, u: Floats
    ) -> Ints:
        cands = np.flatnonzero(candidate).astype(np.int64)
        owner, member = members_of(
            group[targets].astype(np.int64), group[cands].astype(np.int64), cands
        )
        chosen = pick_in_segments(owner, w[member] + 1e-12, u[targets])
        result: Ints = member[chosen]
        return result

    # -- observables --------------------------------------------------------------------

    def _fever_clinics(
        self, day: int, bg_sick: Bools, visits: _Visits, rng: np.random.Generator
    ) -> tuple[pa.Table, Ints]:
        sc, pop, s = self.scenario, self.pop, self.state
        obs = sc.observables
        u_go, u_venue, u_time = rng.random((3, pop.n))
        case = (s.clinic_day == day) & (s.quarantine == FREE)
        background = bg_sick & (u_go < obs.background.fever_clinic_prob) & (s.quarantine == FREE)
        who = np.flatnonzero(case | background).astype(np.int64)
        clinic = pop.venue_type_code("fever_clinic")
        if clinic < 0:
            clinic = pop.venue_type_code("hospital")
        venue = self.chooser.choose(clinic, pop.county[who], u_venue[who]).astype(np.int64)
        who, venue = who[venue >= 0], venue[venue >= 0]
        lo, hi = obs.clinic_hours
        t_in = 60 * lo + u_time[who] * (60 * (hi - lo) - obs.clinic_minutes)
        ok = self._admitted(who, venue)
        if ok is not None:
            visits.refuse(who[~ok], venue[~ok], t_in[~ok])
            who, venue, t_in = who[ok], venue[ok], t_in[ok]
        t_out = t_in + obs.clinic_minutes
        visits.add(who, venue, t_in, t_out, True, -1)
        table = pa.Table.from_arrays(
            [
                pa.array(who.astype(np.int32)),
                _dict_array(venue, pop.venue_codes),
                self._stamp(day, t_in),
                self._stamp(day, t_out),
            ],
            schema=SCHEMAS["fever_clinic_visits"],
        )
        return table, who

    def _pharmacies(
        self, day: int, bg_sick: Bools, visits: _Visits, rng: np.random.Generator
    ) -> pa.Table:
        """Purchases of the five drug classes; ``bg_sick``: background-ill persons who may
        go out (not quarantined, compound not sealed). A person buys all of the day's
        drugs in one visit (one pharmacy, one time, one check-in)."""
        sc, pop, s = self.scenario, self.pop, self.state
        obs = sc.observables
        code = pop.venue_type_code("pharmacy")
        u_buy = rng.random((len(DRUG_CLASSES), pop.n))
        u_venue, u_time = rng.random((2, pop.n))
        persons, drugs = [], []
        for j, drug_name in enumerate(DRUG_CLASSES):
            # in quarantine or a sealed compound medicine is delivered: no purchase scan
            case = (s.pharmacy_day[j] == day) & (s.quarantine == FREE) & ~self.sealed[pop.compound]
            bg = bg_sick & (u_buy[j] < obs.background.pharmacy_prob[drug_name])
            who = np.flatnonzero(case | bg).astype(np.int64)
            persons.append(who)
            drugs.append(np.full(len(who), j, dtype=np.int64))
        who, drug = np.concatenate(persons), np.concatenate(drugs)
        venue = (
            self.chooser.choose(code, pop.county[who], u_venue[who]).astype(np.int64)
            if code >= 0
            else np.full(len(who), -1, dtype=np.int64)
        )
        keep = venue >= 0
        who, drug, venue = who[keep], drug[keep], venue[keep]
        lo, hi = sc.mobility.opening_hours["pharmacy"]
        t = 60 * lo + u_time[who] * 60 * (hi - lo)
        one, first = np.unique(who, return_index=True)  # one visit per buyer
        at, when = venue[first], t[first]
        ok = self._admitted(one, at)
        if ok is not None:  # no sale: the scan at the door failed
            visits.refuse(one[~ok], at[~ok], when[~ok])
            sold = np.isin(who, one[ok])
            one, at, when = one[ok], at[ok], when[ok]
            who, drug, venue, t = who[sold], drug[sold], venue[sold], t[sold]
        timed = "pharmacy" in sc.mobility.records_time_out
        visits.add(one, at, when, when + 5, timed, -1)
        return pa.Table.from_arrays(
            [
                pa.array(who.astype(np.int32)),
                _dict_array(venue, pop.venue_codes),
                self._stamp(day, t),
                _dict_array(drug, _words(DRUG_CLASSES)),
            ],
            schema=SCHEMAS["pharmacy_sales"],
        )

    def _travellers(self, day: int, free: Bools, visits: _Visits) -> pa.Table:
        """Residents coming home from elsewhere, some infected where they were. Drawn over
        all residents (travel stream), then kept for those free to travel."""
        sc, pop, s = self.scenario, self.pop, self.state
        rng = self._rng(TRAVEL, day)
        tv = sc.travel
        parts: list[tuple[Ints, int, Ints]] = []
        for mode_i, mode_name in enumerate(TRAVEL_MODES):
            k = rng.poisson(pop.n / 1e6 * tv.arrivals_per_million_per_day[mode_name])
            kind = "checkpoint" if mode_name == "highway" else "transit_hub"
            points = np.flatnonzero(pop.venue_type == pop.venue_type_code(kind))
            if k == 0 or pop.n == 0 or len(points) == 0:
                continue
            who = rng.integers(0, pop.n, k).astype(np.int64)
            parts.append((who, mode_i, points[rng.integers(0, len(points), k)].astype(np.int64)))
        if not parts:
            return SCHEMAS["travellers"].empty_table()
        who = np.concatenate([p[0] for p in parts])
        who, first = np.unique(who, return_index=True)  # one arrival per person per day
        mode = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])[first]
        point = np.concatenate([p[2] for p in parts])[first]
        k = len(who)
        shares = np.array([tv.origin_risk_shares[r] for r in RISK_LEVELS])
        risk = np.minimum(np.searchsorted(np.cumsum(shares), rng.random(k), side="right"), 2)
        origin = rng.integers(0, len(self._origins), k)
        lo, hi = tv.arrival_hours
        t = 60 * (lo + (hi - lo) * rng.random(k))
        u_inf = rng.random(k)
        lo_d, hi_d = tv.days_since_infection
        ago = rng.integers(lo_d, hi_d + 1, k)
        at_origin = rng.integers(1, tv.history_days + 1, k)
        keep = free[who]
        who, mode, point, risk, origin = (x[keep] for x in (who, mode, point, risk, origin))
        t, u_inf, ago, at_origin = t[keep], u_inf[keep], ago[keep], at_origin[keep]
        visits.add(who, point, t, t, False, -1)
        p_inf = np.array([tv.infection_prob[r] for r in RISK_LEVELS])[risk]
        caught = np.flatnonzero(~s.infected[who] & (u_inf < p_inf))
        when = day - ago[caught]
        none = np.full(len(caught), -1, dtype=np.int64)
        self._infect(who[caught], when, none, np.full(len(caught), SET["imported"]), none, day)
        return pa.Table.from_arrays(
            [
                pa.array(who.astype(np.int32)),
                _dict_array(mode, _words(TRAVEL_MODES)),
                _dict_array(point, pop.venue_codes),
                self._stamp(day, t),
                self._origins.take(pa.array(origin, type=pa.int64())),
                _dict_array(risk, _words(RISK_LEVELS)),
                self._histories(day, origin, risk, at_origin),
            ],
            schema=SCHEMAS["travellers"],
        )

    def _histories(self, day: int, origin: Ints, risk: Ints, at_origin: Ints) -> Arrow:
        """7-day travel histories: home province, then the last ``at_origin`` days there."""
        days = self.scenario.travel.history_days
        k = len(origin)
        j = np.tile(np.arange(days), k)
        away = j >= (days - np.repeat(at_origin, days))
        first = np.datetime64(self.scenario.run.start_date, "D") + day - days
        dates = pa.array(np.tile(first + np.arange(days), k).astype("datetime64[D]"))
        home = pa.scalar(self._home_region, pa.string())
        region = np.where(away, np.repeat(origin, days), 0)
        places = self._origins.take(pa.array(region, type=pa.int64()))
        places = pc.if_else(pa.array(away), places, home)
        level = np.where(away, np.repeat(risk, days), 0)
        levels = _words(RISK_LEVELS).take(pa.array(level, type=pa.int64()))
        items = pa.StructArray.from_arrays([dates, places, levels], fields=list(HISTORY.value_type))
        offsets: Arrow = pa.array(np.arange(0, (k + 1) * days, days), type=pa.int32())
        lists: Arrow = pa.ListArray.from_arrays(offsets, items, type=HISTORY)  # type: ignore[call-overload]
        return lists

    def _tests(self, day: int, clinic: Ints, iv: Interventions) -> pa.Table:
        sc, pop, s = self.scenario, self.pop, self.state
        rng = self._rng(TESTING, day)
        ts = sc.testing
        every = self._occ_interval[pop.occupation]
        routine = np.flatnonzero(
            (every > 0)
            & (s.quarantine == FREE)
            & ((day + s.routine_phase) % np.maximum(every, 1) == 0)
            & self.routine_tests
        )
        clinic = clinic if ts.test_at_fever_clinic else np.zeros(0, dtype=np.int64)
        requested = np.unique(self._persons(iv.test_persons))
        region = self._region_persons(iv.test_regions)
        region = region[s.quarantine[region] != CENTRAL]
        singles = np.concatenate([routine, clinic, requested]).astype(np.int64)
        reason = np.concatenate(
            [
                np.full(len(routine), 0),
                np.full(len(clinic), 1),
                np.full(len(requested), 3),
                np.full(len(region), 2),
            ]
        )
        who = np.concatenate([singles, region]).astype(np.int64)
        n_pools = -(-len(region) // ts.pool_size)
        tube = np.concatenate(
            [np.arange(len(singles)), len(singles) + np.arange(len(region)) // ts.pool_size]
        )
        size = np.concatenate(
            [
                np.ones(len(singles)),
                np.bincount(np.arange(len(region)) // ts.pool_size, minlength=n_pools)[
                    np.arange(len(region)) // ts.pool_size
                ],
            ]
        ).astype(np.int64)
        member_ct = self._measure(who, day, rng)
        lod = ts.ct_course.limit_of_detection
        result_ct = tube_cts(member_ct, tube, ts.pool_dilution_ct, lod)[tube]
        positive = result_ct < ts.ct_threshold
        lo, hi = ts.sample_hours
        sample = 60 * (lo + (hi - lo) * rng.random(len(who)))
        return pa.Table.from_arrays(
            [
                pa.array(who.astype(np.int32)),
                self._stamp(day, sample),
                self._stamp(day, sample + 60 * ts.result_delay_hours),
                _dict_array(reason, _words(TEST_REASONS)),
                pa.array(day * 10_000_000 + tube.astype(np.int64)),
                pa.array(size.astype(np.int16)),
                pa.array(positive),
                _nullable(result_ct.astype(np.float32), pa.float32(), ~positive),
            ],
            schema=SCHEMAS["test_results"],
        )

    def _course(self, who: Ints, day: int) -> Floats:
        """The Ct course of each person on ``day`` (inf: nothing to detect)."""
        s = self.state
        return course_ct(
            day,
            s.inf_day[who],
            s.ct_peak[who],
            s.ct_t_peak[who],
            s.ct_t_end[who],
            self.scenario.testing.ct_course.limit_of_detection,
        )

    def _measure(self, who: Ints, day: int, rng: np.random.Generator) -> Floats:
        """One single-tube sample of each person on ``day``, measured (inf: not detected)."""
        ts = self.scenario.testing
        course = self._course(who, day)
        noise = rng.normal(0, ts.ct_sd, len(who))
        u = rng.random(len(who))
        return measure(course, noise, u, ts.sensitivity, ts.ct_course.limit_of_detection)

    # -- the lab's view of the platform's own samples -------------------------------------

    def assay(self, persons: Sequence[int] | npt.NDArray[np.integer[Any]], day: int) -> Floats:
        """The measured Ct of a single-tube sample of each person taken on ``day``.

        For samples the platform took that are not in the twin's own test list (landing
        tests, samples registered on a day already stepped): ``day`` must be a day
        already stepped. ``np.inf`` where nothing is detected — not infected, outside
        the detectable part of the Ct course, or the sample missed (``sensitivity``).
        Positive when below ``testing.ct_threshold`` (``is_positive``). Same law as the
        twin's own tests; the draws come from the lab's own generator, so calling this
        never changes the outbreak.
        """
        if not 0 <= day < self.day:
            raise BadInput(
                Problem(
                    "twin.day_not_stepped",
                    f"第 {day} 天尚未模拟（已模拟到第 {self.day - 1} 天）",
                    f"day {day} has not been stepped (last stepped day: {self.day - 1})",
                )
            )
        return self._measure(self._persons(persons), day, self.lab_rng)

    def pool_ct(self, member_cts: Sequence[float] | Floats) -> float:
        """The Ct of one tube holding these members' samples (their measured Cts, inf where
        nothing was detected): the lowest, + ``testing.pool_dilution_ct`` when pooled."""
        cts = np.asarray(member_cts, dtype=np.float64).reshape(-1)
        if len(cts) == 0:
            return float("inf")
        ts = self.scenario.testing
        tube = np.zeros(len(cts), dtype=np.int64)
        return float(tube_cts(cts, tube, ts.pool_dilution_ct, ts.ct_course.limit_of_detection)[0])

    def is_positive(self, ct: float | Sequence[float] | Floats) -> Bools:
        """Positive results: Ct below ``testing.ct_threshold``."""
        return np.asarray(ct, dtype=np.float64) < self.scenario.testing.ct_threshold

    def _checkins(self, day: int, visits: _Visits) -> pa.Table:
        person, venue, zone, t_in, t_out, timed, _ = visits.cat()
        first = day * 100_000_000 * 100
        return pa.Table.from_arrays(
            [
                pa.array(first + np.arange(len(person), dtype=np.int64)),
                pa.array(person.astype(np.int32)),
                _dict_array(venue, self.pop.venue_codes),
                self._stamp(day, t_in),
                self._stamp(day, t_out, ~timed),
                _dict_array(zone, self._zone_words),
            ],
            schema=SCHEMAS["checkins"],
        )

    def _refused_table(self, day: int, visits: _Visits) -> pa.Table:
        if not visits.refused:
            return SCHEMAS["refused_scans"].empty_table()
        person, venue, t = (np.concatenate(c) for c in zip(*visits.refused, strict=True))
        return pa.Table.from_arrays(
            [
                pa.array(person.astype(np.int32)),
                _dict_array(venue, self.pop.venue_codes),
                self._stamp(day, t),
            ],
            schema=SCHEMAS["refused_scans"],
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

    # -- runs ---------------------------------------------------------------------------

    def run(
        self,
        days: int,
        interventions_fn: Callable[[int, DayEvents | None], Interventions] | None = None,
    ) -> Iterator[DayEvents]:
        """Step ``days`` days; ``interventions_fn(day, yesterday's events)`` gives the orders."""
        last: DayEvents | None = None
        for day in range(self.day, self.day + days):
            iv = interventions_fn(day, last) if interventions_fn else NO_INTERVENTIONS
            last = self.step(day, iv)
            yield last


def _region_prefix(code: str) -> str:
    """The digits of a region code that its descendants share (GB/T 2260 + 12/15 digits)."""
    if len(code) == 6:
        c = code
        while len(c) > 2 and c.endswith("00"):
            c = c[:-2]
        return c
    if len(code) == 12 and code.endswith("000"):
        return code[:9]
    return code


def write_run(
    twin: Twin,
    days: int,
    out_dir: Path,
    *,
    interventions_fn: Callable[[int, DayEvents | None], Interventions] | None = None,
    on_day: Callable[[DayEvents], None] | None = None,
    truth_dir: Path | None = None,
    compression: Compression = "zstd",
) -> dict[str, int]:
    """Run ``days`` days writing events to ``out_dir`` and truth to ``out_dir/truth``.

    Returns rows written per table.
    """
    with EventWriter(out_dir, truth_dir, compression) as writer:
        for events in twin.run(days, interventions_fn):
            writer.write(events)
            if on_day:
                on_day(events)
    return writer.rows
