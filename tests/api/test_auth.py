"""Login lockout and rate limit, CSRF, idle sessions, device tokens, rights on pages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from fangkong.auth.devices import issue_device_token
from fangkong.auth.model import cli_actor
from fangkong.clock import wall as utcnow
from fangkong.errors import NotFound
from fangkong.keys import ServerKeys
from fangkong.store.schema import audit_log, user_sessions, users, venues
from tests.api.helpers import client, csrf_of, logged_in, login, make_app, person_ids
from tests.conftest import TEST_SERVER_KEY

AUDIT_KEY = ServerKeys.from_master(TEST_SERVER_KEY).audit


def test_login_locks_the_account_after_n_failures(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path, FANGKONG_LOGIN_MAX_FAILURES="3")
    c = client(app)
    assert [login(c, "epi", "wrong password!").status_code for _ in range(2)] == [401, 401]
    third = login(c, "epi", "wrong password!")
    # the lock is not revealed to a wrong password: it answers like an unknown user
    assert third.status_code == login(c, "nobody", "wrong password!").status_code == 401
    assert "锁定" not in third.text
    # locked: even the right password is refused, and no session cookie is set
    right = login(c, "epi")
    assert right.status_code == 429
    assert "锁定" in right.text
    assert "fk_session" not in right.cookies
    with province.connect() as conn:
        outcomes = (
            conn.execute(
                select(audit_log.c.outcome)
                .where(audit_log.c.action == "login")
                .order_by(audit_log.c.seq)
            )
            .scalars()
            .all()
        )
    assert outcomes == ["bad_credentials", "bad_credentials", "locked", "bad_credentials", "locked"]
    # when the lock has passed, the right password works again
    with province.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.username == "epi")
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert login(c, "epi").status_code == 303


def test_login_rate_limit_per_address(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path, FANGKONG_LOGIN_RATE_PER_MINUTE="3")
    c = client(app)
    codes = [login(c, f"nobody{i}", "whatever pass").status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    assert login(c, "epi").status_code == 429  # the address waits, whoever it claims to be


def test_csrf_is_refused_without_the_token(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    anonymous = client(app)
    anonymous.get("/login")
    no_token = anonymous.post("/login", data={"username": "epi", "password": "x" * 12})
    assert no_token.status_code == 403
    assert "CSRF" in no_token.text

    c = logged_in(app, "epi")
    pid_number = "11010519491231002X"
    form = c.post("/persons/lookup", data={"id_number": pid_number})
    assert form.status_code == 403
    forged = c.post("/persons/lookup", data={"id_number": pid_number, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    ok = c.post(
        "/persons/lookup",
        data={"id_number": pid_number, "csrf_token": csrf_of(c.get("/persons/lookup").text)},
    )
    assert ok.status_code == 404  # checked, then looked up: nobody has that number

    api = c.post("/api/v1/persons/lookup", json={"id_number": pid_number})
    assert api.status_code == 403
    assert api.json()["code"] == "csrf.invalid"
    assert c.post("/logout", data={}).status_code == 403


def test_idle_session_must_log_in_again(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path, FANGKONG_SESSION_IDLE_MINUTES="30")
    c = logged_in(app, "epi")
    assert c.get("/").status_code == 200
    with province.begin() as conn:
        conn.execute(update(user_sessions).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    page = c.get("/", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/&reason=session.expired"
    again = c.get(page.headers["location"])
    assert "长时间未操作" in again.text
    api = c.get("/api/v1/summary")
    assert api.status_code == 401
    with province.connect() as conn:
        assert conn.execute(select(user_sessions)).all() == []
    # activity within the idle time keeps the session
    c = logged_in(app, "epi")
    with province.begin() as conn:
        conn.execute(update(user_sessions).values(last_seen_at=utcnow() - timedelta(minutes=29)))
    assert c.get("/api/v1/summary").status_code == 200


def test_logout_ends_the_session(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    c = logged_in(app, "epi")
    token = csrf_of(c.get("/").text)
    assert c.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert c.get("/", follow_redirects=False).status_code == 303


def test_pages_outside_ones_rights_are_refused(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    viewer = logged_in(app, "viewer")
    refused = viewer.get("/admin/audit")
    assert refused.status_code == 403
    assert "audit.read" in refused.text or "审计" in refused.text
    assert 'href="/admin/audit"' not in viewer.get("/").text  # not in the navigation
    admin = logged_in(app, "admin")
    page = admin.get("/admin/audit?user=viewer")
    assert page.status_code == 200
    assert "登录" in page.text  # the sign-in, by its label (the API keeps the stored key)
    assert admin.get("/api/v1/audit", params={"user": "viewer"}).json()[0]["action"] == "login"
    assert viewer.get("/api/v1/audit").status_code == 403
    anonymous = client(app).get("/persons/lookup", follow_redirects=False)
    assert anonymous.headers["location"].startswith("/login?next=/persons/lookup")


def _venue_of(engine: Engine, county: str) -> str:
    with engine.connect() as conn:
        codes = conn.execute(select(venues.c.code, venues.c.region_code)).all()
    return next(code for code, region in codes if region.startswith(county))


def test_device_token_scope_and_expiry(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    venue = _venue_of(province, "140102")
    issue = lambda scope, **kw: issue_device_token(  # noqa: E731
        province, AUDIT_KEY, cli_actor(), scope, venue, kw.pop("days", 30), "test", **kw
    )
    scan, _ = issue("scan")
    lab, _ = issue("lab")
    old, expired_at = issue("scan", days=1, now=utcnow() - timedelta(days=2))
    assert expired_at < utcnow()

    def as_device(token: str, path: str = "/api/v1/scan/device") -> object:
        return client(app, Authorization=f"Bearer {token}").get(path)

    ok = as_device(scan)
    assert ok.status_code == 200  # type: ignore[attr-defined]
    assert ok.json()["venue"]["code"] == venue  # type: ignore[attr-defined]
    wrong_scope = as_device(lab)
    assert wrong_scope.status_code == 403  # type: ignore[attr-defined]
    assert wrong_scope.json()["code"] == "token.scope"  # type: ignore[attr-defined]
    expired = as_device(old)
    assert expired.status_code == 401  # type: ignore[attr-defined]
    assert expired.json()["code"] == "token.expired"  # type: ignore[attr-defined]
    assert as_device("fkd_" + "A" * 43).json()["code"] == "token.invalid"  # type: ignore[attr-defined]
    # a scanner reads no persons and no other venue
    pid = person_ids(province, "140102")[0]
    assert as_device(scan, f"/api/v1/persons/{pid}").status_code == 403  # type: ignore[attr-defined]
    other = _venue_of(province, "140121")
    assert as_device(scan, f"/api/v1/venues/{other}").status_code == 404  # type: ignore[attr-defined]
    # tokens are stored hashed
    from fangkong.store.schema import device_tokens

    with province.connect() as conn:
        stored = conn.execute(select(device_tokens.c.token_hash)).scalars().all()
    assert all(scan.encode() not in h and len(h) == 32 for h in stored)


def test_token_for_a_venue_outside_the_issuers_jurisdiction(province: Engine) -> None:
    from fangkong.auth.model import Actor
    from fangkong.auth.rights import TOKEN_ISSUE

    county_admin = Actor("user", "x", frozenset({TOKEN_ISSUE}), "140102")
    with pytest.raises(NotFound):
        issue_device_token(
            province, AUDIT_KEY, county_admin, "scan", _venue_of(province, "140121"), 30, "test"
        )
