"""`fangkong token issue --help` names every device scope the code accepts."""

from __future__ import annotations

from typer.testing import CliRunner

from fangkong.auth.rights import DEVICE_SCOPES
from fangkong.cli import app


def test_token_issue_help_lists_every_scope() -> None:
    result = CliRunner().invoke(app, ["token", "issue", "--help"])
    assert result.exit_code == 0, result.output
    words = set(result.output.replace(",", " ").replace(".", " ").split())
    assert len(DEVICE_SCOPES) >= 6
    assert [scope for scope in DEVICE_SCOPES if scope not in words] == []
