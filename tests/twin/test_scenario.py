"""Scenario files: the shipped default loads; bad files are refused naming file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fangkong.twin.scenario import (
    ScenarioError,
    as_dict,
    default_scenario,
    default_toml,
    load_scenario,
    with_overrides,
)


def test_default_scenario_carries_the_protocol_numbers() -> None:
    s = default_scenario()
    assert 2 <= s.natural_history.incubation_mean_days <= 4  # "mostly 2-4 days"
    assert 0.3 <= s.natural_history.asymptomatic_fraction <= 0.4
    assert s.testing.sensitivity < 1
    assert s.testing.pool_size == 10
    assert s.testing.ct_threshold == 35
    assert s.travel.history_days == 7


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(default_toml(), encoding="utf-8")
    loaded = load_scenario(path)
    assert as_dict(loaded) == as_dict(default_scenario())
    assert loaded.source == str(path)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            "asymptomatic_fraction = 0.35",
            "asymptomatic_fraction = 1.5",
            "natural_history.asymptomatic_fraction",
        ),
        (
            "asymptomatic_fraction = 0.35",
            'asymptomatic_fraction = "many"',
            "natural_history.asymptomatic_fraction",
        ),
        ("asymptomatic_fraction = 0.35", "", "natural_history.asymptomatic_fraction"),
        ("infectious_days = [5, 7]", "infectious_days = [7, 5]", "natural_history.infectious_days"),
        ("low = 0.97", "low = 0.5", "travel.origin_risk_shares"),
        ("pool_size = 10", "pool_size = 10\nsurprise = 1", "testing.surprise"),
        ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', "run.timezone"),
        ("peak_ct_mean = 23.3", "peak_ct_mean = 41.0", "testing.ct_course.peak_ct_mean"),
        (
            "peak_after_onset_days = [0.0, 2.0]",
            "peak_after_onset_days = [2.0, 0.0]",
            "testing.ct_course.peak_after_onset_days",
        ),
        ("clearance_days_mean = 7.0", "", "testing.ct_course.clearance_days_mean"),
        ("ct_threshold = 35.0", "ct_threshold = 45.0", "testing.ct_threshold"),
        ("restaurant = 8 ", "restaurant = 0 ", "mobility.zone_size.restaurant"),
        ("restaurant = 8 ", "restaurant = 8\nbar = 4 ", "mobility.zone_size"),
        ("restaurant = 0.0013 ", "market = 0.0013 ", "transmission.zone_prob_per_minute"),
        ("restaurant = 0.0013 ", "restaurant = 2.0 ", "transmission.zone_prob_per_minute"),
    ],
)
def test_bad_values_name_the_file_and_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = default_toml()
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert key in info.value.problem.message_en
    assert str(path) in info.value.problem.message_en
    assert str(path) in info.value.problem.message_zh
    assert key in info.value.problem.message_zh
    assert info.value.exit_code == 2


def test_not_toml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="TOML"):
        load_scenario(_write(tmp_path, "[run\nseed = "))


def test_overrides_are_validated() -> None:
    s = with_overrides(default_scenario(), {"seeds.infections": 50})
    assert s.seeds.infections == 50
    with pytest.raises(ScenarioError, match=r"seeds\.nope"):
        with_overrides(default_scenario(), {"seeds.nope": 1})
    with pytest.raises(ScenarioError, match="household_daily_prob"):
        with_overrides(default_scenario(), {"transmission.household_daily_prob": -1})


def test_every_number_has_a_comment_or_a_documented_section() -> None:
    # every section of the default is described in docs/twin.md
    doc = (Path(__file__).parents[2] / "docs" / "twin.md").read_text(encoding="utf-8")
    for section in tomllib.loads(default_toml()):
        assert f"[{section}]" in doc
