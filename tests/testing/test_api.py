"""The testing API over real HTTP (TestClient) on SQLite and PostgreSQL: a sampling
device registers a pool, hands it to a lab, the lab's system signs for it and posts the
results; errors name the row and field in Chinese and English; rights, jurisdiction and
one audit row per read.

The world: the twin's small province (counties 140102 and 140121), a lab in each county,
device tokens bound to venues of 140102, the shell users (epi and viewer in 140102,
county2 in 140121)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from fangkong.healthcode.codes import issue_qr
from fangkong.healthcode.tables import person_facts
from fangkong.store.schema import audit_log
from fangkong.testing.campaigns import add_lab
from fangkong.testing.tables import batches, orders, results, tubes
from tests.api.codes import codes_of, device_token, venue_of
from tests.api.helpers import client, logged_in, make_app, person_identity, person_ids

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(
    hours=4
)  # results come in 3 h later, not in the future


@dataclass(frozen=True)
class World:
    app: FastAPI
    engine: Engine
    people: list[int]  # residents of 140102
    far: list[int]  # residents of 140121
    sampler: Any  # TestClient of a sampling device
    lab: Any  # TestClient of LAB1's system


@pytest.fixture
def world(province: Engine, tmp_path: Path) -> World:
    app = make_app(province, tmp_path)
    add_lab(province, "LAB1", "晋昌区检测实验室", "140102", 20_000)
    add_lab(province, "LAB2", "阳远县检测实验室", "140121", 10_000)
    venue = venue_of(province, "hospital")
    sampler = client(app, authorization=f"Bearer {device_token(province, venue, 'sampling')}")
    lab = client(app, authorization=f"Bearer {device_token(province, venue, 'lab')}")
    return World(
        app, province, person_ids(province, "140102"), person_ids(province, "140121"),
        sampler, lab,
    )  # fmt: skip


def _sample(w: World, barcode: str, people: list[int], **extra: Any) -> Any:
    body = {"barcode": barcode, "person_ids": people, "collected_at": NOW.isoformat(), **extra}
    return w.sampler.post("/api/v1/samples", json=body)


def _row(barcode: str, ct: float | None, run: str = "run-1") -> dict[str, Any]:
    tested = (NOW + timedelta(hours=3)).isoformat()
    return {"barcode": barcode, "run": run, "ct_orf1ab": ct, "ct_n": ct, "tested_at": tested}


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _audits(engine: Engine, action: str) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.outcome, audit_log.c.target_id, audit_log.c.detail)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        ).all()
    return [(r.outcome, r.target_id, r.detail) for r in rows]


def test_sample_custody_results_retests_end_to_end(world: World) -> None:
    pool = world.people[:5]
    number = person_identity(world.engine, pool[4])[0]
    first = _sample(world, "POOL-1", pool[:4], id_numbers=[number])
    assert first.status_code == 201, first.text
    assert first.json()["pool_size"] == 5
    assert first.json()["region_code"].startswith("140102")  # the device's venue's region
    again = _sample(world, "POOL-1", pool)  # the same sample resent: unchanged
    assert again.status_code == 200
    assert _count(world.engine, tubes) == 1
    clash = _sample(world, "POOL-1", pool[:3])
    assert clash.status_code == 409
    assert clash.json()["code"] == "testing.tube_conflict"
    _sample(world, "ONE-1", [world.people[5]])

    shipped = world.sampler.post(
        "/api/v1/tubes/ship", json={"lab": "LAB1", "barcodes": ["POOL-1", "ONE-1"]}
    )
    assert shipped.json() == {"changed": 2, "already": 0}
    assert (
        world.sampler.post(
            "/api/v1/tubes/receive", json={"lab": "LAB1", "barcodes": ["POOL-1"]}
        ).status_code
        == 403
    )
    got = world.lab.post(
        "/api/v1/tubes/receive", json={"lab": "LAB1", "barcodes": ["POOL-1", "ONE-1"]}
    )
    assert got.json() == {"changed": 2, "already": 0}  # fmt: skip

    body = {"lab": "LAB1", "rows": [_row("POOL-1", 24.5), _row("ONE-1", None)]}
    posted = world.lab.post("/api/v1/lab/results", json=body)
    assert posted.status_code == 200, posted.text
    out = posted.json()
    assert (out["rows"], out["inserted"], out["repeated"]) == (2, 2, 0)
    assert out["resolved"]["retests_ordered"] == 5  # one individual retest per pool member
    resent = world.lab.post("/api/v1/lab/results", json=body).json()
    assert (resent["inserted"], resent["repeated"], resent["resolved"]) == (0, 2, None)
    assert _count(world.engine, results) == 2
    assert _count(world.engine, orders, orders.c.reason == "retest") == 5
    with world.engine.connect() as conn:
        facts = conn.execute(
            select(person_facts.c.person_id, person_facts.c.detail).where(
                person_facts.c.kind == "test", person_facts.c.person_id.in_(pool)
            )
        ).all()
    assert {p for p, d in facts if d["result"] == "positive"} == set(pool)

    epi = logged_in(world.app, "epi")
    tests = epi.get(f"/api/v1/persons/{pool[0]}/tests").json()
    assert tests["masked"] is False
    assert tests["tests"][0]["barcode"] == "POOL-1"
    assert tests["tests"][0]["outcome"] == "positive"
    assert tests["tests"][0]["state"] == "tested"
    assert [o["reason"] for o in tests["orders"]] == ["retest"]
    assert _audits(world.engine, "testing.person")[-1][:2] == ("ok", str(pool[0]))
    outcomes = [a for a, *_ in _audits(world.engine, "testing.collect")]
    # the refused one is audited too (outcomes are cut to the column's 20 characters)
    assert outcomes == ["ok", "ok", "testing.tube_conflict"[:20], "ok"]


def test_a_bad_batch_names_row_and_field_in_both_languages_and_stores_nothing(
    world: World,
) -> None:
    _sample(world, "T-1", [world.people[0]])
    _sample(world, "T-2", [world.people[1]])
    rows = [_row("T-1", 30.0), {**_row("T-2", None), "ct_n": "lots", "tested_at": "noon"}]
    zh = world.lab.post("/api/v1/lab/results", json={"lab": "LAB1", "rows": rows})
    assert zh.status_code == 422
    assert zh.headers["content-type"] == "application/problem+json"
    problem = zh.json()
    assert problem["code"] == "results.invalid"
    assert {e["field"] for e in problem["errors"]} == {"rows.1.ct_n", "rows.1.tested_at"}
    assert "第 2 行" in problem["detail"]
    assert "未写入" in problem["detail"]
    en = world.lab.post("/api/v1/lab/results", json={"lab": "LAB1", "rows": rows},
                        headers={"accept-language": "en"}).json()  # fmt: skip
    assert "row 2" in en["detail"]
    assert "nothing stored" in en["detail"]
    assert any("Ct" in e["detail"] for e in en["errors"])
    unknown = world.lab.post(
        "/api/v1/lab/results", json={"lab": "LAB1", "rows": [_row("T-1", None), _row("NOPE", None)]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "results.tube_unknown"
    assert [e["field"] for e in unknown.json()["errors"]] == ["rows.1.barcode"]
    twice = world.lab.post(
        "/api/v1/lab/results", json={"lab": "LAB1", "rows": [_row("T-1", None), _row("T-1", None)]}
    )
    assert twice.json()["code"] == "results.repeated"
    assert _count(world.engine, results) == 0
    assert _count(world.engine, batches) == 0  # no partial writes: not even a batch row

    ok = world.lab.post("/api/v1/lab/results", json={"lab": "LAB1", "rows": [_row("T-1", None)]})
    assert ok.status_code == 200
    changed = world.lab.post(
        "/api/v1/lab/results", json={"lab": "LAB1", "rows": [_row("T-1", 20.0)]}
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "results.conflict"
    typed = world.lab.post("/api/v1/lab/results", json={"lab": "LAB1", "rows": [[1, 2]]})
    assert typed.status_code == 422
    assert typed.json()["errors"][0]["field"].startswith("rows.0")
    outcomes = [o for o, *_ in _audits(world.engine, "testing.results")]
    assert outcomes == ["results.invalid", "results.invalid", "results.tube_unknown",
                        "results.repeated", "ok", "results.conflict"]  # fmt: skip


def test_rights_scopes_and_jurisdiction(world: World) -> None:
    _sample(world, "T-1", world.people[:2])
    venue = venue_of(world.engine, "hospital")
    scanner = client(world.app, authorization=f"Bearer {device_token(world.engine, venue)}")
    body = {"lab": "LAB1", "rows": [_row("T-1", None)]}
    refused = scanner.post("/api/v1/lab/results", json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "auth.forbidden"
    assert scanner.post("/api/v1/samples", json={"barcode": "X", "person_ids": [1],
                        "collected_at": NOW.isoformat()}).status_code == 403  # fmt: skip
    other = world.lab.post("/api/v1/lab/results", json={**body, "lab": "LAB2"})
    assert other.status_code == 404  # a lab of another county answers as a missing one
    assert other.json()["code"] == "testing.lab_unknown"
    missing = world.lab.post("/api/v1/lab/results", json={**body, "lab": "LAB9"})
    assert missing.json()["detail"] == other.json()["detail"].replace("LAB2", "LAB9")
    elsewhere = _sample(world, "FAR-1", [world.far[0]], region_code="140121")
    assert elsewhere.status_code == 403, elsewhere.text
    assert elsewhere.json()["code"] == "testing.region_forbidden"

    epi = logged_in(world.app, "epi").get("/api/v1/tubes/T-1").json()
    viewer = logged_in(world.app, "viewer").get("/api/v1/tubes/T-1").json()
    names = [person_identity(world.engine, p)[1] for p in world.people[:2]]
    assert [m["name"] for m in epi["members"]] == names
    assert epi["masked"] is False
    assert viewer["masked"] is True
    assert [m["person_id"] for m in viewer["members"]] == world.people[:2]
    assert all(m["name"] not in names for m in viewer["members"])
    assert epi["state"] == "collected"
    far = logged_in(world.app, "county2")
    hidden = far.get("/api/v1/tubes/T-1")
    absent = far.get("/api/v1/tubes/NOPE")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["detail"] == absent.json()["detail"].replace("NOPE", "T-1")
    assert far.get(f"/api/v1/persons/{world.people[0]}/tests").status_code == 404
    assert logged_in(world.app, "admin").get("/api/v1/tubes/T-1").status_code == 403
    tube_reads = _audits(world.engine, "testing.tube")
    assert [(o, t) for o, t, _ in tube_reads] == [
        ("ok", "T-1"), ("ok", "T-1"), ("out_of_jurisdiction", "T-1"), ("not_found", "NOPE"),
        ("forbidden", "T-1"),
    ]  # fmt: skip
    assert tube_reads[1][2] == "2 persons masked"


def test_sample_body_errors_name_the_field(world: World) -> None:
    bad_id = _sample(world, "T-9", [], id_numbers=["123"])
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"][0]["field"] == "id_numbers.0"
    nobody = _sample(world, "T-9", [])
    assert nobody.status_code == 422
    assert nobody.json()["errors"][0]["field"] == "person_ids"
    naive = world.sampler.post("/api/v1/samples", json={"barcode": "T-9", "person_ids": [1],
                               "collected_at": "2026-01-01T08:00:00"})  # fmt: skip
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "collected_at"
    too_big = _sample(world, "T-9", world.people[:21])
    assert too_big.status_code == 400
    assert too_big.json()["code"] == "testing.sample_invalid"
    assert _count(world.engine, tubes) == 0


def test_a_sampler_may_scan_health_code_qrs(world: World) -> None:
    codes = codes_of(world.app)
    good = issue_qr(world.engine, codes, world.people[0])
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    refused = _sample(world, "QR-1", [], tokens=[good, forged])
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["tokens.1"]
    assert refused.json()["errors"][0]["code"] == "scan.token_forged"
    assert _count(world.engine, tubes) == 0
    done = _sample(world, "QR-1", [world.people[1]], tokens=[good])
    assert done.status_code == 201, done.text
    assert done.json()["pool_size"] == 2
    epi = logged_in(world.app, "epi")
    assert [m["person_id"] for m in epi.get("/api/v1/tubes/QR-1").json()["members"]] == sorted(
        world.people[:2]
    )
