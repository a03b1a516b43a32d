"""Arrivals over real HTTP: manifests by device token (idempotent, bad rows named per row
and field as problem+json), confirmation by ID scan and by form, the board and the
traveller page with jurisdiction and one audit row per read. Both backends."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from fangkong import clock
from fangkong.arrivals import dispatch
from fangkong.auth.devices import issue_device_token
from fangkong.auth.model import cli_actor
from fangkong.store.schema import audit_log, regions
from tests.api.codes import AUDIT_KEY
from tests.api.helpers import client, csrf_of, logged_in, make_app
from tests.arrivals.world import (
    COMPOUND_A,
    POINT,
    T0,
    command_step,
    make_world,
    stage_task,
    traveller,
)
from tests.web.listing_check import check_list, small_pages  # noqa: F401 (a fixture)

DAY = (T0 - timedelta(days=1)).date().isoformat()


def _body(rows: list[dict[str, object]], ref: str = "CA1234-20220318") -> dict[str, object]:
    for r in rows:
        place, _, day = str(r["travel_history"]).partition("@")
        r["travel_history"] = [{"place": place, "from": day}]
    return {
        "ref": ref,
        "mode": "flight",
        "carrier": "CA1234",
        "point_code": POINT,
        "travellers": rows,
    }


def _overdue_cells(html: str, tid: int) -> list[str]:
    row = re.search(rf'<tr id="overdue-{tid}">(.*?)</tr>', html, re.S)
    assert row, html
    return [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def _region_name(engine: Engine, code: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(regions.c.name).where(regions.c.code == code)).scalar())


def _audits(engine: Engine, action: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(audit_log).where(audit_log.c.action == action)
            ).scalar_one()
        )


def test_manifest_confirm_board_and_traveller(province: Engine, tmp_path: Path) -> None:
    w = make_world(province)
    app = make_app(province, tmp_path)
    token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "checkpoint", POINT, 30, "t")
    device = client(app, authorization=f"Bearer {token}")
    rows = [traveller(1, f"{COMPOUND_A}@{DAY}"), traveller(2, f"{COMPOUND_A}@{DAY}")]
    got = device.post("/api/v1/arrivals/manifests", json=_body([dict(r) for r in rows]))
    assert got.status_code == 200, got.text
    assert got.json()["by_risk"] == {"high": 2}
    ids = got.json()["traveller_ids"]
    again = device.post("/api/v1/arrivals/manifests", json=_body([dict(r) for r in rows]))
    assert (again.json()["registered"], again.json()["unchanged"]) == (0, 2)

    bad = [dict(rows[0]), {**rows[1], "id_number": "110105198501020000"}]
    refused = device.post(
        "/api/v1/arrivals/manifests", json=_body(bad, "OTHER-1"), headers={"accept-language": "en"}
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == "row 2: id_number" for e in refused.json()["errors"])
    elsewhere = device.post(
        "/api/v1/arrivals/manifests",
        json={**_body([dict(rows[0])], "X-2"), "point_code": "V140102000010"},
    )
    assert elsewhere.status_code == 403  # the token belongs to another arrival point

    for tid in ids:
        dispatch.sample(
            province,
            w.rules,
            w.testing,
            [tid],
            f"T{tid}",
            collector="c",
            codes=w.codes,
            by="t",
            at=T0 + timedelta(minutes=30),
        )
    dispatch.plan(
        province, w.rules, w.quarantine, POINT, by="t", codes=w.codes, at=T0 + timedelta(minutes=40)
    )

    epi = logged_in(app, "epi")
    csrf = csrf_of(epi.get(f"/arrivals/travellers/{ids[0]}").text)
    scan = epi.post(
        "/api/v1/arrivals/confirm",
        headers={"x-csrf-token": csrf},
        json={"stage": "boarded", "id_number": rows[0]["id_number"]},
    )
    assert scan.json() == {"traveller_id": ids[0], "stage": "boarded"}, scan.text
    early = epi.post(
        "/api/v1/arrivals/confirm",
        headers={"x-csrf-token": csrf},
        json={"stage": "handed_over", "traveller_id": ids[1]},
    )
    assert early.status_code == 409  # not boarded yet
    form = epi.post(
        f"/arrivals/travellers/{ids[0]}/confirm",
        data={"stage": "handed_over", "seen": "boarded", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert form.status_code == 303
    page = epi.get(f"/arrivals/travellers/{ids[0]}")
    assert "已交接" in page.text
    assert "西山嘉园" in page.text  # the reason names the high-risk compound

    before = _audits(province, "arrival.board")
    board = epi.get("/arrivals")
    assert board.status_code == 200
    assert 'id="point-V140102000009"' in board.text
    assert f'id="overdue-{ids[1]}"' in board.text  # sampled long ago, never boarded
    assert f'id="overdue-{ids[0]}"' not in board.text  # handed over just now: in time
    assert _audits(province, "arrival.board") == before + 1
    assert _overdue_cells(board.text, ids[1])[-2:] == ["—", "—"]  # no task raised yet

    # the overdue stage's task escalates (the command step), and the board shows it
    now = clock.now()
    command_step(w, now)
    assert _overdue_cells(epi.get("/arrivals").text, ids[1])[-1] == "0"
    command_step(w, now + timedelta(hours=5))  # 2 h deadline + 2 h overdue: one level up
    cells = _overdue_cells(epi.get("/arrivals").text, ids[1])
    task = stage_task(w, f"{ids[1]}/sampled")
    assert cells[-1] == "1"
    # the unit that owes it now, by name, linked to its region's page
    owner = f'href="/regions/{task.region_code}">{_region_name(province, task.region_code)}</a>'
    assert owner in cells[-2]
    assert task.region_code != task.origin_region_code
    page = epi.get(f"/arrivals/travellers/{ids[1]}").text
    assert 'class="task-level">1<' in page

    other = logged_in(app, "county2")  # another county: the traveller is not theirs
    assert other.get(f"/arrivals/travellers/{ids[0]}").status_code == 404
    assert f"overdue-{ids[1]}" not in other.get("/arrivals").text


@pytest.mark.usefixtures("small_pages")
def test_overdue_travellers_sort_and_page(province: Engine, tmp_path: Path) -> None:
    """Four travellers landed hours ago, none sampled in time: one list of the overdue,
    sorted by deadline both ways and walked in pages of 2, the point filter kept (issue
    19); the points' counts stay whole."""
    w = make_world(province)
    app = make_app(province, tmp_path)
    token, _ = issue_device_token(province, AUDIT_KEY, cli_actor(), "checkpoint", POINT, 30, "t")
    device = client(app, authorization=f"Bearer {token}")
    rows = [traveller(i, f"{COMPOUND_A}@{DAY}") for i in range(1, 5)]
    got = device.post("/api/v1/arrivals/manifests", json=_body([dict(r) for r in rows]))
    assert got.status_code == 200, got.text
    ids = got.json()["traveller_ids"]
    for i, tid in enumerate(ids):  # sampled one after another, none boarded since
        dispatch.sample(province, w.rules, w.testing, [tid], f"T{tid}", collector="c",
                        codes=w.codes, by="t", at=T0 + timedelta(minutes=30 + i))  # fmt: skip
    epi = logged_in(app, "epi")
    due = check_list(epi, f"/arrivals?point={POINT}", "overdue-list", "overdue-", "due",
                     keep=f"point={POINT}", total=4)  # fmt: skip
    assert due == [f"overdue-{i}" for i in ids]  # sampled first, due first
    board = epi.get("/arrivals?size=2").text
    assert re.search(r'class="overdue-count"[^>]*>4<', board)  # the count, not the page
    nowhere = epi.get("/arrivals?point=NOWHERE").text
    assert 'id="no-overdue"' in nowhere  # the filter holds: nobody of that point
    assert not re.search(r'id="overdue-\d', nowhere)
