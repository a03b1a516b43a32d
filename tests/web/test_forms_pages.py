"""Page forms in one place (issue 19, point 5), over real HTTP on both backends: each
fault a new user met is answered on the form itself — the error next to its field, in
the reader's language, with what was typed kept — never a bare 422 page, a misleading
notice or a silent no-op, and nothing is stored."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from fangkong.arrivals import dispatch
from fangkong.arrivals.tables import travellers
from fangkong.auth.devices import issue_device_token
from fangkong.auth.model import cli_actor
from fangkong.healthcode.tables import code_corrections
from fangkong.http.context import LANG_COOKIE
from fangkong.quarantine.placement import place
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_checks, quarantine_facilities
from fangkong.quarantine.terms import PlacementRequest
from fangkong.testing.tables import campaigns
from fangkong.tracing.tables import tracing_contacts
from tests.api.codes import AUDIT_KEY
from tests.api.helpers import TestClient, client, csrf_of, logged_in, make_app, person_ids
from tests.arrivals.world import COMPOUND_A, POINT, T0, make_world, traveller
from tests.quarantine.helpers import COUNTY_A, add, hotel, people
from tests.web.test_tracing_pages import World, _contact_id
from tests.web.test_tracing_pages import world as world  # the tracing world (a fixture)


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    return make_app(province, tmp_path)


def _rows(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _field_error(page: str, form: str, field: str) -> str:
    """The error shown next to ``field`` of ``form`` (its text), or an assertion error."""
    found = re.search(rf'<span[^>]*id="{form}-{field}-error"[^>]*>([^<]*)</span>', page)
    assert found, f"no error next to {form}/{field}"
    return html.unescape(found.group(1))


def _english(c: TestClient) -> TestClient:
    c.cookies.set(LANG_COOKIE, "en")
    return c


def test_a_daily_check_in_the_future_is_refused_next_to_the_day(
    app: FastAPI, province: Engine
) -> None:
    add(province, hotel("QF1", COUNTY_A, single=2))
    who = people(province, COUNTY_A, 1)
    done = place(province, [PlacementRequest(who[0], "close_contact", household="solo")],
                 QuarantineRules.shipped("protocol-9"), by="test",
                 at=datetime.now(UTC) - timedelta(days=2), record_codes=False)  # fmt: skip
    pid = done[0].placement_id
    epi = logged_in(app, "epi")
    token = csrf_of(epi.get(f"/quarantine/placements/{pid}").text)
    form = {"day": "2030-01-01", "status": "done", "temperature": "36.6", "symptoms": "咳嗽",
            "csrf_token": token}  # fmt: skip
    got = epi.post(f"/quarantine/placements/{pid}/check", data=form, follow_redirects=False)
    assert got.status_code == 422
    assert "不能晚于" in _field_error(got.text, "check-form", "day")
    assert 'value="2030-01-01"' in got.text
    assert 'value="咳嗽"' in got.text
    assert 'id="check-form-errors"' in got.text
    en = _english(epi).post(f"/quarantine/placements/{pid}/check", data=form)
    assert "cannot be after" in _field_error(en.text, "check-form", "day")
    # a date that cannot be, and a temperature that is not a number: both named at once
    bad = epi.post(f"/quarantine/placements/{pid}/check",
                   data={**form, "day": "2022-02-30", "temperature": "abc"})  # fmt: skip
    assert "not a valid date" in _field_error(bad.text, "check-form", "day")
    assert "not a number" in _field_error(bad.text, "check-form", "temperature")
    assert _rows(province, quarantine_checks) == 0


def test_too_long_text_is_answered_on_the_form_with_the_text_kept(
    app: FastAPI, province: Engine
) -> None:
    pid = person_ids(province, "140102")[0]
    epi = logged_in(app, "epi")
    token = csrf_of(epi.get(f"/codes/{pid}").text)
    reason = "未去过发热门诊。" * 300  # 2,400 characters
    got = epi.post(f"/codes/{pid}/corrections", data={"reason": reason, "csrf_token": token})
    assert got.status_code == 422
    assert _field_error(got.text, "correction-form", "reason") == "最多 2000 个字符（现有 2400 个）"
    assert reason in got.text  # nothing typed is lost
    assert _rows(province, code_corrections) == 0
    # the textarea counts a line break once, the browser sends two characters: still fits
    lines = "\r\n".join(["x" * 9] * 200)  # 2,000 characters as the textarea counts them
    ok = epi.post(f"/codes/{pid}/corrections", data={"reason": lines, "csrf_token": token},
                  follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303, ok.text[-400:]

    token = csrf_of(epi.get("/testing").text)
    name = "第一轮全员核酸检测" * 12  # 108 characters
    camp = epi.post("/testing/campaigns", data={"name": name, "region_code": "140102",
                    "starts_at": "2026-12-01T06:00", "csrf_token": token})  # fmt: skip
    assert camp.status_code == 422
    assert "最多 100 个字符" in _field_error(camp.text, "start-campaign", "name")
    assert f'value="{name}"' in camp.text
    assert _rows(province, campaigns) == 0


def test_the_campaign_form_names_every_bad_field(app: FastAPI, province: Engine) -> None:
    epi = logged_in(app, "epi")
    token = csrf_of(epi.get("/testing").text)
    form = {"name": "", "region_code": "ZZZ", "starts_at": "2022-02-30T08:00",
            "pool_size": "10", "csrf_token": token}  # fmt: skip
    got = epi.post("/testing/campaigns", data=form)
    assert got.status_code == 422
    assert _field_error(got.text, "start-campaign", "name") == "请填写此项"
    assert "不是地区代码" in _field_error(got.text, "start-campaign", "region_code")
    assert "不是有效时间" in _field_error(got.text, "start-campaign", "starts_at")
    assert 'value="ZZZ"' in got.text
    assert 'value="2022-02-30T08:00"' in got.text
    en = _english(epi).post("/testing/campaigns", data=form)
    assert _field_error(en.text, "start-campaign", "name") == "this field is required"
    assert "not a region code" in _field_error(en.text, "start-campaign", "region_code")
    assert _rows(province, campaigns) == 0


def test_the_bulk_change_says_nothing_changed_when_refused(world: World) -> None:
    epi = logged_in(world.app, "epi")
    case = world.cases["A"]
    token = csrf_of(epi.get(f"/tracing/cases/{case}").text)
    e, c = _contact_id(world, "E"), _contact_id(world, "C")
    # C became a case: the move is refused for both, and no green notice counts nothing
    form = {"contact": [str(e), str(c)], "status": "quarantined", "reason": "电话告知，已安排",
            "csrf_token": token}  # fmt: skip
    got = epi.post(f"/tracing/cases/{case}/status", data=form)
    assert got.status_code == 409
    assert 'id="status-error"' in got.text
    assert 'id="changed"' not in got.text
    assert "电话告知，已安排</textarea>" in got.text  # the reason is kept, the boxes ticked
    assert f'value="{e}" checked' in got.text
    assert f'value="{c}" checked' in got.text
    # nothing ticked: said next to the form, not a silent "changed 0"
    none = epi.post(f"/tracing/cases/{case}/status",
                    data={"status": "notified", "reason": "x", "csrf_token": token})  # fmt: skip
    assert none.status_code == 422
    assert _field_error(none.text, "bulk", "contact") == "请至少选择一项"
    assert 'id="changed"' not in none.text
    with world.engine.connect() as conn:
        statuses = set(conn.execute(select(tracing_contacts.c.status)).scalars())
    assert "quarantined" not in statuses


def test_facility_form_shows_each_error_once(app: FastAPI, province: Engine) -> None:
    epi = logged_in(app, "epi")
    token = csrf_of(epi.get("/quarantine/facilities").text)
    form = {"code": "QX1", "name": "", "kind": "hotel", "region_code": "140102",
            "status": "open", "single_rooms": "10", "csrf_token": token}  # fmt: skip
    got = epi.post("/quarantine/facilities", data=form)
    assert got.status_code == 422
    message = _field_error(got.text, "facility-form", "name")
    assert html.unescape(got.text).count(message) == 1
    assert 'id="facility-form-errors"' in got.text  # one line above says to look below
    assert 'value="QX1"' in got.text
    long = epi.post("/quarantine/facilities", data={**form, "name": "宾" * 5000})
    assert long.status_code == 422  # not a bare page: the form again
    assert 'id="facility-form"' in long.text
    assert _rows(province, quarantine_facilities) == 0


def test_confirm_offers_the_next_stage_and_refuses_a_passed_one(
    province: Engine, tmp_path: Path
) -> None:
    w = make_world(province)
    app = make_app(province, tmp_path)
    token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "checkpoint", POINT, 30, "t")
    device = client(app, authorization=f"Bearer {token}")
    day = (T0 - timedelta(days=1)).date().isoformat()
    row = traveller(1, f"{COMPOUND_A}@{day}")
    row["travel_history"] = [{"place": COMPOUND_A, "from": day}]
    manifest = {"ref": "F-1", "mode": "flight", "carrier": "CA1", "point_code": POINT,
                "travellers": [row]}  # fmt: skip
    got = device.post("/api/v1/arrivals/manifests", json=manifest)
    assert got.status_code == 200, got.text
    tid = got.json()["traveller_ids"][0]
    dispatch.sample(province, w.rules, w.testing, [tid], f"T{tid}", collector="c", codes=w.codes,
                    by="t", at=T0 + timedelta(minutes=30))  # fmt: skip
    dispatch.plan(province, w.rules, w.quarantine, POINT, by="t", codes=w.codes,
                  at=T0 + timedelta(minutes=40))  # fmt: skip
    epi = logged_in(app, "epi")
    page = epi.get(f"/arrivals/travellers/{tid}").text
    options = re.findall(r'<option value="(\w+)"( selected)?>', page)
    assert options[0] == ("boarded", " selected")  # the next stage, chosen
    assert "registered" not in [o for o, _ in options]
    done = epi.post(f"/arrivals/travellers/{tid}/confirm", follow_redirects=False,
                    data={"stage": "boarded", "seen": "sampled",
                          "csrf_token": csrf_of(page)})  # fmt: skip
    assert done.status_code == 303
    page = epi.get(f"/arrivals/travellers/{tid}").text
    assert re.findall(r'<option value="(\w+)"', page)[0] == "handed_over"
    again = epi.post(f"/arrivals/travellers/{tid}/confirm",
                     data={"stage": "boarded", "seen": "boarded",
                           "csrf_token": csrf_of(page)})  # fmt: skip
    assert again.status_code == 409
    assert "未作任何变更" in _field_error(again.text, "confirm", "stage")
    unknown = epi.post(f"/arrivals/travellers/{tid}/confirm",
                       data={"stage": "x" * 500, "seen": "boarded",
                             "csrf_token": csrf_of(page)})  # fmt: skip
    assert unknown.status_code == 422
    assert _field_error(unknown.text, "confirm", "stage")
    with province.connect() as conn:
        stage = conn.execute(select(travellers.c.stage).where(travellers.c.id == tid)).scalar()
    assert stage == "boarded"


def test_a_too_long_id_number_is_answered_on_the_lookup_page(app: FastAPI) -> None:
    epi = logged_in(app, "epi")
    for path, lookup in (("/persons/lookup", "/persons/lookup"), ("/codes", "/codes/lookup")):
        token = csrf_of(epi.get(path).text)
        got = epi.post(lookup, data={"id_number": "1" * 41, "csrf_token": token})
        assert got.status_code == 422
        assert "最多 40 个字符" in got.text
        assert 'id="id-error"' in got.text  # next to the field, not a bare error page


def test_a_too_long_user_name_is_answered_on_the_login_page(app: FastAPI) -> None:
    c = client(app)
    token = csrf_of(c.get("/login").text)
    got = c.post("/login", data={"username": "u" * 65, "password": "x", "csrf_token": token})
    assert got.status_code == 422
    assert "最多 64 个字符（现有 65 个）" in got.text
    assert 'name="username"' in got.text  # the login form again, not a bare error page


def test_a_briefing_for_a_region_code_that_cannot_be_one(app: FastAPI) -> None:
    epi = logged_in(app, "epi")
    token = csrf_of(epi.get("/command/briefings").text)
    got = epi.post("/command/briefings", data={"region": "1401020000000000", "csrf_token": token})
    assert got.status_code == 422  # 16 digits: the form again, not a bare page
    assert "最多 15 个字符" in _field_error(got.text, "write-briefing", "region")
    assert 'value="1401020000000000"' in got.text
