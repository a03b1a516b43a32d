"""What a scenario should produce, worked out on paper — not by running the simulation.

``expected(scenario, population)`` computes the basic reproduction number R0 (基本再生数)
by setting, the mean generation time and the mean serial interval from the scenario's
parameters and the population's structure (household, class and workplace sizes, venue
popularity, visit rates). The realism tests compare a simulated outbreak with these.

The calculation enumerates every natural history (incubation day, pre-symptomatic days,
infectious days, asymptomatic or not) with its probability. For one primary case:

- household: each of the n-1 members escapes the case with e^(-β_h·Σw), so the case
  infects (n-1)(1-e^(-β_h·Σw)), averaged over the households people live in;
- class and workplace: the same with the per-pair rate p·min(1, k/(n-1)) on the days
  the case attends (school/work days, not after onset when staying home);
- venues: a visit of type t to venue v meets λ_v other visits, each overlapping on
  average ∫ occ_t(m)² dm minutes (occ_t: chance a visit of type t covers minute m, from
  the opening hours and stay lengths); a visit is drawn in proportion to popularity,
  so the expected λ is Λ·Σ s_v² (s_v the venue's share of its county's visits Λ);
- zones (tables, rooms) of zoned types: a visit sits in one of the venue's Z_v zones,
  uniformly, so it meets λ_v / Z_v visits there: Λ·Σ s_v²/Z_v, at the close-range rate
  ``zone_prob_per_minute`` on top of the room's ``venue_prob_per_minute``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fangkong.twin._population import Population
from fangkong.twin.scenario import VISIT_TYPES, Scenario

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Expected:
    r0: float
    by_setting: dict[str, float]
    venue_zone: float  # the part of by_setting["venue"] within zones (tables, rooms)
    generation_time: float  # mean days from infecting to being infected
    serial_interval: float  # mean days between onsets (symptomatic pairs)
    incubation: float  # mean days


@dataclass(frozen=True)
class _History:
    prob: float
    incubation: int
    start: int  # first infectious day after infection
    days: int
    weight: float  # relative infectiousness
    asymptomatic: bool


def _lognormal_cdf(x: float, mean: float, sd: float) -> float:
    sigma2 = math.log1p((sd / mean) ** 2)
    mu = math.log(mean) - sigma2 / 2
    if x <= 0:
        return 0.0
    return 0.5 * (1 + math.erf((math.log(x) - mu) / math.sqrt(2 * sigma2)))


def histories(scenario: Scenario) -> list[_History]:
    """Every natural history with its probability (incubation rounded, at least 1 day)."""
    nh = scenario.natural_history
    out = []
    pre = range(nh.presymptomatic_days[0], nh.presymptomatic_days[1] + 1)
    dur = range(nh.infectious_days[0], nh.infectious_days[1] + 1)
    for inc in range(1, 61):
        p_inc = _lognormal_cdf(inc + 0.5, nh.incubation_mean_days, nh.incubation_sd_days) - (
            0.0
            if inc == 1
            else _lognormal_cdf(inc - 0.5, nh.incubation_mean_days, nh.incubation_sd_days)
        )
        if p_inc < 1e-9:
            continue
        for a in pre:
            for d in dur:
                for asym, p_a in (
                    (True, nh.asymptomatic_fraction),
                    (False, 1 - nh.asymptomatic_fraction),
                ):
                    out.append(
                        _History(
                            prob=p_inc * p_a / (len(pre) * len(dur)),
                            incubation=inc,
                            start=max(nh.latent_min_days, inc - a),
                            days=d,
                            weight=nh.asymptomatic_relative_infectiousness if asym else 1.0,
                            asymptomatic=asym,
                        )
                    )
    return out


def _occupancy(open_h: float, close_h: float, mean: float, jitter: float) -> float:
    """∫ occ(m)² dm: expected minutes two independent visits of a type overlap."""
    minutes = np.arange(0.0, 1440.0, 0.5) + 0.25
    occ = np.zeros_like(minutes)
    durations = mean * (1 + jitter * np.linspace(-1, 1, 41))
    a0 = 60 * open_h
    for d in durations:
        span = 60 * (close_h - open_h) - d
        lo = np.maximum(minutes - d, a0)
        hi = np.minimum(minutes, a0 + span)
        occ += np.clip(hi - lo, 0, None) / span
    occ /= len(durations)
    return float((occ**2).sum() * 0.5)


def _venue_daily(scenario: Scenario, pop: Population) -> tuple[Floats, Floats]:
    """Per person: expected venue infections per day of outings at unit infectiousness,
    in all and within zones."""
    m, tr = scenario.mobility, scenario.transmission
    n_counties = int(pop.county.max(initial=-1)) + 1
    per_person = np.zeros(pop.n)
    in_zones = np.zeros(pop.n)
    for vtype in VISIT_TYPES:
        code = pop.venue_type_code(vtype)
        if code < 0:
            continue
        rates = np.array(m.visits_per_day[vtype])[pop.age_group]
        visits = np.bincount(pop.county, weights=rates, minlength=n_counties)  # Λ per county
        mine = (pop.venue_type == code) & (pop.venue_county >= 0)
        county = pop.venue_county[mine]
        share_total = np.bincount(county, weights=pop.popularity[mine], minlength=n_counties)
        s = pop.popularity[mine] / share_total[county]
        concentration = np.bincount(county, weights=s**2, minlength=n_counties)  # Σ s_v²
        open_h, close_h = m.opening_hours[vtype]
        overlap = _occupancy(open_h, close_h, m.stay_minutes[vtype], m.stay_jitter)
        per_county = visits * concentration * overlap * tr.venue_prob_per_minute[vtype]
        per_person += rates * per_county[pop.county]
        if vtype in tr.zone_prob_per_minute:
            zones = np.maximum(pop.venue_zones[mine], 1)
            near = np.bincount(county, weights=s**2 / zones, minlength=n_counties)
            zone_county = visits * near * overlap * tr.zone_prob_per_minute[vtype]
            per_person += rates * zone_county[pop.county]
            in_zones += rates * zone_county[pop.county]
    return per_person, in_zones


def _group_terms(
    size_of_person: Floats, in_group: npt.NDArray[np.bool_], contacts: float, prob: float
) -> tuple[Floats, Floats]:
    others = np.maximum(size_of_person - 1, 0)[in_group]
    rate = prob * np.minimum(1.0, contacts / np.maximum(others, 1))
    return others, rate


def expected(scenario: Scenario, pop: Population) -> Expected:
    """Expected R0 (by setting), generation time and serial interval of the scenario."""
    tr, nh = scenario.transmission, scenario.natural_history
    n = pop.n
    hh_others = (pop.household_size[pop.household] - 1).astype(np.float64)
    in_class = pop.school_class >= 0
    in_work = pop.work_group >= 0
    c_others, c_rate = _group_terms(
        pop.class_size[np.maximum(pop.school_class, 0)].astype(np.float64),
        in_class,
        tr.class_contacts_per_day,
        tr.class_prob_per_contact,
    )
    w_others, w_rate = _group_terms(
        pop.work_size[np.maximum(pop.work_group, 0)].astype(np.float64),
        in_work,
        tr.work_contacts_per_day,
        tr.work_prob_per_contact,
    )
    school_frac = len(set(tr.school_days)) / 7
    work_frac = len(set(tr.work_days)) / 7
    venue_all, venue_near = _venue_daily(scenario, pop)
    venue, near = float(venue_all.mean()), float(venue_near.mean())
    zone_share = near / venue if venue > 0 else 0.0

    totals = dict.fromkeys(("household", "school", "workplace", "venue"), 0.0)
    gen_num = gen_den = si_num = si_den = 0.0
    inc_mean = 0.0
    for h in histories(scenario):
        days = np.arange(h.start, h.start + h.days)
        # expected share of each infectious day spent mixing outside the home
        out = np.where(h.asymptomatic | (days < h.incubation), 1.0, 1 - nh.symptomatic_stay_home)
        w_all = h.weight * h.days
        w_out = h.weight * out.sum()
        parts = {
            "household": float(np.sum(hh_others * -np.expm1(-tr.household_daily_prob * w_all))) / n,
            "school": float(np.sum(c_others * -np.expm1(-c_rate * w_out * school_frac))) / n,
            "workplace": float(np.sum(w_others * -np.expm1(-w_rate * w_out * work_frac))) / n,
            "venue": venue * w_out,
        }
        for k, v in parts.items():
            totals[k] += h.prob * v
        inc_mean += h.prob * h.incubation
        # when the infections happen: household evenly over the infectious days, the rest
        # on days spent out
        profile = parts["household"] / h.days + (
            parts["school"] + parts["workplace"] + parts["venue"]
        ) * out / max(out.sum(), 1e-12)
        r = float(profile.sum())
        gen_num += h.prob * float((profile * days).sum())
        gen_den += h.prob * r
        if not h.asymptomatic:
            si_num += h.prob * float((profile * (days - h.incubation)).sum())
            si_den += h.prob * r
    generation = gen_num / gen_den if gen_den else 0.0
    serial = (si_num / si_den if si_den else 0.0) + inc_mean
    return Expected(
        r0=sum(totals.values()),
        by_setting=totals,
        venue_zone=totals["venue"] * zone_share,
        generation_time=generation,
        serial_interval=serial,
        incubation=inc_mean,
    )
