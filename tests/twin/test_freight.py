"""Freight at the checkpoints, markets, sealed compounds' stock and medical needs."""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fangkong.identity.resident_id import check_resident_id
from fangkong.twin.events import DayEvents
from fangkong.twin.freight import fluid_queue
from fangkong.twin.orders import Interventions
from fangkong.twin.registry import Registry, generate_registry
from fangkong.twin.scenario import GOODS, default_scenario, with_overrides
from fangkong.twin.sim import Twin

PEOPLE = 20_000


@pytest.fixture(scope="module")
def registry() -> Registry:
    return generate_registry(PEOPLE, seed=3)


def _twin(registry: Registry, **overrides: object) -> Twin:
    return Twin.from_registry(registry, with_overrides(default_scenario(), overrides), seed=3)


def _col(table: pa.Table, name: str) -> list[object]:
    return table[name].cast(pa.string()).to_pylist() if name in table.column_names else []


def test_checkpoints_are_a_few_per_county_with_the_registrys_venues_first(
    registry: Registry,
) -> None:
    twin = _twin(registry)
    cp = twin.freight.checkpoints.table()
    counties = {c[:6] for c in twin.pop.compounds}
    per = Counter(cp["county_code"].to_pylist())
    assert set(per) == counties
    assert set(per.values()) == {twin.scenario.freight.checkpoints_per_county}
    assert len(set(cp["code"].to_pylist())) == cp.num_rows
    venues = registry.venues.filter(pc.equal(registry.venues["type"], "checkpoint"))
    own = {v for v in cp["venue_code"].to_pylist() if v}
    assert own
    assert own <= set(venues["code"].to_pylist())
    low, high = twin.scenario.freight.lanes
    lanes = cp["lanes"].to_pylist()
    assert min(lanes) >= low
    assert max(lanes) <= high
    assert len(set(lanes)) > 1  # drawn, not one constant
    for row in cp.to_pylist():
        assert row["region_code"][:6] == row["county_code"]
        assert 34 < row["latitude"] < 41.5
        assert 109.5 < row["longitude"] < 115
    # the same seed: the same checkpoints
    assert _twin(registry).freight.checkpoints.table().equals(cp)


def test_drivers_from_elsewhere_have_valid_distinct_ids_of_their_province(
    registry: Registry,
) -> None:
    d = _twin(registry).freight.identities()
    elsewhere = d.filter(pc.equal(d["person"], -1)).to_pylist()
    residents = d.filter(pc.greater_equal(d["person"], 0))
    assert elsewhere
    assert residents.num_rows
    ids = [r["id_number"] for r in elsewhere]
    assert len(set(ids)) == len(ids)
    for r in elsewhere:
        check = check_resident_id(r["id_number"], today=date(2022, 3, 18))
        assert check.valid, r
        assert check.sex == r["sex"], r
        assert r["id_number"][:2] == r["home_region"][:2] != "14"
        assert r["plate"][0] != "晋"
    jobs = registry.persons["occupation"].take(residents["person"]).to_pylist()
    assert set(jobs) <= {"transport", "courier", "delivery"}


def _days(twin: Twin, days: int, orders: dict[int, Interventions] | None = None) -> list[DayEvents]:
    return [twin.step(d, (orders or {}).get(d)) for d in range(days)]


def test_freight_is_deterministic_and_never_moves_the_outbreak_when_unordered(
    registry: Registry,
) -> None:
    a, b = _twin(registry), _twin(registry)
    for ea, eb in zip(_days(a, 6), _days(b, 6), strict=True):
        b.assay_drivers([0, 1, 2], ea.day)
        for name, table in ea.observables().items():
            assert table.equals(getattr(eb, name)), name
        for name, table in ea.truths().items():
            assert table.equals(eb.truths()[name]), name


