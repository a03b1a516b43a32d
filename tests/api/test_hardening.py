"""Issue 16, findings 6 and "not yet tried": forwarded headers believed only from the
configured proxies (a real uvicorn), HSTS by setting, device tokens listed and revoked,
roles created from the command line, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner, Result

from fangkong.auth.admin import list_device_tokens, revoke_device_token
from fangkong.auth.devices import issue_device_token
from fangkong.auth.model import cli_actor
from fangkong.cli import app as cli_app
from fangkong.errors import Conflict, InvalidFields
from fangkong.keys import ServerKeys
from fangkong.server.cli import proxy_options
from fangkong.settings import load_settings
from fangkong.store.schema import audit_log, device_tokens, venues
from tests.api.helpers import client, logged_in, login, make_app, person_ids
from tests.conftest import PASSWORD, TEST_SERVER_KEY, shell_env
from tests.web.live import live_server

AUDIT_KEY = ServerKeys.from_master(TEST_SERVER_KEY).audit
HSTS = "max-age=31536000; includeSubDomains"
FORGED = "203.0.113.7"
runner = CliRunner()


def _venue(engine: Engine, county: str = "140102") -> str:
    with engine.connect() as conn:
        codes = conn.execute(select(venues.c.code, venues.c.region_code)).all()
    return next(code for code, region in codes if region.startswith(county))


def _invoke(engine: Engine, home: Path, *args: str, stdin: str | None = None) -> Result:
    env = {**shell_env(home), "FANGKONG_DATABASE_URL": engine.url.render_as_string(False)}
    return runner.invoke(cli_app, list(args), input=stdin, env={**env, "COLUMNS": "300"})


def _cli(engine: Engine, home: Path, *args: str, stdin: str | None = None) -> str:
    result = _invoke(engine, home, *args, stdin=stdin)
    assert result.exit_code == 0, result.output
    return result.output


@contextmanager
def served(engine: Engine, home: Path, **env: str) -> Iterator[str]:
    """A real uvicorn with the proxy options ``fangkong serve`` gives it."""
    cfg = load_settings({**shell_env(home), **env})
    with live_server(engine, home, make_app(engine, home, **env), **proxy_options(cfg)) as url:
        yield url


def _login_addresses(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.address).where(audit_log.c.action == "login"))
        return list(rows.scalars())


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"], ids=["no-proxy", "proxy"])
def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    province: Engine, tmp_path: Path, trusted: str
) -> None:
    env = {"FANGKONG_LOGIN_RATE_PER_MINUTE": "2", "FANGKONG_COOKIE_SECURE": "false",
           "FANGKONG_TRUSTED_PROXIES": trusted}  # fmt: skip
    with served(province, tmp_path, **env) as url:
        with httpx.Client(base_url=url) as c:
            assert [login(c, "nobody", "wrong password!").status_code for _ in range(2)] == [
                401,
                401,
            ]
        # the same peer claims to be someone else
        with httpx.Client(base_url=url, headers={"X-Forwarded-For": FORGED}) as c:
            claimed = login(c, "epi").status_code
    addresses = _login_addresses(province)
    if trusted:  # behind the proxy the header names the client: its own allowance
        assert claimed == 303
        assert addresses[-1] == FORGED
    else:  # the header is ignored: the rate limit holds and the audit names the peer
        assert claimed == 429
        assert set(addresses) == {"127.0.0.1"}


def test_the_proxy_setting_is_checked() -> None:
    assert load_settings({"FANGKONG_TRUSTED_PROXIES": " 10.0.0.0/8, ::1 "}).trusted_proxies == (
        "10.0.0.0/8",
        "::1/128",
    )
    assert proxy_options(load_settings({})) == {"proxy_headers": False}
    with pytest.raises(ValueError, match="FANGKONG_TRUSTED_PROXIES"):
        load_settings({"FANGKONG_TRUSTED_PROXIES": "localhost"})


@pytest.mark.parametrize("https", [True, False], ids=["https", "http"])
def test_hsts_only_when_reached_over_https(province: Engine, tmp_path: Path, https: bool) -> None:
    app = make_app(province, tmp_path, FANGKONG_HTTPS=str(https).lower())
    c = client(app)
    answers = [
        c.get("/health"),
        c.get("/login"),
        c.get("/api/v1/session"),  # a problem (401)
        client(app, Authorization="Bearer fkd_nothing").post("/api/v1/scan", json={}),
    ]
    assert [r.headers.get("strict-transport-security") for r in answers] == [
        HSTS if https else None
    ] * len(answers)


def test_a_revoked_token_is_refused_at_once(province: Engine, tmp_path: Path) -> None:
    token, _ = issue_device_token(
        province, AUDIT_KEY, cli_actor(), "scan", _venue(province), 30, "test"
    )
    app = make_app(province, tmp_path)
    device = client(app, Authorization=f"Bearer {token}")
    assert device.get("/api/v1/scan/device").status_code == 200
    (listed,) = list_device_tokens(province, cli_actor())
    assert revoke_device_token(province, AUDIT_KEY, cli_actor(), listed.id, "test") is True
    refused = device.get("/api/v1/scan/device")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token.invalid"
    # a server that never cached it refuses its scans too
    scan = client(make_app(province, tmp_path), Authorization=f"Bearer {token}")
    body = {"venue_code": _venue(province), "device_time": "2022-03-01T08:00:00+08:00",
            "event_id": "e1", "token": "x"}  # fmt: skip
    assert scan.post("/api/v1/scan", json=body).status_code == 401
    assert revoke_device_token(province, AUDIT_KEY, cli_actor(), listed.id, "test") is False
    with province.connect() as conn:
        actions = conn.execute(
            select(audit_log.c.action, audit_log.c.outcome).where(
                audit_log.c.action == "token.revoke"
            )
        ).all()
    assert [tuple(a) for a in actions] == [("token.revoke", "ok"), ("token.revoke", "noop")]


def test_token_commands_list_and_revoke_never_show_the_token(
    province: Engine, tmp_path: Path
) -> None:
    output = _cli(province, tmp_path, "token", "issue", "--scope", "scan", "--venue",
                  _venue(province))  # fmt: skip
    token = next(w for w in output.split() if w.startswith("fkd_"))
    with province.connect() as conn:
        row = conn.execute(select(device_tokens)).one()
    assert (row.expires_at - row.created_at).days == 30  # the shorter default life
    listed = _cli(province, tmp_path, "token", "list")
    assert token not in listed
    assert "active" in listed
    assert _venue(province) in listed
    _cli(province, tmp_path, "token", "revoke", str(row.id))
    assert "revoked" in _cli(province, tmp_path, "token", "list")


def test_a_role_added_at_run_time_gives_exactly_its_rights(
    province: Engine, tmp_path: Path
) -> None:
    _cli(province, tmp_path, "role", "add", "venue-desk", "--right", "venue.read",
         "--description", "场所查询 / venue desk")  # fmt: skip
    assert "venue.read" in _cli(province, tmp_path, "role", "rights", "venue-desk")
    _cli(province, tmp_path, "user", "add", "desk", "--role", "venue-desk", "--region",
         "140102")  # fmt: skip
    _cli(province, tmp_path, "user", "passwd", "desk", "--password-stdin", stdin=PASSWORD + "\n")
    app = make_app(province, tmp_path)
    c = logged_in(app, "desk")
    assert c.get("/api/v1/session").json()["rights"] == ["venue.read"]
    assert c.get(f"/api/v1/venues/{_venue(province)}").status_code == 200
    assert c.get(f"/api/v1/persons/{person_ids(province, '140102')[0]}").status_code == 403
    assert c.get("/api/v1/audit").status_code == 403
    # removing a role someone holds is refused; unknown rights are named
    removed = _invoke(province, tmp_path, "role", "remove", "venue-desk")
    assert removed.exit_code == 2
    assert "change their role first" in removed.output
    with province.connect() as conn:
        audited = conn.execute(
            select(audit_log.c.action).where(audit_log.c.target_id == "venue-desk")
        ).scalars()
        assert "role.add" in list(audited)
    assert login(client(app), "desk").status_code == 303


def test_role_add_refuses_bad_names_unknown_rights_and_repeats(province: Engine) -> None:
    from fangkong.auth.admin import add_role, remove_role

    with pytest.raises(InvalidFields) as caught:
        add_role(province, AUDIT_KEY, cli_actor(), "x", ["no.such"], "test")
    assert [p.problem.code for p in caught.value.fields] == ["role.name"]
    with pytest.raises(InvalidFields) as caught:
        add_role(province, AUDIT_KEY, cli_actor(), "desk2", ["no.such"], "test")
    (problem,) = caught.value.fields
    assert problem.problem.code == "right.unknown"
    assert "no.such" in problem.problem.message_en
    assert "没有权限" in problem.problem.message_zh
    add_role(province, AUDIT_KEY, cli_actor(), "desk2", ["venue.read"], "test")
    with pytest.raises(Conflict):
        add_role(province, AUDIT_KEY, cli_actor(), "desk2", ["venue.read"], "test")
    remove_role(province, AUDIT_KEY, cli_actor(), "desk2", "test")  # nobody holds it
