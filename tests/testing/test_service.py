"""Samples, custody, results, retests and codes on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from fangkong.healthcode.codes import current_code
from fangkong.healthcode.tables import person_facts
from fangkong.policy import load_pack
from fangkong.policy.model import Colour
from fangkong.testing.custody import receive, ship
from fangkong.testing.flags import flag_overdue
from fangkong.testing.resolve import resolve
from fangkong.testing.results import ResultConflict, ResultsRejected, post_results
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, TubeConflict, TubeUnknown, collect, tube
from fangkong.testing.tables import orders, results
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import tracing_cases
from tests.testing.world import RULES, T0, World, batch, make_world

H = timedelta(hours=1)
ISO = "2022-03-18T15:00:00+08:00"  # 07:00 UTC


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def _pool(w: World, barcode: str, people: list[int], purpose: str = "screening") -> None:
    collect(
        w.engine,
        RULES,
        Sample(barcode, people, "点位1", "140102001001", "sampler-1", T0, purpose),
        codes=w.codes,
        at=T0,
    )


def test_collect_links_persons_records_pending_facts_and_is_idempotent(world: World) -> None:
    """A sample is a pending fact only for members of a testing group (required testing
    counts it at once); for anyone else only a result worth storing becomes a fact."""
    from fangkong.healthcode.writer import FactInput, write_facts

    ten = world.people[:10]
    enrolled = ten[:3]
    write_facts(world.engine, [(p, FactInput("enrolment", T0 - timedelta(days=1), None,
                                             {"group": "key_daily"}, f"enrol-{p}"))
                               for p in enrolled], recorded_by="test")  # fmt: skip
    _pool(world, "P0001", ten)
    again = collect(
        world.engine,
        RULES,
        Sample("P0001", list(reversed(ten)), "点位1", "140102001001", "sampler-1", T0),
        at=T0,
    )
    assert again.person_ids == tuple(sorted(ten))
    assert again.pool_size == 10
    assert again.pooled
    with world.engine.connect() as conn:
        facts = (
            conn.execute(select(person_facts.c.person_id).where(person_facts.c.kind == "test"))
            .scalars()
            .all()
        )
    assert sorted(facts) == sorted(enrolled)
    with pytest.raises(TubeConflict) as caught:
        collect(world.engine, RULES, Sample("P0001", ten[:5], "点位1", "140102001001", "s", T0))
    assert "P0001" in caught.value.problem.message_zh


def test_a_pool_larger_than_the_pack_allows_is_refused(world: World) -> None:
    with pytest.raises(Exception, match="at least one person"):
        collect(world.engine, RULES, Sample("X1", [], "p", "140102", "s", T0))
    small = TestingRules(**{**RULES.__dict__, "pool_sizes": (1, 5)})
    with pytest.raises(Exception, match=r"at most 5 \(pack pool_sizes\)"):
        collect(world.engine, small, Sample("X1", world.people[:6], "p", "140102", "s", T0))


def test_chain_of_custody(world: World) -> None:
    _pool(world, "P0001", world.people[:5])
    assert ship(world.engine, ["P0001"], "LAB1", at=T0 + H).changed == 1
    assert ship(world.engine, ["P0001"], "LAB1", at=T0 + 2 * H).already == 1  # resent: harmless
    got = receive(world.engine, ["P0001"], "LAB1", by="lab-a", at=T0 + 3 * H)
    assert got.changed == 1
    t = tube(world.engine, "P0001")
    assert (t.shipped_at, t.received_at, t.lab_code) == (T0 + H, T0 + 3 * H, "LAB1")
    with pytest.raises(TubeUnknown):
        receive(world.engine, ["NOPE"], "LAB1", by="lab-a")
    _pool(world, "P0002", world.people[5:7])
    with pytest.raises(TubeConflict, match="before it was collected"):
        receive(world.engine, ["P0002"], "LAB1", by="lab-a", at=T0 - H)


def test_results_are_idempotent_by_tube_and_run(world: World) -> None:
    _pool(world, "P0001", world.people[:5])
    rows = [("P0001", "run-1", "", "", ISO)]
    first = post_results(world.engine, RULES, batch(rows), lab_code="LAB1", posted_by="lab")
    again = post_results(world.engine, RULES, batch(rows), lab_code="LAB1", posted_by="lab")
    assert (first.inserted, again.inserted, again.repeated) == (1, 0, 1)
    with pytest.raises(ResultConflict):
        post_results(
            world.engine,
            RULES,
            batch([("P0001", "run-1", "30", "31", ISO)]),
            lab_code="LAB1",
            posted_by="lab",
        )
    with world.engine.connect() as conn:
        assert conn.execute(select(results.c.outcome)).scalars().all() == ["negative"]


def test_bad_rows_are_named_and_nothing_is_stored(world: World) -> None:
    _pool(world, "P0001", world.people[:5])
    rows = [
        ("P0001", "r", "30", "31", ISO),
        ("bad code!", "r", "x", "", "2022-03-18T15:00:00"),
        ("P0001", "r2", "99", "", ISO),
    ]
    with pytest.raises(ResultsRejected) as caught:
        post_results(
            world.engine,
            RULES,
            batch(rows),
            lab_code="LAB1",
            posted_by="lab",
            source="lab.csv",
            first_row=2,
        )
    named = {(p.row, p.column) for p in caught.value.rows}
    assert named == {(3, "barcode"), (3, "ct_orf1ab"), (3, "tested_at"), (4, "ct_orf1ab")}
    assert "lab.csv" in caught.value.problem.message_en
    assert "第 3 行" in caught.value.problem.message_zh
    with pytest.raises(ResultsRejected) as unknown:
        post_results(
            world.engine,
            RULES,
            batch([("P0001", "r", "", "", ISO), ("P9999", "r", "", "", ISO)]),
            lab_code="LAB1",
            posted_by="lab",
        )
    assert unknown.value.code == "results.tube_unknown"
    assert unknown.value.rows[0].row == 2
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(results)).scalar_one() == 0


def test_positive_pool_turns_codes_orders_retests_and_retests_settle(world: World) -> None:
    ten = world.people[:10]
    _pool(world, "P0001", ten)
    at = T0 + 6 * H
    post_results(
        world.engine,
        RULES,
        batch([("P0001", "run-1", "30.5", "31", ISO)]),
        lab_code="LAB1",
        posted_by="lab",
        at=at,
    )
    rules9 = ContactRules.from_pack(load_pack("protocol-9"))
    out = resolve(world.engine, RULES, codes=world.codes, at=at, contact_rules=rules9)
    assert (out.batches, out.retests_ordered, out.facts) == (1, 10, 10)
    assert all(current_code(world.engine, p).colour is Colour.RED for p in ten)  # type: ignore[union-attr]
    assert current_code(world.engine, world.people[10]) is None
    again = resolve(world.engine, RULES, codes=world.codes, at=at)
    assert again.batches == 0
    with world.engine.connect() as conn:
        due = conn.execute(
            select(orders.c.person_id, orders.c.due_by, orders.c.single_tube).where(
                orders.c.reason == "retest"
            )
        ).all()
    assert sorted(p for p, _, _ in due) == sorted(ten)
    assert {d for _, d, _ in due} == {at + RULES.retest_due_hours * H}
    retest_at = at + H
    for i, p in enumerate(ten):
        collect(
            world.engine,
            RULES,
            Sample(f"R{i:04d}", [p], "点位1", "140102001001", "s", retest_at, "retest"),
            codes=world.codes,
            at=retest_at,
        )
    with world.engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(orders).where(orders.c.status == "done")
            ).scalar_one()
            == 10
        )
    rows = [
        (
            f"R{i:04d}",
            "run-2",
            "25" if i == 0 else "",
            "26" if i == 0 else "",
            "2022-03-18T20:00:00+08:00",
        )
        for i in range(10)
    ]
    settle_at = retest_at + 4 * H
    post_results(world.engine, RULES, batch(rows), lab_code="LAB1", posted_by="lab", at=settle_at)
    out = resolve(world.engine, RULES, codes=world.codes, at=settle_at, contact_rules=rules9)
    assert out.cases == (ten[0],)
    assert current_code(world.engine, ten[0]).colour is Colour.RED  # type: ignore[union-attr]
    assert all(current_code(world.engine, p).colour is Colour.GREEN for p in ten[1:])  # type: ignore[union-attr]
    with world.engine.connect() as conn:
        cases = conn.execute(select(tracing_cases.c.person_id, tracing_cases.c.sample_date)).all()
    assert [c.person_id for c in cases] == [ten[0]]


@pytest.mark.parametrize(
    ("pack", "expected"), [("protocol-9", "positive"), ("twenty-measures", "negative")]
)
def test_the_threshold_comes_from_the_pack(world: World, pack: str, expected: str) -> None:
    rules = TestingRules.from_pack(load_pack(pack))
    _pool(world, "P0001", world.people[:5])
    post_results(
        world.engine,
        rules,
        batch([("P0001", "r", "37", "38", ISO)]),
        lab_code="LAB1",
        posted_by="lab",
    )
    with world.engine.connect() as conn:
        assert conn.execute(select(results.c.outcome)).scalar_one() == expected


def test_one_gene_below_is_inconclusive_and_retested(world: World) -> None:
    _pool(world, "P0001", world.people[:5])
    post_results(
        world.engine,
        RULES,
        batch([("P0001", "r", "30", "", ISO)]),
        lab_code="LAB1",
        posted_by="lab",
        at=T0 + 5 * H,
    )
    out = resolve(world.engine, RULES, codes=world.codes, at=T0 + 5 * H)
    assert out.retests_ordered == 5
    with world.engine.connect() as conn:
        assert conn.execute(select(results.c.outcome)).scalar_one() == "inconclusive"


def test_late_results_and_lost_tubes_are_flagged_from_the_pack_hours(world: World) -> None:
    _pool(world, "LOST1", world.people[:2])
    _pool(world, "LATE1", world.people[2:4])
    _pool(world, "DONE1", world.people[4:6])
    receive(world.engine, ["LATE1", "DONE1"], "LAB1", by="lab", at=T0 + H)
    post_results(
        world.engine, RULES, batch([("DONE1", "r", "", "", ISO)]), lab_code="LAB1", posted_by="lab"
    )
    just_before = T0 + RULES.lost_tube_hours * H - timedelta(seconds=1)
    out = flag_overdue(world.engine, RULES, at=just_before)
    assert (out.lost, out.late) == (0, 0)
    out = flag_overdue(world.engine, RULES, at=T0 + RULES.lost_tube_hours * H + H)
    assert (out.lost, out.late) == (1, 0)
    out = flag_overdue(world.engine, RULES, at=T0 + RULES.result_hours * H + H)
    assert (out.lost, out.late) == (0, 1)
    assert [tube(world.engine, b).flag for b in ("LOST1", "LATE1", "DONE1")] == [
        "lost",
        "late",
        None,
    ]
