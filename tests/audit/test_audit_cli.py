"""The audit chain and the user/role/token/audit commands, on both backends."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, delete, select, update
from typer.testing import CliRunner

from fangkong.audit import verify
from fangkong.cli import app
from fangkong.keys import ServerKeys
from fangkong.store.schema import audit_log, role_rights, users
from tests.api.helpers import logged_in, make_app, person_ids
from tests.audit.tamper import drop_append_only_triggers
from tests.conftest import TEST_SERVER_KEY, database_url, shell_env

runner = CliRunner()
KEY = ServerKeys.from_master(TEST_SERVER_KEY).audit


def _env(engine: Engine, home: Path) -> dict[str, str]:
    return {**shell_env(home), "FANGKONG_DATABASE_URL": database_url(engine), "COLUMNS": "200"}


def _reads(engine: Engine, home: Path, n: int = 4) -> None:
    c = logged_in(make_app(engine, home), "epi")
    for pid in person_ids(engine, "140102")[:n]:
        assert c.get(f"/api/v1/persons/{pid}").status_code == 200


def test_tampered_audit_row_is_detected(province: Engine, tmp_path: Path) -> None:
    _reads(province, tmp_path)
    env = _env(province, tmp_path)
    intact = runner.invoke(app, ["audit", "verify"], env=env)
    assert intact.exit_code == 0, intact.output
    assert "intact" in intact.output

    with province.connect() as conn:
        target = conn.execute(
            select(audit_log.c.seq)
            .where(audit_log.c.action == "person.read")
            .order_by(audit_log.c.seq)
            .limit(1)
        ).scalar_one()
    drop_append_only_triggers(province)  # the database refuses edits: get past it first
    with province.begin() as conn:  # someone hides who read the record
        conn.execute(update(audit_log).where(audit_log.c.seq == target).values(actor="viewer"))
    broken = runner.invoke(app, ["audit", "verify"], env=env)
    assert broken.exit_code == 1
    assert f"row {target}" in broken.output
    assert "altered" in broken.output


def test_removed_rows_are_detected(province: Engine, tmp_path: Path) -> None:
    _reads(province, tmp_path)
    _count, breaks = verify(province, KEY)
    assert breaks == []
    drop_append_only_triggers(province)  # the database refuses deletes: get past it first
    with province.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 3))
    _, breaks = verify(province, KEY)
    assert {b.seq for b in breaks} == {4}
    assert any("missing" in b.reason for b in breaks)
    with province.begin() as conn:  # the newest row removed: the head no longer matches
        newest = conn.execute(select(audit_log.c.seq).order_by(audit_log.c.seq.desc())).first()
        assert newest is not None
        conn.execute(delete(audit_log).where(audit_log.c.seq == newest.seq))
    _, breaks = verify(province, KEY)
    assert any("head" in b.reason for b in breaks)
    # a row forged without the server key does not verify either
    assert verify(province, bytes(32))[1]


def test_audit_search_by_person_and_user(province: Engine, tmp_path: Path) -> None:
    _reads(province, tmp_path, 2)
    pid = person_ids(province, "140102")[0]
    env = _env(province, tmp_path)
    result = runner.invoke(app, ["audit", "search", "--person", str(pid)], env=env)
    assert result.exit_code == 0, result.output
    assert "person.read" in result.output
    assert "1 rows" in result.output
    result = runner.invoke(app, ["audit", "search", "--user", "epi"], env=env)
    assert "login" in result.output
    assert "3 rows" in result.output


def test_user_role_and_token_commands(province: Engine, tmp_path: Path) -> None:
    env = _env(province, tmp_path)
    added = runner.invoke(
        app,
        [
            "user",
            "add",
            "tracer1",
            "--role",
            "contact_tracer",
            "--region",
            "140121",
            "--password-stdin",
        ],
        input="a long enough password\n",
        env=env,
    )
    assert added.exit_code == 0, added.output
    generated = runner.invoke(
        app, ["user", "add", "lab1", "--role", "lab", "--region", "140102"], env=env
    )
    assert generated.exit_code == 0
    assert "shown once" in generated.output
    listed = runner.invoke(app, ["user", "list"], env=env)
    assert "tracer1" in listed.output
    assert "contact_tracer" in listed.output
    with province.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.username == "tracer1"))
        assert stored.scalar_one().startswith("$argon2id$")

    assert runner.invoke(app, ["user", "role", "tracer1", "viewer"], env=env).exit_code == 0
    assert runner.invoke(app, ["user", "role", "tracer1", "pilot"], env=env).exit_code == 2
    bad = runner.invoke(
        app,
        ["user", "add", "x", "--role", "viewer", "--region", "140102", "--password-stdin"],
        input="short\n",
        env=env,
    )
    assert bad.exit_code == 2
    assert (
        runner.invoke(
            app, ["user", "add", "far", "--role", "viewer", "--region", "999999"], env=env
        ).exit_code
        == 2
    )

    assert (
        runner.invoke(app, ["role", "grant", "viewer", "person.read_full"], env=env).exit_code == 0
    )
    with province.connect() as conn:
        held = set(
            conn.execute(
                select(role_rights.c.right).where(role_rights.c.role == "viewer")
            ).scalars()
        )
    assert "person.read_full" in held
    assert (
        runner.invoke(app, ["role", "revoke", "viewer", "person.read_full"], env=env).exit_code == 0
    )
    assert runner.invoke(app, ["role", "grant", "viewer", "fly"], env=env).exit_code == 2
    assert "viewer" in runner.invoke(app, ["role", "list"], env=env).output

    from fangkong.store.schema import venues

    with province.connect() as conn:
        venue = conn.execute(select(venues.c.code).limit(1)).scalar_one()
    token = runner.invoke(
        app, ["token", "issue", "--scope", "scan", "--venue", venue, "--days", "7"], env=env
    )
    assert token.exit_code == 0, token.output
    assert "fkd_" in token.output
    assert (
        runner.invoke(
            app, ["token", "issue", "--scope", "fly", "--venue", venue], env=env
        ).exit_code
        == 2
    )

    verified = runner.invoke(app, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output


def test_granted_right_takes_effect(province: Engine, tmp_path: Path) -> None:
    env = _env(province, tmp_path)
    app_ = make_app(province, tmp_path)
    pid = person_ids(province, "140102")[0]
    assert logged_in(app_, "viewer").get(f"/api/v1/persons/{pid}").json()["masked"] is True
    assert (
        runner.invoke(app, ["role", "grant", "viewer", "person.read_full"], env=env).exit_code == 0
    )
    assert logged_in(app_, "viewer").get(f"/api/v1/persons/{pid}").json()["masked"] is False


def test_demo_admin_can_log_in_each_run(province: Engine, tmp_path: Path) -> None:
    from fangkong.auth.users import demo_admin
    from tests.api.helpers import client, login

    app_ = make_app(province, tmp_path)
    _, first = demo_admin(province, KEY, "140000")  # "admin" exists: its password is reset
    user, second = demo_admin(province, KEY, "140000")
    assert first != second
    assert login(client(app_), user, second).status_code == 303
    assert login(client(app_), user, first).status_code == 401
    assert verify(province, KEY)[1] == []
