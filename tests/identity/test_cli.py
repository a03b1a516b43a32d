"""``fangkong id check``.

The command is tested on the ``id`` group itself; ``TestThroughRoot`` runs the same
command through the root ``fangkong`` app and is skipped while that app cannot be
imported (its other groups are being written in parallel).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fangkong.identity.cli import CheckType, app, detect_kind
from fangkong.identity.resident_id import check_character

VALID = "11010519491231002X"
WRONG_CHECK = "110105194912310021"


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANGKONG_LANG", "en")
    monkeypatch.setenv("FANGKONG_TIMEZONE", "Asia/Shanghai")
    monkeypatch.delenv("FANGKONG_PHONE_REGION", raising=False)


def run(*args: str, group: typer.Typer = app, prefix: tuple[str, ...] = ()) -> Any:
    return CliRunner().invoke(group, [*prefix, "check", *args])


def test_valid_resident_id() -> None:
    result = run(VALID)
    assert result.exit_code == 0, result.output
    assert result.output.split() == [VALID, "valid", "1949-12-31", "F"]


def test_wrong_check_character_exits_1_with_the_reason() -> None:
    result = run(WRONG_CHECK)
    assert result.exit_code == 1
    assert "invalid" in result.output
    assert "id.check_char" in result.output
    assert "check character should be X" in result.output


def test_message_language_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANGKONG_LANG", "zh")
    assert "校验码应为 X" in run(WRONG_CHECK).output
    monkeypatch.setenv("FANGKONG_LANG", "zh+en")
    assert "校验码应为 X / check character should be X" in run(WRONG_CHECK).output


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (with_check("11010519990231002"), "id.birth_date_invalid"),
        (with_check("11010520990101002"), "id.birth_date_future"),
        (with_check("99010519491231002"), "id.province_unknown"),
    ],
)
def test_acceptance_failures(value: str, code: str) -> None:
    result = run(value)
    assert result.exit_code == 1
    codes = [line.split()[0] for line in result.output.splitlines()[1:]]
    assert codes == [code]


def test_legacy_number_is_converted() -> None:
    result = run("110105491231002", "--json")
    assert result.exit_code == 0
    (item,) = json.loads(result.output)
    assert item["normalized"] == VALID
    assert item["birth_date"] == "1949-12-31"


def test_one_line_per_value_and_exit_1_if_any_invalid() -> None:
    result = run(VALID, "13812341234", WRONG_CHECK)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if not line.startswith(" ")]
    assert [line.split()[1] for line in lines] == ["valid", "valid", "invalid"]


def test_json_output() -> None:
    result = run(VALID, WRONG_CHECK, "+8613812341234", "--json")
    assert result.exit_code == 1
    items = json.loads(result.output)
    assert items[0] == {
        "value": VALID,
        "kind": "resident_id",
        "valid": True,
        "normalized": VALID,
        "birth_date": "1949-12-31",
        "sex": "F",
        "problems": [],
    }
    assert items[1]["problems"] == [
        {
            "code": "id.check_char",
            "message_zh": "校验码应为 X",
            "message_en": "check character should be X",
        }
    ]
    assert items[2]["kind"] == "phone"
    assert items[2]["normalized"] == "+8613812341234"


def test_explicit_types() -> None:
    assert run("E12345678", "--type", "passport", "--country", "USA").exit_code == 0
    result = run("E12345678", "--type", "passport", "--json")
    assert result.exit_code == 1
    assert json.loads(result.output)[0]["problems"][0]["code"] == "document.country_required"
    assert run("010-12345678", "--type", "phone").exit_code == 0
    assert run("020 7946 0018", "--type", "phone", "--country", "GBR").exit_code == 0
    assert run("H12345678", "--type", "HK_MACAO_PERMIT").exit_code == 0


def test_unrecognisable_value() -> None:
    result = run("hello")
    assert result.exit_code == 1
    assert "identity.kind_unknown" in result.output


def test_usage_errors_exit_2() -> None:
    assert run().exit_code == 2
    assert run(VALID, "--type", "library_card").exit_code == 2
    assert run(VALID, "--bogus").exit_code == 2


def test_bad_timezone_setting_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANGKONG_TIMEZONE", "Mars/Olympus")
    assert run(VALID).exit_code == 2


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (VALID, CheckType.RESIDENT_ID),
        ("11010519491231002x", CheckType.RESIDENT_ID),
        ("110105491231002", CheckType.RESIDENT_ID),
        ("1101051949", CheckType.RESIDENT_ID),  # a mistyped ID should get id.length
        ("13812341234", CheckType.PHONE),
        ("+1 202 555 0123", CheckType.PHONE),
        ("E12345678", None),
    ],
)
def test_detect_kind(value: str, kind: CheckType | None) -> None:
    assert detect_kind(value) is kind


class TestThroughRoot:
    """The same command as ``fangkong id check`` on the root app."""

    @pytest.fixture
    def root(self) -> typer.Typer:
        try:
            module = importlib.import_module("fangkong.cli")
        except ImportError as exc:
            pytest.skip(f"root CLI not importable yet: {exc}")
        root_app: typer.Typer = module.app
        return root_app

    def test_valid(self, root: typer.Typer) -> None:
        result = run(VALID, group=root, prefix=("id",))
        assert result.exit_code == 0, result.output
        assert result.output.split() == [VALID, "valid", "1949-12-31", "F"]

    def test_invalid(self, root: typer.Typer) -> None:
        result = run(WRONG_CHECK, group=root, prefix=("id",))
        assert result.exit_code == 1
        assert "id.check_char" in result.output
