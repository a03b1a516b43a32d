"""Pack rules of [arrivals] (errors name pack, key and problem in zh + en) and the pure
transfer planner (properties under Hypothesis; distances against the law of cosines)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.arrivals.rules import ArrivalRules, ArrivalRulesError
from fangkong.arrivals.transfer import Car, Group, great_circle_km, plan_loads
from fangkong.policy import load_pack

P9 = ArrivalRules.shipped("protocol-9")


def _table(**changes: object) -> tuple[dict[str, object], dict[str, object]]:
    pack = load_pack("protocol-9")
    table = {
        k: (dict(v) if isinstance(v, dict) else v) for k, v in pack.sections["arrivals"].items()
    }
    table.update(changes)
    return table, dict(pack.sections["quarantine"])


def test_shipped_packs_map_risk_to_management() -> None:
    assert P9.rule_for("high").management == "centralised_quarantine"
    assert P9.rule_for("medium").management == "home_quarantine"
    assert P9.rule_for("low").management == "tests_only"
    tm = ArrivalRules.shipped("twenty-measures")
    assert tm.rule_for("high").management == "home_quarantine"
    assert tm.rule_for("medium").risk == "low"  # no medium areas: the next level kept
    assert tm.rule_for("none").landing_test is True


@pytest.mark.parametrize(
    ("changes", "key", "en"),
    [
        ({"history_days": 0}, "history_days", "at least 1"),
        ({"handoff_level": "galaxy"}, "handoff_level", "must be one of"),
        ({"deadlines": {"registered": 2}}, "deadlines.sampled", "is missing"),
        ({"risks": {"high": {"management": "centralised_quarantine",
                             "quarantine_group": "medium_risk_area", "code": "high",
                             "landing_test": True, "pool_size": 1, "transfer": True,
                             "zh": "高风险", "en": "high"}, "none": {}}},
         "risks.high.quarantine_group", "starts with home_quarantine"),
        ({"risks": {"none": {"management": "none", "landing_test": False, "pool_size": 1,
                             "transfer": False, "zh": "无{where}", "en": "none"}}},
         "risks.none.zh", "unknown placeholder {where}"),
    ],
)  # fmt: skip
def test_bad_values_are_named(changes: dict[str, object], key: str, en: str) -> None:
    table, quarantine = _table(**changes)
    with pytest.raises(ArrivalRulesError) as err:
        ArrivalRules.from_table(table, "my.toml", quarantine)
    problem = err.value.problem
    assert f"[arrivals] {key}" in problem.message_en
    assert en in problem.message_en
    assert "my.toml" in problem.message_zh
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem.message_zh)


def _cosines_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0088 * math.acos(max(-1.0, min(1.0, c)))


def test_great_circle_against_the_law_of_cosines() -> None:
    for a, b in [((39.9042, 116.4074), (31.2304, 121.4737)), ((37.87, 112.55), (38.8, 113.79))]:
        assert great_circle_km(*a, *b) == pytest.approx(_cosines_km(*a, *b), rel=1e-9)
    assert 1060 < great_circle_km(39.9042, 116.4074, 31.2304, 121.4737) < 1075  # Beijing–Shanghai


groups = st.lists(
    st.builds(Group, st.sampled_from(["inbound", "high", "medium"]), st.sampled_from(["a", "b"]),
              st.integers(1, 30), st.floats(38, 39), st.floats(113, 114)),
    min_size=1, max_size=6,
)  # fmt: skip
cars = st.lists(
    st.builds(Car, st.uuids().map(str), st.sampled_from(["bus", "van", "car"]),
              st.integers(1, 25), st.floats(38, 39), st.floats(113, 114)),
    max_size=8, unique_by=lambda c: c.code,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(groups, cars)
def test_loads_never_mix_and_never_overfill(gs: list[Group], cs: list[Car]) -> None:
    loads = plan_loads(gs, cs, (38.5, 113.5), P9.transfer)
    capacity = {c.code: c.capacity for c in cs}
    assert len({x.vehicle for x in loads}) == len(loads)  # one group per vehicle
    for x in loads:
        assert 1 <= x.seats <= capacity[x.vehicle]
        assert x.arrives_h >= x.departs_h >= P9.transfer.boarding_minutes / 60
    for gi, g in enumerate(gs):
        carried = sum(x.seats for x in loads if x.group == gi)
        assert carried <= g.size
        if carried < g.size:  # someone left behind only when every vehicle is taken
            assert len(loads) == len(cs)
    if sum(c.capacity for c in cs) >= sum(g.size for g in gs) and len(cs) >= sum(
        -(-g.size // min(c.capacity for c in cs)) for g in gs
    ):
        assert sum(x.seats for x in loads) == sum(g.size for g in gs)
