"""Bounded input on the API and device write paths (issue 16, findings 1, 2 and 6), over
real HTTP on both backends: ids above the 32-bit column range and ``true`` as an id are
refused on every operation (enumerated from the OpenAPI, so a new route is covered),
``0`` is not a boolean, NUL is not text, dates far out of their window are refused with
the field named and nothing is stored; the service rules a type cannot express (a
quarantine end within the pack's longest period, a test sampled after the placement's
start, a case's dates after the person's birth, a re-posted case never overwriting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from fangkong.auth.devices import issue_device_token
from fangkong.auth.model import cli_actor
from fangkong.errors import InvalidFields
from fangkong.healthcode.tables import scans
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_checks, quarantine_placements, quarantine_tests
from fangkong.store.schema import persons, venues
from fangkong.tracing.cases import register_case
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import tracing_cases
from tests.api.codes import AUDIT_KEY, device_token, venue_of
from tests.api.helpers import client, logged_in, make_app, person_identity
from tests.quarantine.helpers import COUNTY_A, add, hotel, people

PROBLEM = "application/problem+json"
P9 = QuarantineRules.shipped("protocol-9")


@dataclass(frozen=True)
class World:
    app: FastAPI
    engine: Engine
    a: list[int]  # persons of county A


@pytest.fixture
def world(province: Engine, tmp_path: Path) -> World:
    add(province, hotel("QA1", COUNTY_A, single=6))
    return World(make_app(province, tmp_path), province, people(province, COUNTY_A))


def _api(app: FastAPI, user: str = "epi") -> Any:
    c = logged_in(app, user, **{"accept-language": "en"})
    c.headers["X-CSRF-Token"] = c.get("/api/v1/session").json()["csrf_token"]
    return c


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _refused(response: Any, field: str, code: str, status: int = 422) -> dict[str, Any]:
    """The problem answered, with ``field`` named under ``code`` among its errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    named = {(e["field"], e["code"]) for e in body.get("errors", [])}
    assert (field, code) in named, named
    assert any(field in e["detail"] for e in body["errors"] if e["field"] == field)
    return body


def _place(c: Any, person_id: int) -> int:
    row = {"person_id": person_id, "risk_group": "close_contact", "household": f"h{person_id}"}
    placed = c.post("/api/v1/quarantine/placements", json={"rows": [row]})
    assert placed.status_code == 200, placed.text
    return int(placed.json()["assignments"][0]["placement_id"])


# ---- ids and flags on every operation -------------------------------------------------------


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    for key in ("anyOf", "oneOf"):  # Optional[X]: the first non-null branch
        if key in schema:
            branches = [s for s in schema[key] if s.get("type") != "null"]
            if branches:
                return _resolve(spec, branches[0])
    return schema