def test_a_day_of_crossings_with_people_queues_and_a_surge(registry: Registry) -> None:
    busy = {"freight.vehicles_per_lane_per_day": 4, "freight.surge_factor": 25.0}
    twin = _twin(registry, **busy)
    days = _days(twin, 7)
    f = twin.scenario.freight
    normal = [e.crossings.num_rows for e in days if e.day != f.surge_day]
    surge = days[f.surge_day]
    assert min(normal) > 20
    assert surge.crossings.num_rows > 3 * max(normal)
    for e in days:
        c, p = e.crossings, e.crossing_people
        assert len(set(c["crossing"].to_pylist())) == c.num_rows
        drivers = p.filter(pc.equal(p["role"].cast(pa.string()), "driver"))
        assert sorted(drivers["crossing"].to_pylist()) == sorted(c["crossing"].to_pylist())
        assert e.road_reports.num_rows == 24 * len(twin.freight.checkpoints.code)
        assert e.truth_drivers.num_rows == p.num_rows
        residents = p.filter(pc.is_valid(p["person"]))
        assert residents["shown_code"].null_count == residents.num_rows
        key = c.filter(pc.is_in(c["cargo_class"].cast(pa.string()),
                                value_set=pa.array(["ordinary", "none"])))  # fmt: skip
        assert not any(key["holds_pass"].to_pylist())  # passes are for key cargo only
    # the surge queues: vehicles wait, reports show a queue; a normal day barely does
    assert max(surge.road_reports["waiting"].to_pylist()) >= 10
    assert max(surge.crossings["waited_minutes"].to_pylist()) >= 60
    assert np.median(days[0].crossings["waited_minutes"].to_numpy()) <= f.check_minutes


def test_the_fluid_queue_clears_at_the_lanes_rate_and_waits_out_a_closure() -> None:
    arrivals = np.zeros((2, 120))
    arrivals[0, 0] = 10  # ten at once, one lane a minute: the last waits ten minutes
    arrivals[1, 10] = 1  # one during a closure until minute 60
    capacity = np.ones((2, 120))
    capacity[1, :60] = 0
    q, wait = fluid_queue(arrivals, capacity, np.zeros(2))
    assert q[0, 0] == 9
    assert q[0, 9] == 0
    assert wait[0, 0] == pytest.approx(10, abs=1)
    assert wait[1, 10] == pytest.approx(50, abs=1)
    assert q[1, 59] == 1
    assert q[1, 60] == 0
    _, carried = fluid_queue(np.zeros((1, 10)), np.ones((1, 10)), np.array([5.0]))
    assert carried[0, 0] == pytest.approx(5, abs=1)  # yesterday's backlog first


def test_drivers_from_high_risk_areas_are_infected_more_and_the_lab_finds_them(
    registry: Registry,
) -> None:
    twin = _twin(registry, **{"freight.infection_prob": {"low": 0.0, "medium": 0.1,
                                                          "high": 0.5},
                              "freight.vehicles_per_lane_per_day": 6})  # fmt: skip
    days = _days(twin, 5)
    crossings = pa.concat_tables([e.crossings for e in days])
    truth = pa.concat_tables([e.truth_drivers for e in days])
    levels = _col(crossings, "origin_risk")
    risk = dict(zip(crossings["crossing"].to_pylist(), levels, strict=True))
    pairs = zip(truth["crossing"].to_pylist(), truth["infected"].to_pylist(), strict=True)
    infected = Counter(risk[c] for c, i in pairs if i)
    assert infected["high"] > 0
    assert infected["low"] <= infected["high"] + infected["medium"]
    day = 4
    t = days[day].truth_drivers
    sick = t.filter(t["infected"])["driver"].to_numpy()
    well = t.filter(pc.invert(t["infected"]))["driver"].to_numpy()
    assert len(sick)
    assert twin.is_positive(twin.assay_drivers(sick, day)).mean() > 0.5
    assert not twin.is_positive(twin.assay_drivers(well, day)).any()
    # a resident returning infected from another province is an imported infection
    imported = pa.concat_tables([e.truth for e in days])
    assert "imported" in imported["setting"].cast(pa.string()).to_pylist()


def test_drivers_under_the_closed_loop_make_no_crossing_until_released(
    registry: Registry,
) -> None:
    twin = _twin(registry)
    e0 = twin.step(0)
    drivers = sorted(set(e0.crossing_people["driver"].to_pylist()))
    e1 = twin.step(1, Interventions(manage_drivers=drivers))
    assert not set(e1.crossing_people["driver"].to_pylist()) & set(drivers)
    twin.step(2, Interventions(release_drivers=drivers))
    back = set()
    for d in range(3, 7):
        back |= set(twin.step(d).crossing_people["driver"].to_pylist())
    assert back & set(drivers)


