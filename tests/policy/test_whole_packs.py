"""Whole packs (issue 17, part 2): every section is checked, named by file, line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.policy import PackInvalid, check_pack_file, load_pack
from fangkong.policy.loader import RESERVED_SECTIONS

runner = CliRunner()
HEAD = """[pack]
extends = "protocol-9"
name = "probe"
version = "1"
title_zh = "探针"
title_en = "probe"
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "probe.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


@pytest.mark.parametrize("section", RESERVED_SECTIONS)
def test_an_unknown_key_in_any_section_is_named_by_file_line_and_key(
    tmp_path: Path, section: str
) -> None:
    path = _write(tmp_path, f"\n[{section}]\n# a comment first\nno_such_key = 5\n")
    line = _line_of(path, "no_such_key")
    result = runner.invoke(app, ["policy", "check", str(path)], env={"COLUMNS": "400"})
    assert result.exit_code == 1
    assert f"{path}:{line}" in result.output
    assert f"[{section}] no_such_key" in result.output
    assert "policy.unknown_key" in result.output
    assert "未知的键 no_such_key" in result.output
    assert "unknown key no_such_key" in result.output
    with pytest.raises(PackInvalid) as raised:
        load_pack(path)  # loading anywhere refuses it too, not only the check command
    assert raised.value.problems[0].line == line


@pytest.mark.parametrize("section", ["pack", "healthcode", *RESERVED_SECTIONS])
def test_every_section_refuses_an_unknown_key_with_one_code(tmp_path: Path, section: str) -> None:
    """One code for an unknown key whatever the section (issue 17): a tool reading
    ``policy check`` tells "a key I mistyped" from "a value out of range" the same way in
    every section; the problem names the file, the line and the key."""
    if section == "pack":
        path = _write(tmp_path, "")
        path.write_text(HEAD.replace("[pack]\n", "[pack]\nno_such_key = 5\n"), encoding="utf-8")
    else:
        path = _write(tmp_path, f"\n[{section}]\nno_such_key = 5\n")
    (problem,) = check_pack_file(path)
    assert problem.problem.code == "policy.unknown_key"
    assert (problem.file, problem.line) == (str(path), _line_of(path, "no_such_key"))
    for message in (problem.problem.message_zh, problem.problem.message_en):
        assert "no_such_key" in message


@pytest.mark.parametrize(
    "table",
    ["risk_areas.lifting.high", "testing.campaign", "quarantine.follow_up", "command.escalation",
     "care.transfer", "supply.goods.grain", "roads.task_hours", "logistics.colours",
     "alerts.triggers.fever_cluster", "contacts.venue_types.market", "arrivals.risks.high"],
)  # fmt: skip
def test_a_nested_unknown_key_has_the_same_code(tmp_path: Path, table: str) -> None:
    path = _write(tmp_path, f"\n[{table}]\nno_such_key = 5\n")
    (problem,) = check_pack_file(path)
    assert problem.problem.code == "policy.unknown_key"
    assert problem.line == _line_of(path, "no_such_key")


def test_a_detector_parameter_its_method_lacks_is_an_unknown_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "\n[surveillance.detectors.fever_clinic_daily.params]\nbogus = 1\n")
    (problem,) = check_pack_file(path)
    assert problem.problem.code == "policy.unknown_key"
    assert "params.bogus" in problem.problem.message_en


def test_a_child_missing_a_pack_key_is_named_at_its_own_pack_table(tmp_path: Path) -> None:
    """The parent's ``name`` is not inherited ([pack] is each file's own), so the problem
    is the child's: its file and its [pack] line, never the parent's file."""
    path = tmp_path / "child.toml"
    path.write_text(
        '# a regional pack\n\n[pack]\nextends = "protocol-9"\nversion = "1"\n'
        'title_zh = "测"\ntitle_en = "t"\n',
        encoding="utf-8",
    )
    (problem,) = check_pack_file(path)
    assert problem.problem.code == "policy.missing"
    assert (problem.file, problem.line) == (str(path), 3)
    assert "[pack] name is missing" in problem.problem.message_en
    result = runner.invoke(app, ["policy", "check", str(path)], env={"COLUMNS": "400"})
    assert f"{path}:3:" in result.output
    assert "protocol-9.toml" not in result.output


