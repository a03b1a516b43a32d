"""Realism of the twin's outbreak: structure, contacts, natural history, R0, control."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fangkong.twin.events import DayEvents
from fangkong.twin.orders import Interventions
from fangkong.twin.registry import Registry, generate_registry
from fangkong.twin.scenario import VISIT_TYPES, Scenario, default_scenario, with_overrides
from fangkong.twin.sim import Twin, write_run
from fangkong.twin.theory import Expected, expected

PEOPLE = 30_000
NO_INFECTION = {"low": 0.0, "medium": 0.0, "high": 0.0}
NO_IMPORTS = {"travel.infection_prob": NO_INFECTION, "freight.infection_prob": NO_INFECTION}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return generate_registry(PEOPLE, seed=5)


@pytest.fixture(scope="module")
def r0_scenario() -> Scenario:
    return with_overrides(default_scenario(), {"seeds.infections": 400, **NO_IMPORTS})


@pytest.fixture(scope="module")
def r0_run(registry: Registry, r0_scenario: Scenario) -> tuple[Twin, pa.Table, Expected]:
    """Many seeds, no interventions, 20 days: the seeds' offspring give R0."""
    twin = Twin.from_registry(registry, r0_scenario, seed=5)
    truth = pa.concat_tables([e.truth for e in twin.run(20)])
    return twin, truth, expected(r0_scenario, twin.pop)


def _seed_offspring(truth: pa.Table) -> tuple[np.ndarray, pa.Table]:
    seeds = truth.filter(pc.equal(truth["setting"].cast(pa.string()), "seed"))["infectee"]
    children = truth.filter(pc.is_in(truth["infector"], value_set=seeds.combine_chunks()))
    return seeds.to_numpy(), children


def test_households_average_about_2_6(registry: Registry) -> None:
    twin = Twin.from_registry(registry, default_scenario())
    assert 2.45 <= twin.pop.household_size.mean() <= 2.75


def test_contacts_per_setting_match_the_scenario(registry: Registry) -> None:
    s = default_scenario()
    pop = Twin.from_registry(registry, s).pop
    tr = s.transmission
    for group, size, k in (
        (pop.school_class, pop.class_size, tr.class_contacts_per_day),
        (pop.work_group, pop.work_size, tr.work_contacts_per_day),
    ):
        members = group >= 0
        contacts = np.minimum(k, size[group[members]] - 1)
        assert contacts.mean() == pytest.approx(k, rel=0.15)
    household = pop.household_size[pop.household] - 1
    assert 1.9 <= household.mean() <= 2.8  # size-biased: people live in bigger households


def test_classes_and_teams_mix_as_the_registry_units(registry: Registry) -> None:
    pop = Twin.from_registry(registry, default_scenario()).pop
    venue = registry.persons["venue_code"].to_pylist()
    unit = registry.persons["unit_code"].to_pylist()
    for group in (pop.school_class, pop.work_group):
        members: dict[int, set[tuple[str, str]]] = {}
        for i in np.flatnonzero(group >= 0).tolist():
            members.setdefault(int(group[i]), set()).add((venue[i], unit[i]))
        assert all(len(m) == 1 for m in members.values())  # one unit per group
        assert len(members) == len(set.union(*members.values()))  # one group per unit
    assert pop.work_size.max() < sum(default_scenario().units.team_size)


def test_visits_per_person_match_the_scenario(registry: Registry) -> None:
    s = with_overrides(default_scenario(), {"seeds.infections": 0, **NO_IMPORTS})
    twin = Twin.from_registry(registry, s)
    days = [twin.step(d) for d in range(3)][1:]  # Saturday and Sunday: no staff on shift
    pop = twin.pop
    vtype = np.array(pop.venue_types)
    for vt in VISIT_TYPES:
        expected_per_day = np.array(s.mobility.visits_per_day[vt])[pop.age_group].sum()
        seen = 0
        for e in days:
            codes = e.checkins["venue_code"].combine_chunks().indices.to_numpy()
            seen += int((vtype[pop.venue_type[codes]] == vt).sum())
        if vt == "pharmacy":  # purchases by the ill add pharmacy check-ins
            assert seen / 2 >= 0.9 * expected_per_day
        else:
            assert seen / 2 == pytest.approx(expected_per_day, rel=0.1), vt
    per_person = sum(e.checkins.num_rows for e in days) / 2 / PEOPLE
    assert per_person >= 1.5  # several check-ins per person per day, fewer at weekends


