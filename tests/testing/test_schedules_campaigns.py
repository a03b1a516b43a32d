"""Orders from the pack, missed tests feeding codes; campaign plans against a tube-by-tube
simulation; live progress."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from fangkong.healthcode.codes import current_code, record_fact
from fangkong.healthcode.writer import FactInput
from fangkong.policy import load_pack
from fangkong.policy.model import Colour
from fangkong.testing.campaigns import (
    create_campaign,
    not_sampled,
    plan,
    progress,
    simulate_first_round,
    what_if,
)
from fangkong.testing.custody import ship
from fangkong.testing.resolve import resolve
from fangkong.testing.results import post_results
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, collect
from fangkong.testing.schedules import flag_missed, orders_due, schedule_orders
from tests.testing.world import RULES, T0, batch, make_world

H = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.mark.parametrize("pack", ["protocol-9", "twenty-measures"])
def test_close_contact_orders_follow_the_quarantine_test_days(engine: Engine, pack: str) -> None:
    rules = TestingRules.from_pack(load_pack(pack))
    w = make_world(engine)
    p = w.people[0]
    record_fact(engine, w.codes, p, FactInput("close_contact", T0), recorded_by="t", now=T0)
    m = rules.managements["close_contact"]
    wanted = [(T0 + (d - 1) * DAY, T0 + d * DAY) for d in m.test_days]
    wanted += [
        (T0 + (m.first_days + d - 1) * DAY, T0 + (m.first_days + d) * DAY) for d in m.home_test_days
    ]
    last = T0 + (m.first_days + 10) * DAY
    for day in range(0, m.first_days + 10):  # run the scheduler daily, as the job does
        schedule_orders(engine, rules, at=T0 + day * DAY + H)
    got = orders_due(engine, at=last, person_ids=[p], overdue=True, status=None)
    assert sorted((o.due_from, o.due_by) for o in got) == sorted(wanted)
    assert schedule_orders(engine, rules, at=T0 + H).created == 0  # idempotent


def test_low_risk_arrival_two_tests_24h_apart(engine: Engine) -> None:
    w = make_world(engine)
    p = w.people[1]
    record_fact(
        engine,
        w.codes,
        p,
        FactInput("arrival", T0, detail={"risk": "low"}),
        recorded_by="t",
        now=T0,
    )
    schedule_orders(engine, RULES, at=T0 + H)

    def sample(code: str, t: datetime) -> None:
        collect(engine, RULES, Sample(code, [p], "pt", "140102", "s", t), at=t)

    sample("A1", T0 + 2 * H)
    sample("A2", T0 + 10 * H)  # too soon after the first: does not count
    assert [o.status for o in orders_due(engine, person_ids=[p], status=None, at=T0)] == [
        "done",
        "open",
    ]
    sample("A3", T0 + 27 * H)
    assert {o.status for o in orders_due(engine, person_ids=[p], status=None, at=T0)} == {"done"}


def test_key_staff_missed_test_turns_the_code_yellow(engine: Engine) -> None:
    w = make_world(engine, occupations={0: "cold_chain", 1: "courier"})
    out = schedule_orders(engine, RULES, at=T0)
    assert out.enrolled == 2
    daily = orders_due(engine, at=T0, person_ids=[w.people[0]])
    assert len(daily) == 1
    assert daily[0].reason == "key_daily"
    assert daily[0].due_by - daily[0].due_from == timedelta(hours=24)
    weekly = orders_due(engine, at=T0, person_ids=[w.people[1]])
    assert weekly[0].due_by - weekly[0].due_from == timedelta(hours=84)
    collect(engine, RULES, Sample("K1", [w.people[0]], "pt", "140102", "s", T0), at=T0)
    later = T0 + 3 * DAY
    assert flag_missed(engine, at=later) >= 1
    from fangkong.healthcode.codes import evaluate_person

    evaluate_person(engine, w.codes, w.people[0], at=later)
    assert current_code(engine, w.people[0]).colour is Colour.YELLOW  # type: ignore[union-attr]
    evaluate_person(engine, w.codes, w.people[0], at=T0 + 2 * H)
    assert current_code(engine, w.people[0]).colour is Colour.GREEN  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("population", "capacity", "k", "samplers"),
    [
        (100_000, 24_000, 10, 278),
        (50_000, 2_400, 5, 100),
        (20_000, 48_000, 1, 56),
        (30_000, 6_000, 20, 30),
    ],
)
def test_plan_agrees_with_a_tube_by_tube_simulation(
    population: int, capacity: int, k: int, samplers: int
) -> None:
    c = RULES.campaign
    p = plan(population, capacity, c, pool_size=k, samplers=samplers)
    simulated = simulate_first_round(population, capacity, c, k, samplers)
    assert p.results_hours == pytest.approx(simulated, abs=24.0 / capacity * k + 0.05 * 24)


def test_plan_defaults_come_from_the_pack() -> None:
    c = RULES.campaign
    p = plan(1_000_000, 200_000, c)
    assert p.samplers == -(-1_000_000 // c.people_per_sampler_shift)
    assert (p.points_min, p.points_max) == (
        -(-1_000_000 // c.people_per_point_max),
        -(-1_000_000 // c.people_per_point_min),
    )
    assert p.sampling_hours == pytest.approx(c.shift_hours, rel=1e-3)
    assert p.pool_size == c.pool_size
    assert p.target_hours == c.target_hours
    q = 1 - c.planning_prevalence
    assert p.positive_pools == pytest.approx(p.tubes * (1 - q**p.pool_size))
    assert p.retests == pytest.approx(p.positive_pools * p.pool_size)
    rate = 200_000 / 24
    assert p.settled_hours == pytest.approx(
        p.results_hours + c.resample_hours + c.transport_hours + p.retests / rate + c.run_hours
    )
    rows = what_if(1_000_000, 100_000, RULES)
    assert len(rows) == 3 * len(RULES.pool_sizes)
    slow = next(r for r in rows if r.lab_capacity_per_day == 100_000 and r.pool_size == 1)
    fast = next(r for r in rows if r.lab_capacity_per_day == 200_000 and r.pool_size == 20)
    assert not slow.meets_target
    assert fast.meets_target


def test_campaign_progress_counts_and_who_was_not_sampled(engine: Engine) -> None:
    w = make_world(engine)
    cid = create_campaign(engine, RULES, "全员核酸 第1轮", "140102", starts_at=T0, at=T0)
    for i in range(2):
        collect(
            engine,
            RULES,
            Sample(
                f"C{i}",
                w.people[i * 5 : (i + 1) * 5],
                "pt",
                "140102001001",
                "s",
                T0 + H,
                "campaign",
                cid,
            ),
            at=T0 + H,
        )
    ship(engine, ["C0", "C1"], "LAB1", at=T0 + 2 * H)
    post_results(
        engine,
        RULES,
        batch([("C0", "r", "30", "31", "2022-03-18T15:00:00+08:00")]),
        lab_code="LAB1",
        posted_by="lab",
    )
    resolve(engine, RULES, at=T0 + 7 * H)
    got = progress(engine, cid, at=T0 + 8 * H)
    assert (
        got.population,
        got.sampled,
        got.tubes,
        got.tested,
        got.positive_pools,
        got.in_transit,
    ) == (12, 10, 2, 1, 1, 1)
    assert {c.code: (c.residents, c.sampled) for c in got.compounds} == {
        "140102001001": (6, 5),
        "140102001002": (6, 5),
    }
    total, ids = not_sampled(engine, cid)
    assert (total, ids) == (2, w.people[10:])
    assert got.plan["population"] == 12
    assert got.hours_elapsed == 8
    # sampled again in the campaign (a third tube): counted once, everywhere
    collect(engine, RULES, Sample("C2", w.people[0:2], "pt", "140102001001", "s", T0 + 8 * H,
                                  "campaign", cid), at=T0 + 8 * H)  # fmt: skip
    again = progress(engine, cid, at=T0 + 9 * H)
    assert (again.population, again.sampled, again.tubes) == (12, 10, 3)
    assert again.compounds == got.compounds
    assert not_sampled(engine, cid, progress=again) == not_sampled(engine, cid) == (2, ids)
