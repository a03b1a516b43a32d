"""Quarantine follow-up pages over real HTTP on both backends: a facility's occupants
(names by rights, jurisdiction, audit), a placement's period, test schedule, health
checks (form with CSRF; a fever makes it abnormal and raises an alert), release refused
with the reason until the final negative test, then the next phase; period changes
with a reason kept in the history; absconding and the open alerts list.

The world: one hotel in county 140102 (epi's), three of its residents placed as close
contacts nine days ago (so the 7-day period of protocol-9 is over)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from fangkong.identity.masking import mask_name
from fangkong.quarantine.alerts import open_alerts
from fangkong.quarantine.periods import period_history
from fangkong.quarantine.placed import get_placement
from fangkong.quarantine.placement import place
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_checks, quarantine_placements
from fangkong.quarantine.terms import PlacementRequest
from fangkong.quarantine.terms import test_dates as dates_of
from fangkong.store.schema import audit_log, persons
from tests.api.helpers import csrf_of, logged_in, make_app
from tests.quarantine.helpers import COUNTY_A, add, hotel, people
from tests.web.labels_check import raw_in
from tests.web.listing_check import check_list, small_pages  # noqa: F401 (a fixture)

P9 = QuarantineRules.shipped("protocol-9")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class World:
    app: FastAPI
    engine: Engine
    placements: list[int]
    persons: list[int]
    start: datetime


@pytest.fixture
def world(province: Engine, tmp_path: Path) -> World:
    add(province, hotel("QH1", COUNTY_A, single=5, zones=2))
    ids = people(province, COUNTY_A, 3)
    start = datetime.now(UTC) - timedelta(days=9)
    done = place(
        province,
        [PlacementRequest(p, "close_contact", household=f"solo-{p}") for p in ids],
        P9,
        by="test",
        at=start,
        record_codes=False,
    )
    assert {a.outcome for a in done} == {"placed"}
    return World(
        make_app(province, tmp_path), province, [a.placement_id or 0 for a in done], ids, start
    )


def _name(engine: Engine, person_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(select(persons.c.name).where(persons.c.id == person_id)).scalar_one()
        )


def _audits(engine: Engine, action: str) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [
            (r.outcome, r.target_id)
            for r in conn.execute(
                select(audit_log.c.outcome, audit_log.c.target_id)
                .where(audit_log.c.action == action)
                .order_by(audit_log.c.seq)
            )
        ]


def test_occupants_by_room_with_names_by_rights_and_jurisdiction(world: World) -> None:
    epi = logged_in(world.app, "epi")
    page = epi.get("/quarantine/facilities/QH1/occupants")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="occupant" data-placement="(\d+)"', page.text)
    assert sorted(map(int, rows)) == sorted(world.placements)
    full = _name(world.engine, world.persons[0])
    assert full in page.text  # an epidemiologist holds person.read_full
    viewer = logged_in(world.app, "viewer").get("/quarantine/facilities/QH1/occupants")
    assert viewer.status_code == 200
    assert full not in viewer.text
    assert mask_name(full) in viewer.text
    assert "check-missing" in viewer.text  # nobody checked today yet
    # another county's epidemiologist: as if the facility did not exist
    assert (
        logged_in(world.app, "county2").get("/quarantine/facilities/QH1/occupants").status_code
        == 404
    )
    outcomes = [o for o, _ in _audits(world.engine, "quarantine.occupants")]
    assert outcomes == ["ok", "ok", "not_found"]


def test_health_check_form_records_abnormal_and_raises_an_alert(world: World) -> None:
    pid = world.placements[0]
    epi = logged_in(world.app, "epi")
    page = epi.get(f"/quarantine/placements/{pid}")
    assert page.status_code == 200
    assert raw_in(page.text) == []  # the risk group by name, not close_contact
    assert "密切接触者" in page.text
    # the schedule of protocol-9's close contacts: days 1, 2, 3, 5, 7 from the start
    days = [int(d) for d in re.findall(r'<tr class="scheduled" data-day="(\d+)">', page.text)]
    assert days == list(P9.phases("close_contact")[0].test_days)
    first = dates_of(world.start, [1], SHANGHAI)[0]
    assert f"<td>{first}</td>" in page.text
    day = (world.start + timedelta(days=2)).astimezone(SHANGHAI).date()
    form = {"csrf_token": csrf_of(page.text), "day": day.isoformat(), "status": "done",
            "temperature": "38.2", "symptoms": ""}  # fmt: skip
    done = epi.post(f"/quarantine/placements/{pid}/check", data=form, follow_redirects=False)
    assert done.status_code == 303
    after = epi.get(done.headers["location"])
    assert f'<tr class="check check-abnormal" data-day="{day}">' in after.text
    assert 'id="done"' in after.text
    with world.engine.connect() as conn:
        stored = conn.execute(
            select(quarantine_checks.c.status, quarantine_checks.c.temperature).where(
                quarantine_checks.c.placement_id == pid
            )
        ).one()
    assert tuple(stored) == ("abnormal", 38.2)
    assert [a.kind for a in open_alerts(world.engine)] == ["abnormal_check"]
    alerts = epi.get("/quarantine/alerts").text
    assert 'class="alert-row kind-abnormal_check"' in alerts
    # a temperature out of range: the page says why, nothing stored
    form.update(temperature="52", day=(day + timedelta(days=1)).isoformat())
    bad = epi.post(f"/quarantine/placements/{pid}/check", data=form)
    assert bad.status_code == 422
    assert 'id="check-form-temperature-error"' in bad.text
    assert "应在 30 到 45 之间" in bad.text
    assert 'value="52"' in bad.text  # what was typed is kept
    # no CSRF token: refused; a viewer sees no form and is refused
    form.update(temperature="36.5", csrf_token="")
    assert epi.post(f"/quarantine/placements/{pid}/check", data=form).status_code == 403
    viewer = logged_in(world.app, "viewer")
    v_page = viewer.get(f"/quarantine/placements/{pid}")
    assert 'id="check-form"' not in v_page.text
    form["csrf_token"] = csrf_of(v_page.text)
    assert viewer.post(f"/quarantine/placements/{pid}/check", data=form).status_code == 403
    with world.engine.connect() as conn:
        n = conn.execute(
            select(func.count()).where(quarantine_checks.c.placement_id == pid)
        ).scalar_one()
    assert n == 1
    # the form refused the temperature before the service: no audit row for it
    assert [o for o, _ in _audits(world.engine, "quarantine.check")] == ["ok", "forbidden"]


def test_release_refused_without_the_final_negative_test_then_next_phase(world: World) -> None:
    pid = world.placements[1]
    epi = logged_in(world.app, "epi")
    page = epi.get(f"/quarantine/placements/{pid}")
    assert 'id="release-state" class="error"' in page.text  # the reason is shown before trying
    token = csrf_of(page.text)
    refused = epi.post(f"/quarantine/placements/{pid}/release", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "阴性" in re.search(r'id="error">([^<]*)<', refused.text).group(1)
    assert get_placement(world.engine, pid).status == "active"
    last = max(P9.phases("close_contact")[0].test_days)
    sampled = datetime.combine(dates_of(world.start, [last], SHANGHAI)[0],
                               datetime.min.time()).replace(hour=9)  # fmt: skip
    test = epi.post(f"/quarantine/placements/{pid}/test", follow_redirects=False, data={
        "csrf_token": token, "day_number": str(last),
        "sampled_at": sampled.strftime("%Y-%m-%dT%H:%M"), "result": "negative"})  # fmt: skip
    assert test.status_code == 303
    ready = epi.get(f"/quarantine/placements/{pid}").text
    assert 'id="release-state" class="ok"' in ready
    released = epi.post(f"/quarantine/placements/{pid}/release", data={"csrf_token": token},
                        follow_redirects=False)  # fmt: skip
    assert released.status_code == 303
    nxt = int(re.search(r"ref=(\d+)", released.headers["location"]).group(1))
    assert get_placement(world.engine, pid).status == "released"
    follow = get_placement(world.engine, nxt)
    assert (follow.kind, follow.follows_id) == ("home_monitoring", pid)
    home = epi.get(f"/quarantine/placements/{nxt}")
    assert home.status_code == 200  # a home placement answers to where the person is
    assert f'href="/quarantine/placements/{pid}"' in home.text
    assert [o for o, _ in _audits(world.engine, "quarantine.release")] == [
        "quarantine.release_r", "ok",
    ]  # fmt: skip


def test_period_changes_need_a_reason_and_are_kept(world: World) -> None:
    pid = world.placements[2]
    epi = logged_in(world.app, "epi")
    token = csrf_of(epi.get(f"/quarantine/placements/{pid}").text)
    before = get_placement(world.engine, pid).planned_end
    assert before is not None
    missing = epi.post(f"/quarantine/placements/{pid}/period",
                       data={"csrf_token": token, "days": "3", "reason": "  "})  # fmt: skip
    assert missing.status_code == 422
    assert 'id="period-form-reason-error"' in missing.text
    assert 'value="3"' in missing.text  # the days typed are kept
    assert period_history(world.engine, pid) == []
    ok = epi.post(f"/quarantine/placements/{pid}/period", follow_redirects=False,
                  data={"csrf_token": token, "days": "3", "reason": "同住人员阳性"})  # fmt: skip
    assert ok.status_code == 303
    assert get_placement(world.engine, pid).planned_end == before + timedelta(days=3)
    page = epi.get(f"/quarantine/placements/{pid}").text
    assert '<td class="reason">同住人员阳性</td>' in page
    # a viewer cannot adjust: no form, and the POST is refused
    viewer = logged_in(world.app, "viewer")
    v_token = csrf_of(viewer.get(f"/quarantine/placements/{pid}").text)
    refused = viewer.post(f"/quarantine/placements/{pid}/period",
                          data={"csrf_token": v_token, "days": "-2", "reason": "x"})  # fmt: skip
    assert refused.status_code == 403
    assert len(period_history(world.engine, pid)) == 1


def test_abscond_raises_an_alert_listed_and_closed_in_jurisdiction(world: World) -> None:
    pid = world.placements[0]
    epi = logged_in(world.app, "epi")
    token = csrf_of(epi.get(f"/quarantine/placements/{pid}").text)
    gone = epi.post(f"/quarantine/placements/{pid}/abscond", follow_redirects=False,
                    data={"csrf_token": token, "note": "夜间离开"})  # fmt: skip
    assert gone.status_code == 303
    assert get_placement(world.engine, pid).status == "absconded"
    (alert,) = open_alerts(world.engine)
    assert alert.kind == "absconded"
    listing = epi.get("/quarantine/alerts").text
    assert f'data-alert="{alert.id}"' in listing
    # the other county sees neither the alert nor the placement
    other = logged_in(world.app, "county2")
    assert f'data-alert="{alert.id}"' not in other.get("/quarantine/alerts").text
    assert other.get(f"/quarantine/placements/{pid}").status_code == 404
    assert ("out_of_jurisdiction", str(pid)) in _audits(world.engine, "quarantine.placement")
    closed = epi.post(f"/quarantine/alerts/{alert.id}/resolve", data={"csrf_token": token},
                      follow_redirects=False)  # fmt: skip
    assert closed.status_code == 303
    assert open_alerts(world.engine) == []
    # nothing more can be recorded on an ended placement
    late = epi.post(f"/quarantine/placements/{pid}/check",
                    data={"csrf_token": token, "day": "2026-01-01", "status": "done"})  # fmt: skip
    assert late.status_code == 409
    with world.engine.connect() as conn:
        active = conn.execute(
            select(func.count()).where(
                quarantine_placements.c.id == pid, quarantine_placements.c.active.is_(True)
            )
        ).scalar_one()
    assert active == 0


@pytest.mark.usefixtures("small_pages")
def test_quarantine_lists_sort_and_page(world: World) -> None:
    """Facilities, occupants and open alerts: sorted by a column both ways and walked in
    pages of 2 (issue 19)."""
    add(world.engine, *(hotel(f"QH{i}", COUNTY_A, single=1) for i in (2, 3, 4)))
    epi = logged_in(world.app, "epi")
    codes = check_list(epi, "/quarantine/facilities", "facilities", "facility-", "code", total=4)
    assert codes == ["facility-QH1", "facility-QH2", "facility-QH3", "facility-QH4"]
    check_list(epi, "/quarantine/facilities/QH1/occupants", "occupants", "occupant-", "room",
               total=3)  # fmt: skip
    summary = epi.get("/quarantine/facilities/QH1/occupants?size=2").text
    assert "在住 3 人" in _cell_text(summary, "occupants-summary")  # all, not the page
    for pid in world.placements:
        token = csrf_of(epi.get(f"/quarantine/placements/{pid}").text)
        gone = epi.post(f"/quarantine/placements/{pid}/abscond", follow_redirects=False,
                        data={"csrf_token": token, "note": "夜间离开"})  # fmt: skip
        assert gone.status_code == 303
    ids = check_list(epi, "/quarantine/alerts", "alerts", "qalert-", "id", total=3)
    assert ids == sorted(ids, key=lambda i: int(i.split("-")[1]))


def _cell_text(page: str, ident: str) -> str:
    found = re.search(rf'id="{ident}"[^>]*>(.*?)<', page, re.S)
    assert found, ident
    return found.group(1).strip()
