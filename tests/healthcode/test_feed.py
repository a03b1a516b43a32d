"""Facts in bulk: validated first, one transaction, idempotent, then one recompute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fangkong.errors import BadInput
from fangkong.healthcode.codes import current_code
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.feed import record_facts
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.tables import person_facts
from fangkong.healthcode.writer import FactInput
from tests.healthcode.conftest import NOW, World


def _count(world: World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(person_facts)).scalar_one())


def test_bulk_facts_then_recompute_turn_codes(world: World, ctx: CodeContext) -> None:
    positive = FactInput(
        "test", NOW - timedelta(hours=6), None,
        {"result": "positive", "reported_at": NOW.isoformat(), "sample_id": "T1"}, "lab-1",
    )  # fmt: skip
    contact = FactInput("close_contact", NOW, None, {}, "trace-1")
    facts = [(world.zhang, positive), (world.li, contact), (world.li, contact)]
    assert record_facts(world.engine, facts, recorded_by="lab", now=NOW) == 2
    assert record_facts(world.engine, facts, recorded_by="lab", now=NOW) == 0
    assert _count(world) == 2

    result = recompute_all(world.engine, ctx, NOW + timedelta(hours=1))
    assert result.evaluated == 2
    zhang, li = current_code(world.engine, world.zhang), current_code(world.engine, world.li)
    assert zhang is not None
    assert li is not None
    assert zhang.colour.label == "red"
    assert li.colour.label == "red"


def test_one_bad_fact_writes_nothing(world: World) -> None:
    good = FactInput("close_contact", NOW, None, {}, "trace-2")
    bad = FactInput("case", NOW, None, {"status": "rumoured"}, "trace-3")
    with pytest.raises(BadInput) as caught:
        record_facts(world.engine, [(world.zhang, good), (world.li, bad)], recorded_by="x")
    assert caught.value.code == "fact.invalid"
    assert _count(world) == 0


def test_bulk_store_writes_what_the_single_evaluator_decides(
    world: World, ctx: CodeContext
) -> None:
    """recompute_all stores in batches: each code equals the single evaluator's decision,
    and each first code and each change of colour has one transition."""
    from fangkong.healthcode.codes import code_history, evaluate_person

    contact = FactInput("close_contact", NOW, None, {}, "trace-2")
    clinic = FactInput("clinic_visit", NOW, None, {}, "clinic-2")
    record_facts(world.engine, [(world.zhang, contact), (world.li, clinic)], recorded_by="t",
                 now=NOW)  # fmt: skip
    for at in (NOW + timedelta(hours=1), NOW + timedelta(days=8)):
        recompute_all(world.engine, ctx, at)
        for person in (world.zhang, world.li):
            stored = current_code(world.engine, person)
            single = evaluate_person(world.engine, ctx, person, at=at)  # same time: no change
            assert stored is not None
            assert (stored.colour, stored.next_change_at) == (single.colour, single.next_change_at)
            assert [r.rule_id for r in stored.reasons] == [r.rule_id for r in single.reasons]
    history = code_history(world.engine, world.zhang)
    assert [(t.from_colour, t.to_colour) for t in history] == [(None, "red"), ("red", "yellow")]
    assert [t.trigger for t in history] == ["recompute", "recompute"]
