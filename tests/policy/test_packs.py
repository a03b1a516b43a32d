"""Policy packs: the shipped packs load; bad packs are refused naming file, line, rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import fangkong.policy as policy
from fangkong.cli import app
from fangkong.policy import Colour, PackInvalid, check_pack_file, diff_packs, load_pack

runner = CliRunner()
P9 = Path(policy.__file__).parent / "packs" / "protocol-9.toml"


def test_public_names_are_pinned() -> None:
    assert sorted(policy.__all__) == [
        "Colour", "DEFAULT_PACK", "Pack", "PackChange", "PackInvalid", "PackProblem", "Phase",
        "Rule", "TestingGroup", "Text", "VenuePolicy", "builtin_names", "check_pack_file",
        "diff_packs", "load_pack",
    ]  # fmt: skip


def test_shipped_packs_load() -> None:
    assert policy.builtin_names() == ["protocol-9", "twenty-measures"]
    p9 = load_pack()
    assert p9.ref == "protocol-9@2022.06.28"
    cc = p9.rule("close_contact")
    assert [(ph.colour, ph.hours) for ph in cc.phases] == [(Colour.RED, 168), (Colour.YELLOW, 72)]
    tm = load_pack("twenty-measures")
    assert [(ph.colour, ph.hours) for ph in tm.rule("close_contact").phases] == [
        (Colour.RED, 120), (Colour.YELLOW, 72),
    ]  # fmt: skip
    ids = {r.id for r in tm.rules}
    assert "contact_of_contact" not in ids
    assert "residence_medium" not in ids
    assert tm.sections["risk_areas"]["levels"] == ["high", "low"]
    assert p9.venue_policy("school").admit == {Colour.GREEN}
    assert p9.venue_policy("no-such-type") is p9.venues["default"]


def _write(tmp_path: Path, text: str, name: str = "region.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_region_extends_a_pack_and_changes_values(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[pack]\nname = "shanxi"\nversion = "1"\nextends = "protocol-9"\n'
        'title_zh = "山西省"\ntitle_en = "Shanxi"\n\n'
        "[healthcode.testing_groups.general]\ninterval_hours = 72\n",
    )
    pack = load_pack(path)
    assert pack.ref == "shanxi@1"
    assert pack.testing_groups["general"].interval_hours == 72
    assert pack.testing_groups["general"].label.zh == "常态化核酸检测人员"  # inherited
    assert [c.key for c in diff_packs(load_pack(), pack)] == [
        "healthcode.testing_groups.general.interval_hours",
        "pack.name", "pack.source", "pack.title_en", "pack.title_zh", "pack.version",
    ]  # fmt: skip


BAD = [
    ('kind = "managed_period"', 'kind = "managed"', "policy.choice", "discharged_case", "kind"),
    ("days = 7\nmanagement", "days = -7\nmanagement", "policy.type", "discharged_case", "days"),
    ('colour = "red"\nzh = "{status}', 'colour = "pink"\nzh = "{status}', "policy.choice",
     "case", "colour"),
    ("zh = \"{status}，自{since}起赋红码\"", "zh = \"{status}，自{when}起赋红码\"",
     "policy.placeholder", "case", "{when}"),
    ('zh = "{visited}就诊于发热门诊"', 'zh = "visited a fever clinic"', "policy.language",
     "fever_clinic", "Chinese"),
    ("pooled = true", "pooled = true\ncolor = \"red\"", "policy.unknown_key", "positive_pool",
     "color"),
    ("release_test_day = 3\n[[healthcode.rules.close_contact",
     "release_test_day = 9\n[[healthcode.rules.close_contact", "policy.release_day",
     "close_contact", "beyond"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "code", "rule", "words"), BAD, ids=[b[2] for b in BAD])
def test_problems_name_file_line_rule_and_reason(
    tmp_path: Path, old: str, new: str, code: str, rule: str, words: str
) -> None:
    text = P9.read_text(encoding="utf-8")
    assert old in text
    bad = text.replace(old, new, 1)
    path = _write(tmp_path, bad)
    problems = check_pack_file(path)
    assert [p.problem.code for p in problems] == [code]
    p = problems[0]
    assert p.file == str(path)
    assert p.rule_id == rule
    assert p.line is not None
    changed_line = bad.splitlines()[p.line - 1]
    assert changed_line in new.splitlines()
    assert words in p.problem.message_en
    assert p.problem.message_zh != p.problem.message_en
    with pytest.raises(PackInvalid) as caught:
        load_pack(path)
    assert caught.value.code == "policy.invalid"
    assert f"{path}:{p.line} [{rule}]" in caught.value.problem.message_en


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[pack]\nname = "x"\nversion = \n')
    (problem,) = check_pack_file(path)
    assert problem.problem.code == "policy.syntax"
    assert problem.line == 3


def test_problem_in_a_derived_pack_is_reported_in_its_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[pack]\nname = "x"\nversion = "1"\nextends = "protocol-9"\n'
        'title_zh = "某地"\ntitle_en = "somewhere"\n\n'
        '[healthcode.rules.fever_clinic]\ncolour = "orange"\n',
    )
    (problem,) = check_pack_file(path)
    assert (problem.file, problem.line, problem.rule_id) == (str(path), 9, "fever_clinic")


def test_extends_cycle_and_missing_parent(tmp_path: Path) -> None:
    _write(tmp_path, '[pack]\nname = "a"\nversion = "1"\nextends = "b.toml"\n', "a.toml")
    _write(tmp_path, '[pack]\nname = "b"\nversion = "1"\nextends = "a.toml"\n', "b.toml")
    assert [p.problem.code for p in check_pack_file(tmp_path / "a.toml")] == [
        "policy.extends_cycle"
    ]
    _write(tmp_path, '[pack]\nname = "c"\nversion = "1"\nextends = "nope"\n', "c.toml")
    assert [p.problem.code for p in check_pack_file(tmp_path / "c.toml")] == [
        "policy.extends_missing"
    ]


def test_cli_check_show_diff(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["policy", "check", str(P9)])
    assert ok.exit_code == 0, ok.output
    assert "protocol-9@2022.06.28" in ok.output
    bad = _write(tmp_path, P9.read_text(encoding="utf-8").replace('colour = "red"', 'colour = "x"'))
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert result.output.count("policy.choice") > 5  # every problem listed, not just the first
    shown = runner.invoke(app, ["policy", "show", "twenty-measures"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0
    assert "close_contact" in shown.output
    assert "red 5d → yellow 3d" in shown.output
    diff = runner.invoke(app, ["policy", "diff", "protocol-9", "twenty-measures"],
                         env={"COLUMNS": "300"})  # fmt: skip
    assert diff.exit_code == 0
    assert "healthcode.rules.close_contact.phases[0].days" in diff.output
    missing = runner.invoke(app, ["policy", "show", "no-such-pack"])
    assert missing.exit_code == 2


def test_docs_name_every_rule_kind_and_trigger() -> None:
    from fangkong.policy.model import ANCHOR_TRIGGERS, KINDS

    docs = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text("utf-8")
    ids = {r.id for name in policy.builtin_names() for r in load_pack(name).rules}
    missing = [x for x in sorted(ids | set(KINDS) | set(ANCHOR_TRIGGERS)) if f"`{x}`" not in docs]
    assert missing == []
