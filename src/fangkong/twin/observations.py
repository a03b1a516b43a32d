"""The twin's observations (可观测数据): what the platform can see of the outbreak.

Fever-clinic visits, pharmacy sales, PCR tests (routine, fever clinic, regional pooled,
requested; Ct values through ``fangkong.twin._ct``) and the lab's assay of the
platform's own samples (``Twin.assay``, ``pool_ct``, ``is_positive``), drawn from the
lab's own generator so that calling it never changes the outbreak.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fangkong.errors import BadInput, Problem
from fangkong.twin._ct import course_ct, measure, tube_cts
from fangkong.twin.events import SCHEMAS
from fangkong.twin.mobility import _Visits
from fangkong.twin.orders import Interventions
from fangkong.twin.scenario import DRUG_CLASSES
from fangkong.twin.state import (
    CENTRAL,
    FREE,
    TESTING,
    Bools,
    Floats,
    Ints,
    TwinBase,
    _dict_array,
    _nullable,
    _words,
)

TEST_REASONS = ("routine", "fever_clinic", "region", "requested")


class Observations(TwinBase):
    """Fever clinics, pharmacies, tests and the lab (a ``Twin`` part)."""

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
