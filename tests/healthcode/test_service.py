"""Use cases on SQLite and PostgreSQL: facts → codes → transitions; corrections; recompute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fangkong.errors import Conflict, Forbidden, NotFound
from fangkong.healthcode.codes import code_history, current_code, evaluate_person, record_fact
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.corrections import decide_correction, file_correction, list_corrections
from fangkong.healthcode.errors import FactInvalid
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.tables import code_transitions, health_codes, person_facts
from fangkong.healthcode.writer import FactInput
from fangkong.policy import Colour
from tests.healthcode.conftest import NOW, World

D = timedelta(days=1)


def _close_contact(w: World, ctx: CodeContext, **kw: object) -> int:
    fact_id, decision = record_fact(
        w.engine, ctx, w.zhang, FactInput("close_contact", NOW, **kw),  # type: ignore[arg-type]
        recorded_by="tracer1", now=NOW + timedelta(hours=1),
    )  # fmt: skip
    assert decision.colour == Colour.RED
    return fact_id


def test_fact_makes_code_and_transition(world: World, ctx: CodeContext) -> None:
    _close_contact(world, ctx)
    code = current_code(world.engine, world.zhang)
    assert code is not None
    assert code.colour == Colour.RED
    assert code.pack_ref == ctx.pack.ref
    assert code.next_change_at == NOW + 7 * D
    assert code.reasons[0].rule_id == "close_contact"
    assert "密切接触者" in code.reasons[0].text_zh
    # time passes: red → yellow → (release test) green, each change recorded once
    evaluate_person(world.engine, ctx, world.zhang, at=NOW + 7 * D)
    evaluate_person(world.engine, ctx, world.zhang, at=NOW + 7 * D + timedelta(hours=1))
    record_fact(
        world.engine, ctx, world.zhang,
        FactInput("test", NOW + 9 * D, detail={"result": "negative", "pooled": False,
                  "reported_at": (NOW + 9 * D + timedelta(hours=5)).isoformat()}),
        recorded_by="lab", now=NOW + 9 * D + timedelta(hours=6),
    )  # fmt: skip
    evaluate_person(world.engine, ctx, world.zhang, at=NOW + 10 * D)
    history = code_history(world.engine, world.zhang)
    assert [(t.from_colour, t.to_colour, t.rule_id, t.trigger) for t in history] == [
        (None, "red", "close_contact", "fact:close_contact"),
        ("red", "yellow", "close_contact", "evaluate"),
        ("yellow", "green", "close_contact", "evaluate"),
    ]
    assert {t.pack_ref for t in history} == {ctx.pack.ref}


def test_resent_fact_changes_nothing(world: World, ctx: CodeContext) -> None:
    first = _close_contact(world, ctx, client_event_id="trace-1")
    again = _close_contact(world, ctx, client_event_id="trace-1")
    assert first == again
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(person_facts)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(code_transitions)).scalar_one() == 1
    with pytest.raises(Conflict) as caught:
        record_fact(world.engine, ctx, world.li, FactInput("close_contact", NOW,
                    client_event_id="trace-1"), recorded_by="x", now=NOW)  # fmt: skip
    assert caught.value.code == "fact.event_conflict"


@pytest.mark.parametrize(
    ("fact", "words"),
    [(FactInput("rumour", NOW), "unknown fact kind"),
     (FactInput("arrival", NOW, detail={"risk": "extreme"}), "risk"),
     (FactInput("test", NOW, detail={"result": "negative"}), "reported_at")],
)  # fmt: skip
def test_bad_facts_are_refused(world: World, ctx: CodeContext, fact: FactInput, words: str) -> None:
    with pytest.raises(FactInvalid, match=words) as caught:
        record_fact(world.engine, ctx, world.zhang, fact, recorded_by="x", now=NOW)
    assert caught.value.code == "fact.invalid"


def test_unknown_person(world: World, ctx: CodeContext) -> None:
    with pytest.raises(NotFound) as caught:
        evaluate_person(world.engine, ctx, 99999, at=NOW)
    assert caught.value.code == "code.person_unknown"


def test_correction_upheld_voids_the_fact(world: World, ctx: CodeContext) -> None:
    fact_id = _close_contact(world, ctx)
    cid = file_correction(world.engine, world.zhang, "我当天不在该场所", filed_by="person:zhang",
                          filer_role="person", fact_id=fact_id, now=NOW + D)  # fmt: skip
    assert [c.id for c in list_corrections(world.engine)] == [cid]
    with pytest.raises(Forbidden):
        decide_correction(world.engine, ctx, cid, upheld=True, reason="x",
                          decided_by="person:zhang", now=NOW + D)  # fmt: skip
    decision = decide_correction(world.engine, ctx, cid, upheld=True, reason="轨迹核实不符",
                                 decided_by="epi", now=NOW + 2 * D)  # fmt: skip
    assert decision.colour == Colour.GREEN
    with world.engine.connect() as conn:
        voided = conn.execute(select(person_facts.c.voided_at, person_facts.c.void_reason)).one()
    assert voided.voided_at == NOW + 2 * D
    assert "轨迹核实不符" in voided.void_reason
    (c,) = list_corrections(world.engine, state="upheld")
    assert (c.decided_by, c.decision_reason) == ("epi", "轨迹核实不符")
    assert code_history(world.engine, world.zhang)[-1].trigger == f"correction:{cid}"
    with pytest.raises(Conflict):
        decide_correction(world.engine, ctx, cid, upheld=False, reason="again",
                          decided_by="epi", now=NOW + 3 * D)  # fmt: skip


def test_correction_rejected_keeps_the_code(world: World, ctx: CodeContext) -> None:
    fact_id = _close_contact(world, ctx)
    cid = file_correction(world.engine, world.zhang, "objection", filed_by="officer:wang",
                          filer_role="officer", fact_id=fact_id, now=NOW + D)  # fmt: skip
    decision = decide_correction(world.engine, ctx, cid, upheld=False, reason="轨迹属实",
                                 decided_by="epi", now=NOW + D)  # fmt: skip
    assert decision.colour == Colour.RED
    with pytest.raises(NotFound):
        file_correction(world.engine, world.li, "x", filed_by="p", filer_role="person",
                        fact_id=fact_id)  # fmt: skip


def test_recompute_writes_only_changes(world: World, ctx: CodeContext) -> None:
    _close_contact(world, ctx)
    record_fact(world.engine, ctx, world.li, FactInput("clinic_visit", NOW), recorded_by="clinic",
                now=NOW)  # fmt: skip
    assert recompute_all(world.engine, ctx, NOW + timedelta(hours=2)).changed == 0
    result = recompute_all(world.engine, ctx, NOW + 7 * D)
    assert (result.evaluated, result.changed) == (2, 1)  # zhang turns yellow; li stays yellow
    with world.engine.connect() as conn:
        colours = dict(conn.execute(select(health_codes.c.person_id, health_codes.c.colour)).all())
    assert colours == {world.zhang: "yellow", world.li: "yellow"}
    assert code_history(world.engine, world.zhang)[-1].trigger == "recompute"
    assert recompute_all(world.engine, ctx, NOW + 7 * D).changed == 0
