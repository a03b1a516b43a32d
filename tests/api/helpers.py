"""Building the app over a test database and logging in through the real login form."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong.identity.sealing import Sealer
from fangkong.keys import ServerKeys
from fangkong.server.app import create_app
from fangkong.settings import load_settings
from fangkong.store.schema import persons
from tests.conftest import PASSWORD, TEST_SEAL_KEY, TEST_SERVER_KEY, shell_env

with warnings.catch_warnings():
    # Starlette 1.10 asks for the httpx2 package, which the lock does not hold yet; the
    # TestClient works the same on httpx (its warning would fail the suite: warnings=error)
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(engine: Engine, home: Path, **env: str) -> FastAPI:
    settings = load_settings({**shell_env(home), **env})
    return create_app(
        settings, engine, sealer=Sealer(TEST_SEAL_KEY), keys=ServerKeys.from_master(TEST_SERVER_KEY)
    )


def client(app: FastAPI, **headers: str) -> TestClient:
    # https: the session cookie is Secure, and httpx sends it only over https
    return TestClient(app, base_url="https://testserver", headers=headers)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def login(c: TestClient, username: str, password: str = PASSWORD) -> Any:
    page = c.get("/login")
    return c.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def logged_in(app: FastAPI, username: str, **headers: str) -> TestClient:
    c = client(app, **headers)
    response = login(c, username)
    assert response.status_code == 303, response.text
    return c


def person_ids(engine: Engine, county: str) -> list[int]:
    """Row ids of persons living in a county (residence codes start with its code)."""
    with engine.connect() as conn:
        rows = conn.execute(select(persons.c.id, persons.c.residence_code)).all()
    return sorted(i for i, code in rows if code and code.startswith(county))


def person_identity(engine: Engine, person_id: int) -> tuple[str, str]:
    """(ID number, name) of a person, unsealed with the test key."""
    with engine.connect() as conn:
        row = conn.execute(select(persons).where(persons.c.id == person_id)).one()
    number = Sealer(TEST_SEAL_KEY).unseal("document", row.doc_sealed).split("|", 2)[2]
    return number, row.name
