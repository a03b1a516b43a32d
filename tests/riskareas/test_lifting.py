"""Automatic lifting walks every path of both shipped packs (table-driven).

Each row: pack, the level an area was designated at, infections (local day offsets from
the designation day), the time the job runs (hours after designation), and the lifts
expected — each as (from, to, when) where ``when`` is built from the pack's own day
counts, so the table states the rule, not a copy of its numbers. A separate test pins
the shipped numbers to the published protocol (PROTOCOL.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fangkong.policy.loader import load_pack
from fangkong.riskareas.errors import RiskAreaRulesError
from fangkong.riskareas.lifting import AreaState, infection_time, walk
from fangkong.riskareas.rules import RiskAreaRules

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2022, 3, 1, 15, 0, tzinfo=TZ)  # designated in the afternoon of day 0
DAY = timedelta(days=1)

P9 = RiskAreaRules.from_pack(load_pack("protocol-9"))
TM = RiskAreaRules.from_pack(load_pack("twenty-measures"))


def inf(offset: int) -> datetime:
    return infection_time(date(2022, 3, 1) + timedelta(days=offset), TZ)


def days(rules: RiskAreaRules, level: str, origin: str = "designated") -> timedelta:
    return rules.lifting[level].days_for(origin) * DAY


When = Callable[[RiskAreaRules], datetime]


@dataclass(frozen=True)
class Row:
    name: str
    rules: RiskAreaRules
    level: str
    infections: tuple[int, ...]
    now: When
    expected: tuple[tuple[str, str, When], ...]


def high_p9(r: RiskAreaRules) -> datetime:
    return START + days(r, "high")


ROWS = [
    # protocol-9: high → medium → low
    Row("p9 high, not yet", P9, "high", (), lambda r: high_p9(r) - timedelta(minutes=1), ()),
    Row("p9 high → medium", P9, "high", (), high_p9, (("high", "medium", high_p9),)),
    Row("p9 high → medium → low (late job catches up)", P9, "high", (),
        lambda r: high_p9(r) + days(r, "medium", "downgraded"),
        (("high", "medium", high_p9),
         ("medium", "low", lambda r: high_p9(r) + days(r, "medium", "downgraded")))),
    Row("p9 high, infection restarts the clock", P9, "high", (2,),
        lambda r: inf(2) + days(r, "high") - timedelta(seconds=1), ()),
    Row("p9 high, infection then lifted", P9, "high", (2,), lambda r: inf(2) + days(r, "high"),
        (("high", "medium", lambda r: inf(2) + days(r, "high")),)),
    Row("p9 infection after the high clock ran does not count against high", P9, "high", (9,),
        lambda r: inf(9) + days(r, "medium", "downgraded"),
        (("high", "medium", high_p9),
         ("medium", "low", lambda r: inf(9) + days(r, "medium", "downgraded")))),
    Row("p9 downgraded medium restarts on infection", P9, "high", (8,),
        lambda r: inf(8) + days(r, "medium", "downgraded") - timedelta(seconds=1),
        (("high", "medium", high_p9),)),
    Row("p9 designated medium → low", P9, "medium", (),
        lambda r: START + days(r, "medium"),
        (("medium", "low", lambda r: START + days(r, "medium")),)),
    Row("p9 designated medium, not yet", P9, "medium", (),
        lambda r: START + days(r, "medium") - timedelta(seconds=1), ()),
    Row("p9 designated medium, infection restarts", P9, "medium", (1, 3),
        lambda r: inf(3) + days(r, "medium"),
        (("medium", "low", lambda r: inf(3) + days(r, "medium")),)),
    Row("p9 low stays low", P9, "low", (), lambda r: START + 100 * DAY, ()),
    # twenty-measures: high → low, no medium
    Row("20m high, not yet", TM, "high", (),
        lambda r: START + days(r, "high") - timedelta(seconds=1), ()),
    Row("20m high → low", TM, "high", (), lambda r: START + 100 * DAY,
        (("high", "low", lambda r: START + days(r, "high")),)),
    Row("20m high, infections restart", TM, "high", (1, 4),
        lambda r: inf(4) + days(r, "high"),
        (("high", "low", lambda r: inf(4) + days(r, "high")),)),
    Row("20m low stays low", TM, "low", (), lambda r: START + 100 * DAY, ()),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_lifting_path(row: Row) -> None:
    state = AreaState(row.rules.check_level(row.level), "designated", START)
    lifts = walk(row.rules, state, [inf(d) for d in row.infections], row.now(row.rules))
    got = [(x.from_level, x.to_level, x.at) for x in lifts]
    assert got == [(a, b, when(row.rules)) for a, b, when in row.expected]


def test_every_transition_of_both_packs_is_walked() -> None:
    walked = {(r.rules.source, e[0], e[1]) for r in ROWS for e in r.expected}
    for rules in (P9, TM):
        for level, lift in rules.lifting.items():
            assert (rules.source, level, lift.to) in walked
    # the downgraded clock differs from the designated one in protocol-9: both walked
    assert P9.lifting["medium"].days != P9.lifting["medium"].days_downgraded


def test_shipped_numbers_are_the_protocols() -> None:
    # PROTOCOL.md: high 7 days → medium; medium 3 days (downgraded) or 7 (designated)
    assert (P9.lifting["high"].to, P9.lifting["high"].days) == ("medium", 7)
    assert (P9.lifting["medium"].days_downgraded, P9.lifting["medium"].days) == (3, 7)
    # twenty measures: high lifted after 5 days, no medium areas, drawn by building
    assert TM.levels == ("high", "low")
    assert (TM.lifting["high"].to, TM.lifting["high"].days) == ("low", 5)
    assert "building" in TM.granularity
    assert "building" not in P9.granularity
    assert TM.venue_level is None
    assert P9.venue_level == "medium"


def test_twenty_measures_has_no_medium() -> None:
    with pytest.raises(RiskAreaRulesError) as caught:
        TM.check_level("medium")
    assert "medium" in caught.value.problem.message_en


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"levels": ["medium", "low"]}, "levels"),
        ({"lifting": {"high": {"lift_to": "high", "lift_after_days": 7}}}, "lifting.high.lift_to"),
        ({"lifting": {"high": {"lift_to": "low", "lift_after_days": 0}}},
         "lifting.high.lift_after_days"),
        ({"suggest": {"residence_level": "severe", "venue_level": "none", "window_days": 7}},
         "suggest.residence_level"),
        ({"needs": {"levels": ["high"], "kinds": {"x": {"label_zh": "甲", "label_en": "x"}}}},
         "needs.kinds.x.deadline_hours"),
    ],
)  # fmt: skip
def test_bad_section_names_the_key(change: dict[str, object], key: str) -> None:
    table = {**load_pack("protocol-9").sections["risk_areas"], **change}
    with pytest.raises(RiskAreaRulesError) as caught:
        RiskAreaRules.from_table(table, "my.toml")
    assert f"my.toml [risk_areas] {key}" in caught.value.problem.message_en
    assert "[risk_areas]" in caught.value.problem.message_zh
