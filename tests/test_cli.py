"""The command line: help everywhere, exit codes, settings, docs that match the commands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fangkong import __version__
from fangkong.cli import app
from fangkong.settings import SETTINGS, SettingError, load_settings

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _commands() -> list[tuple[str, ...]]:
    """Every command path, e.g. ('import', 'persons')."""
    found: list[tuple[str, ...]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"fangkong {__version__}"


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "fangkong")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_every_command_is_documented() -> None:
    docs = (ROOT / "README.md").read_text(encoding="utf-8") + (ROOT / "docs" / "cli.md").read_text(
        encoding="utf-8"
    )
    missing = [" ".join(p) for p in _commands() if p and f"fangkong {' '.join(p)}" not in docs]
    assert missing == []


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [s.env for s in SETTINGS if s.env not in docs] == []


def test_usage_errors_exit_2() -> None:
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
    assert runner.invoke(app, ["import", "regions"]).exit_code == 2


def test_settings_show_values_and_sources(tmp_path: Path) -> None:
    env = {"FANGKONG_HOME": str(tmp_path), "FANGKONG_SEAL_KEY": "c2VjcmV0", "COLUMNS": "400"}
    result = runner.invoke(app, ["settings"], env=env)
    assert result.exit_code == 0
    assert str(tmp_path) in result.output
    assert "FANGKONG_DATABASE_URL" in result.output
    assert "c2VjcmV0" not in result.output  # the key is never printed


def test_settings_defaults_and_overrides(tmp_path: Path) -> None:
    s = load_settings({})
    assert s.home == Path("fangkong-data")
    assert s.database_url == "sqlite:///fangkong-data/fangkong.db"
    s = load_settings({"FANGKONG_HOME": str(tmp_path), "FANGKONG_IMPORT_BATCH_SIZE": "7"})
    assert s.database_url == f"sqlite:///{tmp_path}/fangkong.db"
    assert s.import_batch_size == 7
    assert s.key_path == tmp_path / "keys" / "seal.key"


@pytest.mark.parametrize(
    ("env", "setting"),
    [({"FANGKONG_IMPORT_BATCH_SIZE": "0"}, "FANGKONG_IMPORT_BATCH_SIZE"),
     ({"FANGKONG_LANG": "fr"}, "FANGKONG_LANG")],
)  # fmt: skip
def test_bad_settings_are_named(env: dict[str, str], setting: str) -> None:
    with pytest.raises(SettingError, match=re.escape(setting)):
        load_settings(env)
    result = runner.invoke(app, ["settings"], env=env)
    assert result.exit_code == 2
