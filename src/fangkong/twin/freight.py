"""Freight at the province's road checkpoints (货运物流): lorries, drivers, queues, closures.

Every county has ``freight.checkpoints_per_county`` checkpoints on its roads (toll
stations, road checkpoints, service areas, freight hubs), drawn once from the seed and
the registry's regions: the first ones are the registry's own ``checkpoint`` venues in
the county (so a device bound to that venue finds its checkpoint), the rest lie on a
national or provincial road out of the county town (``_checkpoints.py`` draws them and
the drivers). Each day::

    vehicles per checkpoint ~ Poisson(lanes × vehicles_per_lane_per_day [× surge_factor])
      │ hour ∝ hourly_weights, direction, cargo, origin (another province: risk by the
      │ national shares; a county of the province: risk by the twin's own prevalence)
      ▼
    a driver (a resident of the registry, or one of the drivers living elsewhere) and
    sometimes a passenger; infected per the origin's risk (a resident through the twin's
    own natural history, ``_infect``; a driver from elsewhere by a Ct course of his own)
      ▼
    the queue: a fluid queue per checkpoint and minute, capacity lanes ÷ check_minutes
    (0 while closed): waiting(t) = S(t) − min(0, min_{u≤t} S(u)), S = Σ(arrivals −
    capacity); a vehicle's wait is the time the capacity after its arrival takes to clear
    the queue ahead of it (vectorised over checkpoints × 1440 minutes)

Drivers living outside the province are a population of their own (``drivers``: an
identity, a home province, a plate): they never mix with the registry's persons (they
pass through, point to point). Drivers the platform sends into the closed loop
(``Interventions.manage_drivers``) make no crossing until released. The truth (who was
infected on the day) is ``truth_drivers``; ``assay_drivers`` is the lab's answer to a
driver's sample, from the lab's own generator like ``Twin.assay``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fangkong.twin import _names as names
from fangkong.twin._checkpoints import build_checkpoints, build_drivers, county_codes
from fangkong.twin._ct import course_ct, draw_courses
from fangkong.twin._population import Population
from fangkong.twin.events import SCHEMAS, TRUTH_SCHEMAS
from fangkong.twin.scenario import CARGO_CLASSES, RISK_LEVELS, VEHICLE_KINDS, Scenario
from fangkong.twin.state import SET, Bools, Floats, Ints, _dict_array, _nullable, _words

DIRECTIONS = ("in", "out")
ROLES = ("driver", "passenger")
COLOURS = ("green", "yellow", "red")
AUTHORITY = "省应对疫情工作领导小组（联防联控机制）"  # the provincial mechanism
MINUTES = 1440
Arr = npt.NDArray[Any]


def fluid_queue(arrivals: Floats, capacity: Floats, backlog: Floats) -> tuple[Floats, Floats]:
    """Vehicles waiting at the end of each minute and each minute's wait for a newcomer.

    ``arrivals``, ``capacity``: (checkpoints, minutes). Lindley's recursion on a fluid,
    in closed form: Q(t) = S(t) − min(0, min_{u≤t} S(u)), S the running sum of arrivals −
    capacity (the backlog counts as arrivals at minute 0). The wait of an arrival at t is
    the time until the capacity after t has cleared Q(t); past the day's end, at the
    last minute's rate (a closure at midnight: until the next day's capacity).
    """
    k, m = arrivals.shape
    a = arrivals.copy()
    a[:, 0] += backlog
    s = np.cumsum(a - capacity, axis=1)
    q = s - np.minimum(0.0, np.minimum.accumulate(s, axis=1))
    cc = np.cumsum(capacity, axis=1)
    target = cc + q
    big = float(cc[:, -1].max(initial=0.0) + q.max(initial=0.0) + 1.0)
    offset = big * np.arange(k)[:, None]
    flat = (cc + offset).ravel()
    at = np.searchsorted(flat, (target + offset).ravel(), side="left").reshape(k, m)
    at = at - (np.arange(k) * m)[:, None]
    rate = np.maximum(capacity.max(axis=1, keepdims=True), 1e-9)
    beyond = (m - 1) + (target - cc[:, -1:]) / rate
    wait = np.where(at < m, at, beyond) - np.arange(m)[None, :]
    return q, np.maximum(wait, 0.0)


class Freight:
    """The checkpoints, their drivers and each day's traffic (a part of ``Twin``)."""

    def __init__(self, pop: Population, scenario: Scenario, rng: np.random.Generator) -> None:
        self.pop, self.scenario = pop, scenario
        self.checkpoints = build_checkpoints(pop, scenario, rng)
        self.drivers = build_drivers(pop, scenario, len(self.checkpoints.code), rng)
        self.county_codes = county_codes(pop)
        self._backlog = np.zeros(len(self.checkpoints.code))
        self._cp_words = _words(self.checkpoints.code)
        province = pop.compounds[0][:2] if pop.compounds else "14"
        self._elsewhere = [f"{p}0100" for p in sorted(names.PROVINCES) if p != province]
        self._next = 0

    def manage(self, manage: Any, release: Any) -> None:
        idx = np.asarray(list(release), np.int64)
        self.drivers.managed[idx[(idx >= 0) & (idx < len(self.drivers))]] = False
        idx = np.asarray(list(manage), np.int64)
        self.drivers.managed[idx[(idx >= 0) & (idx < len(self.drivers))]] = True

    def identities(self) -> pa.Table:
        """Each driver: row, registry person (-1: lives elsewhere), home, plate, vehicle,
        holds a pass, and the identity of those from elsewhere."""
        d = self.drivers
        base = pa.table(
            {
                "driver": np.arange(len(d), dtype=np.int32),
                "person": d.person.astype(np.int32),
                "home_region": d.home,
                "plate": d.plate,
                "vehicle_kind": [VEHICLE_KINDS[int(v)] for v in d.vehicle],
                "has_pass": d.has_pass,
            }
        )
        for name in d.identity.column_names:
            base = base.append_column(name, d.identity[name])
        return base

    # -- the day ------------------------------------------------------------------------

    def county_risk(self, infectious: Bools) -> Ints:
        """Each county's level (RISK_LEVELS index) by its infectious per 100,000."""
        n = len(self.county_codes)
        sick = np.bincount(self.pop.county[infectious], minlength=n)
        people = np.maximum(np.bincount(self.pop.county, minlength=n), 1)
        rate = sick / people * 1e5
        lo, hi = self.scenario.freight.county_risk_per_100k
        return np.where(rate >= hi, 2, np.where(rate >= lo, 1, 0)).astype(np.int64)

    def day(
        self, twin: Any, day: int, free: Bools, infectious: Bools, rng: np.random.Generator,
        lab: np.random.Generator,
    ) -> dict[str, pa.Table]:  # fmt: skip
        """The day's crossings, people, hourly reports, closures and truth."""
        f, cp, d = self.scenario.freight, self.checkpoints, self.drivers
        k = len(cp.code)
        if k == 0 or len(d) == 0:
            return {}
        # closures and surges: drawn for every checkpoint every day
        u_close, u_auth, u_surge = rng.random((3, k))
        start_h = rng.uniform(0, 24 - f.closure_hours[1], k)
        length_h = rng.uniform(f.closure_hours[0], f.closure_hours[1], k)
        closed = u_close < f.closure_prob
        surge = (u_surge < f.surge_share) & (day == f.surge_day)
        mean = cp.lanes * f.vehicles_per_lane_per_day * np.where(surge, f.surge_factor, 1.0)
        counts = rng.poisson(mean)
        m = int(counts.sum())
        point = np.repeat(np.arange(k), counts)
        weights = np.asarray(f.hourly_weights, np.float64)
        hour = rng.choice(24, m, p=weights / weights.sum())
        minute = np.minimum(hour * 60 + rng.random(m) * 60, MINUTES - 1e-6)
        u = rng.random((8, m))
        inbound = u[0] < f.inbound_share
        elsewhere = u[1] < f.out_of_province_share
        resident = u[2] < f.resident_driver_share
        res_pool = np.flatnonzero(d.person >= 0)
        out_pool = np.flatnonzero(d.person < 0)
        pick_res = res_pool[(u[3] * len(res_pool)).astype(np.int64)] if len(res_pool) else None
        pick_out = out_pool[(u[3] * len(out_pool)).astype(np.int64)]
        if pick_res is None:
            resident[:] = False
            pick_res = pick_out
        driver = np.where(resident, pick_res, pick_out)
        passenger = np.where(
            u[4] < f.passenger_prob, out_pool[(u[5] * len(out_pool)).astype(np.int64)], -1
        )
        shares = np.cumsum([f.cargo_shares[c] for c in CARGO_CLASSES])
        cargo = np.minimum(np.searchsorted(shares, u[6], side="right"), len(CARGO_CLASSES) - 1)
        risk_shares = np.cumsum([f.origin_risk_shares[r] for r in RISK_LEVELS])
        far_risk = np.minimum(np.searchsorted(risk_shares, u[7], side="right"), 2)
        far = rng.integers(0, len(self._elsewhere), m)
        near = rng.integers(0, len(self.county_codes), m)
        levels = self.county_risk(infectious)
        local = cp.county[point]
        # the other end of the trip: another province, or another county of this one
        other_risk = np.where(elsewhere, far_risk, levels[near])
        risk = np.where(inbound, other_risk, levels[local])
        u_inf, u_test, u_code, u_age = rng.random((4, m))
        ago = rng.integers(f.days_since_infection[0], f.days_since_infection[1] + 1, m)
        # who can drive today: not under the closed loop; a resident free to go out
        person = d.person[driver]
        ok = ~d.managed[driver] & ((person < 0) | free[np.maximum(person, 0)])
        ok &= (passenger < 0) | ~d.managed[np.maximum(passenger, 0)]
        keep = np.flatnonzero(ok)
        point, minute, inbound, elsewhere, driver, passenger = (
            x[keep] for x in (point, minute, inbound, elsewhere, driver, passenger)
        )
        cargo, risk, far, near, local = (x[keep] for x in (cargo, risk, far, near, local))
        u_inf, u_test, u_code, u_age, ago = (x[keep] for x in (u_inf, u_test, u_code, u_age, ago))
        m = len(keep)
        self._infect_drivers(twin, day, driver, passenger, risk, u_inf, ago, inbound, elsewhere,
                             lab)  # fmt: skip
        # the queue
        cap = np.repeat((cp.lanes / f.check_minutes)[:, None], MINUTES, axis=1).astype(np.float64)
        t = np.arange(MINUTES)[None, :]
        shut = (
            closed[:, None]
            & (t >= start_h[:, None] * 60)
            & (t < (start_h + length_h)[:, None] * 60)
        )
        cap[shut] = 0.0
        arr = np.zeros((k, MINUTES))
        np.add.at(arr, (point, minute.astype(np.int64)), 1.0)
        backlog = self._backlog
        q, wait = fluid_queue(arr, cap, backlog)
        self._backlog = q[:, -1].copy()
        waited = wait[point, minute.astype(np.int64)]
        checked = minute + waited
        order = np.lexsort((checked, point))
        point, minute, checked, waited = point[order], minute[order], checked[order], waited[order]
        inbound, elsewhere, driver, passenger = (x[order] for x in (inbound, elsewhere, driver,
                                                                  passenger))  # fmt: skip
        cargo, risk, far, near, local = (x[order] for x in (cargo, risk, far, near, local))
        u_test, u_code, u_age = u_test[order], u_code[order], u_age[order]
        crossing = day * 1_000_000 + self._next + np.arange(m, dtype=np.int64)
        here = [self.county_codes[int(c)] for c in local]
        away = [
            self._elsewhere[int(fa)] if e else self.county_codes[int(ne)]
            for fa, ne, e in zip(far, near, elsewhere, strict=True)
        ]
        origin = [a if i else h for a, h, i in zip(away, here, inbound, strict=True)]
        dest = [h if i else a for a, h, i in zip(away, here, inbound, strict=True)]
        key = (cargo == CARGO_CLASSES.index("key_supplies")) | (
            cargo == CARGO_CLASSES.index("medical")
        )
        crossings = pa.Table.from_arrays(
            [
                pa.array(crossing),
                _dict_array(point, self._cp_words),
                twin._stamp(day, checked),
                _dict_array(np.where(inbound, 0, 1), _words(DIRECTIONS)),
                pa.array([d.plate[int(i)] for i in driver], pa.string()),
                _dict_array(d.vehicle[driver], _words(VEHICLE_KINDS)),
                _dict_array(cargo, _words(CARGO_CLASSES)),
                pa.array(origin, pa.string()),
                _dict_array(risk, _words(RISK_LEVELS)),
                pa.array(dest, pa.string()),
                pa.array([[o] for o in origin], pa.list_(pa.string())),
                pa.array(key & d.has_pass[driver]),
                pa.array(np.rint(waited).astype(np.int32)),
            ],
            schema=SCHEMAS["crossings"],
        )
        people = self._people(crossing, driver, passenger, risk, u_test, u_code, u_age)
        truth = self._truth(twin, day, crossing, driver, passenger)
        return {
            "crossings": crossings,
            "crossing_people": people,
            "truth_drivers": truth,
            "road_reports": self._reports(twin, day, arr, q, wait, backlog),
            "closures": self._closures(twin, day, closed, start_h, length_h, u_auth),
        }

    def _infect_drivers(
        self, twin: Any, day: int, driver: Arr, passenger: Arr, risk: Arr, u: Arr, ago: Arr,
        inbound: Arr, elsewhere: Arr, lab: np.random.Generator,
    ) -> None:  # fmt: skip
        """Drivers coming from a risk area catch the virus there (``freight.infection_prob``):
        residents returning from another province through the twin's own natural history
        (imported), drivers from elsewhere by a Ct course of their own."""
        f, d = self.scenario.freight, self.drivers
        p = np.array([f.infection_prob[r] for r in RISK_LEVELS])[risk]
        caught = u < p
        who = np.concatenate([driver[caught], passenger[caught & (passenger >= 0)]])
        when = np.concatenate([day - ago[caught], (day - ago)[caught & (passenger >= 0)]])
        trip_in = np.concatenate([(inbound & elsewhere)[caught],
                                  (inbound & elsewhere)[caught & (passenger >= 0)]])  # fmt: skip
        who, first = np.unique(who, return_index=True)
        when, trip_in = when[first], trip_in[first]
        person = d.person[who]
        res = (person >= 0) & trip_in
        fresh = res & ~twin.state.infected[np.maximum(person, 0)]
        if fresh.any():
            rows = person[fresh]
            none = np.full(len(rows), -1, np.int64)
            setting = np.full(len(rows), SET["imported"])
            twin._infect(rows, when[fresh].astype(np.int64), none, setting, none, day)
        # a driver from elsewhere still within a course is not infected again
        course = (d.inf_day[who] <= day) & (d.ct_t_end[who] > day)
        new = (person < 0) & ~course
        if new.any():
            rows, start = who[new], when[new].astype(np.int64)
            nh = twin.scenario.natural_history
            onset = start + np.maximum(nh.latent_min_days, round(nh.incubation_mean_days))
            peak, t_peak, t_end = draw_courses(start, onset, twin.scenario.testing, lab)
            d.inf_day[rows] = start.astype(np.int32)
            d.ct_peak[rows], d.ct_t_peak[rows], d.ct_t_end[rows] = peak, t_peak, t_end

    def driver_ct(self, twin: Any, drivers: Ints, day: int) -> Floats:
        """The Ct course on ``day`` of each driver (inf: nothing to detect)."""
        d = self.drivers
        person = d.person[drivers]
        own = course_ct(day, d.inf_day[drivers], d.ct_peak[drivers], d.ct_t_peak[drivers],
                        d.ct_t_end[drivers],
                        twin.scenario.testing.ct_course.limit_of_detection)  # fmt: skip
        res = person >= 0
        if res.any():
            own[res] = twin._course(person[res], day)
        return own

    def _people(
        self, crossing: Arr, driver: Arr, passenger: Arr, risk: Arr, u_test: Arr, u_code: Arr,
        u_age: Arr,
    ) -> pa.Table:  # fmt: skip
        f, d = self.scenario.freight, self.drivers
        has = passenger >= 0
        cid = np.concatenate([crossing, crossing[has]])
        who = np.concatenate([driver, passenger[has]])
        role = np.concatenate([np.zeros(len(driver), np.int64), np.ones(int(has.sum()), np.int64)])
        r = np.concatenate([risk, risk[has]])
        ut, uc, ua = (np.concatenate([x, x[has]]) for x in (u_test, u_code, u_age))
        order = np.lexsort((role, cid))
        cid, who, role, r, ut, uc, ua = (x[order] for x in (cid, who, role, r, ut, uc, ua))
        person = d.person[who]
        colour = np.where((r == 2) & (uc < f.yellow_from_high_prob), 1, 0)
        lo, hi = f.test_age_hours
        hours = (lo + (hi - lo) * ua).astype(np.float32)
        return pa.Table.from_arrays(
            [
                pa.array(cid),
                pa.array(who.astype(np.int32)),
                _nullable(np.maximum(person, 0).astype(np.int32), pa.int32(), person < 0),
                _dict_array(role, _words(ROLES)),
                _dict_array(np.where(person >= 0, -1, colour), _words(COLOURS)),
                _nullable(hours, pa.float32(), ut >= f.test_valid_prob),
            ],
            schema=SCHEMAS["crossing_people"],
        )

    def _truth(
        self, twin: Any, day: int, crossing: Ints, driver: Ints, passenger: Ints
    ) -> pa.Table:
        has = passenger >= 0
        cid = np.concatenate([crossing, crossing[has]])
        who = np.concatenate([driver, passenger[has]])
        order = np.lexsort((np.concatenate([np.zeros(len(driver)), np.ones(int(has.sum()))]), cid))
        cid, who = cid[order], who[order]
        person = self.drivers.person[who]
        infected = np.isfinite(self.driver_ct(twin, who, day))
        return pa.Table.from_arrays(
            [
                pa.array(cid),
                pa.array(who.astype(np.int32)),
                _nullable(np.maximum(person, 0).astype(np.int32), pa.int32(), person < 0),
                pa.array(infected),
            ],
            schema=TRUTH_SCHEMAS["truth_drivers"],
        )

    def _reports(
        self, twin: Any, day: int, arr: Floats, q: Floats, wait: Floats, backlog: Floats
    ) -> pa.Table:
        k = arr.shape[0]
        arrived = arr.reshape(k, 24, 60).sum(axis=2)
        end = q[:, 59::60]
        before = np.concatenate([backlog[:, None], end[:, :-1]], axis=1)
        passed = np.maximum(arrived + before - end, 0)
        point = np.repeat(np.arange(k), 24)
        hours = np.tile(np.arange(24) * 60.0, k)
        return pa.Table.from_arrays(
            [
                _dict_array(point, self._cp_words),
                twin._stamp(day, hours),
                pa.array(np.rint(arrived).ravel().astype(np.int32)),
                pa.array(np.rint(passed).ravel().astype(np.int32)),
                pa.array(np.rint(end).ravel().astype(np.int32)),
                pa.array(np.rint(wait[:, 59::60]).ravel().astype(np.int32)),
                pa.array(np.repeat(self.checkpoints.lanes, 24).astype(np.int16)),
            ],
            schema=SCHEMAS["road_reports"],
        )

    def _closures(
        self, twin: Any, day: int, closed: Bools, start_h: Floats, length_h: Floats, u: Floats
    ) -> pa.Table:
        at = np.flatnonzero(closed)
        authorised = u[at] < self.scenario.freight.closure_authorised
        return pa.Table.from_arrays(
            [
                _dict_array(at, self._cp_words),
                twin._stamp(day, start_h[at] * 60),
                twin._stamp(day, (start_h[at] + length_h[at]) * 60),
                pa.array([AUTHORITY if a else None for a in authorised], pa.string()),
            ],
            schema=SCHEMAS["closures"],
        )