def test_closures_name_their_authority_or_none(registry: Registry) -> None:
    twin = _twin(registry, **{"freight.closure_prob": 0.5})
    closures = pa.concat_tables([e.closures for e in _days(twin, 3)])
    authority = closures["authority"].to_pylist()
    assert None in authority
    assert any(authority)
    assert all(s < e for s, e in zip(closures["start"].to_pylist(), closures["end"].to_pylist(),
                                     strict=True))  # fmt: skip


def test_sealed_compounds_run_out_unless_the_platform_delivers(registry: Registry) -> None:
    twin = _twin(registry)
    sealed = twin.pop.compounds[:2]
    e = _days(twin, 1, {0: Interventions(seal_compounds=sealed)})[0]
    stock = e.truth_stock.to_pylist()
    assert {r["compound_code"] for r in stock} == set(sealed)
    p = twin.scenario.provisions
    grain = next(r for r in stock if r["compound_code"] == sealed[0] and r["good"] == "grain")
    per_day = grain["residents"] * p.per_person_per_day["grain"]
    assert grain["stock"] == pytest.approx(per_day * (p.household_stock_days - 1), rel=1e-6)
    for day in range(1, 4):  # three more days: the households' stock is gone
        e = twin.step(day)
    assert all(r["short"] for r in e.truth_stock.to_pylist() if r["compound_code"] == sealed[0])
    at = twin.local_midnight(4) + 3600
    e = twin.step(4, Interventions(deliveries=[(sealed[0], g, per_day * 10, at) for g in GOODS]
                                   + [("nowhere", "grain", 1.0, at)]))  # fmt: skip
    got = e.deliveries.to_pylist()
    assert len(got) == len(GOODS)
    assert {r["compound_code"] for r in got} == {sealed[0]}
    rows = [r for r in e.truth_stock.to_pylist() if r["compound_code"] == sealed[0]]
    assert not any(r["short"] for r in rows if r["good"] == "grain")
    assert all(r["short"] for r in e.truth_stock.to_pylist() if r["compound_code"] == sealed[1])


def test_medical_needs_arise_only_in_sealed_compounds_and_transfers_meet_them(
    registry: Registry,
) -> None:
    twin = _twin(registry, **{"provisions.daily_prob": {"chronic_medication": 0.01,
                                                         "emergency": 0.002}})  # fmt: skip
    sealed = twin.pop.compounds[:10]
    days = _days(twin, 4, {1: Interventions(seal_compounds=sealed)})
    needs = pa.concat_tables([e.medical_needs for e in days])
    assert days[0].medical_needs.num_rows == 0
    assert needs.num_rows > 10
    assert set(needs["compound_code"].to_pylist()) <= set(sealed)
    kinds = Counter(needs["kind"].cast(pa.string()).to_pylist())
    assert kinds["chronic_medication"]
    assert kinds["emergency"]
    rows = needs.to_pylist()
    on_time = [(r["need"], int(r["reported_at"].timestamp()) + 600) for r in rows[::2]]
    late = [(r["need"], int(r["deadline"].timestamp()) + 600) for r in rows[1::4]]
    twin.step(4, Interventions(transfers=on_time + late))
    outcomes: dict[int, str] = {}
    for day in range(5, 9):
        t = twin.step(day).truth_needs
        outcomes |= dict(zip(t["need"].to_pylist(), _col(t, "outcome"), strict=True))
    first = twin.step(9).truth_needs  # nothing resolves twice
    assert not set(first["need"].to_pylist()) & set(outcomes)
    e4_rows = {n for n, _ in on_time}
    assert all(outcomes.get(n, "met_in_time") == "met_in_time" for n in e4_rows)
    assert {outcomes.get(n) for n, _ in late} <= {"met_late", None}
    missed = [r["need"] for r in rows[3::4] if r["need"] not in e4_rows]
    assert missed
    assert all(outcomes.get(n) in ("missed", None) for n in missed)
    assert "missed" in outcomes.values()


def test_markets_report_stock_and_sales_and_a_disruption_drains_them(registry: Registry) -> None:
    twin = _twin(registry, **{"provisions.disruption_share": 1.0})
    p = twin.scenario.provisions
    days = _days(twin, p.disruption_day + p.disruption_days)
    first, worst = days[0].market_reports, days[-1].market_reports
    assert first.num_rows == len(twin.provisions.markets) * len(GOODS)
    assert min(first["sales"].to_pylist()) >= 0
    assert pc.sum(worst["stock"]).as_py() < 0.8 * pc.sum(first["stock"]).as_py()
