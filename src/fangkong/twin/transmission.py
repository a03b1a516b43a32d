"""The twin's transmission (传播): the day's new infections and who infected whom.

Hazards from the household, the school class, the workplace and the venues visited
(overlap of presence in the room and in the same zone); a person is infected iff
u < 1 − e^(−hazard), ``u`` drawn for every person from the transmission stream; the
setting, the infector and the venue are drawn in proportion to each one's share of the
hazard. Also the seed infections of ``scenario.seeds``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fangkong.twin._kernel import Presence, group_pressure, members_of, pick_in_segments
from fangkong.twin.mobility import _Visits
from fangkong.twin.scenario import VISIT_TYPES
from fangkong.twin.state import (
    CENTRAL,
    I32,
    SEEDS,
    SET,
    TRANSMISSION,
    Bools,
    Floats,
    Ints,
    TwinBase,
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


class Transmission(TwinBase):
    """The seeds and each day's transmission (a ``Twin`` part)."""

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
