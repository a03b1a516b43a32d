"""The demo's sampling teams and labs (``fangkong.demo.labs.LabDesk``), both backends.

A 300-person province with an outbreak seeded large enough to find positives in a few
days. The desk samples what the platform ordered — a campaign round over every compound,
single-tube test orders (two windows of one person on one day: two samples) — plus the
twin's own fever-clinic samples, reads them with the twin's lab, posts and resolves the
results window by window. Checked: who was sampled, pools and custody, every positive
pool's members retested singly after it, an individual positive (and only that) makes a
case, orders fulfilled in their windows, late results flagged. Also ``collect_many``, the
batch entry point the desk uses, against ``collect``'s rules.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from fangkong.demo.adapter import TwinAdapter
from fangkong.demo.labs import RETEST_AFTER_HOURS, LabDesk
from fangkong.errors import NotFound
from fangkong.healthcode.codes import evaluate_person
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys
from fangkong.healthcode.tables import health_codes, person_facts
from fangkong.healthcode.writer import FactInput, write_facts
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.store.schema import persons
from fangkong.store.tx import write_transaction
from fangkong.testing.campaigns import create_campaign
from fangkong.testing.samples import (
    Sample,
    SampleInvalid,
    TubeConflict,
    collect,
    collect_many,
    register_samples,
)
from fangkong.testing.schedules import PlannedOrder, insert_orders
from fangkong.testing.tables import orders, results, tube_members, tubes
from fangkong.tracing.tables import tracing_cases
from fangkong.twin.registry import generate_registry
from fangkong.twin.scenario import default_scenario, with_overrides
from fangkong.twin.sim import Twin
from tests.conftest import TEST_SEAL_KEY
from tests.testing.world import RULES, T0, World, make_world

DAYS = 6
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_desk_samples_what_was_ordered_and_resolves_pools_singly(province: Engine) -> None:
    registry = generate_registry(300, seed=1)  # the province the fixtures imported
    scenario = with_overrides(default_scenario(), {"seeds.infections": 30})
    ctx = CodeContext(pack=load_pack("protocol-9"), sealer=Sealer(TEST_SEAL_KEY),
                      qr=QrKeys.generate())  # fmt: skip
    twin = Twin.from_registry(registry, scenario, seed=1, routine_tests=False)
    adapter = TwinAdapter(province, ctx, twin, registry)
    desk = LabDesk(province, ctx, registry, adapter, twin, scenario.run.start_date, ctx.tz,
                   late_results=0.2)  # fmt: skip
    start = datetime.combine(scenario.run.start_date, datetime.min.time(), ctx.tz)
    day3 = start + timedelta(days=3)
    compounds = sorted(set(registry.persons["residence_code"].to_pylist()))
    rounds = [create_campaign(province, desk.rules, f"round {c}", c, starts_at=day3, at=start)
              for c in compounds]  # fmt: skip
    with province.connect() as conn:
        people = [int(p) for p in conn.execute(select(persons.c.id).order_by(persons.c.id))
                  .scalars()]  # fmt: skip
    one, two = people[0], people[1]
    morning = (day3 + timedelta(hours=6)).astimezone(UTC)
    h = timedelta(hours=1)
    planned = [  # one person, two windows on day 3 that do not overlap: two samples
        PlannedOrder(one, "close_contact", morning, morning + 4 * h, "t:1:a", single_tube=True),
        PlannedOrder(one, "close_contact", morning + 6 * h, morning + 10 * h, "t:1:b",
                     single_tube=True),
        PlannedOrder(two, "close_contact", morning, morning + 24 * h, "t:2:a", single_tube=True),
    ]  # fmt: skip
    with write_transaction(province) as conn:
        insert_orders(conn, planned, at=start)
    for day in range(DAYS):
        events = twin.step(day, adapter.orders(start + timedelta(days=day), day).interventions)
        desk.day(events)

    with province.connect() as conn:
        tube_rows = {r.id: r for r in conn.execute(select(tubes)).all()}
        members: dict[int, list[int]] = {}
        for tid, pid in conn.execute(select(tube_members.c.tube_id, tube_members.c.person_id)):
            members.setdefault(int(tid), []).append(int(pid))
        result_of = {int(r.tube_id): r for r in conn.execute(select(results)).all()}
        order_rows = {r.source_key: r for r in conn.execute(select(orders)).all()}
        cases = set(conn.execute(select(tracing_cases.c.person_id)).scalars())

    # the campaign round: every resident sampled on day 3, pooled within the compound
    in_round = [t for t in tube_rows.values() if t.campaign_id in rounds]
    assert sorted(p for t in in_round for p in members[t.id]) == people
    pool = desk.rules.campaign.pool_size
    assert pool == 10  # protocol-9's 10-in-1
    for t in in_round:
        assert 1 <= t.pool_size <= pool
        assert len(members[t.id]) == t.pool_size
        assert day3 <= t.collected_at < day3 + timedelta(days=1)
        assert t.collected_at < t.shipped_at < t.received_at
        assert t.lab_code == f"LAB-{t.region_code[:6]}"

    # orders: sampled inside their windows, the person with two windows twice
    for key in ("t:1:a", "t:1:b", "t:2:a"):
        o = order_rows[key]
        assert o.status == "done", key
        assert o.due_from <= tube_rows[o.tube_id].collected_at <= o.due_by
        assert tube_rows[o.tube_id].pool_size == 1
    assert order_rows["t:1:a"].tube_id != order_rows["t:1:b"].tube_id

    # positive pools: each member retested singly after the result, within 24 h
    pools = [
        t
        for t in tube_rows.values()
        if t.pool_size > 1 and t.id in result_of and result_of[t.id].outcome == "positive"
    ]
    assert pools, "30 seeded infections in 300 people give positive pools"
    singles: dict[int, list[object]] = {}
    for t in tube_rows.values():
        if t.pool_size == 1:
            singles.setdefault(members[t.id][0], []).append(t)
    end = start + timedelta(days=DAYS)
    for pool in pools:
        reported = result_of[pool.id].tested_at
        if reported > end - timedelta(hours=24):
            continue
        for pid in members[pool.id]:
            after = [t for t in singles.get(pid, [])
                     if reported + timedelta(hours=RETEST_AFTER_HOURS) <= t.collected_at
                     and t.id in result_of
                     and result_of[t.id].tested_at <= reported + timedelta(hours=24)]  # fmt: skip
            assert after, f"member {pid} of pool {pool.barcode} not retested within 24 h"

    # a case is an individual positive, never a pool member alone
    individually_positive = {
        members[t.id][0] for t in tube_rows.values()
        if t.pool_size == 1 and t.id in result_of and result_of[t.id].outcome == "positive"
    }  # fmt: skip
    assert cases
    assert cases == individually_positive

    # late results: held back, then flagged late at the next midnight
    flagged = [t for t in tube_rows.values() if t.flag == "late"]
    assert flagged
    assert sum(d.late for d in desk.days) == len(flagged)
    line = desk.days[-1].line()
    summary = desk.summary(end.astimezone(UTC))
    for text in (line, *summary):
        assert CJK.search(text)
        assert re.search(r"[a-z]{4,}", text)


# ---- collect_many: collect's rules, for many tubes at once -----------------------------------


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def _sample(code: str, people: list[int], at: datetime = T0) -> Sample:
    return Sample(code, people, "site", "140102001001", "team", at, "campaign")


def test_collect_many_writes_what_collect_writes(world: World) -> None:
    e, p = world.engine, world.people
    one = collect(e, RULES, _sample("ONE", p[:3]), at=T0)
    got = collect_many(e, RULES, [_sample("MANY-1", p[3:6]), _sample("MANY-2", [p[6]])], at=T0)
    assert (got.created, got.already) == (2, 0)
    with e.connect() as conn:
        rows = {
            r.barcode: r
            for r in conn.execute(select(tubes).where(tubes.c.barcode.like("MANY-%"))).all()
        }
        pending = conn.execute(
            select(func.count()).select_from(
                select(tube_members.c.person_id)
                .where(tube_members.c.tube_id.in_([r.id for r in rows.values()]))
                .subquery()
            )
        ).scalar_one()
    assert rows["MANY-1"].pool_size == 3
    assert rows["MANY-2"].pool_size == 1
    assert rows["MANY-1"].purpose == one.purpose
    assert pending == 4
    again = collect_many(e, RULES, [_sample("MANY-1", p[3:6]), _sample("MANY-3", [p[7]])], at=T0)
    assert (again.created, again.already) == (1, 1)


def test_collect_many_refuses_all_or_nothing(world: World) -> None:
    e, p = world.engine, world.people
    collect_many(e, RULES, [_sample("TAKEN", p[:2])], at=T0)
    with pytest.raises(TubeConflict):
        collect_many(e, RULES, [_sample("NEW-1", [p[5]]), _sample("TAKEN", p[2:4])], at=T0)
    later = T0 + timedelta(hours=1)
    with pytest.raises(TubeConflict):
        collect_many(e, RULES, [_sample("TAKEN", p[:2], later)], at=later)
    with pytest.raises(NotFound):
        collect_many(e, RULES, [_sample("NEW-2", [p[5], 10**9])], at=T0)
    with pytest.raises(SampleInvalid):
        collect_many(e, RULES, [_sample("NEW-3", [p[5]]), _sample("NEW-3", [p[6]])], at=T0)
    with pytest.raises(SampleInvalid):
        collect_many(e, RULES, [_sample("NEW-4", list(range(1, 30)))], at=T0)
    with e.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tubes)).scalar_one() == 1


def test_register_samples_stamps_each_sample_and_evaluates_codes_as_collect(
    world: World,
) -> None:
    """A batch of checkpoints' samples (each its own sampler and time): the same tubes,
    members and pending facts as ``collect`` would write, each stamped with its own
    sampler and time, and each member's code evaluated at its sample's time — the stored
    code equal to evaluating the person again at that time."""

    e, p = world.engine, world.people
    with write_transaction(e) as conn:  # p[0] and p[1] in a testing group: facts recorded
        for pid in p[:2]:
            write_facts(conn, [(pid, FactInput("enrolment", T0 - timedelta(days=1), None,
                                               {"group": "drivers"}, f"enrol-{pid}"))],
                        recorded_by="t", now=T0)  # fmt: skip
    stamps = [("device:1", T0 + timedelta(minutes=1)), ("device:2", T0 + timedelta(minutes=2)),
              ("device:1", T0 + timedelta(minutes=3))]  # fmt: skip
    batch = [(_sample(f"CK-{i}", [pid]), by, at)
             for i, (pid, (by, at)) in enumerate(zip(p[:3], stamps, strict=True))]  # fmt: skip
    with write_transaction(e) as conn:
        got = register_samples(conn, RULES, batch, codes=world.codes)
    assert (got.created, got.already) == (3, 0)
    with e.connect() as conn:
        facts = conn.execute(
            select(person_facts.c.person_id, person_facts.c.recorded_by, person_facts.c.recorded_at)
            .where(person_facts.c.client_event_id.like("sample-CK-%"))
            .order_by(person_facts.c.person_id)
        ).all()
        codes = {
            r.person_id: r
            for r in conn.execute(select(health_codes).where(health_codes.c.person_id.in_(p[:3])))
        }
    # only the testing group's members get a pending test fact (as collect), each stamped
    assert [(f.person_id, f.recorded_by, f.recorded_at) for f in facts] == [
        (p[0], "device:1", stamps[0][1]),
        (p[1], "device:2", stamps[1][1]),
    ]
    for pid, (_, at) in zip(p[:3], stamps, strict=True):
        stored = codes[pid]
        assert stored.evaluated_at == at
        again = evaluate_person(e, world.codes, pid, at=at)
        assert stored.colour == again.colour.label
        assert stored.reasons == [r.as_json() for r in again.reasons]
        assert stored.next_change_at == again.next_change_at
    with write_transaction(e) as conn:  # sent again: nothing new; a barcode taken: refused
        assert register_samples(conn, RULES, batch, codes=world.codes).created == 0
    with pytest.raises(TubeConflict), write_transaction(e) as conn:
        register_samples(conn, RULES, [(_sample("CK-0", [p[5]]), "device:3", T0)])
