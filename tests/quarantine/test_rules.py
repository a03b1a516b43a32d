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
    assert p9.phases("case") == (
        Phase("centralised", None, ()),  # until discharged, then 7 days at home [P]
        Phase("home_monitoring", 7, (3, 7)),
    )
    assert "low_risk_area" not in p9.groups  # tests only: read by testing
    assert p9.readiness.rooms_per_10000 == 20
    assert p9.survey.target_activation_days == 2
    assert p9.placement.kinds_for("case") == ("fangcang", "designated_hospital")
    assert p9.placement.kinds_for("inbound") == ("hotel",)


def test_surge_and_discharge_of_both_packs() -> None:
    p9, tm = QuarantineRules.shipped("protocol-9"), QuarantineRules.shipped("twenty-measures")
    s = p9.surge
    assert (s.placement_deadline_hours, s.deadline_groups) == (24.0, ("close_contact",))
    assert (s.standby_share, s.standby_activation_hours) == (0.5, 12.0)
    assert s.reach == ("county", "city", "province")
    assert s.extra_kinds("close_contact") == ("fangcang",)
    assert s.extra_kinds("inbound") == ()
    assert (s.home_fallback.groups, s.home_fallback.when) == (
        ("close_contact",),
        "no_room_by_deadline",
    )
    d = p9.discharge
    assert (d.min_ct, d.consecutive, d.gap_hours, d.first_test_day) == (35.0, 2, 24.0, 5)
    assert tm.discharge.first_test_day == 6  # "20 measures": Ct ≥ 35 on days 6 and 7
    assert tm.surge == p9.surge


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
        (lambda t: t["case"].update(home_test_days=[9]), "case.home_test_days"),
        (lambda t: t.pop("surge"), "surge"),
        (lambda t: t["surge"].pop("placement_deadline_hours"), "surge.placement_deadline_hours"),
        (lambda t: t["surge"].update(placement_deadline_hours=0), "surge.placement_deadline_hours"),
        (lambda t: t["surge"].update(deadline_groups=["neighbour"]), "surge.deadline_groups"),
        (lambda t: t["surge"].update(standby_share=-0.5), "surge.standby_share"),
        (
            lambda t: t["surge"].update(standby_activation_hours="12"),
            "surge.standby_activation_hours",
        ),
        (lambda t: t["surge"].update(reach=["city", "county"]), "surge.reach"),
        (lambda t: t["surge"].update(reach=["village"]), "surge.reach"),
        (lambda t: t["surge"].update(reach=[]), "surge.reach"),
        (lambda t: t["surge"].update(forecast_days=-1), "surge.forecast_days"),
        (lambda t: t["surge"].update(fangcang_zone_beds=0), "surge.fangcang_zone_beds"),
        (
            lambda t: t["surge"].update(extra_facility_kinds={"close_contact": ["tent"]}),
            "surge.extra_facility_kinds.close_contact",
        ),
        (
            lambda t: t["surge"].update(extra_facility_kinds={"tourist": ["fangcang"]}),
            "surge.extra_facility_kinds.tourist",
        ),
        (lambda t: t["surge"]["home_fallback"].update(when="never"), "surge.home_fallback.when"),
        (
            lambda t: t["surge"]["home_fallback"].update(groups="close_contact"),
            "surge.home_fallback.groups",
        ),
        (lambda t: t["surge"].pop("home_fallback"), "surge.home_fallback"),
        (lambda t: t["discharge"].update(min_ct=0), "discharge.min_ct"),
        (lambda t: t["discharge"].update(consecutive=0), "discharge.consecutive"),
        (lambda t: t["discharge"].update(gap_hours=-1), "discharge.gap_hours"),
        (lambda t: t["discharge"].pop("first_test_day"), "discharge.first_test_day"),
    ],
)
def test_a_bad_value_names_pack_key_and_problem(change: Any, where: str) -> None:
    table = _table()
    change(table)
    with pytest.raises(QuarantineRulesError) as info:
        QuarantineRules.from_table(table, "my-pack 1")
    assert f"my-pack 1 [quarantine] {where}" in info.value.problem.message_en
    assert f"my-pack 1 [quarantine] {where}" in info.value.problem.message_zh
