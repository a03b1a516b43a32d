"""The pack's [quarantine] section: both shipped packs, and bad values named clearly."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fangkong.policy import load_pack
from fangkong.quarantine.rules import Phase, QuarantineRules, QuarantineRulesError


def _table(name: str = "protocol-9") -> dict[str, Any]:
    return copy.deepcopy(dict(load_pack(name).sections["quarantine"]))


def test_periods_and_tests_of_both_packs() -> None:
    p9, tm = QuarantineRules.shipped("protocol-9"), QuarantineRules.shipped("twenty-measures")
    assert p9.phases("close_contact") == (
        Phase("centralised", 7, (1, 2, 3, 5, 7)),
        Phase("home_monitoring", 3, (3,)),
    )
    assert tm.phases("close_contact") == (
        Phase("centralised", 5, (1, 2, 3, 5)),
        Phase("home_monitoring", 3, (1, 3)),
    )
    assert p9.phases("contact_of_contact") == (Phase("home_quarantine", 7, (1, 4, 7)),)
    assert tm.phases("contact_of_contact") == ()  # no longer managed
    assert p9.phases("high_risk_area") == (Phase("centralised", 7, ()),)
    assert tm.phases("high_risk_area") == (Phase("home_quarantine", 7, (1, 3, 5, 7)),)
    assert p9.phases("case") == (Phase("centralised", None, ()),)
    assert "low_risk_area" not in p9.groups  # tests only: read by testing
    assert p9.readiness.rooms_per_10000 == 20
    assert p9.survey.target_activation_days == 2
    assert p9.placement.kinds_for("case") == ("fangcang", "designated_hospital")
    assert p9.placement.kinds_for("inbound") == ("hotel",)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (
            lambda t: t["close_contact"].update(centralised_days=-1),
            "close_contact.centralised_days",
        ),
        (lambda t: t["close_contact"].update(test_days=[1, 9]), "close_contact.test_days"),
        (lambda t: t["inbound"].update(colour="red"), "inbound.colour"),
        (
            lambda t: t["placement"].update(separate_risk_groups="floor"),
            "placement.separate_risk_groups",
        ),
        (lambda t: t["placement"].pop("child_age_below"), "placement.child_age_below"),
        (lambda t: t["readiness"].update(rooms_per_10000="20"), "readiness.rooms_per_10000"),
        (lambda t: t["survey"]["weights"].update(beds=0.9), "survey.weights"),
        (lambda t: t["survey"]["m2_per_bed"].pop("gym"), "survey.m2_per_bed.gym"),
        (lambda t: t.pop("follow_up"), "follow_up"),
    ],
)
def test_a_bad_value_names_pack_key_and_problem(change: Any, where: str) -> None:
    table = _table()
    change(table)
    with pytest.raises(QuarantineRulesError) as info:
        QuarantineRules.from_table(table, "my-pack 1")
    assert f"my-pack 1 [quarantine] {where}" in info.value.problem.message_en
    assert f"my-pack 1 [quarantine] {where}" in info.value.problem.message_zh
