"""The pack's [care] section: read from both packs, every bad key named; the risk-area
needs may no longer list the kinds the register took."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fangkong.care.errors import CareRulesError
from fangkong.care.rules import CareRules
from fangkong.policy import load_pack
from fangkong.riskareas.errors import RiskAreaRulesError
from fangkong.riskareas.rules import RiskAreaRules


def _table() -> dict[str, Any]:
    return copy.deepcopy(dict(load_pack("protocol-9").sections["care"]))


def test_both_packs_read() -> None:
    p9 = CareRules.from_pack(load_pack("protocol-9"))
    assert p9.kinds["emergency"].deadline_hours == 1
    assert p9.kinds["dialysis"].deadline_hours == 24
    assert not p9.kinds["chronic_medication"].ward
    assert (p9.buffer_levels, p9.ward_choice, p9.escalation.after_hours) == (
        ("high",),
        "nearest",
        1,
    )
    assert CareRules.from_pack(load_pack("twenty-measures")).levels == ("high",)


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [(("ward_choice",), "cheapest", "ward_choice"),
     (("levels",), ["low"], "levels"),
     (("buffer_levels",), ["medium", "x"], "buffer_levels"),
     (("kinds", "massage"), {"deadline_hours": 1, "ward": True}, "kinds.massage"),
     (("kinds", "dialysis", "deadline_hours"), 0, "kinds.dialysis.deadline_hours"),
     (("kinds", "dialysis", "deadline_hours"), 10_000, "kinds.dialysis.deadline_hours"),
     (("kinds", "dialysis", "ward"), "yes", "kinds.dialysis.ward"),
     (("transfer", "road_factor"), 0.5, "transfer.road_factor"),
     (("transfer", "pickup_minutes"), 999, "transfer.pickup_minutes"),
     (("escalation", "max_level"), -1, "escalation.max_level"),
     (("extra",), 1, "extra")],
)  # fmt: skip
def test_a_bad_value_is_named(path: tuple[str, ...], value: Any, key: str) -> None:
    table = _table()
    target = table
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(CareRulesError) as err:
        CareRules.from_table(table, "test 1")
    assert err.value.key == key
    assert "[care]" in err.value.problem.message_zh


def test_a_missing_key_is_named() -> None:
    table = _table()
    del table["transfer"]["speed_kmh"]
    with pytest.raises(CareRulesError) as err:
        CareRules.from_table(table, "test 1")
    assert err.value.key == "transfer.speed_kmh"


def test_risk_area_needs_may_not_list_medical_kinds() -> None:
    table = copy.deepcopy(dict(load_pack("protocol-9").sections["risk_areas"]))
    assert set(table["needs"]["kinds"]) == {"supplies", "medicine"}
    table["needs"]["kinds"]["emergency"] = {"label_zh": "急", "label_en": "e", "deadline_hours": 1}
    with pytest.raises(RiskAreaRulesError) as err:
        RiskAreaRules.from_table(table, "test 1")
    assert err.value.key == "needs.kinds.emergency"
