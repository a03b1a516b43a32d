"""The one writer of facts: checked first, all or none, idempotent, inside a caller's
transaction or its own; set-based facts with their detail built as JSON values."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, update

from fangkong.errors import BadInput, Conflict
from fangkong.healthcode.codes import current_code
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.tables import health_codes, person_facts
from fangkong.healthcode.writer import (
    FactInput,
    FactQuery,
    negative_worth_storing,
    void_facts,
    write_fact_query,
    write_facts,
)
from fangkong.store.schema import persons
from tests.healthcode.conftest import NOW, World

H = timedelta(hours=1)


def _facts(world: World) -> list[tuple[int, str, str | None]]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(person_facts.c.person_id, person_facts.c.kind, person_facts.c.client_event_id)
            .order_by(person_facts.c.id)
        ).all()  # fmt: skip
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_facts_are_written_once_and_returned(world: World) -> None:
    contact = FactInput("close_contact", NOW, None, {}, "t-1")
    visit = FactInput("clinic_visit", NOW, None, {}, None)  # no event id: always new
    batch = [(world.zhang, contact), (world.li, visit), (world.zhang, contact)]
    first = write_facts(world.engine, batch, recorded_by="t", now=NOW)
    assert (first.facts, first.persons, len(first.ids)) == (2, (world.zhang, world.li), 2)
    again = write_facts(world.engine, [(world.zhang, contact)], recorded_by="t", now=NOW)
    assert (again.facts, again.persons, again.ids) == (0, (), ())
    assert _facts(world) == [
        (world.zhang, "close_contact", "t-1"),
        (world.li, "clinic_visit", None),
    ]


def test_nothing_is_written_when_one_fact_is_wrong(world: World) -> None:
    good = FactInput("close_contact", NOW, None, {}, "t-2")
    for bad, code in [
        (FactInput("test", NOW, None, {"result": "negative"}, "t-3"), "fact.invalid"),  # no report
        (FactInput("close_contact", NOW, None, {}, "x" * 65), "fact.invalid"),
    ]:
        with pytest.raises(BadInput) as caught:
            write_facts(world.engine, [(world.zhang, good), (world.li, bad)], recorded_by="t")
        assert caught.value.code == code
    write_facts(world.engine, [(world.zhang, good)], recorded_by="t", now=NOW)
    with pytest.raises(Conflict) as conflict:  # the same event id for another person
        write_facts(world.engine, [(world.li, FactInput("clinic_visit", NOW, None, {}, "new")),
                                   (world.li, good)], recorded_by="t")  # fmt: skip
    assert conflict.value.code == "fact.event_conflict"
    assert _facts(world) == [(world.zhang, "close_contact", "t-2")]


def test_inside_a_callers_transaction_the_facts_roll_back_with_it(world: World) -> None:
    conn = world.engine.connect()
    tx = conn.begin()
    write_facts(conn, [(world.zhang, FactInput("close_contact", NOW))], recorded_by="t")
    assert len(conn.execute(select(person_facts.c.id)).all()) == 1  # seen inside
    tx.rollback()
    conn.close()
    assert _facts(world) == []


def test_facts_chosen_by_a_query_carry_json_details(world: World) -> None:
    tricky = 'O\'Brien "三" \\ {}'
    with world.engine.begin() as conn:
        conn.execute(update(persons).where(persons.c.id == world.li).values(name=tricky))
        query = FactQuery(
            kind="test",
            source=persons,
            where=[persons.c.id.in_([world.zhang, world.li])],
            person_id=persons.c.id,
            starts_at=persons.c.created_at,
            client_event_id=sa.literal("q-") + sa.cast(persons.c.id, sa.String),
            detail={"result": "negative", "reported_at": NOW.isoformat(),
                    "pooled": persons.c.id == world.li, "sample_id": persons.c.name,
                    "n": persons.c.id, "lab": None, "retest": True},
        )  # fmt: skip
        written = write_fact_query(conn, query, recorded_by="lab", now=NOW)
        assert (written.facts, written.persons) == (2, (world.zhang, world.li))
        assert write_fact_query(conn, query, recorded_by="lab", now=NOW).facts == 0
    with world.engine.connect() as conn:
        details = dict(conn.execute(select(person_facts.c.person_id, person_facts.c.detail)).all())
    assert details[world.li] == {"result": "negative", "reported_at": NOW.isoformat(),
                                 "pooled": True, "sample_id": tricky, "n": world.li,
                                 "lab": None, "retest": True}  # fmt: skip
    assert details[world.zhang]["pooled"] is False


def test_a_checked_detail_must_be_a_constant(world: World) -> None:
    query = FactQuery(
        kind="test", source=persons, where=[], person_id=persons.c.id,
        starts_at=persons.c.created_at, client_event_id=sa.cast(persons.c.id, sa.String),
        detail={"result": persons.c.name},
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"test\.result"), world.engine.begin() as conn:
        write_fact_query(conn, query, recorded_by="lab")
    bad = FactQuery(
        kind="test", source=persons, where=[], person_id=persons.c.id,
        starts_at=persons.c.created_at, client_event_id=sa.cast(persons.c.id, sa.String),
        detail={"result": "positive"},  # a result without its report time
    )  # fmt: skip
    with pytest.raises(BadInput), world.engine.begin() as conn:
        write_fact_query(conn, bad, recorded_by="lab")
    assert _facts(world) == []


def test_a_voided_fact_makes_the_code_due(world: World, ctx: CodeContext) -> None:
    written = write_facts(world.engine, [(world.zhang, FactInput("close_contact", NOW))],
                          recorded_by="t", now=NOW)  # fmt: skip
    recompute_all(world.engine, ctx, NOW + H)
    assert void_facts(world.engine, written.ids, reason="wrong person", now=NOW + H) == (
        world.zhang,
    )
    assert void_facts(world.engine, written.ids, reason="again", now=NOW + H) == ()
    result = recompute_all(world.engine, ctx, NOW + 2 * H)
    assert (result.reviewed, result.changed) == (1, 1)
    code = current_code(world.engine, world.zhang)
    assert code is not None
    assert (code.colour.label, code.reasons) == ("green", ())


def test_a_negative_is_worth_storing_only_where_it_can_change_a_code(
    world: World, ctx: CodeContext
) -> None:
    a_test = FactInput("test", NOW, None, {"result": "pending", "sample_id": "S1"}, "s-1")
    write_facts(world.engine, [(world.zhang, a_test), (world.li, a_test.__class__(
        "test", NOW, None, {"result": "pending", "sample_id": "S2"}, "s-2"))],
        recorded_by="t", now=NOW)  # fmt: skip
    recompute_all(world.engine, ctx, NOW + H)

    def worth(settles: bool) -> set[int]:
        with world.engine.connect() as conn:
            rows = conn.execute(
                select(persons.c.id).where(
                    negative_worth_storing(persons.c.id, settles=sa.literal(settles))
                )
            ).scalars()
            return set(rows)

    assert worth(False) == set()  # only tests, green codes: a negative changes nothing
    assert worth(True) == {world.zhang, world.li}  # a retest it settles: always
    write_facts(world.engine, [(world.li, FactInput("clinic_visit", NOW))], recorded_by="t")
    assert worth(False) == {world.li}  # a fever-clinic visit: a negative clears it
    # a red code from the residence, an enrolment: no rule of theirs reads a negative
    write_facts(world.engine, [
        (world.zhang, FactInput("residence", NOW, None, {"level": "high", "area": "A"}, "r-1")),
        (world.zhang, FactInput("enrolment", NOW, None, {"group": "key_daily"}, "e-1")),
    ], recorded_by="t")  # fmt: skip
    recompute_all(world.engine, ctx, NOW + H)
    with world.engine.connect() as conn:
        colour = conn.execute(
            select(health_codes.c.colour).where(health_codes.c.person_id == world.zhang)
        ).scalar_one()
    assert colour == "red"
    assert worth(False) == {world.li}
    write_facts(world.engine, [(world.zhang, FactInput("close_contact", NOW, None, {}, "c-1"))],
                recorded_by="t")  # fmt: skip
    assert worth(False) == {world.li, world.zhang}  # an exposure's period ends on a negative
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(person_facts)).scalar_one() == 6