def test_incubation_generation_time_and_serial_interval(
    r0_run: tuple[Twin, pa.Table, Expected],
) -> None:
    _, truth, theory = r0_run
    onset = truth["onset_day"].to_numpy(zero_copy_only=False).astype(float)
    day = truth["day"].to_numpy()
    incubation = onset - day
    assert np.nanmean(incubation) == pytest.approx(theory.incubation, abs=0.15)
    share_2_to_4 = np.mean(
        (incubation[~np.isnan(incubation)] >= 2) & (incubation[~np.isnan(incubation)] <= 4)
    )
    assert share_2_to_4 > 0.6  # "mostly 2-4 days"
    asym = truth["asymptomatic"].to_numpy(zero_copy_only=False).mean()
    assert asym == pytest.approx(default_scenario().natural_history.asymptomatic_fraction, abs=0.05)
    _, children = _seed_offspring(truth)
    infection_day = dict(zip(truth["infectee"].to_pylist(), truth["day"].to_pylist(), strict=True))
    onset_of = dict(zip(truth["infectee"].to_pylist(), truth["onset_day"].to_pylist(), strict=True))
    parents = children["infector"].to_pylist()
    gen = [d - infection_day[p] for p, d in zip(parents, children["day"].to_pylist(), strict=True)]
    assert np.mean(gen) == pytest.approx(theory.generation_time, abs=0.5)
    si = [
        o - onset_of[p]
        for p, o in zip(parents, children["onset_day"].to_pylist(), strict=True)
        if o is not None and onset_of[p] is not None
    ]
    assert np.mean(si) == pytest.approx(theory.serial_interval, abs=0.5)


def test_r0_of_a_free_outbreak_matches_the_parameters(
    r0_run: tuple[Twin, pa.Table, Expected],
) -> None:
    _, truth, theory = r0_run
    seeds, children = _seed_offspring(truth)
    r0 = children.num_rows / len(seeds)
    assert 2 <= theory.r0 <= 4
    assert r0 == pytest.approx(theory.r0, rel=0.2)
    by_setting = Counter(children["setting"].cast(pa.string()).to_pylist())
    for setting in ("household", "venue"):
        assert by_setting[setting] / len(seeds) == pytest.approx(
            theory.by_setting[setting], rel=0.3
        )


def _run(
    registry: Registry, days: int, fn: object = None, seed: int = 5
) -> tuple[Twin, list[DayEvents]]:
    s = with_overrides(default_scenario(), {"seeds.infections": 30, **NO_IMPORTS})
    twin = Twin.from_registry(registry, s, seed=seed)
    return twin, list(twin.run(days, fn))  # type: ignore[arg-type]


def test_isolating_every_infected_person_stops_their_spread(registry: Registry) -> None:
    cut = 12
    _, free = _run(registry, 22)
    infected_by_cut = set(pa.concat_tables([e.truth for e in free[:cut]])["infectee"].to_pylist())

    def orders(day: int, _: DayEvents | None) -> Interventions:
        return Interventions(isolate=sorted(infected_by_cut)) if day == cut else Interventions()

    _, controlled = _run(registry, 22, orders)
    later_free = pa.concat_tables([e.truth for e in free[cut:]])
    later = pa.concat_tables([e.truth for e in controlled[cut:]])
    # same seed: identical until the cut
    assert pa.concat_tables([e.truth for e in controlled[:cut]]).equals(
        pa.concat_tables([e.truth for e in free[:cut]])
    )
    from_isolated = pc.is_in(
        later["infector"], value_set=pa.array(sorted(infected_by_cut), pa.int32())
    )
    assert pc.sum(from_isolated).as_py() in (0, None)
    household_free = pc.and_(
        pc.is_in(later_free["infector"], value_set=pa.array(sorted(infected_by_cut), pa.int32())),
        pc.equal(later_free["setting"].cast(pa.string()), "household"),
    )
    assert pc.sum(household_free).as_py() > 10  # without control they would have spread
    assert later.num_rows < later_free.num_rows


def test_sealed_compounds_and_closed_venues_stop_check_ins(registry: Registry) -> None:
    twin = Twin.from_registry(registry, default_scenario())
    pop = twin.pop
    compound = pop.compounds[0]
    residents = np.flatnonzero(pop.compound == 0)
    busiest = int(
        np.argmax(pop.popularity * (np.array(pop.venue_types)[pop.venue_type] == "restaurant"))
    )
    code = str(pop.venue_codes[busiest])
    twin.step(0)
    e = twin.step(1, Interventions(seal_compounds=[compound], close_venues=[code]))
    persons = e.checkins["person"].to_numpy()
    venues = e.checkins["venue_code"].combine_chunks().indices.to_numpy()
    assert not np.isin(persons, residents).any()
    assert not (venues == busiest).any()
    e = twin.step(2, Interventions(unseal_compounds=[compound], reopen_venues=[code]))
    assert (e.checkins["venue_code"].combine_chunks().indices.to_numpy() == busiest).any()