def _id_fields(spec: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths (``rows.0.person_id``) of every id a body schema holds."""
    schema = _resolve(spec, schema)
    found: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(spec, prop)
        items = _resolve(spec, prop.get("items", {})) if prop.get("type") == "array" else {}
        path = f"{prefix}{name}"
        if prop.get("type") == "integer" and name.endswith("_id"):
            found.append(path)
        elif items.get("type") == "integer" and name.endswith("_ids"):
            found.append(f"{path}.0")
        elif items.get("type") == "object":
            found += _id_fields(spec, items, f"{path}.0.")
    return found


def _body_with(path: str, value: Any) -> dict[str, Any]:
    """A body holding only ``value`` at the dotted ``path`` (lists for numeric parts)."""
    parts = path.split(".")
    built: Any = value
    for part in reversed(parts):
        built = [built] if part.isdigit() else {part: built}
    return dict(built)


def _operations(app: FastAPI) -> list[tuple[str, str, str, str]]:
    """(method, path, where, field) for every integer id of every /api/v1 operation."""
    spec = app.openapi()
    out = []
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, op in item.items():
            for p in op.get("parameters", []):
                if _resolve(spec, p.get("schema", {})).get("type") == "integer" and (
                    p["name"].endswith("_id") or p["name"] == "person"
                ):
                    out.append((method, path, p["in"], p["name"]))
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                out += [(method, path, "body", f) for f in _id_fields(spec, body["schema"])]
    return out


def test_the_enumeration_finds_the_ids_of_every_capability(world: World) -> None:
    ops = {(m, p, f) for m, p, _, f in _operations(world.app)}
    for expected in [
        ("get", "/api/v1/persons/{person_id}", "person_id"),
        ("post", "/api/v1/quarantine/placements", "rows.0.person_id"),
        ("post", "/api/v1/quarantine/placements", "rows.0.guardian_id"),
        ("post", "/api/v1/quarantine/checks", "rows.0.placement_id"),
        ("post", "/api/v1/quarantine/placements/{placement_id}/period", "placement_id"),
        ("post", "/api/v1/tracing/cases", "person_id"),
        ("get", "/api/v1/tracing/cases/{case_id}/contacts", "case_id"),
        ("post", "/api/v1/tracing/contacts/status", "contact_ids.0"),
        ("post", "/api/v1/samples", "person_ids.0"),
        ("post", "/api/v1/samples", "campaign_id"),
        ("get", "/api/v1/campaigns/{campaign_id}/progress", "campaign_id"),
        ("post", "/api/v1/arrivals/confirm", "traveller_id"),
        ("get", "/api/v1/audit", "person"),
    ]:
        assert expected in ops, expected


def _send(c: Any, method: str, path: str, where: str, field: str, value: Any) -> Any:
    url = path
    params: dict[str, Any] = {}
    body: dict[str, Any] | None = None
    for name in [s[1:-1] for s in path.split("/") if s.startswith("{")]:
        url = url.replace("{" + name + "}", str(value if (where, field) == ("path", name) else 1))
    if where == "query":
        params[field] = value
    if where == "body":
        body = _body_with(field, value)
    elif method in ("post", "put", "patch"):
        body = {}
    return c.request(method.upper(), url, params=params, json=body)


@pytest.mark.parametrize("value", [2**63, 2**31], ids=["2^63", "2^31"])
def test_every_id_above_the_column_range_is_refused_naming_it(world: World, value: int) -> None:
    ops = _operations(world.app)
    assert len(ops) >= 15
    c = _api(world.app, "admin")
    for method, path, where, field in ops:
        answer = _send(c, method, path, where, field, value)
        assert answer.status_code == 422, (method, path, field, answer.text)
        _refused(answer, field, "value.less_than_equal")


def test_true_is_not_an_id_and_zero_is_not_a_boolean(world: World) -> None:
    c = _api(world.app)
    for method, path, where, field in _operations(world.app):
        if where == "body":
            _refused(_send(c, method, path, where, field, True), field, "value.int_type")
    confirm = c.post("/api/v1/arrivals/confirm", json={"stage": "boarded", "traveller_id": True})
    _refused(confirm, "traveller_id", "value.int_type")
    case = c.post(
        "/api/v1/tracing/cases",
        json={"person_id": world.a[0], "onset_date": _today().isoformat(), "trace": 0},
    )
    _refused(case, "trace", "value.bool_type")
    row = {"person_id": world.a[0], "risk_group": "close_contact", "needs_accessible": 0}
    _refused(
        c.post("/api/v1/quarantine/placements", json={"rows": [row]}),
        "rows.0.needs_accessible",
        "value.bool_type",
    )
    assert _count(world.engine, tracing_cases) == 0
    assert _count(world.engine, quarantine_placements) == 0


def test_a_nul_byte_in_text_is_refused_and_nothing_stored(world: World) -> None:
    c = _api(world.app)
    pid = _place(c, world.a[0])
    _refused(
        c.post(f"/api/v1/quarantine/placements/{pid}/abscond", json={"note": "left\x00"}),
        "note",
        "value.text_control",
    )
    _refused(
        c.post(f"/api/v1/quarantine/placements/{pid}/period", json={"days": 1, "reason": "a\x00b"}),
        "reason",
        "value.text_control",
    )
    tablet_rows = [{"placement_id": pid, "day": _today().isoformat(), "symptoms": "cough\x00"}]
    _refused(
        c.post("/api/v1/quarantine/checks", json={"rows": tablet_rows}),
        "rows.0.symptoms",
        "value.text_control",
    )
    placement = c.get(f"/api/v1/quarantine/placements/{pid}").json()
    assert (placement["status"], placement["period_changes"]) == ("active", [])
    assert _count(world.engine, quarantine_checks) == 0


# ---- dates and instants ------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(UTC).astimezone(P9_TZ).date()


P9_TZ = ZoneInfo("Asia/Shanghai")


def test_a_quarantine_end_in_9999_is_refused_and_the_placement_still_answers(
    world: World,
) -> None:
    c = _api(world.app)
    pid = _place(c, world.a[0])
    far = c.post(
        f"/api/v1/quarantine/placements/{pid}/period",
        json={"new_end": "9999-12-31T00:00:00+08:00", "reason": "typo"},
    )
    _refused(far, "new_end", "value.date_too_late")
    # within the settings' window but beyond the pack's longest period from the start
    longest = P9.longest_days()
    assert longest == 7 + 14
    start = datetime.fromisoformat(
        c.get(f"/api/v1/quarantine/placements/{pid}").json()["starts_at"]
    )
    beyond = (start + timedelta(days=longest, hours=1)).isoformat()
    body = _refused(
        c.post(
            f"/api/v1/quarantine/placements/{pid}/period", json={"new_end": beyond, "reason": "x"}
        ),
        "new_end",
        "quarantine.period_too_long",
    )
    assert body["code"] == "quarantine.period_too_long"
    _refused(
        c.post(f"/api/v1/quarantine/placements/{pid}/period", json={"days": 60, "reason": "x"}),
        "days",
        "quarantine.period_too_long",
    )
    ok = c.post(f"/api/v1/quarantine/placements/{pid}/period", json={"days": 7, "reason": "x"})
    assert ok.status_code == 200, ok.text
    after = c.get(f"/api/v1/quarantine/placements/{pid}")
    assert after.status_code == 200
    assert len(after.json()["period_changes"]) == 1


def test_a_check_day_in_9999_is_refused_and_nothing_stored(world: World) -> None:
    c = _api(world.app)
    pid = _place(c, world.a[0])
    rows = [
        {"placement_id": pid, "day": _today().isoformat(), "temperature": 36.5},
        {"placement_id": pid, "day": "9999-12-31", "temperature": 36.5},
    ]
    _refused(
        c.post("/api/v1/quarantine/checks", json={"rows": rows}),
        "rows.1.day",
        "value.date_too_late",
    )
    assert _count(world.engine, quarantine_checks) == 0
    far = c.get("/api/v1/quarantine/facilities/QA1/occupants", params={"day": "9999-12-31"})
    _refused(far, "day", "value.date_too_late")


def test_a_quarantine_test_sampled_in_9999_or_before_the_start_is_refused(world: World) -> None:
    c = _api(world.app)
    pid = _place(c, world.a[0])
    url = f"/api/v1/quarantine/placements/{pid}/tests"
    far = {"day_number": 1, "sampled_at": "9999-12-31T10:00:00+08:00", "result": "negative"}
    _refused(c.post(url, json=far), "sampled_at", "value.date_too_late")
    start = datetime.fromisoformat(
        c.get(f"/api/v1/quarantine/placements/{pid}").json()["starts_at"]
    )
    early = {**far, "sampled_at": (start - timedelta(hours=2)).isoformat()}
    body = _refused(c.post(url, json=early), "sampled_at", "value.date_too_early")
    assert body["code"] == "quarantine.test_invalid"
    assert _count(world.engine, quarantine_tests) == 0
    ok = c.post(url, json={**far, "sampled_at": datetime.now(UTC).isoformat()})
    assert ok.status_code == 200, ok.text
    assert _count(world.engine, quarantine_tests) == 1


def test_a_scan_with_a_device_time_in_9999_or_ahead_is_refused_and_not_stored(
    world: World,
) -> None:
    venue = venue_of(world.engine, "school")
    door = client(world.app, authorization=f"Bearer {device_token(world.engine, venue)}")
    number = person_identity(world.engine, world.a[0])[0]

    def scan(event: str, at: datetime | str) -> Any:
        when = at if isinstance(at, str) else at.isoformat()
        body = {"venue_code": venue, "device_time": when, "event_id": event, "id_number": number}
        return door.post("/api/v1/scan", json=body, headers={"Accept-Language": "en"})

    for event, at, code in [
        ("far", "9999-12-31T23:59:00+08:00", "value.date_too_late"),
        ("ahead", datetime.now(UTC) + timedelta(minutes=10), "value.date_too_late"),
        ("ancient", "1999-01-01T00:00:00+08:00", "value.date_too_early"),
    ]:
        body = _refused(scan(event, at), "device_time", code)
        assert body["code"] == "scan.device_time_invalid"
    assert _count(world.engine, scans) == 0
    slow_clock = scan("ok", datetime.now(UTC) + timedelta(minutes=1))
    assert slow_clock.status_code == 200, slow_clock.text
    assert _count(world.engine, scans) == 1


def test_case_dates_are_bounded_and_not_before_birth(world: World, tmp_path: Path) -> None:
    c = _api(world.app)
    person = world.a[0]
    for field, value, code in [
        ("onset_date", "9999-12-31", "value.date_too_late"),
        ("sample_date", "0001-01-01", "value.date_too_early"),
    ]:
        _refused(
            c.post("/api/v1/tracing/cases", json={"person_id": person, field: value}), field, code
        )
    assert _count(world.engine, tracing_cases) == 0
    # the service itself answers a problem (not an OverflowError) on any path
    with pytest.raises(InvalidFields) as raised:
        register_case(
            world.engine, person, ContactRules.from_pack(_pack(world)), sampled=date(1, 1, 1)
        )
    assert [f.field for f in raised.value.fields] == ["sample_date"]
    # a window reaching back a century: before the birth date is still refused
    with world.engine.connect() as conn:
        born = conn.execute(select(persons.c.birth_date).where(persons.c.id == person)).scalar_one()
    wide = _api(make_app(world.engine, tmp_path, FANGKONG_INPUT_PAST_DAYS="40000"))
    before = wide.post(
        "/api/v1/tracing/cases",
        json={"person_id": person, "onset_date": (born - timedelta(days=1)).isoformat()},
    )
    body = _refused(before, "onset_date", "value.date_too_early")
    assert body["code"] == "tracing.case_dates_invalid"
    assert _count(world.engine, tracing_cases) == 0


def _pack(world: World) -> Any:
    from tests.api.codes import codes_of

    return codes_of(world.app).pack


def test_a_reposted_case_never_overwrites_its_stored_dates(world: World) -> None:
    c = _api(world.app)
    person = world.a[0]
    onset = (_today() - timedelta(days=3)).isoformat()
    body = {"person_id": person, "onset_date": onset, "trace": False}
    first = c.post("/api/v1/tracing/cases", json=body)
    assert first.status_code == 201, first.text
    assert c.post("/api/v1/tracing/cases", json=body).status_code == 201  # the same: no change
    moved = c.post("/api/v1/tracing/cases", json={**body, "onset_date": _today().isoformat()})
    assert moved.status_code == 409, moved.text
    assert moved.json()["code"] == "tracing.case_exists"
    assert onset in moved.json()["detail"]  # the stored values, for the caller to compare
    # a date the case lacked may be added
    added = c.post("/api/v1/tracing/cases", json={**body, "sample_date": _today().isoformat()})
    assert added.status_code == 201, added.text
    with world.engine.connect() as conn:
        row = conn.execute(select(tracing_cases).where(tracing_cases.c.person_id == person)).one()
    assert (row.onset_date.isoformat(), row.sample_date) == (onset, _today())


def test_a_device_cannot_send_signals_or_samples_out_of_bounds(world: World) -> None:
    venue = venue_of(world.engine, "school")
    with world.engine.connect() as conn:
        assert conn.execute(select(venues.c.code).where(venues.c.code == venue)).first()
    token, _ = issue_device_token(world.engine, AUDIT_KEY, cli_actor(), "signals", venue, 30, "t")
    point = client(world.app, authorization=f"Bearer {token}", **{"accept-language": "en"})
    far = {"signals": [{"signal": "fever_clinic_visits", "date": "9999-12-31", "count": 1}]}
    _refused(point.post("/api/v1/signals", json=far), "signals.0.date", "value.date_too_late")
    big = {
        "signals": [{"signal": "fever_clinic_visits", "date": _today().isoformat(), "count": 2**63}]
    }
    _refused(point.post("/api/v1/signals", json=big), "signals.0.count", "value.less_than_equal")
    c = _api(world.app)
    sample = {
        "barcode": "T1",
        "person_ids": [world.a[0]],
        "collected_at": "9999-01-01T00:00:00Z",
        "point": venue,
        "region_code": COUNTY_A,
    }
    _refused(c.post("/api/v1/samples", json=sample), "collected_at", "value.date_too_late")
