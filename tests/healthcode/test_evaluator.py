"""Every colour path of both shipped packs (PROTOCOL.md), with the expected colour at
several times, and explanations that read naturally in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from fangkong.healthcode.evaluator import evaluate
from fangkong.healthcode.facts import (
    ArrivalFact,
    CaseFact,
    Enrolment,
    ExposureFact,
    ManualFact,
    PeriodFact,
    PersonFacts,
    ResidenceFact,
    TestFact,
)
from fangkong.policy import Colour, load_pack

T0 = datetime(2022, 6, 1, tzinfo=UTC)  # 08:00 in Shanghai
H = timedelta(hours=1)
D = timedelta(days=1)
G, Y, R = Colour.GREEN, Colour.YELLOW, Colour.RED
PACKS = {name: load_pack(name) for name in ("protocol-9", "twenty-measures")}


def neg(sampled: timedelta, after: timedelta = 6 * H, *, pooled: bool = False) -> TestFact:
    return TestFact(T0 + sampled, "negative", T0 + sampled + after, pooled)


def cc(kind: str = "close_contact") -> tuple[ExposureFact, ...]:
    return (ExposureFact(kind, T0),)  # type: ignore[arg-type]


def arrive(risk: str) -> tuple[ArrivalFact, ...]:
    return (ArrivalFact(risk, T0, "某市某区"),)  # type: ignore[arg-type]


# (pack, path, facts, [(time after T0, expected colour)], rule expected as a reason)
PATHS: list[tuple[str, str, PersonFacts, list[tuple[timedelta, Colour]], str | None]] = [
    # close contact: red 7 days → yellow 3 days → green once the home day-3 test is negative
    ("protocol-9", "close contact 7+3, tested", PersonFacts(exposures=cc(), tests=(neg(9 * D),)),
     [(H, R), (7 * D - H, R), (7 * D, Y), (9 * D + 12 * H, Y), (10 * D - H, Y), (10 * D, G)],
     "close_contact"),
    ("protocol-9", "close contact 7+3, untested stays yellow", PersonFacts(exposures=cc()),
     [(7 * D, Y), (10 * D, Y), (20 * D, Y)], "close_contact"),
    ("protocol-9", "close contact, test before day 3 does not release",
     PersonFacts(exposures=cc(), tests=(neg(8 * D),)), [(10 * D, Y)], "close_contact"),
    ("twenty-measures", "close contact 5+3", PersonFacts(exposures=cc(), tests=(neg(7 * D),)),
     [(4 * D, R), (5 * D, Y), (8 * D - H, Y), (8 * D, G)], "close_contact"),
    # contact of a close contact: 7 days home quarantine (red); not traced under 20 measures
    ("protocol-9", "contact of contact 7 days",
     PersonFacts(exposures=cc("contact_of_contact"), tests=(neg(6 * D),)),
     [(D, R), (7 * D - H, R), (7 * D, G)], "contact_of_contact"),
    ("twenty-measures", "contact of contact not traced",
     PersonFacts(exposures=cc("contact_of_contact")), [(D, G), (3 * D, G)], None),
    # arrivals
    ("protocol-9", "inbound 7+3", PersonFacts(arrivals=arrive("inbound"), tests=(neg(9 * D),)),
     [(D, R), (7 * D, Y), (10 * D, G)], "arrival_inbound"),
    ("twenty-measures", "inbound 5+3",
     PersonFacts(arrivals=arrive("inbound"), tests=(neg(7 * D),)),
     [(D, R), (5 * D, Y), (8 * D, G)], "arrival_inbound"),
    ("protocol-9", "from a high-risk area: 7 days centralised",
     PersonFacts(arrivals=arrive("high")), [(D, R), (7 * D - H, R), (7 * D, G)], "arrival_high"),
    ("twenty-measures", "from a high-risk area: 7 days home, day-7 test",
     PersonFacts(arrivals=arrive("high"), tests=(neg(6 * D),)),
     [(D, R), (7 * D - H, R), (7 * D, G)], "arrival_high"),
    ("twenty-measures", "from a high-risk area, untested stays red",
     PersonFacts(arrivals=arrive("high")), [(8 * D, R)], "arrival_high"),
    ("protocol-9", "from a medium-risk area: 7 days home",
     PersonFacts(arrivals=arrive("medium")), [(D, R), (7 * D, G)], "arrival_medium"),
    ("twenty-measures", "no medium-risk areas", PersonFacts(arrivals=arrive("medium")),
     [(D, G)], None),
    ("protocol-9", "from a low-risk area, 2 tests in 3 days",
     PersonFacts(arrivals=arrive("low"), tests=(neg(12 * H), neg(36 * H))),
     [(D, G), (3 * D, G), (5 * D, G)], None),
    ("protocol-9", "from a low-risk area, tests missing",
     PersonFacts(arrivals=arrive("low"), tests=(neg(12 * H), neg(30 * H))),
     [(3 * D - H, G), (3 * D, Y), (6 * D, Y)], "arrival_low"),
    ("twenty-measures", "from a low-risk area, tests done late",
     PersonFacts(arrivals=arrive("low"), tests=(neg(4 * D), neg(5 * D))),
     [(3 * D, Y), (5 * D + 5 * H, Y), (5 * D + 6 * H, G)], "arrival_low"),
    # cases: red until discharge, then yellow for home monitoring
    ("protocol-9", "case then discharge",
     PersonFacts(cases=(CaseFact("confirmed", T0, T0 + 10 * D),), tests=(neg(16 * D),)),
     [(H, R), (10 * D - H, R), (10 * D, Y), (17 * D - H, Y), (17 * D, G)], "case"),
    ("twenty-measures", "asymptomatic, not discharged",
     PersonFacts(cases=(CaseFact("asymptomatic", T0),)), [(30 * D, R)], "case"),
    ("protocol-9", "discharged, monitoring", PersonFacts(
        cases=(CaseFact("suspected", T0 - 5 * D, T0),)), [(D, Y), (8 * D, Y)], "discharged_case"),
    # normalised testing: no test in 7 days → yellow; green again at sampling
    ("protocol-9", "normalised testing lapses",
     PersonFacts(enrolment=Enrolment("general", T0 - 30 * D), tests=(neg(timedelta(0)),)),
     [(6 * D, G), (7 * D - H, G), (7 * D, Y), (9 * D, Y)], "required_testing"),
    ("protocol-9", "green at sampling",
     PersonFacts(enrolment=Enrolment("general", T0 - 30 * D),
                 tests=(neg(timedelta(0)), TestFact(T0 + 9 * D))),
     [(8 * D, Y), (9 * D - H, Y), (9 * D, G), (15 * D, G), (16 * D, Y)], "required_testing"),
    ("twenty-measures", "key group daily test missed",
     PersonFacts(enrolment=Enrolment("key_daily", T0 - D), tests=(neg(timedelta(0)),)),
     [(23 * H, G), (D, Y)], "required_testing"),
    # positive tests
    ("protocol-9", "positive pool member until individual retest",
     PersonFacts(tests=(TestFact(T0, "positive", T0 + 6 * H, pooled=True),
                        neg(12 * H, 8 * H))),
     [(5 * H, G), (6 * H, R), (20 * H - timedelta(minutes=1), R), (20 * H, G)], "positive_pool"),
    ("twenty-measures", "pool member: a negative pool does not clear, retest pending",
     PersonFacts(tests=(TestFact(T0, "positive", T0 + 6 * H, pooled=True),
                        neg(12 * H, pooled=True))),
     [(2 * D, R)], "positive_pool"),
    ("protocol-9", "first screen positive",
     PersonFacts(tests=(TestFact(T0, "positive", T0 + 6 * H), neg(D))),
     [(12 * H, R), (D + 6 * H, G)], "positive_screen"),
    # residence, clinic, periods, manual, companions
    ("protocol-9", "lives in a high-risk area", PersonFacts(
        residences=(ResidenceFact("high", T0, T0 + 7 * D, "某小区"),)),
     [(D, R), (7 * D, G)], "residence_high"),
    ("protocol-9", "lives in a medium-risk area", PersonFacts(
        residences=(ResidenceFact("medium", T0, None, "某小区"),)), [(D, Y)], "residence_medium"),
    ("twenty-measures", "no medium-risk residence", PersonFacts(
        residences=(ResidenceFact("medium", T0, None, "某小区"),)), [(D, G)], None),
    ("protocol-9", "fever clinic until a negative test",
     PersonFacts(clinic_visits=(T0,), tests=(neg(2 * H),)),
     [(H, Y), (8 * H - timedelta(minutes=1), Y), (8 * H, G)], "fever_clinic"),
    ("protocol-9", "centralised quarantine recorded",
     PersonFacts(periods=(PeriodFact("centralised_quarantine", T0, T0 + 5 * D, "某隔离酒店"),)),
     [(D, R), (5 * D, G)], "centralised_quarantine"),
    ("protocol-9", "home quarantine recorded",
     PersonFacts(periods=(PeriodFact("home_quarantine", T0, T0 + 5 * D),)),
     [(D, R), (5 * D, G)], "home_quarantine"),
    ("protocol-9", "home monitoring recorded",
     PersonFacts(periods=(PeriodFact("home_monitoring", T0, T0 + 3 * D),)),
     [(D, Y), (3 * D, G)], "home_monitoring"),
    ("protocol-9", "manual decision, then withdrawn",
     PersonFacts(manual=(ManualFact(R, T0, None, "流调研判为高风险", "judged high risk", "张医生"),
                         ManualFact(G, T0 + 2 * D, None, "撤销", "withdrawn", "李医生"))),
     [(D, R), (2 * D, G)], "manual"),
    ("twenty-measures", "companion until two tests 24 h apart",
     PersonFacts(exposures=cc("companion"), tests=(neg(6 * H), neg(20 * H), neg(30 * H))),
     [(H, Y), (30 * H + 5 * H, Y), (36 * H, G)], "companion"),
    # the most severe reason wins, and every reason is listed
    ("protocol-9", "red and yellow together",
     PersonFacts(exposures=cc(), clinic_visits=(T0 + H,)), [(2 * H, R), (7 * D, Y)],
     "close_contact"),
]  # fmt: skip

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("pack_name", "facts", "expected", "rule"),
    [(p, f, e, r) for p, _, f, e, r in PATHS],
    ids=[f"{p}: {name}" for p, name, *_ in PATHS],
)
def test_colour_paths(
    pack_name: str,
    facts: PersonFacts,
    expected: list[tuple[timedelta, Colour]],
    rule: str | None,
) -> None:
    pack = PACKS[pack_name]
    got = [(offset, evaluate(facts, T0 + offset, pack).colour) for offset, _ in expected]
    assert got == expected
    decisions = [evaluate(facts, T0 + offset, pack) for offset, _ in expected]
    rules = {r.rule_id for d in decisions for r in d.reasons}
    assert rules == set() if rule is None else rule in rules
    assert {d.pack_ref for d in decisions} == {pack.ref}


@pytest.mark.parametrize("pack_name", sorted(PACKS))
def test_every_rule_of_every_pack_is_walked(pack_name: str) -> None:
    seen: set[str] = set()
    for p, _, facts, expected, _ in PATHS:
        if p == pack_name:
            for offset, _ in expected:
                seen |= {r.rule_id for r in evaluate(facts, T0 + offset, PACKS[p]).reasons}
    # a rule the table never reaches under this pack is a path nobody checked
    reachable = {r.id for r in PACKS[pack_name].rules}
    missing = reachable - seen - _WALKED_UNDER_OTHER_PACK[pack_name]
    assert missing == set()


# rules whose paths are identical in both packs are walked under one of them
_WALKED_UNDER_OTHER_PACK = {
    "protocol-9": {"companion"},
    "twenty-measures": {
        "discharged_case", "arrival_medium", "positive_screen", "residence_high",
        "fever_clinic", "centralised_quarantine", "home_quarantine", "home_monitoring", "manual",
    },
}  # fmt: skip


def test_next_change_says_when_and_to_what() -> None:
    d = evaluate(PersonFacts(exposures=cc()), T0 + D, PACKS["protocol-9"])
    assert (d.colour, d.next_change_at, d.next_colour) == (R, T0 + 7 * D, Y)
    d = evaluate(PersonFacts(exposures=cc()), T0 + 8 * D, PACKS["protocol-9"])
    assert (d.next_change_at, d.next_colour) == (None, None)  # waits for the release test


@pytest.mark.parametrize(("pack_name", "facts", "offset"), [
    (p, f, off) for p, _, f, exp, _ in PATHS for off, _ in exp
])  # fmt: skip
def test_explanations_read_naturally(pack_name: str, facts: PersonFacts, offset: timedelta) -> None:
    d = evaluate(facts, T0 + offset, PACKS[pack_name])
    for r in d.reasons:
        for text in (r.text_zh, r.text_en, r.clears_zh, r.clears_en):
            assert "{" not in text, text
            assert "}" not in text, text
            assert "None" not in text, text
        assert CJK.search(r.text_zh)
        assert CJK.search(r.clears_zh)
        # English sentences carry no Chinese except place names taken from the facts
        for text in (r.text_en, r.clears_en):
            stripped = text.replace("某市某区", "").replace("某小区", "").replace("某隔离酒店", "")
            stripped = stripped.replace("张医生", "").replace("judged high risk", "")
            assert not CJK.search(stripped), text
    explained = d.explain()
    assert ("绿码" in explained) or ("黄码" in explained) or ("红码" in explained)
    assert d.colour.label in explained


def test_explanation_example() -> None:
    d = evaluate(PersonFacts(exposures=cc()), T0 + D, PACKS["protocol-9"])
    assert d.reasons[0].text_zh == (
        "密切接触者，末次暴露于2022-06-01 08:00，集中隔离医学观察7天，至2022-06-08 08:00"
    )
    assert d.reasons[0].text_en == (
        "close contact, last exposed 2022-06-01 08:00: 7 days of centralised quarantine, "
        "until 2022-06-08 08:00"
    )
    assert "如无新情况，将于 2022-06-08 08:00 转为黄码" in d.explain("zh")


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        evaluate(PersonFacts(), datetime(2022, 6, 1), PACKS["protocol-9"])  # noqa: DTZ001