def test_tests_have_ct_only_when_positive_and_miss_some_infections(registry: Registry) -> None:
    twin, events = _run(registry, 16)
    region = twin.pop.compounds[0][:6]
    e = twin.step(16, Interventions(test_regions=[region], test_persons=list(range(100))))
    t = e.test_results
    reasons = Counter(t["reason"].cast(pa.string()).to_pylist())
    assert reasons["region"] > 1000
    assert reasons["requested"] == 100
    positive = t["positive"].to_numpy(zero_copy_only=False)
    ct = t["ct"].to_numpy(zero_copy_only=False)
    assert np.isnan(ct[~positive]).all()
    assert (ct[positive] < 35).all()
    pooled = t.filter(pc.equal(t["reason"].cast(pa.string()), "region"))
    assert pc.max(pooled["pool_size"]).as_py() == 10
    all_tests = pa.concat_tables([x.test_results for x in [*events, e]])
    infected = twin.state.infected[all_tests["person"].to_numpy()]
    assert 0 < all_tests["positive"].to_numpy(zero_copy_only=False)[infected].mean() < 1


def test_travellers_carry_seven_day_histories_and_arrive_at_points_of_entry(
    registry: Registry,
) -> None:
    _, events = _run(registry, 3)
    t = pa.concat_tables([e.travellers for e in events])
    assert t.num_rows > 50
    assert set(pc.list_value_length(t["history"]).to_pylist()) == {7}
    assert set(t["mode"].cast(pa.string()).to_pylist()) == {"air", "rail", "highway"}
    assert set(t["origin_risk_level"].cast(pa.string()).to_pylist()) <= {"low", "medium", "high"}


def test_background_illness_has_a_weekly_rhythm(registry: Registry) -> None:
    s = with_overrides(
        default_scenario(),
        {"seeds.infections": 0, **NO_IMPORTS, "observables.background.ili_per_100k_per_day": 2000},
    )
    twin = Twin.from_registry(registry, s)
    by_weekday = Counter[int]()
    for e in twin.run(28):
        by_weekday[twin.weekday(e.day)] += (
            e.fever_clinic_visits.num_rows + e.pharmacy_sales.num_rows
        )
    assert by_weekday[0] > 1.2 * by_weekday[5]  # Mondays busier than Saturdays
    assert twin.state.infected.sum() == 0  # no outbreak: only background


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    registry = generate_registry(4_000, seed=2)
    s = with_overrides(default_scenario(), {"seeds.infections": 20})
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        write_run(Twin.from_registry(registry, s, seed=seed), 8, tmp_path / name)
        runs[name] = _files(tmp_path / name)
    assert runs["a"] == runs["b"]
    assert "truth/infections/day=0000/part-0.parquet" in runs["a"]
    assert "checkins/day=0007/part-0.parquet" in runs["a"]
    assert runs["a"] != runs["c"]


def test_days_must_come_in_order(registry: Registry) -> None:
    twin = Twin.from_registry(registry, default_scenario())
    with pytest.raises(ValueError, match="expected day 0"):
        twin.step(1)


def _visits(t: pa.Table, persons: np.ndarray) -> Counter[tuple[object, ...]]:
    """Check-ins of these persons as (person, venue, in, out, zone), without event ids."""
    mine = t.filter(pa.array(np.isin(t["person"].to_numpy(), persons)))
    cols = [mine[c].to_pylist() for c in ("person", "venue_code", "time_in", "time_out", "zone")]
    return Counter(zip(*cols, strict=True))


