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

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from fangkong.twin import _names as names
from fangkong.twin._ct import measure
from fangkong.twin._population import Population, VenueChooser, build_population
from fangkong.twin.events import Compression, DayEvents, EventWriter
from fangkong.twin.freight import Freight
from fangkong.twin.mobility import Mobility, _Visits
from fangkong.twin.observations import Observations
from fangkong.twin.orders import NO_INTERVENTIONS, Interventions
from fangkong.twin.provisions import Provisions
from fangkong.twin.registry import Registry
from fangkong.twin.scenario import DRUG_CLASSES, Scenario, default_scenario
from fangkong.twin.state import (
    COURSE,
    FREE,
    FREIGHT,
    LAB,
    MOBILITY,
    PROVISIONS,
    SETUP,
    Floats,
    _Course,
    _State,
    _words,
)
from fangkong.twin.transmission import Transmission


class Twin(Mobility, Transmission, Observations):
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
        self._truth = []
        self._seeded = False
        self._gate = None
        # freight at the checkpoints; markets, sealed compounds' stock and medical needs
        # (their own streams: they never move the outbreak's draws)
        self.freight = Freight(pop, scenario, self._rng(FREIGHT))
        self.provisions = Provisions(pop, scenario, self._rng(PROVISIONS))

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
        logistics = self.freight.day(
            self, day, free, infectious, self._rng(FREIGHT, day), self._rng(FREIGHT, day, 1)
        )
        logistics.update(self.provisions.day(self, day, self.sealed, self._rng(PROVISIONS, day)))
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
            **logistics,
        )

    def _apply_logistics(self, iv: Interventions) -> None:
        self.freight.manage(iv.manage_drivers, iv.release_drivers)
        self.provisions.apply(iv.deliveries, iv.transfers)

    def assay_drivers(
        self, drivers: Sequence[int] | npt.NDArray[np.integer[Any]], day: int
    ) -> Floats:
        """The measured Ct of a sample of each freight driver (``freight.drivers`` rows)
        taken on ``day`` (a day already stepped): the same law and the same lab generator
        as ``assay``; inf where nothing is detected."""
        if not 0 <= day < self.day:
            return self.assay([], day)  # the same refusal
        idx = np.asarray(drivers, np.int64).reshape(-1)
        ts = self.scenario.testing
        course = self.freight.driver_ct(self, idx, day)
        noise = self.lab_rng.normal(0, ts.ct_sd, len(idx))
        u = self.lab_rng.random(len(idx))
        return measure(course, noise, u, ts.sensitivity, ts.ct_course.limit_of_detection)

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
