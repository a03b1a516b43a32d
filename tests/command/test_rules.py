"""The pack's ``[command]`` section: protocol-9's values, unknown keys and bad values refused."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from fangkong.command.model import KIND, MEASURE
from fangkong.command.rules import CommandRules, CommandRulesError
from fangkong.policy import check_pack_file, load_pack
from fangkong.quarantine.forecast import ForecastOptions

HEAD = """[pack]
extends = "protocol-9"
name = "probe"
version = "1"
title_zh = "探针"
title_en = "probe"
"""


def _rules(name: str = "protocol-9") -> CommandRules:
    return CommandRules.from_pack(load_pack(name))


def _problem(tmp_path: Path, body: str) -> str:
    path = tmp_path / "probe.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    (problem,) = check_pack_file(path)
    return f"{problem.problem.message_zh} / {problem.problem.message_en}"


def test_protocol_9_values() -> None:
    rules = _rules()
    assert rules.briefing_time == time(7, 0)
    assert (rules.curve_days, rules.wall_refresh_seconds) == (14, 60)
    # days left are read up to the demand forecast's horizon, the same number of days
    assert rules.days_left_horizon == ForecastOptions().horizon == 14
    assert set(rules.tasks) == set(KIND)
    assert rules.tasks["alert"].deadline_hours is None  # the alert's own deadlines
    assert rules.tasks["area_need"].deadline_hours is None  # the need's own due time
    assert rules.tasks["closed_loop_overdue"].deadline_hours == 2
    assert not rules.tasks["manual"].automatic
    assert all(rules.tasks[k].automatic for k in KIND if k != "manual")
    assert (rules.escalation.after_hours, rules.escalation.max_level) == (2, 3)
    assert rules.timeliness == {
        "case_reported": 2, "case_verified": 2, "on_site": 2, "core_facts": 4,
        "report": 24, "contacts_controlled": 24, "area_testing": 24,
    }  # fmt: skip
    assert set(rules.timeliness) == set(MEASURE)


def test_an_extending_pack_inherits_the_section() -> None:
    assert _rules("twenty-measures").timeliness == _rules().timeliness


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("[command]\nbriefing_tyme = '07:00'\n", "[command] briefing_tyme"),
        ("[command.tasks.alert]\ndeadline_hourz = 3\n", "[command] tasks.alert.deadline_hourz"),
        ("[command.tasks.no_such_kind]\ndeadline_hours = 3\n", "[command] tasks.no_such_kind"),
        ("[command.escalation]\nevery = 3\n", "[command] escalation.every"),
        ("[command.timeliness]\nfever = 1\n", "[command] timeliness.fever"),
    ],
)
def test_an_unknown_key_is_refused(tmp_path: Path, body: str, key: str) -> None:
    message = _problem(tmp_path, "\n" + body)
    assert key in message
    assert "未知的键" in message
    assert "unknown key" in message


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("[command]\nbriefing_time = '7am'\n", "briefing_time"),
        ("[command]\nbriefing_time = '24:00'\n", "briefing_time"),
        ("[command]\ncurve_days = 0\n", "curve_days"),
        ("[command]\nwall_refresh_seconds = 1\n", "wall_refresh_seconds"),
        ("[command]\ndays_left_horizon = 0\n", "days_left_horizon"),
        ("[command.tasks.late_tubes]\ndeadline_hours = 'source'\n", "tasks.late_tubes"),
        ("[command.tasks.manual]\nautomatic = true\n", "tasks.manual.automatic"),
        ("[command.tasks.alert]\nautomatic = 'yes'\n", "tasks.alert.automatic"),
        ("[command.escalation]\nescalate_after_hours = 0\n", "escalation.escalate_after_hours"),
        ("[command.escalation]\nmax_level = -1\n", "escalation.max_level"),
        ("[command.timeliness]\nreport = 0\n", "timeliness.report"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(tmp_path: Path, body: str, key: str) -> None:
    assert f"[command] {key}" in _problem(tmp_path, "\n" + body)


def test_a_missing_table_is_named() -> None:
    table = {"briefing_time": "07:00", "curve_days": 14, "wall_refresh_seconds": 60,
             "days_left_horizon": 14}  # fmt: skip
    with pytest.raises(CommandRulesError) as raised:
        CommandRules.from_table(table, "probe 1")
    assert raised.value.section == "command"
    assert raised.value.key == "tasks"
