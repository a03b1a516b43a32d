"""The twin's mobility (出行): where people go on a day and the scans they leave.

School and work, shops and restaurants (Poisson outings per age group), scans at the
compound gate, background illness, travellers coming home (with their travel
histories), and the day's check-in and refused-scan tables. Mobility draws for every
person (of the age group) whatever the orders, then drops those who cannot go: a person
free in two arms makes the same outings in both (common random numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from fangkong.twin.events import HISTORY, SCHEMAS
from fangkong.twin.scenario import RISK_LEVELS, TRAVEL_MODES, VISIT_TYPES
from fangkong.twin.state import (
    FREE,
    SET,
    TRAVEL,
    Arrow,
    Bools,
    Floats,
    Ints,
    TwinBase,
    _dict_array,
    _words,
)

ABSENCE_REASONS = ("illness", "quarantine", "other", "code")  # code: refused at the school gate


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


class Mobility(TwinBase):
    """Outings, school and work, home scans and travellers of a day (a ``Twin`` part)."""

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