def test_common_random_numbers_two_arms_differ_only_where_the_orders_act() -> None:
    """Two twins of one seed; one isolates every other infected person from day 3."""
    registry = generate_registry(8_000, seed=7)
    s = with_overrides(
        default_scenario(),
        {
            "seeds.infections": 30,
            "travel.infection_prob": {"low": 0.01, "medium": 0.01, "high": 0.01},
        },
    )
    a, b = (Twin.from_registry(registry, s, seed=4) for _ in range(2))
    isolated: set[int] = set()
    for day in range(10):
        orders = Interventions()
        if day >= 3:
            infected = np.flatnonzero(b.state.infected)
            new = sorted(set(infected[::2].tolist()) - isolated)
            isolated |= set(new)
            orders = Interventions(isolate=new)
        ea, eb = a.step(day), b.step(day, orders)
        if day < 3:  # before the first order: the same day in every table
            assert ea.checkins.equals(eb.checkins)
            assert ea.truth.equals(eb.truth)
            continue
        out = np.array(sorted(isolated), dtype=np.int64)
        # the day's arrivals: the same persons, times, origins, except those isolated
        keep = pa.array(~np.isin(ea.travellers["person"].to_numpy(), out))
        assert ea.travellers.filter(keep).equals(eb.travellers)
        # persons never infected in either arm and never isolated go out the same way
        clean = np.flatnonzero(~a.state.infected & ~b.state.infected)
        assert _visits(ea.checkins, clean) == _visits(eb.checkins, clean)
        assert len(_visits(ea.checkins, clean)) > 10_000
    assert b.state.infected.sum() < a.state.infected.sum()  # the orders did act
    # a person infected on the same day in both arms has the same course
    both = np.flatnonzero(a.state.infected & b.state.infected)
    same = both[a.state.inf_day[both] == b.state.inf_day[both]]
    assert len(same) > 50
    for name in (
        "onset_day",
        "inf_start",
        "inf_end",
        "asymptomatic",
        "ct_peak",
        "ct_t_peak",
        "ct_t_end",
    ):
        assert np.array_equal(getattr(a.state, name)[same], getattr(b.state, name)[same]), name
    assert np.array_equal(a._course(same, 9), b._course(same, 9))


def test_restaurants_mix_by_zone_and_the_zone_is_in_the_check_ins(registry: Registry) -> None:
    s = default_scenario()
    twin = Twin.from_registry(registry, s)
    pop = twin.pop
    restaurant = pop.venue_type == pop.venue_type_code("restaurant")
    size = s.mobility.zone_size["restaurant"]
    assert (pop.venue_zones[restaurant] >= 1).all()
    assert (pop.venue_zones[~restaurant] == 0).all()
    assert pop.venue_zones[restaurant].max() >= 3  # the busy ones have several tables
    e = twin.step(0)
    venue = e.checkins["venue_code"].combine_chunks().indices.to_numpy()
    zone = e.checkins["zone"].combine_chunks()
    assert e.checkins.schema.field("zone").type == pa.dictionary(pa.int32(), pa.string())
    at = restaurant[venue]
    valid = zone.is_valid().to_numpy(zero_copy_only=False)
    staff = pop.employer[e.checkins["person"].to_numpy()] == venue  # at work: no table
    assert valid.sum() > 1000
    assert not (valid & ~at).any()
    assert valid[at & ~staff].all()
    at = valid
    codes = np.array(zone.filter(pa.array(at)).cast(pa.string()).to_pylist())
    number = np.array([int(c[1:]) for c in codes])
    assert all(c.startswith("Z") for c in codes)
    assert (number < pop.venue_zones[venue[at]]).all()
    # visits spread over the tables: the busiest restaurant's diners sit at most of them
    busiest = int(np.flatnonzero(restaurant)[np.argmax(pop.venue_zones[restaurant])])
    used = set(number[venue[at] == busiest].tolist())
    assert len(used) >= pop.venue_zones[busiest] // 2
    # tables follow the load: diners at a time per table ≈ zone_size where a venue has more
    # than one table (visits of the day × mean stay ÷ opening minutes ÷ tables)
    diners = np.bincount(venue[at], minlength=len(pop.venue_zones))
    open_, close = s.mobility.opening_hours["restaurant"]
    at_once = diners * s.mobility.stay_minutes["restaurant"] / (60 * (close - open_))
    several = pop.venue_zones >= 2
    assert several.sum() >= 5
    per_table = np.median(at_once[several] / pop.venue_zones[several])
    assert 0.6 * size <= per_table <= 1.4 * size, per_table
    theory = expected(s, pop)
    restaurant_room = expected(
        with_overrides(s, {"transmission.zone_prob_per_minute": {"restaurant": 0.0}}), pop
    )
    zone_part = theory.venue_zone
    assert zone_part == pytest.approx(theory.r0 - restaurant_room.r0)
    room_part = (
        restaurant_room.by_setting["venue"]
        - expected(
            with_overrides(
                s,
                {
                    "transmission.zone_prob_per_minute": {"restaurant": 0.0},
                    "transmission.venue_prob_per_minute": {
                        **s.transmission.venue_prob_per_minute,
                        "restaurant": 0.0,
                    },
                },
            ),
            pop,
        ).by_setting["venue"]
    )
    assert zone_part > room_part  # restaurant transmission mainly within tables and rooms
