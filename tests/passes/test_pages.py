"""The pass pages over real HTTP: the issue form (refusals next to their fields, what was
typed kept), the pass with its QR and status in words, the revoke form, the list (sorted,
paged, filtered), rights and jurisdiction; nothing stored shown raw, in zh and en."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from fangkong import clock
from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.http.context import LANG_COOKIE
from fangkong.keys import ServerKeys
from tests.api.helpers import csrf_of, logged_in, make_app
from tests.conftest import PASSWORD, TEST_SERVER_KEY
from tests.web.labels_check import raw_in
from tests.web.listing_check import check_list, small_pages  # noqa: F401 - a fixture

from .conftest import resident_id

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    key = ServerKeys.from_master(TEST_SERVER_KEY).audit
    add_user(province, key, cli_actor(), "cmdr", PASSWORD, "commander", "140102", "test")
    add_user(province, key, cli_actor(), "cmdr2", PASSWORD, "commander", "140121", "test")
    return make_app(province, tmp_path)


def _local(hours: float) -> str:
    return (clock.now() + timedelta(hours=hours)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


def _form(csrf: str, **kw: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf, "plate": "晋A12345", "vehicle_kind": "lorry",
        "cargo_class": "key_supplies", "carrier": "", "origin_region": "320100",
        "destination_region": "140102", "via": "130100", "valid_from": _local(0),
        "valid_until": _local(72), "region_code": "140102",
        "driver1_id_number": resident_id("320102", 11), "driver1_name": "赵六",
        "driver1_tested_at": _local(-20), "driver1_code_colour": "green",
    }  # fmt: skip
    form.update(kw)
    return form


def _issue(c: Any, **kw: str) -> str:
    form = c.get("/passes/new")
    r = c.post("/passes", data=_form(csrf_of(form.text), **kw), follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).split("?")[0].rsplit("/", 1)[1]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_issue_show_revoke(app: FastAPI, lang: str) -> None:
    cmdr = logged_in(app, "cmdr")
    cmdr.cookies.set(LANG_COOKIE, lang)
    form = cmdr.get("/passes/new")
    assert form.status_code == 200
    assert raw_in(form.text) == []
    bad = cmdr.post("/passes", data=_form(csrf_of(form.text), cargo_class="ordinary",
                                          driver1_tested_at=_local(-50)))  # fmt: skip
    assert bad.status_code == 422
    assert 'id="issue-cargo_class-error"' in bad.text
    assert 'id="issue-driver1_tested_at-error"' in bad.text
    assert ("不属于重点物资" if lang == "zh" else "not key supplies") in bad.text
    assert 'value="赵六"' in bad.text  # what was typed is kept
    serial = _issue(cmdr)
    page = cmdr.get(f"/passes/{serial}?issued=1")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert 'class="qr"' in page.text
    status = re.search(r'id="pass-status"[^>]*>([^<]+)<', page.text)
    assert status
    assert status.group(1) == ("有效" if lang == "zh" else "Valid")
    assert raw_in(page.text) == []
    assert "赵*" in page.text  # names masked without person.read_full
    empty = cmdr.post(f"/passes/{serial}/revoke", data={"csrf_token": csrf_of(page.text),
                                                        "reason": " "})  # fmt: skip
    assert empty.status_code == 422
    assert 'id="revoke-reason-error"' in empty.text
    done = cmdr.post(f"/passes/{serial}/revoke", follow_redirects=True,
                     data={"csrf_token": csrf_of(page.text), "reason": "司机阳性"})  # fmt: skip
    assert done.status_code == 200
    assert ("已撤销" if lang == "zh" else "Revoked") in done.text
    assert 'id="revoke"' not in done.text  # revoked once
    assert raw_in(done.text) == []


def test_list_rights_and_jurisdiction(app: FastAPI, small_pages: None) -> None:  # noqa: F811
    cmdr = logged_in(app, "cmdr")
    serials = [_issue(cmdr, plate=f"晋A1234{i}", driver1_id_number=resident_id("320102", 20 + i))
               for i in range(3)]  # fmt: skip
    listed = cmdr.get("/passes")
    assert listed.status_code == 200
    assert raw_in(listed.text) == []
    assert all(s in listed.text for s in serials)
    assert 'href="/passes"' in listed.text  # the navigation's link
    check_list(cmdr, "/passes?status=valid", "passes", "pass-", "plate", keep="status=valid",
               total=3)  # fmt: skip
    assert cmdr.get("/passes?status=bogus").status_code == 422
    viewer = logged_in(app, "viewer")
    assert 'id="issue-link"' not in viewer.get("/passes").text
    assert viewer.get("/passes/new").status_code == 403
    assert viewer.get(f"/passes/{serials[0]}").status_code == 200
    other = logged_in(app, "cmdr2")
    assert other.get(f"/passes/{serials[0]}").status_code == 404
    assert "no-passes" in other.get("/passes").text