def test_a_childs_bad_pack_value_is_named_at_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    path.write_text(HEAD.replace('version = "1"', "version = true"), encoding="utf-8")
    (problem,) = check_pack_file(path)
    assert (problem.file, problem.line) == (str(path), _line_of(path, "version"))


def test_nested_unknown_keys_are_named_with_their_table(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "\n[risk_areas.lifting.high]\nlift_after_dayz = 3\n"
        "\n[testing.campaign]\nshift_hourz = 8\n"
        "\n[arrivals.transfer]\nroad_factr = 1.2\n",
    )
    problems = check_pack_file(path)
    found = {(p.line, p.problem.message_en.split(":")[0]) for p in problems}
    assert found == {
        (_line_of(path, "lift_after_dayz"), "[risk_areas] lifting.high.lift_after_dayz"),
        (_line_of(path, "shift_hourz"), "[testing] campaign.shift_hourz"),
        (_line_of(path, "road_factr"), "[arrivals] transfer.road_factr"),
    }  # every section's problem, not only the first


def test_a_bad_value_is_reported_at_the_file_that_set_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "\n[quarantine.follow_up]\nchecks_per_day = 0\n")
    (problem,) = check_pack_file(path)
    assert problem.file == str(path)
    assert problem.line == _line_of(path, "checks_per_day")
    assert "[quarantine] follow_up.checks_per_day" in problem.problem.message_zh


def test_a_pack_without_its_pack_table_names_each_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "headless.toml"
    path.write_text('[healthcode.venues.default]\nadmit = ["green"]\n', encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(path)], env={"COLUMNS": "400"})
    assert result.exit_code == 1
    for key in ("name", "version", "title_zh", "title_en"):
        assert f"[pack] 缺少 {key} / [pack] {key} is missing" in result.output
    assert "缺少  /" not in result.output


def test_show_prints_every_section() -> None:
    shown = runner.invoke(app, ["policy", "show", "protocol-9"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    for section in ("healthcode", *RESERVED_SECTIONS):
        assert f"[{section}]" in shown.output
    assert "lifting.medium.lift_after_days_when_downgraded" in shown.output  # risk-area lifting
    assert "follow_up.checks_per_day" in shown.output  # quarantine


def test_every_section_a_pack_sets_has_a_title_in_both_languages() -> None:
    """``policy show`` titles each section in zh and en ("[roads] 道路通行状态 / road
    status"), never its key twice ("roads / roads")."""
    from fangkong.policy.cli import SECTION_TITLES
    from fangkong.policy.loader import builtin_names

    set_by_packs = {s for name in builtin_names() for s in load_pack(name).data}
    assert set_by_packs - {"pack", "healthcode"} <= set(RESERVED_SECTIONS)
    for section in RESERVED_SECTIONS:
        zh, en = SECTION_TITLES[section]
        assert re.search(r"[\u4e00-\u9fff]", zh), section
        assert en.strip(), section
        assert not re.search(r"[\u4e00-\u9fff]", en), section
    shown = runner.invoke(app, ["policy", "show", "protocol-9"], env={"COLUMNS": "300"})
    for section in RESERVED_SECTIONS:
        zh, en = SECTION_TITLES[section]
        assert f"[{section}] {zh} / {en}" in shown.output
        assert f"[{section}] {section} / {section}" not in shown.output


@pytest.mark.parametrize("name", ["protocol-9", "twenty-measures"])
def test_shipped_packs_pass_the_whole_check(name: str) -> None:
    result = runner.invoke(app, ["policy", "check", name])
    assert result.exit_code == 0, result.output
    assert check_pack_file(Path(load_pack(name).path or "")) == []


@pytest.mark.parametrize(
    "table",
    [
        "quarantine.follow_up", "quarantine.surge.home_fallback", "quarantine.close_contact",
        "risk_areas.suggest", "risk_areas.needs.kinds.medicine", "testing.retest",
        "arrivals.risks.high", "contacts.venue_types.market", "alerts.triggers.fever_cluster",
    ],
)  # fmt: skip
def test_an_unknown_key_in_a_nested_table_is_rejected(tmp_path: Path, table: str) -> None:
    path = _write(tmp_path, f"\n[{table}]\nbogus_key = 1\n")
    (problem,) = check_pack_file(path)
    section, _, inner = table.partition(".")
    assert problem.line == _line_of(path, "bogus_key")
    assert f"[{section}] {inner}.bogus_key" in problem.problem.message_en
