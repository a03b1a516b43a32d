"""problem+json on bad input, the offline /docs, health and readiness."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fangkong.http.problems import negotiate
from fangkong.store import migrate
from tests.api.helpers import client, logged_in, make_app

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "zh"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("fr, en;q=0.5, zh;q=0.8", "zh"),
        ("zh-CN", "zh"),
        ("de", "zh"),
        ("en;q=0, zh;q=0.1", "zh"),
    ],
)
def test_language_negotiation(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


def test_bad_input_is_problem_json_in_the_asked_language(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    c = logged_in(app, "epi")
    csrf = {"X-CSRF-Token": c.get("/api/v1/session").json()["csrf_token"]}

    zh = c.post("/api/v1/persons/lookup", json={}, headers=csrf)
    en = c.post("/api/v1/persons/lookup", json={}, headers={**csrf, "Accept-Language": "en"})
    for r in (zh, en):
        assert r.status_code == 422
        assert r.headers["content-type"] == PROBLEM
        body = r.json()
        assert body["code"] == "request.invalid"
        assert body["status"] == 422
        assert [e["field"] for e in body["errors"]] == ["id_number"]
        assert body["errors"][0]["code"] == "value.missing"
        assert "Traceback" not in r.text
        assert 'File "' not in r.text
    assert zh.json()["detail"] == "请求中有字段无效"
    assert en.json()["detail"] == "some fields of the request are invalid"
    assert "必填" in zh.json()["errors"][0]["detail"]

    bad_number = "110105194912310021"  # wrong check character
    r = c.post(
        "/api/v1/persons/lookup",
        json={"id_number": bad_number},
        headers={**csrf, "Accept-Language": "en"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "id_number"
    assert r.json()["errors"][0]["code"] == "id.check_char"
    assert bad_number not in r.text  # the value sent is never echoed

    r = c.get("/api/v1/persons/abc", headers={"Accept-Language": "en"})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "person_id"

    extra = c.post("/api/v1/persons/lookup", json={"id_number": "1", "x": 1}, headers=csrf)
    assert {e["field"] for e in extra.json()["errors"]} == {"x"}

    for path, status, code in (
        ("/api/v1/nothing-here", 404, "http.404"),
        ("/api/v1/summary", 401, "session.missing"),
    ):
        r = client(app, **{"Accept-Language": "en"}).get(path)
        assert (r.status_code, r.headers["content-type"], r.json()["code"]) == (
            status,
            PROBLEM,
            code,
        )


def test_docs_are_served_offline(province: Engine, tmp_path: Path) -> None:
    c = client(make_app(province, tmp_path))
    docs = c.get("/docs")
    assert docs.status_code == 200
    urls = re.findall(r"""https?://[^\s"'<>)]+""", docs.text)
    assert urls == [], f"external URLs in /docs: {urls}"
    assets = re.findall(r"""(?:src|href)="(/[^"]+)""", docs.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert "/static/vendor/swagger-ui/swagger-ui.css" in assets
    for asset in assets:
        r = c.get(asset)
        assert r.status_code == 200, asset
        assert len(r.content) > 100, asset
    spec = c.get("/openapi.json").json()
    assert "/api/v1/persons/{person_id}" in spec["paths"]
    assert "/api/v1/persons/lookup" in spec["paths"]
    # the pages load their scripts from this server too
    home_assets = (
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/vega/vega.min.js",
        "/static/vendor/vega/vega-lite.min.js",
        "/static/vendor/vega/vega-embed.min.js",
    )
    for asset in home_assets:
        assert c.get(asset).status_code == 200, asset


def test_health_and_readiness(province: Engine, tmp_path: Path) -> None:
    c = client(make_app(province, tmp_path))
    assert c.get("/health").json() == {"status": "ok"}
    ready = c.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "schema": migrate.head_revision()}


def test_not_ready_without_a_schema(empty_engine: Engine, tmp_path: Path) -> None:
    c = client(make_app(empty_engine, tmp_path), **{"Accept-Language": "en"})
    assert c.get("/health").status_code == 200
    r = c.get("/ready")
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "ready.schema"


def test_pages_carry_security_headers(province: Engine, tmp_path: Path) -> None:
    c = client(make_app(province, tmp_path))
    r = c.get("/login")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=strict" in cookie


def test_openapi_declares_every_error_as_problem_json(province: Engine, tmp_path: Path) -> None:
    spec = client(make_app(province, tmp_path)).get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's own 422 body is never sent
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "code", "detail"}
    assert {"instance", "errors"} <= set(schemas["Problem"]["properties"])
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if path.startswith("/api/")
    ]
    assert len(operations) >= 35  # with /health and /ready: the 37 fuzzed
    for path, method, op in operations:
        statuses = {int(s) for s in op["responses"]}
        wanted = {400, 401, 403, 404, 422} | ({409} if method == "post" else set())
        assert wanted <= statuses, (method, path, sorted(wanted - statuses))
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            assert list(response["content"]) == [PROBLEM], (method, path, status)
            schema = response["content"][PROBLEM]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path, status)
    ready = spec["paths"]["/ready"]["get"]["responses"]
    assert list(ready["503"]["content"]) == [PROBLEM]


def test_problems_answered_match_the_declared_schema(province: Engine, tmp_path: Path) -> None:
    """What the server sends for 401, 404 and 422 fits the Problem schema it declares."""
    import jsonschema_rs

    app = make_app(province, tmp_path)
    problem = app.openapi()["components"]["schemas"]["Problem"]
    validator = jsonschema_rs.validator_for(problem)
    epi = logged_in(app, "epi")
    answers = [
        client(app).get("/api/v1/summary"),
        epi.get("/api/v1/persons/999999"),
        epi.get("/api/v1/persons/abc"),
    ]
    assert [a.status_code for a in answers] == [401, 404, 422]
    for a in answers:
        assert a.headers["content-type"] == PROBLEM
        assert validator.is_valid(a.json()), a.json()
