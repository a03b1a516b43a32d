"""Testing pages on SQLite and PostgreSQL: the campaign page (plan with what-if rows and
completion against the target, live progress, coverage by compound, who has not been
sampled, masked by rights), lab results and tube lookup, late and lost tubes, the
campaign form and the flag-now button with CSRF, jurisdiction, one audit row per view.

The world: the twin's small province; a campaign over county 140102 started two hours
ago with pools of 10 (the first 20 residents in two pools: one shipped, one tested
positive), a tube of someone else collected five days ago and never received (lost)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong import clock
from fangkong.identity.masking import mask_name
from fangkong.store.schema import audit_log, persons
from fangkong.testing.campaigns import add_lab, create_campaign
from fangkong.testing.custody import ship
from fangkong.testing.flags import flag_overdue
from fangkong.testing.resolve import resolve
from fangkong.testing.results import post_results
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, collect
from fangkong.testing.tables import campaigns
from tests.api.codes import codes_of
from tests.api.helpers import csrf_of, logged_in, make_app, person_identity, person_ids
from tests.testing.world import batch
from tests.web.listing_check import check_list, small_pages  # noqa: F401 (a fixture)

NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class World:
    app: FastAPI
    engine: Engine
    campaign: int
    sampled: list[int]
    residents: list[int]
    rules: TestingRules


@pytest.fixture
def world(province: Engine, tmp_path: Path) -> World:
    app = make_app(province, tmp_path)
    rules = TestingRules.from_pack(codes_of(app).pack)
    add_lab(province, "LAB1", "晋昌区检测实验室", "140102", 20_000)
    start = NOW - timedelta(hours=2)
    cid = create_campaign(province, rules, "晋昌区第一轮", "140102", starts_at=start, pool_size=10)
    residents = person_ids(province, "140102")
    sampled = residents[:20]
    for i, tube in enumerate(("C-1", "C-2")):
        people = sampled[i * 10 : (i + 1) * 10]
        collect(province, rules, Sample(tube, people, "点位1", "140102", "采样员", start
                + timedelta(hours=1), "campaign", cid), at=start + timedelta(hours=1))  # fmt: skip
    ship(province, ["C-1", "C-2"], "LAB1", at=start + timedelta(hours=1, minutes=30))
    tested = (NOW - timedelta(minutes=10)).isoformat()
    post_results(province, rules, batch([("C-2", "r1", "25", "26", tested)]), lab_code="LAB1",
                 posted_by="test")  # fmt: skip
    resolve(province, rules)
    old = NOW - timedelta(days=5)
    collect(province, rules, Sample("OLD-1", [residents[-1]], "点位2", "140102", "s", old), at=old)
    flag_overdue(province, rules, at=NOW)
    return World(app, province, cid, sampled, residents, rules)


def _cell(html: str, ident: str) -> str:
    found = re.search(rf'id="{ident}"[^>]*>(.*?)</', html, re.S)
    assert found, ident
    return found.group(1).strip()


def _audits(engine: Engine, action: str) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.outcome, audit_log.c.detail)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        ).all()
    return [(r.actor, r.outcome, r.detail) for r in rows]


def test_campaign_page_numbers_coverage_and_not_sampled(world: World) -> None:
    html = logged_in(world.app, "epi").get(f"/testing/campaigns/{world.campaign}").text
    population = len(world.residents)
    assert _cell(html, "n-population") == f"{population:,}"
    assert _cell(html, "n-sampled") == "20"
    assert _cell(html, "n-tubes") == "2"  # the lost tube is not the campaign's
    assert _cell(html, "n-in-transit") == "1"
    assert _cell(html, "n-tested") == "1"
    assert _cell(html, "n-positive") == "1"
    assert _cell(html, "n-coverage") == f"{100 * 20 / population:.1f}%"
    # coverage by compound, against a count straight from the registry
    with world.engine.connect() as conn:
        homes = {
            int(i): str(code)
            for i, code in conn.execute(
                select(persons.c.id, persons.c.residence_code).where(
                    persons.c.id.in_(world.residents)
                )
            )
        }
    residents, sampled = Counter(homes.values()), Counter(homes[p] for p in world.sampled)
    rows = re.findall(r'<tr id="compound-(\d+)"><td>.*?</td><td>(.*?)</td><td>(.*?)</td>', html)
    assert {code: (int(n.replace(",", "")), int(s)) for code, n, s in rows} == {
        code: (n, sampled[code]) for code, n in residents.items()
    }
    # the what-if: every pool size the pack allows × three lab capacities
    assert len(re.findall(r'<tr class="what-if', html)) == 3 * len(world.rules.pool_sizes)
    assert len(re.findall(r'<tr class="what-if[^"]* current', html)) == 1
    deadline = NOW - timedelta(hours=2) + timedelta(hours=world.rules.campaign.target_hours)
    assert deadline.astimezone(codes_of(world.app).tz).strftime("%Y-%m-%d") in _cell(
        html, "deadline"
    )
    assert "h," in _cell(html, "predicted")  # a forecast at the pace so far
    # not sampled: everyone else, by name for an epidemiologist
    missing = sorted(set(world.residents) - set(world.sampled))
    assert _cell(html, "not-sampled-total") == f"({len(missing):,})"
    listed = [int(i) for i in re.findall(r'<li id="person-(\d+)">', html)]
    assert listed == missing[:200]
    name = person_identity(world.engine, missing[0])[1]
    link = f'<li id="person-{missing[0]}"><a class="person-link" href="/persons/{missing[0]}">'
    assert f"{link}{name}</a> ·" in html  # the person's record, linked
    viewer = logged_in(world.app, "viewer").get(f"/testing/campaigns/{world.campaign}").text
    assert f"{link}{mask_name(name)}</a> ·" in viewer
    assert name not in viewer
    assert [a[:2] for a in _audits(world.engine, "testing.campaign")] == [
        ("epi", "ok"), ("viewer", "ok")
    ]  # fmt: skip
    assert _audits(world.engine, "testing.campaign")[1][2].endswith("masked")  # type: ignore[union-attr]


def test_campaign_page_in_english_and_out_of_jurisdiction(world: World) -> None:
    en = logged_in(world.app, "epi")
    en.cookies.set("fk_lang", "en")
    html = en.get(f"/testing/campaigns/{world.campaign}").text
    assert "Coverage by compound" in html
    assert "Not sampled yet" in html
    zh = logged_in(world.app, "epi").get(f"/testing/campaigns/{world.campaign}").text
    assert "各小区覆盖率" in zh
    far = logged_in(world.app, "county2")
    hidden = far.get(f"/testing/campaigns/{world.campaign}")
    absent = far.get("/testing/campaigns/999")
    assert hidden.status_code == absent.status_code == 404
    assert f'id="campaign-{world.campaign}"' not in far.get("/testing").text
    assert logged_in(world.app, "admin").get("/testing").status_code == 403
    outcomes = [a[1] for a in _audits(world.engine, "testing.campaign")]
    assert outcomes[-2:] == ["out_of_jurisdiction", "not_found"]
    nav = {u: 'href="/testing"' in logged_in(world.app, u).get("/").text for u in ("epi", "admin")}
    assert nav == {"epi": True, "admin": False}


def test_start_a_campaign_needs_the_right_and_csrf(world: World) -> None:
    epi = logged_in(world.app, "epi")
    page = epi.get("/testing").text
    assert 'id="start-campaign"' in page
    form = {"name": "第二轮", "region_code": "140102", "starts_at": "2026-12-01T06:00",
            "pool_size": "10"}  # fmt: skip
    assert epi.post("/testing/campaigns", data=form).status_code == 403  # no CSRF token
    done = epi.post("/testing/campaigns", data={**form, "csrf_token": csrf_of(page)},
                    follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    with world.engine.connect() as conn:
        row = conn.execute(select(campaigns).where(campaigns.c.name == "第二轮")).one()
    assert done.headers["location"] == f"/testing/campaigns/{row.id}"
    assert row.starts_at.astimezone(UTC) == datetime(2026, 11, 30, 22, tzinfo=UTC)  # +08:00
    far = epi.post("/testing/campaigns", data={**form, "region_code": "140121",
                   "csrf_token": csrf_of(page)})  # fmt: skip
    assert far.status_code == 404
    assert 'id="start-campaign-region_code-error"' in far.text  # next to the field
    viewer = logged_in(world.app, "viewer")
    vpage = viewer.get("/testing").text
    assert 'id="start-campaign"' not in vpage
    refused = viewer.post("/testing/campaigns", data={**form, "csrf_token": csrf_of(vpage)})
    assert refused.status_code == 403
    assert [a[1] for a in _audits(world.engine, "testing.campaign_start")] == [
        "ok", "out_of_jurisdiction", "forbidden"
    ]  # fmt: skip


def test_results_tube_and_overdue_pages(world: World) -> None:
    epi = logged_in(world.app, "epi")
    board = epi.get("/testing/results").text
    assert 'id="result-C-2-r1"' in board
    assert "C-1" not in board  # no result yet
    found = epi.get("/testing/results", params={"barcode": "C-2"}, follow_redirects=False)
    assert found.headers["location"] == "/testing/tubes/C-2"
    tube = epi.get("/testing/tubes/C-2").text
    assert _cell(tube, "state") == "已检测"
    members = [int(i) for i in re.findall(r'<li id="member-(\d+)">', tube)]
    assert members == sorted(world.sampled[10:])
    name = person_identity(world.engine, world.sampled[10])[1]
    assert name in tube
    viewer = logged_in(world.app, "viewer").get("/testing/tubes/C-2").text
    assert name not in viewer
    assert mask_name(name) in viewer
    assert logged_in(world.app, "county2").get("/testing/tubes/C-2").status_code == 404
    assert epi.get("/testing/tubes/NOPE").status_code == 404

    overdue = epi.get("/testing/overdue").text
    assert 'id="tube-OLD-1" class="flag-lost"' in overdue
    assert 'id="tube-C-1"' not in overdue  # shipped two hours ago: not overdue yet
    assert 'id="flag-now"' in overdue
    assert epi.post("/testing/overdue/flag", data={}).status_code == 403  # no CSRF token
    done = epi.post("/testing/overdue/flag", data={"csrf_token": csrf_of(overdue)},
                    follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == "/testing/overdue?lost=0&late=0"  # flagged already
    viewer_page = logged_in(world.app, "viewer").get("/testing/overdue").text
    assert 'id="flag-now"' not in viewer_page
    assert 'id="tube-OLD-1"' in viewer_page
    assert logged_in(world.app, "county2").get("/testing/overdue").text.count('id="tube-') == 0


def test_campaign_progress_api(world: World) -> None:
    # the system's clock at the world's "now", however long the suite took to get here
    with clock.frozen(NOW):
        got = logged_in(world.app, "viewer").get(f"/api/v1/campaigns/{world.campaign}/progress")
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["sampled"], body["tubes"], body["in_transit"], body["tested"]) == (20, 2, 1, 1)
    assert body["positive_pools"] == 1
    assert body["population"] == len(world.residents)
    assert sum(c["sampled"] for c in body["compounds"]) == 20
    # 20 sampled since the start two hours ago: about 10 an hour
    c = world.rules.campaign

    def forecast(elapsed: float) -> float:
        sampling = len(world.residents) / (20 / elapsed)
        tubes = -(-len(world.residents) // 10)
        return c.transport_hours + max(sampling, tubes / (20_000 / 24)) + c.run_hours

    assert forecast(2.0) <= body["forecast_hours"] <= forecast(2.2)
    assert body["on_track"] is (body["forecast_hours"] <= c.target_hours)
    far = logged_in(world.app, "county2").get(f"/api/v1/campaigns/{world.campaign}/progress")
    assert far.status_code == 404
    assert far.json()["code"] == "testing.campaign_unknown"


@pytest.mark.usefixtures("small_pages")
def test_testing_lists_sort_and_page(world: World) -> None:
    """Overdue tubes, campaigns, non-negative results and batches: sorted by a column both
    ways and walked in pages of 2 (issue 19), the overdue filter kept on every link."""
    rules, engine, residents = world.rules, world.engine, world.residents
    for i in range(4):  # four more lost tubes, at other points and times
        old = NOW - timedelta(days=4, hours=i)
        collect(engine, rules, Sample(f"OLD-{i + 2}", [residents[-2 - i]], f"点位{9 - i}",
                                      "140102", "s", old), at=old)  # fmt: skip
        create_campaign(engine, rules, f"第{i + 2}轮", "140102",
                        starts_at=NOW + timedelta(days=i + 1), pool_size=10)  # fmt: skip
        tube, when = f"P-{i}", NOW - timedelta(hours=1, minutes=i)
        collect(engine, rules, Sample(tube, [residents[30 + i]], "点位1", "140102", "s", when),
                at=when)  # fmt: skip
        ship(engine, [tube], "LAB1", at=when + timedelta(minutes=1))
        tested = (NOW - timedelta(minutes=30 - i)).isoformat()
        post_results(engine, rules, batch([(tube, "r1", str(20 + i), str(30 - i), tested)]),
                     lab_code="LAB1", posted_by="test")  # fmt: skip
    flag_overdue(engine, rules, at=NOW)
    epi = logged_in(world.app, "epi")
    collected = check_list(epi, "/testing/overdue?flag=lost", "overdue", "tube-", "collected",
                           keep="flag=lost", total=5)  # fmt: skip
    assert collected[0] == "tube-OLD-1"  # five days ago: the oldest
    check_list(epi, "/testing/overdue", "overdue", "tube-", "point")
    names = check_list(epi, "/testing", "campaigns", "campaign-", "starts", total=5)
    assert names[0] == f"campaign-{world.campaign}"
    ct = check_list(epi, "/testing/results", "not-negative", "result-", "ct_n", total=5)
    assert ct[:2] == ["result-C-2-r1", "result-P-3-r1"]  # Ct N 26, then 27
    check_list(epi, "/testing/results", "batches", "batch-", "id", p="b", total=5)
    bad = epi.get("/testing/overdue?sort=password&flag=lost")
    assert bad.status_code == 422
    assert 'id="list-error"' in bad.text
    assert 'id="tube-OLD-1"' in bad.text  # the list still shows, in its own order
