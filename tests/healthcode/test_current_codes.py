"""Stored codes are always what a fresh evaluation says: everyone has one, reasons included.

``recompute_all`` re-explains a code when its review time comes or its facts move
(``health_codes.review_at``, ``fact_count``, ``last_fact_id``); the property test holds
the stored colour, reasons and next change equal to ``evaluate(load_facts(...))`` over
random histories, recomputed at increasing times with facts added in between.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, update

from fangkong.healthcode.codes import (
    code_history,
    current_code,
    evaluate_person,
    load_facts,
    record_fact,
)
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.evaluator import evaluate, review_time
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.tables import code_transitions, health_codes
from fangkong.healthcode.writer import FactInput, record_case, record_discharge, write_facts
from fangkong.store.schema import persons
from tests.healthcode.conftest import NOW, World
from tests.healthcode.strategies import T0, as_inputs, person_facts

D = timedelta(days=1)
H = timedelta(hours=1)
_tags = count()


def _add_persons(engine: Engine, n: int) -> list[int]:
    """``n`` new persons with no facts (a registry import)."""
    rows = [
        {"doc_type": "passport", "doc_country": "FRA", "doc_hash": uuid.uuid4().bytes * 2,
         "doc_sealed": b"\x00", "name": "n", "sex": "F", "birth_date": date(1990, 1, 1),
         "occupation": "other"}
        for _ in range(n)
    ]  # fmt: skip
    with engine.begin() as conn:
        return [
            int(i) for i in conn.execute(persons.insert().returning(persons.c.id), rows).scalars()
        ]


def _assert_current(engine: Engine, ctx: CodeContext, at: datetime) -> None:
    """Every person in the registry has a code equal to a fresh evaluation at ``at``."""
    with engine.connect() as conn:
        everyone = conn.execute(select(persons.c.id)).scalars().all()
        stored = {
            r.person_id: r
            for r in conn.execute(
                select(health_codes.c.person_id, health_codes.c.colour, health_codes.c.reasons,
                       health_codes.c.next_change_at)
            )
        }  # fmt: skip
        for pid in everyone:
            fresh = evaluate(load_facts(conn, pid), at, ctx.pack, tz=ctx.tz)
            assert pid in stored, f"person {pid} has no code"
            got = stored[pid]
            assert (got.colour, got.reasons, got.next_change_at) == (
                fresh.colour.label,
                [r.as_json() for r in fresh.reasons],
                fresh.next_change_at,
            ), f"person {pid} at {at}"


def test_everyone_in_the_registry_gets_a_green_code(world: World, ctx: CodeContext) -> None:
    others = _add_persons(world.engine, 3)
    record_fact(world.engine, ctx, world.zhang, FactInput("close_contact", NOW),
                recorded_by="tracer", now=NOW)  # fmt: skip
    result = recompute_all(world.engine, ctx, NOW + H)
    assert (result.evaluated, result.assigned) == (5, 4)  # li and the three have no facts
    for pid in (world.li, *others):
        code = current_code(world.engine, pid)
        assert code is not None
        assert (code.colour.label, code.reasons, code.next_change_at) == ("green", (), None)
    with world.engine.connect() as conn:
        refs = conn.execute(select(health_codes.c.qr_ref)).scalars().all()
        first = conn.execute(
            select(code_transitions.c.to_colour, func.count())
            .where(code_transitions.c.from_colour.is_(None))
            .group_by(code_transitions.c.to_colour)
        ).all()
    assert len({bytes(r) for r in refs}) == 5
    assert all(len(bytes(r)) == 16 for r in refs)
    assert dict(first) == {"red": 1, "green": 4}  # each first code is one transition
    again = recompute_all(world.engine, ctx, NOW + 2 * H)
    assert (again.evaluated, again.assigned, again.reviewed, again.changed) == (5, 0, 0, 0)
    _assert_current(world.engine, ctx, NOW + 2 * H)


def test_a_fact_for_a_person_with_a_green_code_is_seen(world: World, ctx: CodeContext) -> None:
    recompute_all(world.engine, ctx, NOW)
    write_facts(world.engine, [(world.li, FactInput("clinic_visit", NOW + H))],
                recorded_by="clinic", now=NOW + H)  # fmt: skip
    result = recompute_all(world.engine, ctx, NOW + 2 * H)
    assert (result.reviewed, result.changed) == (1, 1)
    code = current_code(world.engine, world.li)
    assert code is not None
    assert code.colour.label == "yellow"


def test_a_reason_ends_while_the_colour_stays(world: World, ctx: CodeContext) -> None:
    """Red as a close contact and in a high-risk area: the area is lifted on day 2 (its
    end recorded in advance), the code stays red for the contact — the reason goes."""
    facts = [
        (world.zhang, FactInput("close_contact", NOW)),
        (world.zhang, FactInput("residence", NOW, NOW + 2 * D, {"level": "high", "area": "A"})),
    ]
    write_facts(world.engine, facts, recorded_by="t", now=NOW)
    recompute_all(world.engine, ctx, NOW + H)
    before = current_code(world.engine, world.zhang)
    assert before is not None
    assert [r.rule_id for r in before.reasons] == ["close_contact", "residence_high"]
    assert before.next_change_at == NOW + 7 * D  # the colour moves only then
    recompute_all(world.engine, ctx, NOW + 3 * D)
    after = current_code(world.engine, world.zhang)
    assert after is not None
    assert after.colour.label == "red"
    assert [r.rule_id for r in after.reasons] == ["close_contact"]
    _assert_current(world.engine, ctx, NOW + 3 * D)


def test_contact_becomes_case_then_is_discharged(world: World, ctx: CodeContext) -> None:
    record_fact(world.engine, ctx, world.zhang, FactInput("close_contact", NOW),
                recorded_by="tracer", now=NOW)  # fmt: skip
    diagnosed = NOW + 2 * D
    record_case(world.engine, world.zhang, diagnosed_at=diagnosed, diagnosis=date(2022, 6, 3),
                by="tracer")  # fmt: skip
    again = record_case(world.engine, world.zhang, diagnosed_at=diagnosed + H,
                        diagnosis=date(2022, 6, 3), by="tracer")  # fmt: skip
    assert again.facts == 0  # the same diagnosis: the same case
    recompute_all(world.engine, ctx, diagnosed + H)
    red = current_code(world.engine, world.zhang)
    assert red is not None
    assert red.colour.label == "red"
    assert [r.rule_id for r in red.reasons] == ["close_contact", "case"]
    assert red.next_change_at is None  # a case stays red until discharged
    out = diagnosed + 12 * D
    record_discharge(world.engine, world.zhang, at=out, by="hospital")
    assert record_discharge(world.engine, world.zhang, at=out, by="hospital").facts == 0
    recompute_all(world.engine, ctx, out + H)
    monitored = current_code(world.engine, world.zhang)
    assert monitored is not None
    assert monitored.colour.label == "yellow"
    # the contact's home monitoring waits for a negative too (the pack's release test)
    assert [r.rule_id for r in monitored.reasons] == ["close_contact", "discharged_case"]
    assert monitored.next_change_at is None  # green needs a negative from day 7 on
    negative = {"result": "negative", "reported_at": (out + 7 * D).isoformat(),
                "sample_id": "D7"}  # fmt: skip
    write_facts(world.engine, [(world.zhang, FactInput("test", out + 6 * D + H, None, negative))],
                recorded_by="lab", now=out + 7 * D)  # fmt: skip
    recompute_all(world.engine, ctx, out + 7 * D + H)
    green = current_code(world.engine, world.zhang)
    assert green is not None
    assert (green.colour.label, green.reasons) == ("green", ())
    trail = [(t.from_colour, t.to_colour) for t in code_history(world.engine, world.zhang)]
    assert trail == [(None, "red"), ("red", "yellow"), ("yellow", "green")]


def test_a_discharge_needs_an_open_case(world: World) -> None:
    import pytest

    from fangkong.errors import BadInput

    with pytest.raises(BadInput) as caught:
        record_discharge(world.engine, world.li, at=NOW, by="hospital")
    assert caught.value.code == "fact.invalid"


def test_evaluate_person_stores_what_recompute_keeps(world: World, ctx: CodeContext) -> None:
    """A code evaluated one by one carries its review time and facts: recompute_all
    leaves it until then, and re-explains it when the time comes."""
    record_fact(world.engine, ctx, world.zhang, FactInput("close_contact", NOW),
                recorded_by="tracer", now=NOW)  # fmt: skip
    decision = evaluate_person(world.engine, ctx, world.zhang, at=NOW + H)
    assert decision.review_at == NOW + 7 * D
    assert recompute_all(world.engine, ctx, NOW + 2 * H).reviewed == 0
    assert recompute_all(world.engine, ctx, NOW + 7 * D).reviewed == 1


def test_review_time_is_the_first_change_of_anything() -> None:
    from fangkong.healthcode.facts import ExposureFact, PersonFacts, TestFact
    from fangkong.policy import load_pack

    pack = load_pack()
    later = TestFact(NOW + 4 * D, "negative", NOW + 5 * D)  # sampled, then reported later
    facts = PersonFacts(exposures=(ExposureFact("close_contact", NOW),), tests=(later,))
    assert evaluate(facts, NOW + H, pack).review_at == NOW + 4 * D
    assert evaluate(facts, NOW + 4 * D, pack).review_at == NOW + 5 * D
    assert evaluate(facts, NOW + 5 * D, pack).review_at == NOW + 7 * D  # red → yellow
    assert review_time(PersonFacts(), [], NOW) is None


# ---- the property ----------------------------------------------------------------------

recompute_times = st.builds(
    lambda step, minute: T0 + timedelta(hours=6 * step, minutes=minute),
    st.integers(-2, 68),
    st.sampled_from([0, 0, 1, 30]),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_stored_codes_equal_a_fresh_evaluation(
    engine: Engine, ctx: CodeContext, data: st.DataObject
) -> None:
    people = _add_persons(engine, data.draw(st.integers(1, 4), label="persons"))
    histories = data.draw(st.lists(person_facts, min_size=len(people), max_size=len(people)))
    first = [(p, f) for p, h in zip(people, histories, strict=True)
             for f in as_inputs(h, f"p{next(_tags)}")]  # fmt: skip
    write_facts(engine, first, recorded_by="test", now=T0)
    times = sorted(data.draw(st.lists(recompute_times, min_size=1, max_size=4), label="times"))
    for at in times:
        if data.draw(st.booleans(), label="more facts"):
            who = data.draw(st.sampled_from(people), label="who")
            more = as_inputs(data.draw(person_facts, label="new facts"), f"p{next(_tags)}")
            write_facts(engine, [(who, f) for f in more], recorded_by="test", now=at)
        recompute_all(engine, ctx, at)
        _assert_current(engine, ctx, at)


def test_full_recompute_checks_everyone_in_bulk(world: World, ctx: CodeContext) -> None:
    """``full``: the bulk evaluator finds a stored colour that no review would revisit (a
    row changed behind the service's back, or a pack edited under the same version)."""
    record_fact(world.engine, ctx, world.zhang, FactInput("close_contact", NOW),
                recorded_by="tracer", now=NOW)  # fmt: skip
    recompute_all(world.engine, ctx, NOW + H)
    with world.engine.begin() as conn:
        conn.execute(
            update(health_codes).where(health_codes.c.person_id == world.zhang)
            .values(colour="yellow")
        )  # fmt: skip
    assert recompute_all(world.engine, ctx, NOW + 2 * H).reviewed == 0  # nothing due
    result = recompute_all(world.engine, ctx, NOW + 2 * H, full=True)
    assert (result.reviewed, result.changed) == (1, 1)
    _assert_current(world.engine, ctx, NOW + 2 * H)
    assert recompute_all(world.engine, ctx, NOW + 2 * H, full=True).reviewed == 0
