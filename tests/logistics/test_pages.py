"""The checkpoint pages over real HTTP: the list of the jurisdiction's checkpoints, the
desk's form recording crossings (the outcome in words for each person, in both
languages, nothing raw), a bad field answered next to it with what was typed kept, a form
sent twice recorded once, jurisdiction and rights. Both backends."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.logistics.tables import crossings
from tests.api.codes import AUDIT_KEY
from tests.api.helpers import csrf_of, logged_in, make_app
from tests.conftest import PASSWORD
from tests.logistics.world import CHECKPOINT, COUNTY_A, T0, make_lworld, person
from tests.web.labels_check import raw_in

NOW = T0 + timedelta(minutes=5)
DESK = f"/logistics/checkpoints/{CHECKPOINT}"


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(crossings)).scalar_one())


def _form(page: str, **over: str) -> dict[str, Any]:
    ref = re.search(r'name="ref" value="([^"]+)"', page)
    assert ref, page
    driver = person(1)
    data = {
        "csrf_token": csrf_of(page),
        "ref": ref.group(1),
        "plate": "冀A12345",
        "direction": "in",
        "vehicle_kind": "lorry",
        "cargo_class": "key_supplies",
        "origin_region": "130102",
        "destination_region": "140121",
        "history": "130102",
        "pass": "",
        "waited_minutes": "12",
        "p1_id_number": driver.id_number,
        "p1_name": driver.name,
        "p1_negative_test_at": "2022-03-17T14:00",  # Shanghai time, 20 hours before
    }
    data.update(over)
    return data


def test_the_desk_records_crossings(province: Engine, tmp_path: Path) -> None:
    make_lworld(province)
    add_user(province, AUDIT_KEY, cli_actor(), "officer", PASSWORD, "port_officer", COUNTY_A, "t")
    app = make_app(province, tmp_path, FANGKONG_CLOCK=NOW.isoformat())
    officer = logged_in(app, "officer")
    listed = officer.get("/logistics/checkpoints")
    assert listed.status_code == 200, listed.text
    assert f'href="{DESK}"' in listed.text
    assert raw_in(listed.text) == []
    desk = officer.get(DESK)
    assert desk.status_code == 200
    assert 'id="crossing"' in desk.text
    assert (
        'href="/logistics/checkpoints" aria-current="page"' in desk.text
        or "aria-current" in desk.text
    )

    sent = _form(desk.text)
    got = officer.post(DESK, data=sent)
    assert got.status_code == 200, got.text
    assert 'id="outcome"' in got.text
    assert "查验通行" in got.text  # the outcome in words (zh: the default language)
    assert "各地互认" in got.text
    assert raw_in(got.text) == []
    assert _count(province) == 1
    again = officer.post(DESK, data={**sent, "csrf_token": csrf_of(got.text)})
    assert 'id="outcome-resent"' in again.text  # a double tap records once
    assert _count(province) == 1

    # a driver from a high-risk county, no test: sampled and handed to the closed loop
    loop = officer.post(DESK, data=_form(got.text, history=COUNTY_A, p1_negative_test_at=""),
                        headers={"accept-language": "en"})  # fmt: skip
    assert loop.status_code == 200, loop.text
    assert "闭环管理" in loop.text
    assert re.search(r'href="/arrivals/travellers/\d+"', loop.text)
    assert raw_in(loop.text) == []
    assert _count(province) == 2
    assert re.findall(r'<tr id="crossing-\d+"', loop.text).__len__() == 2  # today's list

    # English
    officer.get("/lang/en?next=/")
    # another driver (the first one now holds a closed-loop code)
    en = officer.post(
        DESK, data=_form(loop.text, plate="冀B54321", p1_id_number=person(5).id_number)
    )
    assert "Passed" in en.text
    assert "accepted wherever taken" in en.text
    assert raw_in(en.text) == []


def test_a_bad_field_is_named_next_to_it(province: Engine, tmp_path: Path) -> None:
    make_lworld(province)
    add_user(province, AUDIT_KEY, cli_actor(), "officer", PASSWORD, "port_officer", COUNTY_A, "t")
    app = make_app(province, tmp_path, FANGKONG_CLOCK=NOW.isoformat())
    officer = logged_in(app, "officer")
    desk = officer.get(DESK)
    bad = officer.post(DESK, data=_form(desk.text, plate="ABC"))
    assert bad.status_code == 422, bad.text
    assert 'id="crossing-plate-error"' in bad.text
    assert 'value="ABC"' in bad.text  # what was typed is kept
    alone = officer.post(DESK, data=_form(desk.text, p2_id_number=person(2).id_number))
    assert alone.status_code == 422
    assert 'id="crossing-p2_name-error"' in alone.text  # a passenger's number needs a name
    wrong_id = officer.post(DESK, data=_form(desk.text, p1_id_number="110105198501020000"))
    assert wrong_id.status_code == 422
    assert 'id="crossing-p1_id_number-error"' in wrong_id.text
    assert _count(province) == 0


def test_jurisdiction_and_rights(province: Engine, tmp_path: Path) -> None:
    make_lworld(province)
    app = make_app(province, tmp_path, FANGKONG_CLOCK=NOW.isoformat())
    other = logged_in(app, "county2")  # another county: its checkpoints only
    assert other.get(DESK).status_code == 404
    assert CHECKPOINT not in other.get("/logistics/checkpoints").text
    epi = logged_in(app, "epi")  # reads, records nothing
    page = epi.get(DESK)
    assert page.status_code == 200
    assert 'id="crossing"' not in page.text
    assert epi.post(DESK, data={"csrf_token": csrf_of(page.text)}).status_code == 403
    admin = logged_in(app, "admin")
    assert admin.get("/logistics/checkpoints").status_code == 403
