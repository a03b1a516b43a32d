"""POST /api/v1/scan: verdicts, every refusal's own problem code, idempotent retries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from fangkong.clock import now as utcnow
from fangkong.healthcode.codes import issue_qr
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys
from fangkong.healthcode.tables import scans
from tests.api.codes import codes_of, device_token, make_red, make_yellow, venue_of
from tests.api.helpers import client, make_app, person_identity, person_ids

PROBLEM = "application/problem+json"


def _scan_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(scans)).scalar_one())


def _body(venue: str, event: str, **what: Any) -> dict[str, Any]:
    return {"venue_code": venue, "device_time": utcnow().isoformat(), "event_id": event, **what}


class Door:
    """A scanner at one venue: its app client with the venue's device token."""

    def __init__(self, app: FastAPI, engine: Engine, kind: str, scope: str = "scan") -> None:
        self.venue = venue_of(engine, kind)
        self.client = client(app, authorization=f"Bearer {device_token(engine, self.venue, scope)}")

    def scan(self, event: str, lang: str = "zh", **what: Any) -> Any:
        body = _body(self.venue, event, **what)
        return self.client.post("/api/v1/scan", json=body, headers={"Accept-Language": lang})


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    return make_app(province, tmp_path)


def test_school_admits_green_refuses_red_fever_clinic_admits_and_flags(
    app: FastAPI, province: Engine
) -> None:
    codes = codes_of(app)
    green, red, yellow = person_ids(province, "140102")[:3]
    make_red(province, codes, red)
    make_yellow(province, codes, yellow)
    school, clinic = Door(app, province, "school"), Door(app, province, "fever_clinic")

    ok = school.scan("e-green", token=issue_qr(province, codes, green))
    assert ok.status_code == 200, ok.text
    v = ok.json()
    assert (v["colour"], v["allowed"], v["flagged"], v["by"]) == ("green", True, False, "token")
    assert v["repeated"] is False
    assert "*" in v["masked_name"]
    assert v["masked_name"] != person_identity(province, green)[1]

    refused = school.scan("e-red", lang="en", id_number=person_identity(province, red)[0]).json()
    assert (refused["colour"], refused["allowed"]) == ("red", False)
    assert refused["reasons"][0]["rule"] == "close_contact"
    assert "close contact" in refused["reasons"][0]["text"].lower()
    assert any("may not enter" in n for n in refused["notes"])
    zh = school.scan("e-red-zh", id_number=person_identity(province, red)[0]).json()
    assert "密切接触" in zh["reasons"][0]["text"]

    for event, pid, colour in [("c-red", red, "red"), ("c-yellow", yellow, "yellow")]:
        seen = clinic.scan(event, id_number=person_identity(province, pid)[0]).json()
        assert (seen["colour"], seen["allowed"], seen["flagged"]) == (colour, True, True)
    assert _scan_count(province) == 5


def test_a_retried_scan_answers_the_same_and_stores_one_row(app: FastAPI, province: Engine) -> None:
    door = Door(app, province, "market")
    body = _body(
        door.venue,
        "retry-1",
        token=issue_qr(province, codes_of(app), person_ids(province, "140102")[0]),
    )
    first = door.client.post("/api/v1/scan", json=body)
    again = door.client.post("/api/v1/scan", json=body)
    assert first.status_code == again.status_code == 200
    a, b = first.json(), again.json()
    assert (a.pop("repeated"), b.pop("repeated")) == (False, True)
    assert a == b
    assert _scan_count(province) == 1


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


def test_each_refused_token_has_its_own_code(app: FastAPI, province: Engine) -> None:
    codes = codes_of(app)
    pid = person_ids(province, "140102")[0]
    door = Door(app, province, "market")
    foreign = CodeContext(codes.pack, codes.sealer, QrKeys.generate())
    _problem(door.scan("f", token=issue_qr(province, foreign, pid)), 422, "scan.token_forged")
    old = issue_qr(province, codes, pid, now=utcnow() - timedelta(minutes=5))
    _problem(door.scan("x", token=old), 422, "scan.token_expired")
    future = issue_qr(province, codes, pid, now=utcnow() + timedelta(minutes=5))
    _problem(door.scan("n", token=future), 422, "scan.token_not_yet_valid")
    token = issue_qr(province, codes, pid)
    assert door.scan("r1", token=token).status_code == 200
    _problem(door.scan("r2", token=token), 409, "scan.token_replayed")
    _problem(door.scan("r1", id_number=person_identity(province, pid)[0]), 409,
             "scan.event_conflict")  # fmt: skip
    _problem(door.scan("u", id_number="11010519491231002X"), 404, "scan.person_unknown")
    _problem(door.scan("m", token="not a token"), 400, "scan.malformed")
    assert _scan_count(province) == 1


