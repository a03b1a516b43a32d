"""`fangkong user passwd|disable|enable` through the real CLI, and what login and the
sessions make of them, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from fangkong.audit import verify
from fangkong.auth.model import Actor, cli_actor
from fangkong.auth.rights import USER_MANAGE
from fangkong.auth.users import disable_user, set_password
from fangkong.cli import app
from fangkong.errors import InvalidFields, NotFound
from fangkong.keys import ServerKeys
from fangkong.store.schema import audit_log, user_sessions, users
from tests.api.helpers import client, logged_in, login, make_app
from tests.conftest import PASSWORD, TEST_SERVER_KEY, database_url, shell_env

runner = CliRunner()
KEY = ServerKeys.from_master(TEST_SERVER_KEY).audit
NEW_PASSWORD = "a brand new password"


def _env(engine: Engine, home: Path) -> dict[str, str]:
    return {**shell_env(home), "FANGKONG_DATABASE_URL": database_url(engine), "COLUMNS": "200"}


def _user_id(engine: Engine, username: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one()
        )


def _sessions(engine: Engine, username: str) -> int:
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(user_sessions)
            .where(user_sessions.c.user_id == _user_id(engine, username))
        )
        return int(count.scalar_one())


def _audited(engine: Engine, action: str) -> list[tuple[str, str, str | None, str | None]]:
    """(actor, outcome, target_id, detail) of every row of ``action``, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.outcome, audit_log.c.target_id,
                   audit_log.c.detail)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        )  # fmt: skip
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_passwd_changes_the_password_and_ends_the_sessions(
    province: Engine, tmp_path: Path
) -> None:
    env, web = _env(province, tmp_path), make_app(province, tmp_path)
    first, second = logged_in(web, "epi"), logged_in(web, "epi")
    assert _sessions(province, "epi") == 2

    short = runner.invoke(
        app, ["user", "passwd", "epi", "--password-stdin"], input="short\n", env=env
    )
    assert short.exit_code == 2
    assert _sessions(province, "epi") == 2  # refused: nothing changed

    changed = runner.invoke(
        app, ["user", "passwd", "epi", "--password-stdin"], input=NEW_PASSWORD + "\n", env=env
    )
    assert changed.exit_code == 0, changed.output
    assert "password changed" in changed.output
    assert _sessions(province, "epi") == 0
    for c in (first, second):
        assert c.get("/", follow_redirects=False).status_code == 303  # back to the login page

    assert login(client(web), "epi", PASSWORD).status_code == 401
    assert login(client(web), "epi", NEW_PASSWORD).status_code == 303
    epi = str(_user_id(province, "epi"))
    assert _audited(province, "user.password") == [(cli_actor().name, "ok", epi, None)]
    assert verify(province, KEY)[1] == []


def test_passwd_asks_twice_without_showing_it(province: Engine, tmp_path: Path) -> None:
    env, web = _env(province, tmp_path), make_app(province, tmp_path)
    typed = f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    result = runner.invoke(app, ["user", "passwd", "viewer"], input=typed, env=env)
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert login(client(web), "viewer", NEW_PASSWORD).status_code == 303

    mismatch = runner.invoke(
        app, ["user", "passwd", "viewer"], input=f"{NEW_PASSWORD}\nsomething else!\n", env=env
    )
    assert mismatch.exit_code != 0  # asked again, then stdin ran out: nothing changed
    assert login(client(web), "viewer", NEW_PASSWORD).status_code == 303

    nobody = runner.invoke(
        app, ["user", "passwd", "nobody", "--password-stdin"], input=NEW_PASSWORD + "\n", env=env
    )
    assert nobody.exit_code == 2
    assert "no such user" in nobody.output


def test_disable_refuses_login_until_enable(province: Engine, tmp_path: Path) -> None:
    env, web = _env(province, tmp_path), make_app(province, tmp_path)
    session = logged_in(web, "epi")
    assert runner.invoke(app, ["user", "disable", "epi"], env=env).exit_code == 2  # no reason
    blank = runner.invoke(app, ["user", "disable", "epi", "--reason", "  "], env=env)
    assert blank.exit_code == 2
    assert _sessions(province, "epi") == 1

    disabled = runner.invoke(app, ["user", "disable", "epi", "--reason", "left the team"], env=env)
    assert disabled.exit_code == 0, disabled.output
    assert "user disabled" in disabled.output
    assert _sessions(province, "epi") == 0
    assert session.get("/", follow_redirects=False).status_code == 303

    # the right password is told the account is disabled; a wrong one learns nothing
    right = login(client(web), "epi")
    assert right.status_code == 403
    assert "已停用" in right.text
    assert "fk_session" not in right.cookies
    wrong = login(client(web), "epi", "not the password")
    assert wrong.status_code == 401
    assert "停用" not in wrong.text
    english = client(web)
    english.get("/lang/en")  # the page language is a cookie
    assert "this account is disabled" in login(english, "epi").text

    listed = runner.invoke(app, ["user", "list"], env=env)
    assert "disabled" in listed.output
    assert "left the team" in listed.output
    again = runner.invoke(app, ["user", "disable", "epi", "--reason", "twice"], env=env)
    assert "disabled already" in again.output

    enabled = runner.invoke(app, ["user", "enable", "epi"], env=env)
    assert enabled.exit_code == 0, enabled.output
    assert "user enabled" in enabled.output
    assert login(client(web), "epi").status_code == 303
    with province.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == "epi")).one()
    assert (row.active, row.disabled_at, row.disabled_reason) == (True, None, None)
    assert "not disabled" in runner.invoke(app, ["user", "enable", "epi"], env=env).output

    epi, cli = str(_user_id(province, "epi")), cli_actor().name
    assert _audited(province, "user.disable") == [
        (cli, "ok", epi, "left the team"),
        (cli, "noop", epi, "twice"),
    ]
    assert _audited(province, "user.enable") == [(cli, "ok", epi, None), (cli, "noop", epi, None)]
    with province.connect() as conn:
        outcomes = conn.execute(
            select(audit_log.c.outcome)
            .where(audit_log.c.action == "login", audit_log.c.actor == "epi")
            .order_by(audit_log.c.seq)
        ).scalars()
        assert list(outcomes) == ["ok", "disabled", "bad_credentials", "disabled", "ok"]
    assert verify(province, KEY)[1] == []


def test_a_password_change_can_keep_the_changing_session(province: Engine, tmp_path: Path) -> None:
    web = make_app(province, tmp_path)
    mine, other = logged_in(web, "epi"), logged_in(web, "epi")
    token = mine.cookies["fk_session"]
    set_password(province, KEY, cli_actor(), "epi", NEW_PASSWORD, "test", keep_session=token)
    assert _sessions(province, "epi") == 1
    assert mine.get("/", follow_redirects=False).status_code == 200
    assert other.get("/", follow_redirects=False).status_code == 303


def test_users_outside_the_jurisdiction_are_not_found(province: Engine) -> None:
    county_admin = Actor(
        kind="user", name="county", rights=frozenset({USER_MANAGE}), region_code="140121"
    )
    with pytest.raises(NotFound):  # epi works in 140102, outside 140121
        disable_user(province, KEY, county_admin, "epi", "not mine", "test")
    with pytest.raises(NotFound):
        set_password(province, KEY, county_admin, "epi", NEW_PASSWORD, "test")
    with pytest.raises(InvalidFields):
        set_password(province, KEY, county_admin, "county2", "short", "test")
    set_password(province, KEY, county_admin, "county2", NEW_PASSWORD, "test")
