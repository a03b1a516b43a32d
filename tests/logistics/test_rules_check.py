"""The pack's [logistics] section (errors name pack, key and problem in zh + en) and the
pure check at a checkpoint (the national rules of 2022, and properties under Hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.logistics.check import SEVERITY, PersonFacts, check_crossing, check_person
from fangkong.logistics.rules import LogisticsRules, LogisticsRulesError
from fangkong.policy import load_pack

P9 = LogisticsRules.shipped("protocol-9")


def _table(**changes: Any) -> dict[str, Any]:
    pack = load_pack("protocol-9")
    table = {
        k: (dict(v) if isinstance(v, dict) else v) for k, v in pack.sections["logistics"].items()
    }
    table.update(changes)
    return table


def test_shipped_packs() -> None:
    assert P9.test_valid_hours == 48
    assert P9.sample_and_go
    assert P9.max_people == 4
    assert P9.closed_loop_levels == ("high", "medium")
    assert P9.colours["red"] == "closed_loop"
    tm = LogisticsRules.shipped("twenty-measures")
    assert tm.closed_loop_levels == ("high",)  # no medium-risk areas after November 2022
    assert tm.test_valid_hours == 48  # the rest is protocol-9's


@pytest.mark.parametrize(
    ("changes", "key", "en"),
    [
        ({"test_valid_hours": 0}, "test_valid_hours", "from 1.0 to 336.0"),
        ({"no_valid_test": "held"}, "no_valid_test", "must be one of"),
        ({"closed_loop_levels": ["severe"]}, "closed_loop_levels", "must be a list of"),
        ({"priority_cargo": ["gold"]}, "priority_cargo", "must be a list of"),
        ({"max_people": 0}, "max_people", "at least 1"),
        ({"max_people": 61}, "max_people", "at most 60"),
        ({"colours": {"green": "check", "yellow": "check", "red": "check"}},
         "colours.none", "is missing"),
        ({"colours": {"green": "turned_back", "yellow": "check", "red": "check",
                      "none": "check"}}, "colours.green", "goes on to the test check"),
        ({"colours": {"green": "check", "yellow": "check", "red": "jail", "none": "check"}},
         "colours.red", "must be one of"),
        ({"speed": 3}, "speed", "unknown key speed"),
    ],
)  # fmt: skip
def test_bad_values_are_named(changes: dict[str, Any], key: str, en: str) -> None:
    with pytest.raises(LogisticsRulesError) as err:
        LogisticsRules.from_table(_table(**changes), "my.toml")
    problem = err.value.problem
    assert f"my.toml [logistics] {key}" in problem.message_en
    assert en in problem.message_en
    assert f"[logistics] {key}" in problem.message_zh


def test_a_missing_key_is_named() -> None:
    table = _table()
    del table["test_valid_hours"]
    with pytest.raises(LogisticsRulesError, match="test_valid_hours"):
        LogisticsRules.from_table(table, "my.toml")


# ---- the national rules -----------------------------------------------------------------


def _p(colour: str = "green", valid: bool = True, level: str | None = None) -> PersonFacts:
    return PersonFacts("driver", colour, valid, level, "某区" if level else "")


def test_green_with_a_valid_test_passes_without_a_second_test() -> None:
    c = check_person(_p(), P9)
    assert (c.outcome, c.sampled, c.closed_loop) == ("passed", False, False)
    assert c.rule_id == "logistics.test_valid_hours"
    assert "48" in c.reason_zh
    assert "not tested again" in c.reason_en


def test_no_valid_test_is_sampled_and_let_go() -> None:
    c = check_person(_p(valid=False), P9)
    assert (c.outcome, c.sampled, c.closed_loop) == ("sampled_released", True, False)
    assert "即采即走" in c.reason_zh
    assert "without waiting" in c.reason_en


def test_a_pack_may_turn_back_people_without_a_test() -> None:
    strict = replace(P9, no_valid_test="turned_back")
    c = check_person(_p(valid=False), strict)
    assert (c.outcome, c.sampled) == ("turned_back", False)


@pytest.mark.parametrize("level", ["high", "medium"])
def test_from_a_risk_area_goes_into_the_closed_loop_even_green_and_tested(level: str) -> None:
    c = check_person(_p(level=level), P9)
    assert (c.outcome, c.closed_loop, c.from_risk_area, c.sampled) == (
        "closed_loop", True, True, False)  # fmt: skip
    assert c.rule_id == "logistics.closed_loop_levels"
    untested = check_person(_p(valid=False, level=level), P9)
    assert (untested.outcome, untested.sampled) == ("closed_loop", True)


def test_a_low_risk_area_and_twenty_measures_medium_are_no_closed_loop() -> None:
    assert check_person(_p(level="low"), P9).outcome == "passed"
    tm = LogisticsRules.shipped("twenty-measures")
    assert check_person(_p(level="medium"), tm).outcome == "passed"
    assert check_person(_p(level="high"), tm).outcome == "closed_loop"


def test_red_code_per_pack() -> None:
    assert check_person(_p("red"), P9).outcome == "closed_loop"
    back = replace(P9, colours={**P9.colours, "red": "turned_back"})
    c = check_person(_p("red"), back)
    assert (c.outcome, c.rule_id) == ("turned_back", "logistics.colours.red")


def test_a_vehicle_takes_its_most_severe_outcome_and_a_valid_pass_gives_priority() -> None:
    got = check_crossing(
        [_p(), PersonFacts("passenger", "green", False)], P9,
        cargo_class="key_supplies", verdict="valid")  # fmt: skip
    assert got.outcome == "sampled_released"
    assert got.priority
    assert "优先通行" in got.reason_zh
    ordinary = check_crossing([_p()], P9, cargo_class="ordinary", verdict="valid")
    assert not ordinary.priority
    forged = check_crossing([_p()], P9, cargo_class="key_supplies", verdict="revoked")
    assert (forged.outcome, forged.priority) == ("passed", False)
    assert "failed verification" in forged.reason_en


def test_a_vehicle_turned_back_takes_everyone_back() -> None:
    back = replace(P9, colours={**P9.colours, "red": "turned_back"})
    got = check_crossing([_p(level="high"), PersonFacts("passenger", "red", True)], back)
    assert got.outcome == "turned_back"
    assert all(p.outcome == "turned_back" and not p.sampled and not p.closed_loop
               for p in got.people)  # fmt: skip
    assert got.people[0].rule_id == "logistics.vehicle_turned_back"


people = st.lists(
    st.builds(
        PersonFacts,
        st.sampled_from(["driver", "passenger"]),
        st.sampled_from(["green", "yellow", "red", "none"]),
        st.booleans(),
        st.sampled_from([None, "high", "medium", "low"]),
    ),
    min_size=1,
    max_size=4,
)
packs = st.builds(
    lambda red, yellow, none, no_test, levels: replace(
        P9,
        colours={"green": "check", "yellow": yellow, "red": red, "none": none},
        no_valid_test=no_test,
        closed_loop_levels=levels,
    ),
    st.sampled_from(["check", "closed_loop", "turned_back"]),
    st.sampled_from(["check", "closed_loop", "turned_back"]),
    st.sampled_from(["check", "closed_loop", "turned_back"]),
    st.sampled_from(["sampled_released", "turned_back"]),
    st.sampled_from([(), ("high",), ("high", "medium")]),
)


@settings(max_examples=300, deadline=None)
@given(people, packs, st.sampled_from(["none", "valid", "revoked", "wrong_route"]))
def test_check_properties(group: list[PersonFacts], rules: LogisticsRules, verdict: str) -> None:
    got = check_crossing(group, rules, cargo_class="key_supplies", verdict=verdict)
    assert got.outcome in SEVERITY  # never "held for the result"
    assert got.outcome == max((p.outcome for p in got.people), key=SEVERITY.index)
    assert len(got.people) == len(group)
    for facts, p in zip(group, got.people, strict=True):
        assert p.reason_zh
        assert p.reason_en
        assert p.rule_id.startswith("logistics.")
        if p.sampled:  # a valid test is never asked for again (互认)
            assert not facts.test_valid
            assert p.outcome in ("sampled_released", "closed_loop")
        if p.outcome == "sampled_released":
            assert p.sampled
        assert p.closed_loop == (p.outcome == "closed_loop")
        if got.outcome != "turned_back" and facts.risk_level in rules.closed_loop_levels:
            assert p.outcome == "closed_loop"  # from a risk area: never loose on the road
        if (facts.colour == "green" and facts.test_valid and got.outcome != "turned_back"
                and facts.risk_level not in rules.closed_loop_levels):  # fmt: skip
            assert p.outcome == "passed"
    assert got.priority == (verdict == "valid")


def test_a_vehicle_leaving_hands_nobody_to_this_loop_but_checks_code_and_test() -> None:
    """closed_loop_directions = ["in"]: a person from a risk area on a vehicle leaving is
    checked like anyone (sampled without a valid test) and marked as from a risk area; the
    destination's loop receives them. A colour's own action still applies."""
    tested = check_person(_p(level="high"), P9, "out")
    assert (tested.outcome, tested.closed_loop, tested.from_risk_area, tested.sampled) == (
        "passed", False, True, False)  # fmt: skip
    assert tested.rule_id == "logistics.closed_loop_directions"
    assert "落地" in tested.reason_zh
    assert "leaving" in tested.reason_en
    untested = check_person(_p(valid=False, level="medium"), P9, "out")
    assert (untested.outcome, untested.sampled, untested.closed_loop) == (
        "sampled_released", True, False)  # fmt: skip
    red = check_person(_p("red", level="high"), P9, "out")
    assert (red.outcome, red.from_risk_area) == ("closed_loop", True)
    both = replace(P9, closed_loop_directions=("in", "out"))
    assert check_person(_p(level="high"), both, "out").outcome == "closed_loop"
    got = check_crossing([_p(level="high")], P9, direction="out")
    assert got.outcome == "passed"
    assert check_crossing([_p(level="high")], P9, direction="in").outcome == "closed_loop"
