"""Bulk evaluation (NumPy) gives exactly the single evaluator's colour and next change."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.healthcode.bulk import NEVER, evaluate_arrays, evaluate_bulk, from_facts, to_us
from fangkong.healthcode.evaluator import evaluate
from fangkong.healthcode.facts import PersonFacts
from fangkong.policy import Pack, load_pack
from tests.healthcode.strategies import person_facts, times

PACKS = {name: load_pack(name) for name in ("protocol-9", "twenty-measures")}


def _single(people: list[PersonFacts], at: datetime, pack: Pack) -> tuple[list[int], list[int]]:
    colours, nexts = [], []
    for facts in people:
        d = evaluate(facts, at, pack)
        colours.append(int(d.colour))
        nexts.append(NEVER if d.next_change_at is None else to_us(d.next_change_at))
    return colours, nexts


@pytest.mark.parametrize("pack_name", sorted(PACKS))
@settings(max_examples=500, deadline=None)
@given(people=st.lists(person_facts, min_size=1, max_size=8), at=times)
def test_bulk_equals_single(pack_name: str, people: list[PersonFacts], at: datetime) -> None:
    pack = PACKS[pack_name]
    got = evaluate_arrays(from_facts(people), at, pack)
    colours, nexts = _single(people, at, pack)
    assert got.colour.tolist() == colours
    assert got.next_change.tolist() == nexts


@settings(max_examples=25, deadline=None)
@given(people=st.lists(person_facts, min_size=5, max_size=30), at=times)
def test_chunks_and_threads_change_nothing(people: list[PersonFacts], at: datetime) -> None:
    pack = PACKS["protocol-9"]
    arrays = from_facts(people)
    whole = evaluate_arrays(arrays, at, pack)
    split = evaluate_bulk(arrays, at, pack, chunk=4, workers=2)
    assert np.array_equal(whole.colour, split.colour)
    assert np.array_equal(whole.next_change, split.next_change)


def _edge_people() -> list[tuple[PersonFacts, datetime]]:
    """Histories where one yellow reason ends exactly when the next begins (a chained run),
    and ties between facts: rare in random draws, so written out."""
    from datetime import timedelta

    from fangkong.healthcode.facts import (
        ArrivalFact,
        Enrolment,
        ManualFact,
        PeriodFact,
        TestFact,
    )
    from fangkong.policy.model import Colour
    from tests.healthcode.strategies import T0

    day = timedelta(days=1)
    monitoring = PeriodFact("home_monitoring", T0, T0 + 3 * day)
    low = ArrivalFact("low", T0 + 3 * day - timedelta(hours=72))  # window ends at T0+3d
    enrolled = Enrolment("general", T0 - 4 * day)  # due at T0+3d: 7 days after enrolment
    return [
        (PersonFacts(periods=(monitoring,), arrivals=(low,)), T0 + day),
        (PersonFacts(periods=(monitoring,), enrolment=enrolled), T0 + day),
        (
            PersonFacts(
                periods=(monitoring,),
                arrivals=(low,),
                enrolment=enrolled,
                tests=(TestFact(T0 - 4 * day, "negative", T0 - 3 * day),),
            ),
            T0 + day,
        ),
        (
            PersonFacts(
                manual=(
                    ManualFact(Colour.RED, T0, T0 + day),
                    ManualFact(Colour.YELLOW, T0, T0 + day),
                )
            ),
            T0 + timedelta(hours=1),
        ),
    ]


@pytest.mark.parametrize("pack_name", sorted(PACKS))
def test_bulk_equals_single_on_edge_histories(pack_name: str) -> None:
    pack = PACKS[pack_name]
    for facts, at in _edge_people():
        got = evaluate_arrays(from_facts([facts]), at, pack)
        colours, nexts = _single([facts], at, pack)
        assert (got.colour.tolist(), got.next_change.tolist()) == (colours, nexts), facts
    # the chained run really is chained: yellow continues past the monitoring's end
    facts, at = _edge_people()[0]
    assert evaluate(facts, at, pack).next_change_at is None
