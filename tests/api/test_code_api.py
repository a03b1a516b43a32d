"""GET /api/v1/persons/{id}/code and its QR image: rights, jurisdiction, masking, audit."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from fangkong.store.schema import audit_log
from tests.api.codes import codes_of, make_red
from tests.api.helpers import logged_in, make_app, person_identity, person_ids

MISSING_ID = 987_654


def _audit(engine: Engine, action: str) -> list[tuple[str, str | None, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.target_id, audit_log.c.outcome,
                   audit_log.c.detail)
            .where(audit_log.c.action == action).order_by(audit_log.c.seq)
        ).all()  # fmt: skip
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_code_in_both_languages_with_next_change(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    pid = person_ids(province, "140102")[0]
    make_red(province, codes_of(app), pid)
    c = logged_in(app, "epi")
    zh = c.get(f"/api/v1/persons/{pid}/code").json()
    en = c.get(f"/api/v1/persons/{pid}/code", headers={"Accept-Language": "en"}).json()
    assert zh["colour"] == en["colour"] == "red"
    assert zh["masked"] is en["masked"] is False
    assert zh["name"] == person_identity(province, pid)[1]
    assert "密切接触" in zh["reasons"][0]["text"]
    assert "close contact" in en["reasons"][0]["text"].lower()
    assert en["reasons"][0]["clears"]
    assert en["next_colour"] == "yellow"
    assert en["next_change_at"] > en["evaluated_at"]
    assert _audit(province, "code.read") == [("epi", str(pid), "ok", "full")] * 2


def test_another_jurisdiction_answers_like_a_missing_person(
    province: Engine, tmp_path: Path
) -> None:
    app = make_app(province, tmp_path)
    c = logged_in(app, "epi")  # county 140102
    other = person_ids(province, "140121")[0]
    foreign = c.get(f"/api/v1/persons/{other}/code")
    missing = c.get(f"/api/v1/persons/{MISSING_ID}/code")
    assert foreign.status_code == missing.status_code == 404
    strip = {"instance"}
    assert {k: v for k, v in foreign.json().items() if k not in strip} == {
        k: v for k, v in missing.json().items() if k not in strip
    }
    assert foreign.json()["code"] == "person.not_found"
    qr = c.get(f"/api/v1/persons/{other}/code/qr.png")
    assert qr.status_code == 404
    assert [r[2] for r in _audit(province, "code.read")] == ["out_of_jurisdiction", "not_found"]
    assert [r[2] for r in _audit(province, "code.qr")] == ["out_of_jurisdiction"]
    assert logged_in(app, "county2").get(f"/api/v1/persons/{other}/code").status_code == 200


def test_viewer_sees_colour_and_rules_but_no_sentences_nor_name(
    province: Engine, tmp_path: Path
) -> None:
    app = make_app(province, tmp_path)
    pid = person_ids(province, "140102")[0]
    make_red(province, codes_of(app), pid)
    body = logged_in(app, "viewer").get(f"/api/v1/persons/{pid}/code").json()
    assert body["colour"] == "red"
    assert (body["masked"], body["reasons_masked"]) == (True, True)
    assert body["name"] != person_identity(province, pid)[1]
    assert "*" in body["name"]
    assert body["reasons"][0]["rule"] == "close_contact"
    assert body["reasons"][0]["text"] is None
    assert body["reasons"][0]["clears"] is None
    assert _audit(province, "code.read") == [
        ("viewer", str(pid), "ok", "identity masked, reasons masked")
    ]


def test_admin_audits_codes_but_does_not_read_them(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    pid = person_ids(province, "140102")[0]
    refused = logged_in(app, "admin").get(f"/api/v1/persons/{pid}/code")
    assert refused.status_code == 403
    assert refused.json()["code"] == "auth.forbidden"
    assert _audit(province, "code.read") == [("admin", str(pid), "forbidden", None)]


def test_qr_image_is_a_png_and_audited(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    pid = person_ids(province, "140102")[0]
    image = logged_in(app, "epi").get(f"/api/v1/persons/{pid}/code/qr.png")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.headers["cache-control"] == "no-store"
    assert _audit(province, "code.qr") == [("epi", str(pid), "ok", None)]
