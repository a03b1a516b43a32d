"""The device API over real HTTP: a checkpoint device records at its venue's checkpoint
(right logistics.crossing of scope checkpoint), the outcome in the reader's language, the
pass verified, a resend answered from the store, bad fields named as problem+json, other
scopes and other checkpoints refused, the batch form. Both backends."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from fangkong.auth.devices import issue_device_token
from fangkong.auth.model import cli_actor
from fangkong.healthcode.scan_writer import WriterTurn
from fangkong.logistics.tables import crossings
from fangkong.passes.verify import keys_of
from tests.api.codes import AUDIT_KEY, venue_of
from tests.api.helpers import client, make_app
from tests.logistics.world import COUNTY_A, T0, issue_pass, make_lworld, person

NOW = T0 + timedelta(minutes=5)


def _body(ref: str, people: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ref": ref,
        "at": T0.isoformat(),
        "direction": "in",
        "plate": "冀A 12345",
        "vehicle_kind": "lorry",
        "cargo_class": "key_supplies",
        "origin_region": "130102",
        "destination_region": "140121",
        "history": ["130102"],
        "people": people,
    }
    body.update(over)
    return body


def _person(seq: int, **over: Any) -> dict[str, Any]:
    p = person(seq)
    got: dict[str, Any] = {"role": p.role, "id_type": p.id_type, "id_number": p.id_number,
                           "name": p.name}  # fmt: skip
    got.update(over)
    return got


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(crossings)).scalar_one())


def test_a_device_records_crossings(province: Engine, tmp_path: Path) -> None:
    lw = make_lworld(province)
    app = make_app(province, tmp_path, FANGKONG_CLOCK=NOW.isoformat())
    token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "checkpoint", lw.venue, 30, "t")
    device = client(app, authorization=f"Bearer {token}", **{"accept-language": "en"})
    shown = (T0 - timedelta(hours=20)).isoformat()
    pass_token = issue_pass(lw, keys_of(str(app.state.ctx.settings.home)), [person(1)])
    got = device.post("/api/v1/crossings", json=_body(
        "dev1:0001", [_person(1, negative_test_at=shown)], **{"pass": pass_token}))  # fmt: skip
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["outcome"], body["pass_verdict"], body["priority"]) == ("passed", "valid", True)
    assert body["checkpoint"] == "CK-G5-01"
    assert body["plate"] == "冀A12345"
    assert "priority" in body["reason"]
    assert body["people"][0]["rule_id"] == "logistics.test_valid_hours"
    again = device.post("/api/v1/crossings", json=_body(
        "dev1:0001", [_person(1, negative_test_at=shown)], **{"pass": pass_token}))  # fmt: skip
    assert (again.status_code, again.json()["created"], again.json()["id"]) == (
        200,
        False,
        body["id"],
    )
    # from a high-risk county, no test: sampled and into the closed loop, in Chinese
    zh = client(app, authorization=f"Bearer {token}")
    loop = zh.post("/api/v1/crossings", json=_body("dev1:0002", [_person(2)], history=[COUNTY_A]))
    assert loop.status_code == 200, loop.text
    person_out = loop.json()["people"][0]
    assert (person_out["outcome"], person_out["sampled"]) == ("closed_loop", True)
    assert person_out["traveller_id"] is not None
    assert "闭环" in person_out["reason"]
    assert _count(province) == 2


def test_bad_fields_and_refusals(province: Engine, tmp_path: Path) -> None:
    lw = make_lworld(province)
    app = make_app(province, tmp_path, FANGKONG_CLOCK=NOW.isoformat())
    token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "checkpoint", lw.venue, 30, "t")
    device = client(app, authorization=f"Bearer {token}", **{"accept-language": "en"})
    bad = device.post("/api/v1/crossings", json=_body("r1", [_person(1)], plate="ABC"))
    assert bad.status_code == 422, bad.text
    assert [e["field"] for e in bad.json()["errors"]] == ["plate"]
    five = device.post("/api/v1/crossings", json=_body("r1", [_person(i) for i in range(5)]))
    assert five.status_code == 422
    assert "max_people" in five.text
    future = device.post("/api/v1/crossings", json=_body(
        "r1", [_person(1)], at=(NOW + timedelta(hours=2)).isoformat()))  # fmt: skip
    assert future.status_code == 422
    other = device.post("/api/v1/crossings", json=_body("r1", [_person(1)], checkpoint="CK-X"))
    assert other.status_code == 403
    assert _count(province) == 0
    scan_token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "scan", lw.venue, 30, "t")
    scanner = client(app, authorization=f"Bearer {scan_token}")
    assert scanner.post("/api/v1/crossings", json=_body("r1", [_person(1)])).status_code == 403
    hub = venue_of(province, "transit_hub")
    hub_token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "checkpoint", hub, 30, "t")
    lost = client(app, authorization=f"Bearer {hub_token}")
    assert lost.post("/api/v1/crossings", json=_body("r1", [_person(1)])).status_code == 404
    anonymous = client(app)
    assert anonymous.post("/api/v1/crossings", json=_body("r1", [_person(1)])).status_code == 401


def test_the_batch_answers_each_crossing(province: Engine, tmp_path: Path) -> None:
    lw = make_lworld(province)
    app = make_app(province, tmp_path, FANGKONG_CLOCK=NOW.isoformat())
    token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "checkpoint", lw.venue, 30, "t")
    device = client(app, authorization=f"Bearer {token}", **{"accept-language": "en"})
    late = (T0 - timedelta(hours=30)).isoformat()  # offline for a day: still in the window
    batch = {"crossings": [
        _body("b1", [_person(1)], at=late),
        _body("b2", [_person(2), _person(2, role="passenger")]),
        _body("b3", [_person(3)]),
    ]}  # fmt: skip
    got = device.post("/api/v1/crossings/batch", json=batch)
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["recorded"], body["refused"]) == (2, 1)
    statuses = {i["ref"]: i["status"] for i in body["items"]}
    assert statuses == {"b1": 200, "b2": 422, "b3": 200}
    b2 = next(i for i in body["items"] if i["ref"] == "b2")
    assert b2["problem"]["errors"][0]["field"] == "people[2].id_number"
    assert _count(province) == 2


def test_a_crossing_waits_for_the_writers_turn_on_sqlite(province: Engine, tmp_path: Path) -> None:
    """On SQLite a crossing is written in the scan writers' turn (a flock every server
    process takes): while another process holds it the crossing waits, then is stored."""
    if province.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writes crossings in parallel")
    lw = make_lworld(province)
    app = make_app(province, tmp_path, FANGKONG_CLOCK=NOW.isoformat())
    token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "checkpoint", lw.venue, 30, "t")
    device = client(app, authorization=f"Bearer {token}")
    shown = (T0 - timedelta(hours=20)).isoformat()
    got: list[int] = []
    other = WriterTurn(province)  # as another server process's scan writer would
    with other:
        sender = threading.Thread(target=lambda: got.append(device.post(
            "/api/v1/crossings", json=_body("turn:1", [_person(1, negative_test_at=shown)])
        ).status_code))  # fmt: skip
        sender.start()
        sender.join(0.5)
        assert sender.is_alive()
        assert got == []
        assert _count(province) == 0
    sender.join(10)
    other.close()
    assert got == [200]
    assert _count(province) == 1
