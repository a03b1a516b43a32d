"""Jurisdiction, masking and the audit trail of person reads, over the API and the pages."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from fangkong.identity.masking import mask_id, mask_name
from fangkong.store.schema import audit_log
from tests.api.helpers import (
    csrf_of,
    logged_in,
    make_app,
    person_identity,
    person_ids,
)

MISSING_ID = 987_654
UNKNOWN_ID_NUMBER = "11010519491231002X"  # valid checksum, nobody in the twin has it


def _audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def _api_csrf(c: object) -> str:
    token = c.get("/api/v1/session").json()["csrf_token"]  # type: ignore[attr-defined]
    assert token
    return str(token)


def test_other_county_answers_like_a_missing_record_api(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    c = logged_in(app, "epi")  # county 140102
    own, other = person_ids(province, "140102")[0], person_ids(province, "140121")[0]
    assert c.get(f"/api/v1/persons/{own}").status_code == 200

    foreign = c.get(f"/api/v1/persons/{other}")
    missing = c.get(f"/api/v1/persons/{MISSING_ID}")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.headers["content-type"] == missing.headers["content-type"]
    strip = {"instance"}  # the only field that differs: the path asked for
    body_f = {k: v for k, v in foreign.json().items() if k not in strip}
    body_m = {k: v for k, v in missing.json().items() if k not in strip}
    assert body_f == body_m
    assert body_f["code"] == "person.not_found"

    # by ID number: another county's resident answers like an unknown number
    number, _ = person_identity(province, other)
    headers = {"X-CSRF-Token": _api_csrf(c)}
    by_number = c.post("/api/v1/persons/lookup", json={"id_number": number}, headers=headers)
    unknown = c.post(
        "/api/v1/persons/lookup", json={"id_number": UNKNOWN_ID_NUMBER}, headers=headers
    )
    assert by_number.status_code == unknown.status_code == 404
    assert by_number.json() == unknown.json()

    # the county user of 140121 does see them
    c2 = logged_in(app, "county2")
    assert c2.get(f"/api/v1/persons/{other}").json()["id"] == other


def test_other_county_answers_like_a_missing_record_page(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    c = logged_in(app, "epi")
    other = person_ids(province, "140121")[0]
    foreign = c.get(f"/persons/{other}")
    missing = c.get(f"/persons/{MISSING_ID}")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.text.replace(str(other), "N") == missing.text.replace(str(MISSING_ID), "N")

    number, name = person_identity(province, other)
    form = c.get("/persons/lookup")
    token = csrf_of(form.text)
    found = c.post("/persons/lookup", data={"id_number": number, "csrf_token": token})
    unknown = c.post("/persons/lookup", data={"id_number": UNKNOWN_ID_NUMBER, "csrf_token": token})
    assert found.status_code == unknown.status_code == 404
    assert found.text == unknown.text
    assert name not in found.text


def test_viewer_sees_masked_data_epidemiologist_in_full(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    pid = person_ids(province, "140102")[0]
    number, name = person_identity(province, pid)

    seen_by_viewer = logged_in(app, "viewer").get(f"/api/v1/persons/{pid}").json()
    assert seen_by_viewer["masked"] is True
    assert seen_by_viewer["id_number"] == mask_id(number) != number
    assert seen_by_viewer["name"] == mask_name(name) != name
    assert "*" in seen_by_viewer["phone"]
    assert len(seen_by_viewer["birth"]) == 4  # the year only

    seen_by_epi = logged_in(app, "epi").get(f"/api/v1/persons/{pid}").json()
    assert seen_by_epi["masked"] is False
    assert (seen_by_epi["id_number"], seen_by_epi["name"]) == (number, name)

    page = logged_in(app, "viewer").get(f"/persons/{pid}")
    assert mask_id(number) in page.text
    assert number not in page.text
    assert name not in page.text


def test_every_person_read_leaves_one_audit_row_without_personal_data(
    province: Engine, tmp_path: Path
) -> None:
    app = make_app(province, tmp_path)
    own = person_ids(province, "140102")[:3]
    other = person_ids(province, "140121")[0]
    epi = logged_in(app, "epi")
    viewer = logged_in(app, "viewer")
    headers = {"X-CSRF-Token": _api_csrf(epi)}
    form_token = csrf_of(epi.get("/persons/lookup").text)
    reads = [
        lambda: epi.get(f"/api/v1/persons/{own[0]}"),
        lambda: viewer.get(f"/api/v1/persons/{own[1]}"),
        lambda: epi.get(f"/persons/{own[2]}"),
        lambda: epi.get(f"/api/v1/persons/{other}"),  # out of jurisdiction: audited too
        lambda: epi.get(f"/api/v1/persons/{MISSING_ID}"),
        lambda: epi.post(
            "/api/v1/persons/lookup",
            headers=headers,
            json={"id_number": person_identity(province, own[1])[0]},
        ),
        lambda: epi.post(
            "/persons/lookup",
            data={"id_number": person_identity(province, own[2])[0], "csrf_token": form_token},
        ),
    ]
    for read in reads:
        before = _audit_count(province)
        read()
        assert _audit_count(province) == before + 1

    with province.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.action.like("person.%"))).all()
    assert len(rows) == len(reads)
    text = "\n".join(repr(tuple(r)) for r in rows)
    for pid in [*own, other]:
        number, name = person_identity(province, pid)
        assert number not in text
        assert number[:17] not in text
        assert name not in text
    outcomes = [(r.actor, r.action, r.target_id, r.outcome, r.detail) for r in rows]
    assert ("epi", "person.read", str(own[0]), "ok", "full") in outcomes
    assert ("viewer", "person.read", str(own[1]), "ok", "masked") in outcomes
    assert ("epi", "person.read", str(other), "out_of_jurisdiction", None) in outcomes
    assert ("epi", "person.lookup", str(own[1]), "ok", "full") in outcomes
    assert all(r.address == "testclient" for r in rows)


def test_home_numbers_are_the_jurisdictions(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    county = logged_in(app, "epi").get("/api/v1/summary").json()
    province_wide = logged_in(app, "admin").get("/api/v1/summary").json()
    assert county["persons"] == len(person_ids(province, "140102"))
    assert province_wide["persons"] == 300
    assert 0 < county["venues"] < province_wide["venues"]
    assert 0 < county["households"] < province_wide["households"]
    assert sum(a["persons"] for a in province_wide["by_area"]) == 300
