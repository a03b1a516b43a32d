"""The [alerts] and [surveillance] sections: both shipped packs load; a bad value is named
by pack file, section and key, in Chinese and English."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fangkong.alerts.rules import AlertRules, AlertRulesError
from fangkong.policy import load_pack


@pytest.mark.parametrize("name", ["protocol-9", "twenty-measures"])
def test_shipped_packs_load(name: str) -> None:
    rules = AlertRules.shipped(name)
    pack = load_pack(name)
    section = pack.sections["alerts"]
    assert rules.verify_hours == section["verify_within_hours"]
    assert rules.investigate_hours == section["investigate_within_hours"]
    assert rules.investigate_hours > rules.verify_hours
    assert set(rules.triggers) == set(section["triggers"])
    assert set(rules.detectors) == set(pack.sections["surveillance"]["detectors"])
    assert rules.source.startswith(f"{name} ")
    cluster = rules.triggers["fever_cluster"]
    assert (cluster.level, cluster.min_count, cluster.days) == ("compound", 3, 3)
    assert rules.triggers["positive_outside_quarantine"].level is None


def _tables() -> tuple[dict[str, Any], dict[str, Any]]:
    pack = load_pack("protocol-9")
    return copy.deepcopy(dict(pack.sections["alerts"])), copy.deepcopy(
        dict(pack.sections["surveillance"])
    )


def _error(alerts: dict[str, Any], surveillance: dict[str, Any]) -> AlertRulesError:
    with pytest.raises(AlertRulesError) as info:
        AlertRules.from_tables(alerts, surveillance, "my.toml")
    return info.value


def test_missing_deadline_named() -> None:
    alerts, surveillance = _tables()
    del alerts["verify_within_hours"]
    err = _error(alerts, surveillance)
    assert err.problem.code == "alerts.key_missing"
    assert "my.toml [alerts] verify_within_hours" in err.problem.message_en
    assert "缺少该键" in err.problem.message_zh


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda a, s: a.update(investigate_within_hours=0), "[alerts] investigate_within_hours"),
        (lambda a, s: a.update(dedup_days=-1), "[alerts] dedup_days"),
        (lambda a, s: a["triggers"]["fever_cluster"].update(level="street"),
         "[alerts] triggers.fever_cluster.level"),
        (lambda a, s: a["triggers"]["fever_cluster"].update(signal="rumours"),
         "[alerts] triggers.fever_cluster.signal"),
        (lambda a, s: a["triggers"]["fever_cluster"].update(min_count=0),
         "[alerts] triggers.fever_cluster.min_count"),
        (lambda a, s: s["detectors"]["fever_clinic_daily"].update(method="crystal-ball"),
         "[surveillance] detectors.fever_clinic_daily.method"),
        (lambda a, s: s["detectors"]["fever_clinic_daily"].update(frequency="hour"),
         "[surveillance] detectors.fever_clinic_daily.frequency"),
        (lambda a, s: s["detectors"]["fever_clinic_daily"].update(signals=[]),
         "[surveillance] detectors.fever_clinic_daily.signals"),
    ],
)  # fmt: skip
def test_bad_values_named(change: Any, where: str) -> None:
    alerts, surveillance = _tables()
    change(alerts, surveillance)
    err = _error(alerts, surveillance)
    assert err.problem.code == "alerts.value_invalid"
    assert f"my.toml {where}" in err.problem.message_en
    assert f"my.toml {where}" in err.problem.message_zh


def test_unknown_key_named() -> None:
    alerts, surveillance = _tables()
    surveillance["detectors"]["fever_clinic_daily"]["treshold"] = 3
    err = _error(alerts, surveillance)
    assert err.problem.code == "policy.unknown_key"
    assert "detectors.fever_clinic_daily.treshold" in err.problem.message_en


def test_pack_without_sections() -> None:
    class Bare:
        name, version, path, sections = "bare", "1", "bare.toml", {"alerts": {}}

    with pytest.raises(AlertRulesError) as info:
        AlertRules.from_pack(Bare())
    assert "[surveillance]" in info.value.problem.message_en
