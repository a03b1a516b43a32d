"""Necessities and urgent medical care under control (民生保障): markets, sealed
compounds' stock and their residents' medical needs.

- **Markets** (the registry's markets and supermarkets) sell the goods of
  ``provisions.per_person_per_day`` to the free residents of their county, in proportion
  to their popularity (× ``panic_factor`` where the county has a sealed compound), and
  are restocked each day by ``restock_share`` of their expected sales and ``refill_share``
  of the gap to their usual stock (``market_stock_days``) (×
  ``disruption_restock`` in the disrupted counties from ``disruption_day`` for
  ``disruption_days``). They report stock and the day's sales at ``report_hour``.
- **Sealed compounds** (the platform's seals, ``Interventions.seal_compounds``) hold
  ``household_stock_days`` of every good when sealed and consume it per resident per day;
  the platform's deliveries (``Interventions.deliveries``) restock them (and are receipted:
  ``deliveries``). ``truth_stock``: each sealed compound's stock at the day's end and
  whether it ran out.
- **Urgent medical needs** of residents of sealed compounds: patients on a cycle
  (dialysis every 2–3 days, chemotherapy, antenatal checks: ``patients_per_10k``,
  ``every_days``) need a session on their day; anyone may need chronic medication or
  emergency care (``daily_prob``). Each need is reported between ``report_hours`` with a
  deadline (``deadline_hours``). The platform's transfers (``Interventions.transfers``)
  meet them at the time given; ``truth_needs`` says met in time, met late, or missed
  (no transfer ``missed_after_hours`` after the deadline).

Everything is arrays over persons (one uniform per person a day), venues × goods and
compounds × goods; the draws come from the twin's ``PROVISIONS`` stream.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from fangkong.twin._checkpoints import county_codes
from fangkong.twin._population import Population
from fangkong.twin.events import SCHEMAS, TRUTH_SCHEMAS
from fangkong.twin.scenario import GOODS, NEED_KINDS, Scenario
from fangkong.twin.state import Bools, Ints, _dict_array, _words

OUTCOMES = ("met_in_time", "met_late", "missed")
NEVER = -1


class Provisions:
    """Markets, sealed compounds' stock and medical needs (a part of ``Twin``)."""

    def __init__(self, pop: Population, scenario: Scenario, rng: np.random.Generator) -> None:
        self.pop, self.scenario = pop, scenario
        p = scenario.provisions
        self.per_day = np.array([p.per_person_per_day[g] for g in GOODS])
        self.residents = np.bincount(pop.compound, minlength=len(pop.compounds)).astype(np.int64)
        self.stock = np.zeros((len(pop.compounds), len(GOODS)))
        self.was_sealed = np.zeros(len(pop.compounds), np.bool_)
        # markets: the registry's markets and supermarkets, their county's buyers
        kinds = [pop.venue_type_code(t) for t in ("market", "supermarket")]
        self.markets = np.flatnonzero(np.isin(pop.venue_type, [k for k in kinds if k >= 0]))
        self.markets = self.markets[pop.venue_county[self.markets] >= 0]
        n_counties = int(pop.county.max(initial=-1)) + 1
        county = pop.venue_county[self.markets]
        pop_weight = pop.popularity[self.markets]
        total = np.bincount(county, weights=pop_weight, minlength=n_counties)
        self.market_share = pop_weight / np.maximum(total[county], 1e-300)
        self.market_county = county.astype(np.int64)
        self.county_codes = county_codes(pop)
        people = np.bincount(pop.county, minlength=n_counties)
        # each compound's county (its residents share it): sealed counts per county by
        # compound, not by person
        self.compound_county = np.zeros(len(pop.compounds), np.int64)
        self.compound_county[pop.compound] = pop.county
        self.people = people.astype(np.float64)
        expected = people[county][:, None] * self.per_day[None, :] * p.market_share
        self.expected = expected * self.market_share[:, None]
        lo = np.array([p.market_stock_days[g][0] for g in GOODS])
        hi = np.array([p.market_stock_days[g][1] for g in GOODS])
        u = rng.random((len(self.markets), len(GOODS)))
        self.target = self.expected * (lo + (hi - lo) * u)  # each market's usual stock
        self.market_stock = self.target.copy()
        self.disrupted = rng.random(n_counties) < p.disruption_share
        # patients on a cycle: who, which kind, every how many days, from which phase
        u = rng.random(pop.n)
        self.patient_kind = np.full(pop.n, -1, np.int64)
        self.every = np.zeros(pop.n, np.int64)
        edge = 0.0
        for kind, per_10k in p.patients_per_10k.items():
            share = per_10k / 10_000
            who = (u >= edge) & (u < edge + share)
            if kind == "pregnancy":
                who &= (pop.age >= 20) & (pop.age <= 42)
            lo_d, hi_d = p.every_days[kind]
            self.patient_kind[who] = NEED_KINDS.index(kind)
            self.every[who] = rng.integers(lo_d, hi_d + 1, int(who.sum()))
            edge += share
        self.phase = rng.integers(0, 10_000, pop.n)
        # the register of needs: person, kind, deadline (epoch s), met at (epoch s)
        self.need_person: list[Ints] = []
        self.need_kind: list[Ints] = []
        self.need_deadline: list[Ints] = []
        self.met_at = np.zeros(0, np.int64)
        self.resolved = np.zeros(0, np.bool_)
        self._delivered: list[tuple[str, int, float, int]] = []
        self._index = {c: i for i, c in enumerate(pop.compounds)}

    # -- the platform's orders ----------------------------------------------------------

    def apply(self, deliveries: Any, transfers: Any) -> None:
        """Deliveries restock their compound; transfers meet their need (at the time
        given). Unknown compounds, goods or needs are ignored (the twin's books only)."""
        self._delivered = []
        for compound, good, quantity, at in deliveries:
            c, g = self._index.get(str(compound)), (GOODS.index(good) if good in GOODS else -1)
            if c is None or g < 0 or not quantity > 0:
                continue
            self.stock[c, g] += float(quantity)
            self._delivered.append((str(compound), g, float(quantity), int(at)))
        for need, at in transfers:
            if 0 <= int(need) < len(self.met_at) and self.met_at[int(need)] == NEVER:
                self.met_at[int(need)] = int(at)

    # -- the day ------------------------------------------------------------------------

    def day(
        self, twin: Any, day: int, sealed: Bools, rng: np.random.Generator
    ) -> dict[str, pa.Table]:
        return {
            "market_reports": self._markets(twin, day, sealed, rng),
            "truth_stock": self._compounds(day, sealed),
            "deliveries": self._receipts(),
            "medical_needs": self._needs(twin, day, sealed, rng),
            "truth_needs": self._outcomes(twin, day),
        }

    def _markets(self, twin: Any, day: int, sealed: Bools, rng: np.random.Generator) -> pa.Table:
        p, pop = self.scenario.provisions, self.pop
        k, g = self.expected.shape
        noise = rng.lognormal(0.0, p.sales_sd, (2, k, g))
        n_counties = len(self.people)
        shut = np.bincount(self.compound_county, weights=sealed * self.residents,
                           minlength=n_counties)  # fmt: skip
        free = self.people - shut
        factor = (free / np.maximum(self.people, 1)) * np.where(shut > 0, p.panic_factor, 1.0)
        demand = self.expected * factor[self.market_county][:, None] * noise[0]
        sales = np.minimum(demand, self.market_stock)
        hit = self.disrupted & (p.disruption_day >= 0)
        hit &= (p.disruption_day <= day) & (day < p.disruption_day + p.disruption_days)
        gap = np.maximum(self.target - (self.market_stock - sales), 0.0)
        restock = self.expected * p.restock_share * noise[1] + p.refill_share * gap
        restock *= np.where(hit[self.market_county], p.disruption_restock, 1.0)[:, None]
        self.market_stock = self.market_stock - sales + restock
        venue = np.repeat(self.markets, g)
        good = np.tile(np.arange(g), k)
        return pa.Table.from_arrays(
            [
                _dict_array(venue, pop.venue_codes),
                pa.array(
                    [self.county_codes[int(c)] for c in np.repeat(self.market_county, g)],
                    pa.string(),
                ),
                _dict_array(good, _words(GOODS)),
                pa.array(np.round(self.market_stock, 2).ravel()),
                pa.array(np.round(sales, 2).ravel()),
                twin._stamp(day, np.full(k * g, 60.0 * p.report_hour)),
            ],
            schema=SCHEMAS["market_reports"],
        )

    def _compounds(self, day: int, sealed: Bools) -> pa.Table:
        p = self.scenario.provisions
        new = sealed & ~self.was_sealed
        self.stock[new] = (
            self.residents[new][:, None] * self.per_day[None, :] * p.household_stock_days
        )
        self.was_sealed = sealed.copy()
        at = np.flatnonzero(sealed)
        use = self.residents[at][:, None] * self.per_day[None, :]
        left = self.stock[at] - use
        short = left < 0
        self.stock[at] = np.maximum(left, 0.0)
        g = len(GOODS)
        return pa.Table.from_arrays(
            [
                pa.array([self.pop.compounds[int(c)] for c in np.repeat(at, g)], pa.string()),
                _dict_array(np.tile(np.arange(g), len(at)), _words(GOODS)),
                pa.array(np.repeat(self.residents[at], g).astype(np.int32)),
                pa.array(np.round(self.stock[at], 3).ravel()),
                pa.array(short.ravel()),
            ],
            schema=TRUTH_SCHEMAS["truth_stock"],
        )

    def _receipts(self) -> pa.Table:
        got = self._delivered
        return pa.Table.from_arrays(
            [
                pa.array([c for c, _, _, _ in got], pa.string()),
                _dict_array(np.array([g for _, g, _, _ in got], np.int64), _words(GOODS)),
                pa.array([q for _, _, q, _ in got], pa.float64()),
                pa.array([a for _, _, _, a in got], pa.int64()).cast(pa.timestamp("s", "UTC")),
            ],
            schema=SCHEMAS["deliveries"],
        )

    def _needs(self, twin: Any, day: int, sealed: Bools, rng: np.random.Generator) -> pa.Table:
        p, pop = self.scenario.provisions, self.pop
        u = rng.random(pop.n)
        inside = sealed[pop.compound]
        kind = np.full(pop.n, -1, np.int64)
        cycle = (self.patient_kind >= 0) & ((day + self.phase) % np.maximum(self.every, 1) == 0)
        kind[cycle] = self.patient_kind[cycle]
        edge = 0.0
        for name, prob in p.daily_prob.items():
            hit = (kind < 0) & (u >= edge) & (u < edge + prob)
            kind[hit] = NEED_KINDS.index(name)
            edge += prob
        who = np.flatnonzero(inside & (kind >= 0)).astype(np.int64)
        lo, hi = p.report_hours
        minutes = 60 * (lo + (hi - lo) * rng.random(len(who)))
        deadline_h = np.array([p.deadline_hours[k] for k in NEED_KINDS])[kind[who]]
        reported = twin.local_midnight(day) + np.rint(minutes * 60).astype(np.int64)
        deadline = reported + np.rint(deadline_h * 3600).astype(np.int64)
        first = len(self.met_at)
        self.need_person.append(who)
        self.need_kind.append(kind[who])
        self.need_deadline.append(deadline)
        self.met_at = np.concatenate([self.met_at, np.full(len(who), NEVER, np.int64)])
        self.resolved = np.concatenate([self.resolved, np.zeros(len(who), np.bool_)])
        time = pa.timestamp("s", "UTC")
        return pa.Table.from_arrays(
            [
                pa.array(first + np.arange(len(who), dtype=np.int64)),
                pa.array(who.astype(np.int32)),
                pa.array([pop.compounds[int(c)] for c in pop.compound[who]], pa.string()),
                _dict_array(kind[who], _words(NEED_KINDS)),
                pa.array(reported).cast(time),
                pa.array(deadline).cast(time),
            ],
            schema=SCHEMAS["medical_needs"],
        )

    def _outcomes(self, twin: Any, day: int) -> pa.Table:
        """Needs resolved today: met (in time or late) or missed."""
        if not len(self.met_at):
            return TRUTH_SCHEMAS["truth_needs"].empty_table()
        kind, deadline = np.concatenate(self.need_kind), np.concatenate(self.need_deadline)
        end = twin.local_midnight(day + 1)
        late_by = int(self.scenario.provisions.missed_after_hours * 3600)
        met = ~self.resolved & (self.met_at != NEVER)
        missed = ~self.resolved & (self.met_at == NEVER) & (deadline + late_by <= end)
        done = np.flatnonzero(met | missed)
        self.resolved[done] = True
        outcome = np.where(
            self.met_at[done] == NEVER, 2, np.where(self.met_at[done] <= deadline[done], 0, 1)
        )
        time = pa.timestamp("s", "UTC")
        at = self.met_at[done]
        return pa.Table.from_arrays(
            [
                pa.array(done.astype(np.int64)),
                _dict_array(kind[done], _words(NEED_KINDS)),
                pa.array(deadline[done]).cast(time),
                pa.array(np.where(at == NEVER, 0, at), mask=at == NEVER).cast(time),
                _dict_array(outcome, _words(OUTCOMES)),
            ],
            schema=TRUTH_SCHEMAS["truth_needs"],
        )

    def needs(self) -> pa.Table:
        """Every need so far: need, person, kind, deadline, met at (null: not yet)."""
        if not self.need_person:
            return pa.table({"need": pa.array([], pa.int64())}, schema=None)
        time = pa.timestamp("s", "UTC")
        at = self.met_at
        return pa.table(
            {
                "need": np.arange(len(at), dtype=np.int64),
                "person": np.concatenate(self.need_person).astype(np.int32),
                "kind": [NEED_KINDS[int(k)] for k in np.concatenate(self.need_kind)],
                "deadline": pa.array(np.concatenate(self.need_deadline)).cast(time),
                "met_at": pa.array(np.where(at == NEVER, 0, at), mask=at == NEVER).cast(time),
            }
        )


__all__ = ["OUTCOMES", "Provisions"]