def test_venue_binding_and_scope(app: FastAPI, province: Engine) -> None:
    number = person_identity(province, person_ids(province, "140102")[0])[0]
    door = Door(app, province, "market")
    other = venue_of(province, "school")
    wrong = door.client.post("/api/v1/scan", json=_body(other, "w", id_number=number))
    _problem(wrong, 403, "scan.venue_mismatch")
    unknown = door.client.post("/api/v1/scan", json=_body("NO-SUCH-VENUE", "v", id_number=number))
    _problem(unknown, 404, "scan.venue_unknown")
    lab = Door(app, province, "hospital", scope="lab")
    _problem(lab.scan("l", id_number=number), 403, "token.scope")
    nobody = client(app).post("/api/v1/scan", json=_body(door.venue, "a", id_number=number))
    assert nobody.status_code == 401
    assert _scan_count(province) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_id": None}, "event_id"),
        ({"device_time": "2026-11-29T10:00:00"}, "device_time"),  # no offset
        ({"device_time": "yesterday"}, "device_time"),
        ({"colour": "green"}, "colour"),
        ({"event_id": "x" * 65}, "event_id"),
    ],
)
def test_malformed_bodies_are_scan_malformed(
    app: FastAPI, province: Engine, change: dict[str, Any], field: str
) -> None:
    door = Door(app, province, "market")
    body = _body(
        door.venue, "m1", id_number=person_identity(province, person_ids(province, "140102")[0])[0]
    )
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    problem = _problem(door.client.post("/api/v1/scan", json=body), 400, "scan.malformed")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert _scan_count(province) == 0


def test_not_json_and_both_or_neither_identifier(app: FastAPI, province: Engine) -> None:
    door = Door(app, province, "market")
    raw = door.client.post("/api/v1/scan", content=b"{not json",
                           headers={"content-type": "application/json"})  # fmt: skip
    _problem(raw, 400, "scan.malformed")
    _problem(door.scan("b", token="t" * 114, id_number="11010519491231002X"), 400, "scan.malformed")
    _problem(door.scan("n"), 400, "scan.malformed")


def test_scan_answers_carry_the_security_headers_and_a_crash_is_a_problem(
    app: FastAPI, province: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan endpoint stands in front of the app's middleware: its verdicts, its
    problems and an unexpected error still get no-store and friends, and a crash is the
    ``internal`` problem (500), not a dropped connection."""
    from fangkong.api import scan_endpoint

    door = Door(app, province, "market")
    number = person_identity(province, person_ids(province, "140102")[0])[0]
    ok = door.scan("h1", id_number=number)
    refused = door.scan("h2", id_number="11010519491231002X")  # nobody holds it

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(scan_endpoint.ScanOut, "of", crash)
    broken = door.scan("h3", id_number=number)
    assert (ok.status_code, refused.status_code, broken.status_code) == (200, 404, 500)
    assert broken.json()["code"] == "internal"
    for r in (ok, refused, broken):
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"


def test_a_scan_may_carry_a_zone_stored_with_it(app: FastAPI, province: Engine) -> None:
    """A table code's zone (区域/桌号) is stored with the scan; a resend with the same zone
    is the same scan, with another zone a conflict; an over-long zone is refused (422,
    zh/en, the field named) and stores nothing; a scan without one stores null."""
    codes = codes_of(app)
    a, b = person_ids(province, "140102")[:2]
    door = Door(app, province, "restaurant")
    body = _body(door.venue, "t-1", id_number=person_identity(province, a)[0], zone="Z07")
    first = door.client.post("/api/v1/scan", json=body)
    assert first.status_code == 200, first.text
    again = door.client.post("/api/v1/scan", json=body)
    assert again.json()["repeated"] is True
    _problem(door.client.post("/api/v1/scan", json={**body, "zone": "Z08"}), 409,
             "scan.event_conflict")  # fmt: skip
    plain = door.scan("t-2", token=issue_qr(province, codes, b))
    assert plain.status_code == 200, plain.text
    for lang, words in (("zh", "16"), ("en", "16 printable")):
        long = door.scan(f"t-3{lang}", lang=lang, id_number=person_identity(province, b)[0],
                         zone="T" * 17)  # fmt: skip
        problem = _problem(long, 422, "scan.zone_invalid")
        assert problem["errors"][0]["field"] == "zone"
        assert words in problem["errors"][0]["detail"]
    with province.connect() as conn:
        stored = dict(conn.execute(select(scans.c.client_event_id, scans.c.zone)).all())
    assert stored == {"t-1": "Z07", "t-2": None}
