"""The pack's [roads] section: every key read, bad values named."""

from __future__ import annotations

from typing import Any

import pytest

from fangkong.policy import load_pack
from fangkong.roads.rules import RoadRules, RoadRulesError

TABLE: dict[str, Any] = {
    "queue_limit_vehicles": 200, "wait_limit_minutes": 60, "wait_percentile": 90,
    "report_stale_minutes": 60, "throughput_window_minutes": 60,
    "closure_authority_levels": ["national", "province"],
    "task_hours": {"queue": 1, "wait": 1, "closure_unauthorised": 2},
}  # fmt: skip


def test_the_shipped_packs_parse() -> None:
    for name in ("protocol-9", "twenty-measures"):
        rules = RoadRules.from_pack(load_pack(name))
        assert rules.queue_limit_vehicles > 0
        assert rules.command is not None
        assert rules.closure_authority_levels == ("national", "province")
        assert rules.task_hours["closure_unauthorised"] == 2


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"queue_limit_vehicles": 0}, "queue_limit_vehicles"),
        ({"wait_percentile": 101}, "wait_percentile"),
        ({"throughput_window_minutes": 1}, "throughput_window_minutes"),
        ({"closure_authority_levels": ["mayor"]}, "closure_authority_levels"),
        ({"closure_authority_levels": []}, "closure_authority_levels"),
        ({"task_hours": {"queue": 1, "wait": 1}}, "task_hours.closure_unauthorised"),
        ({"task_hours": {"queue": 0, "wait": 1, "closure_unauthorised": 2}}, "task_hours.queue"),
        ({"speed_limit": 80}, "speed_limit"),
    ],
)
def test_bad_values_name_their_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(RoadRulesError) as err:
        RoadRules.from_table({**TABLE, **change}, "test 1")
    assert err.value.key == key
    assert "[roads]" in err.value.problem.message_zh
    assert "[roads]" in err.value.problem.message_en


def test_a_missing_key_is_named() -> None:
    table = dict(TABLE)
    del table["wait_limit_minutes"]
    with pytest.raises(RoadRulesError, match="wait_limit_minutes"):
        RoadRules.from_table(table)
