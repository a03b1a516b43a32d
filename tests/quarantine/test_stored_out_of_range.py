"""Stored records out of bounds (written before the bounds): a placement whose planned end
is 9999-12-31 is read through the API and its pages without a 500, the date shown as
stored and flagged (issue 16). Both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select, update

from fangkong.quarantine.tables import quarantine_facilities, quarantine_placements
from tests.api.helpers import logged_in, make_app
from tests.quarantine.helpers import COUNTY_A, add, hotel, people

FAR = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)  # in Shanghai: past the end of the calendar
FLAG = "日期超出范围"


@pytest.fixture
def placed(province: Engine, tmp_path: Path) -> tuple[FastAPI, int]:
    add(province, hotel("QA1", COUNTY_A, single=6))
    app = make_app(province, tmp_path)
    epi = _api(app, "epi")
    body = {"rows": [{"person_id": p, "risk_group": "close_contact", "household": f"solo-{p}"}
                     for p in people(province, COUNTY_A)[:2]]}  # fmt: skip
    got = epi.post("/api/v1/quarantine/placements", json=body)
    assert got.status_code == 200, got.text
    pid = int(got.json()["assignments"][0]["placement_id"])
    with province.begin() as conn:  # as a request before the bounds could store it
        conn.execute(update(quarantine_placements)
                     .where(quarantine_placements.c.id == pid).values(planned_end=FAR))  # fmt: skip
    return app, pid


def _api(app: FastAPI, user: str) -> Any:
    c = logged_in(app, user)
    c.headers["X-CSRF-Token"] = c.get("/api/v1/session").json()["csrf_token"]
    return c


def test_a_stored_9999_end_reads_through_the_api_flagged(placed: tuple[FastAPI, int]) -> None:
    app, pid = placed
    got = _api(app, "epi").get(f"/api/v1/quarantine/placements/{pid}")
    assert got.status_code == 200, got.text
    assert got.json()["planned_end"].startswith("9999-12-31")


def test_every_quarantine_page_shows_the_stored_end_flagged(
    placed: tuple[FastAPI, int], province: Engine
) -> None:
    app, pid = placed
    epi = logged_in(app, "epi")
    page = epi.get(f"/quarantine/placements/{pid}")
    assert page.status_code == 200, page.text[-2000:]
    assert "9999-12-31" in page.text
    assert FLAG in page.text
    with province.connect() as conn:
        code = conn.execute(select(quarantine_facilities.c.code)).scalars().first()
    for path in ("/quarantine", "/quarantine/facilities", f"/quarantine/facilities/{code}",
                 f"/quarantine/facilities/{code}/occupants", "/quarantine/alerts",
                 "/quarantine/survey"):  # fmt: skip
        assert epi.get(path).status_code == 200, path
    for path in ("/api/v1/quarantine/readiness", "/api/v1/quarantine/alerts"):
        assert _api(app, "epi").get(path).status_code in (200, 404), path


@pytest.mark.parametrize(
    ("path", "form", "shown"),
    [("check", {"day": "9999-12-31", "status": "done"}, ("day", "已发生的日期不能晚于")),
     ("check", {"day": "0001-01-01", "status": "done"}, ("day", "已发生的日期不能早于")),
     ("check", {"day": "TODAY", "status": "done", "symptoms": "a\x00b"},
      ("symptoms", "不能含控制字符")),
     ("test", {"day_number": "1", "sampled_at": "9999-12-31T08:00", "result": "negative"},
      ("sampled_at", "已发生的日期不能晚于")),
     ("period", {"days": "999999", "reason": "x"}, ("days", "应在")),
     ("abscond", {"note": "走\x00了"}, ("note", "不能含控制字符"))],
)  # fmt: skip
def test_page_forms_refuse_out_of_range_values_in_the_page(
    placed: tuple[FastAPI, int],
    province: Engine,
    path: str,
    form: dict[str, str],
    shown: tuple[str, str],
) -> None:
    """Refused on the form itself (web/forms.py): 422, the message next to its field."""
    from fangkong import clock
    from tests.api.helpers import csrf_of

    app, pid = placed
    epi = logged_in(app, "epi")
    page = epi.get(f"/quarantine/placements/{pid}")
    form = {
        k: (clock.today(ZoneInfo("Asia/Shanghai")).isoformat() if v == "TODAY" else v)
        for k, v in form.items()
    }
    data = {**form, "csrf_token": csrf_of(page.text)}
    got = epi.post(f"/quarantine/placements/{pid}/{path}", data=data, follow_redirects=False)
    assert got.status_code == 422, got.text[-500:]
    name, message = shown
    assert re.search(rf'data-field="{name}">{message}', got.text), got.text[-1500:]
    with province.connect() as conn:
        end = conn.execute(select(quarantine_placements.c.planned_end)
                           .where(quarantine_placements.c.id == pid)).scalar_one()  # fmt: skip
    assert end.year == 9999  # nothing changed
