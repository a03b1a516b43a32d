"""Tracer pages and the tracing API: a case's contacts with evidence, filters, paging, the
bulk status form (CSRF), jurisdiction (another county's case answers like a missing one),
the chain graph and the cluster list with growth, registering and tracing a case over
the lake, one audit row per view. Both backends.

The world: in county 140102, case A met C for 60 minutes (close) and E for 5 minutes
(general) at a market; C later fell ill and was traced too (A → C links the chain, the
market links the cluster). Case X lives in county 140121."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.store.schema import audit_log, persons
from fangkong.tracing.cases import register_case
from fangkong.tracing.checkins import CheckinSource
from fangkong.tracing.files import CHECKIN_SCHEMA
from fangkong.tracing.lake import CheckinLake
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import tracing_contacts
from fangkong.tracing.trace_job import trace_case
from tests.api.codes import AUDIT_KEY, codes_of
from tests.api.helpers import csrf_of, logged_in, make_app, person_identity, person_ids
from tests.conftest import PASSWORD


def _t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    app: FastAPI
    engine: Engine
    ids: dict[str, int]  # letter → person id
    cases: dict[str, int]  # letter → case id
    checkins: pa.Table
    home: Path


def _apart(engine: Engine, county: str, n: int) -> list[int]:
    """``n`` persons of a county sharing neither household nor workplace or school."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(persons.c.id, persons.c.household_code, persons.c.venue_code)
        ).all()
    groups = {int(r.id): {r.household_code, r.venue_code} - {None} for r in rows}
    picked: list[int] = []
    seen: set[str] = set()
    for pid in person_ids(engine, county):
        if not groups[pid] & seen:
            picked.append(pid)
            seen |= groups[pid]
        if len(picked) == n:
            break
    return picked


@pytest.fixture
def world(province: Engine, tmp_path: Path) -> World:
    # a laboratory holds person.read and fact.record without person.read_full: masked
    add_user(province, AUDIT_KEY, cli_actor(), "lab", PASSWORD, "lab", "140102", "test")
    app = make_app(province, tmp_path)
    a, c, e = _apart(province, "140102", 3)
    x, y = _apart(province, "140121", 2)
    ids = {"A": a, "C": c, "E": e, "X": x, "Y": y}
    stays = [  # letter, venue, in, out
        ("A", "V-MARKET", _t(19, 10), _t(19, 11)),
        ("C", "V-MARKET", _t(19, 10), _t(19, 11, 30)),  # 60 min with A: close
        ("E", "V-MARKET", _t(19, 10, 55), _t(19, 11)),  # 5 min with A and C: general
        ("X", "V-FAR", _t(19, 10), _t(19, 11)),
        ("Y", "V-FAR", _t(19, 10), _t(19, 11)),
    ]
    table = pa.table(
        [
            pa.array([f"e{i}" for i in range(len(stays))]),
            pa.array([str(ids[s[0]]) for s in stays]),
            pa.array([s[1] for s in stays]),
            pa.array(["restaurant"] * len(stays)),
            pa.array([s[2] for s in stays], pa.timestamp("s", tz="UTC")),
            pa.array([s[3] for s in stays], pa.timestamp("s", tz="UTC")),
        ],
        schema=CHECKIN_SCHEMA,
    )
    rules = ContactRules.from_pack(codes_of(app).pack)
    source = CheckinSource.from_table(table, rules)
    cases = {}
    for letter, onset in (("A", 20), ("C", 22), ("X", 20)):
        case = register_case(province, ids[letter], rules, onset=date(2026, 11, onset),
                             isolated_at=_t(onset + 1, 12))  # fmt: skip
        trace_case(province, case.id, source, rules, at=_t(28, 12))
        cases[letter] = case.id
    return World(app, province, ids, cases, table, tmp_path)


def _contact_id(w: World, letter: str) -> int:
    with w.engine.connect() as conn:
        return int(
            conn.execute(
                select(tracing_contacts.c.id).where(tracing_contacts.c.person_id == w.ids[letter])
            ).scalar_one()
        )


def _audits(engine: Engine, action: str) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.actor, audit_log.c.outcome, audit_log.c.target_id)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.seq)
        ).all()
    return [(r.actor, r.outcome, r.target_id) for r in rows]


def test_case_contacts_with_evidence_and_filters(world: World) -> None:
    epi = logged_in(world.app, "epi")
    case = world.cases["A"]
    html = epi.get(f"/tracing/cases/{case}").text
    c, e = _contact_id(world, "C"), _contact_id(world, "E")
    assert f'id="contact-{c}"' in html
    assert f'id="contact-{e}"' in html
    row = re.search(rf'<tr id="contact-{c}".*?</tr>', html, re.S)
    assert row
    assert person_identity(world.engine, world.ids["C"])[1] in row.group(0)
    for text in ("密切接触者", "场所", "V-MARKET", ">60<", "转为病例"):
        assert text in row.group(0), text
    general = re.search(rf'<tr id="contact-{e}".*?</tr>', html, re.S)
    assert general
    assert "一般接触者" in general.group(0)
    assert ">5<" in general.group(0)

    close = epi.get(f"/tracing/cases/{case}", params={"kind": "close"}).text
    assert f'id="contact-{c}"' in close
    assert f'id="contact-{e}"' not in close
    identified = epi.get(f"/tracing/cases/{case}", params={"status": "identified"}).text
    assert f'id="contact-{e}"' in identified
    assert f'id="contact-{c}"' not in identified  # C became a case
    nothing = epi.get(f"/tracing/cases/{case}", params={"kind": "general", "status": "lost"})
    assert 'id="no-contacts"' in nothing.text
    bad = epi.get(f"/tracing/cases/{case}", params={"status": "asleep"})
    assert bad.status_code == 422
    assert "status-error" in bad.text

    en = logged_in(world.app, "epi")
    en.cookies.set("fk_lang", "en")
    assert "General contact" in en.get(f"/tracing/cases/{case}").text


def test_names_masked_and_rights(world: World) -> None:
    case = world.cases["A"]
    html = logged_in(world.app, "lab").get(f"/tracing/cases/{case}").text
    assert person_identity(world.engine, world.ids["C"])[1] not in html
    assert 'id="bulk"' not in html  # no person.write: no bulk form
    assert logged_in(world.app, "viewer").get(f"/tracing/cases/{case}").status_code == 403
    navigation = {
        user: 'href="/tracing/chains"' in logged_in(world.app, user).get("/").text
        for user in ("epi", "lab", "viewer", "admin")
    }
    assert navigation == {"epi": True, "lab": True, "viewer": False, "admin": False}


def test_bulk_status_change_needs_csrf(world: World) -> None:
    epi = logged_in(world.app, "epi")
    case = world.cases["A"]
    page = epi.get(f"/tracing/cases/{case}").text
    e = _contact_id(world, "E")
    form = {"contact": [str(e)], "status": "notified", "reason": "电话告知"}
    refused = epi.post(f"/tracing/cases/{case}/status", data=form)
    assert refused.status_code == 403
    done = epi.post(
        f"/tracing/cases/{case}/status",
        data={**form, "csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = epi.get(done.headers["location"]).text
    assert 'id="changed"' in after
    notified = epi.get(f"/tracing/cases/{case}", params={"status": "notified"}).text
    assert f'id="contact-{e}"' in notified
    # a refused transition (became_case → notified) changes nothing and says why
    c = _contact_id(world, "C")
    both = {"contact": [str(e), str(c)], "status": "quarantined", "reason": "x"}
    conflict = epi.post(f"/tracing/cases/{case}/status", data={**both, "csrf_token": csrf_of(page)})
    assert conflict.status_code == 409
    assert "status-error" in conflict.text
    with world.engine.connect() as conn:
        status = conn.execute(
            select(tracing_contacts.c.status).where(tracing_contacts.c.id == e)
        ).scalar_one()
    assert status == "notified"
    assert [a[:2] for a in _audits(world.engine, "tracing.status")] == [
        ("epi", "ok"),
        ("epi", "tracing.transition_r"),  # the code, cut to the column
    ]


def test_other_county_case_answers_like_a_missing_one(world: World) -> None:
    epi = logged_in(world.app, "epi")
    hidden = epi.get(f"/tracing/cases/{world.cases['X']}")
    missing = epi.get("/tracing/cases/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(str(world.cases["X"]), "N") == missing.text.replace("999999", "N")
    # nor may its contacts be changed from a page of one's own case
    page = epi.get(f"/tracing/cases/{world.cases['A']}").text
    y = _contact_id(world, "Y")
    changed = epi.post(
        f"/tracing/cases/{world.cases['A']}/status",
        data={
            "contact": [str(y)],
            "status": "notified",
            "reason": "x",
            "csrf_token": csrf_of(page),
        },
    )
    assert changed.status_code == 404
    outcomes = [a[1] for a in _audits(world.engine, "tracing.contacts")]
    assert outcomes[:2] == ["out_of_jurisdiction", "not_found"]
    assert (
        logged_in(world.app, "county2").get(f"/tracing/cases/{world.cases['X']}").status_code == 200
    )


def test_chains_graph_and_clusters(world: World) -> None:
    epi = logged_in(world.app, "epi")
    html = epi.get("/tracing/chains").text
    found = re.search(r'id="chain-graph-spec">(.*?)</script>', html, re.S)
    assert found
    spec = json.loads(found.group(1))
    data = {d["name"]: d["values"] for d in spec["data"]}
    assert sorted(n["case"] for n in data["node-data"]) == sorted(
        [world.cases["A"], world.cases["C"]]
    )  # X lives in another county
    assert len(data["link-data"]) == 1
    (link,) = data["link-data"]
    nodes = data["node-data"]
    assert (nodes[link["source"]]["case"], nodes[link["target"]]["case"]) == (
        world.cases["A"],
        world.cases["C"],
    )
    clusters = re.findall(r'<tr class="cluster">(.*?)</tr>', html, re.S)
    assert len(clusters) == 1
    assert "V-MARKET" in clusters[0]
    assert re.search(r'class="size">2<', clusters[0])
    assert _audits(world.engine, "tracing.chains") == [("epi", "ok", None)]
    assert _audits(world.engine, "tracing.clusters") == [("epi", "ok", None)]
    other = logged_in(world.app, "county2").get("/tracing/chains").text
    assert 'id="no-clusters"' in other  # X and Y: one case, no cluster


def test_one_audit_row_per_view(world: World) -> None:
    epi = logged_in(world.app, "epi")
    case = world.cases["A"]
    with world.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    epi.get(f"/tracing/cases/{case}")
    with world.engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        detail = conn.execute(
            select(audit_log.c.detail).where(audit_log.c.action == "tracing.contacts")
        ).scalar_one()
    assert after - before == 1
    assert _audits(world.engine, "tracing.contacts") == [("epi", "ok", str(case))]
    assert detail is not None
    assert person_identity(world.engine, world.ids["C"])[1] not in detail


# ---- paging ---------------------------------------------------------------------------------


def test_contacts_page_in_pages(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from fangkong.web import tracing_pages

    epi = logged_in(world.app, "epi")
    url = f"/tracing/cases/{world.cases['A']}"

    def rows(html: str) -> list[str]:
        return re.findall(r'<tr id="(contact-[0-9]+)"', html)

    whole = rows(epi.get(url).text)
    assert len(whole) >= 3  # the household, C (close) and E (general)
    assert 'id="contacts-pages"' not in epi.get(url).text  # one page: no pager
    monkeypatch.setattr(tracing_pages, "CONTACTS_PER_PAGE", 2)
    seen, html = [], epi.get(url, params={"kind": ""}).text
    while True:
        assert len(rows(html)) <= 2
        seen += rows(html)
        found = re.search(r'<a href="([^"]+)" rel="next">', html)
        if not found:
            break
        html = epi.get(found.group(1).replace("&amp;", "&")).text
        assert 'rel="prev"' in html
    assert seen == whole  # every contact once, in the same order (close first)
    assert f"共 {len(whole)} 条" in html


def test_growth_of_clusters_on_the_chains_page(world: World) -> None:
    html = logged_in(world.app, "epi").get("/tracing/chains").text
    found = re.search(r'id="cluster-growth-spec">(.*?)</script>', html, re.S)
    assert found
    values = json.loads(found.group(1))["data"]["values"]
    # A fell ill on the 20th, C on the 22nd: one case, none, one
    assert [(v["cluster"], v["date"], v["cases"]) for v in values] == [
        ("#1", "2026-11-20", 1), ("#1", "2026-11-21", 0), ("#1", "2026-11-22", 1)]  # fmt: skip


# ---- the API -------------------------------------------------------------------------------


def _api(world: World, user: str) -> Any:
    c = logged_in(world.app, user)
    c.headers["X-CSRF-Token"] = c.get("/api/v1/session").json()["csrf_token"]
    return c


def test_api_contacts_paged_with_evidence(world: World) -> None:
    epi = _api(world, "epi")
    case = world.cases["A"]
    url = f"/api/v1/tracing/cases/{case}/contacts"
    whole = epi.get(url, params={"limit": 500}).json()
    assert whole["total"] == len(whole["contacts"]) >= 3
    paged: list[Any] = []
    for offset in range(0, whole["total"], 2):
        got = epi.get(url, params={"limit": 2, "offset": offset}).json()
        assert (got["total"], got["limit"], got["offset"]) == (whole["total"], 2, offset)
        paged += got["contacts"]
    assert paged == whole["contacts"]  # every contact once, close contacts first
    by_id = {x["id"]: x for x in whole["contacts"]}
    c = by_id[_contact_id(world, "C")]
    assert (c["kind"], c["status"]) == ("close", "became_case")
    assert c["name"] == person_identity(world.engine, world.ids["C"])[1]
    assert [(x["setting"], x["place_code"], x["overlap_seconds"]) for x in c["exposures"]] == [
        ("venue", "V-MARKET", 3600)]  # fmt: skip
    kinds = [x["kind"] for x in whole["contacts"]]
    assert kinds == sorted(kinds, key=["close", "contact_of_contact", "general"].index)
    general = epi.get(url, params={"kind": "general"})
    assert [x["id"] for x in general.json()["contacts"]] == [_contact_id(world, "E")]
    asleep = epi.get(url, params={"status": "asleep"}).json()
    assert asleep["code"] == "tracing.status_invalid"
    masked = _api(world, "lab").get(f"/api/v1/tracing/cases/{case}/contacts").json()
    assert person_identity(world.engine, world.ids["C"])[1] not in json.dumps(masked)
    assert _api(world, "viewer").get(f"/api/v1/tracing/cases/{case}/contacts").status_code == 403
    hidden = epi.get(f"/api/v1/tracing/cases/{world.cases['X']}/contacts")
    missing = epi.get("/api/v1/tracing/cases/999999/contacts")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "tracing.case_unknown"
    assert [a[1] for a in _audits(world.engine, "tracing.contacts")][-2:] == [
        "out_of_jurisdiction", "not_found"]  # fmt: skip


def test_api_status_change_needs_csrf_and_a_legal_move(world: World) -> None:
    e, c = _contact_id(world, "E"), _contact_id(world, "C")
    body = {"contact_ids": [e], "status": "notified", "reason": "电话告知"}
    plain = logged_in(world.app, "epi")
    assert plain.post("/api/v1/tracing/contacts/status", json=body).status_code == 403
    epi = _api(world, "epi")
    done = epi.post("/api/v1/tracing/contacts/status", json=body)
    assert done.status_code == 200, done.text
    assert done.json() == {"changed": 1}
    refused = epi.post("/api/v1/tracing/contacts/status",
                       json={**body, "contact_ids": [e, c], "status": "quarantined"})  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["code"] == "tracing.transition_refused"
    with world.engine.connect() as conn:
        status = conn.execute(
            select(tracing_contacts.c.status).where(tracing_contacts.c.id == e)
        ).scalar_one()
    assert status == "notified"  # all or none
    y = _contact_id(world, "Y")
    assert epi.post("/api/v1/tracing/contacts/status",
                    json={**body, "contact_ids": [y]}).status_code == 404  # fmt: skip
    assert [a[:2] for a in _audits(world.engine, "tracing.status")] == [
        ("epi", "ok"), ("epi", "tracing.transition_r"), ("epi", "not_found")]  # fmt: skip


def test_api_chains_and_clusters_with_growth(world: World) -> None:
    epi = _api(world, "epi")
    chains = epi.get("/api/v1/tracing/chains").json()
    assert chains["total"] == 1
    (chain,) = chains["chains"]
    assert chain["links"] == [[world.cases["A"], world.cases["C"]]]
    assert chain["roots"] == [world.cases["A"]]
    assert epi.get("/api/v1/tracing/chains", params={"offset": 1}).json()["chains"] == []
    clusters = epi.get("/api/v1/tracing/clusters").json()
    (cluster,) = clusters["clusters"]
    assert cluster["size"] == 2
    assert cluster["venues"] == {"V-MARKET": 2}
    assert [(g["date"], g["cases"]) for g in cluster["growth"]] == [
        ("2026-11-20", 1), ("2026-11-21", 0), ("2026-11-22", 1)]  # fmt: skip
    assert epi.get("/api/v1/tracing/clusters", params={"limit": 0}).status_code == 422
    other = _api(world, "county2").get("/api/v1/tracing/clusters").json()
    assert other["total"] == 0  # X alone in county 140121


def test_api_registers_and_traces_a_case_over_the_lake(world: World) -> None:
    CheckinLake.at_home(world.home).land(world.checkins)
    epi = _api(world, "epi")
    e = world.ids["E"]
    undated = epi.post("/api/v1/tracing/cases", json={"person_id": e})
    assert undated.status_code == 422
    assert undated.json()["code"] == "tracing.case_undated"
    body = {"person_id": e, "onset_date": "2026-11-21", "isolated_at": "2026-11-22T12:00:00Z"}
    done = epi.post("/api/v1/tracing/cases", json=body)
    assert done.status_code == 201, done.text
    out = done.json()
    assert out["case"]["person_id"] == e
    assert out["case"]["infectious_from"].startswith("2026-11-16")  # 4 days before onset
    # E shared 5 minutes with A and C at the market: general contacts
    assert out["traced"]["found"]["general"] == 2
    assert out["traced"]["found"]["close"] >= 0
    again = epi.post("/api/v1/tracing/cases", json=body).json()
    assert again["traced"]["exposures_new"] == 0  # the same facts again: nothing new
    outside = epi.post("/api/v1/tracing/cases",
                       json={**body, "person_id": world.ids["Y"]})  # fmt: skip
    assert outside.status_code == 404
    assert outside.json()["code"] == "tracing.person_unknown"
    lab = _api(world, "lab").post("/api/v1/tracing/cases", json=body)
    assert lab.status_code == 403  # no person.write
    # C is a case already (onset 22 Nov): the same date again, not tracing
    c_only = {"person_id": world.ids["C"], "onset_date": "2026-11-22", "trace": False}
    untraced = epi.post("/api/v1/tracing/cases", json=c_only).json()
    assert untraced["traced"] is None
    assert [a[1] for a in _audits(world.engine, "tracing.case")] == [
        "ok", "ok", "not_found", "forbidden", "ok"]  # fmt: skip


def test_stored_onsets_out_of_range_bound_the_growth_and_are_flagged(world: World) -> None:
    """Onsets stored before the bounds (years 486, 6740, 9999) once made the growth a
    day-by-day series of millions of days: it stays inside the window, the cases flagged."""
    epi = _api(world, "epi")
    a, c = world.cases["A"], world.cases["C"]
    _set_onset(world.engine, a, date(486, 5, 1))
    (cluster,) = epi.get("/api/v1/tracing/clusters").json()["clusters"]
    assert [(g["date"], g["cases"]) for g in cluster["growth"]] == [("2026-11-22", 1)]
    assert cluster["out_of_range"] == [a]
    for year in (6740, 9999):
        _set_onset(world.engine, c, date(year, 12, 31))
        got = epi.get("/api/v1/tracing/clusters")
        assert got.status_code == 200
        (cluster,) = got.json()["clusters"]
        assert cluster["growth"] == []  # no series from year 486 to year 9999
        assert sorted(cluster["out_of_range"]) == sorted([a, c])
    page = logged_in(world.app, "epi").get("/tracing/chains")
    assert page.status_code == 200
    assert page.text.count("日期超出范围") == 2
    for path in (f"/tracing/cases/{a}", f"/tracing/cases/{c}", "/tracing/chains"):
        assert logged_in(world.app, "epi").get(path).status_code == 200, path
    for path in ("/api/v1/tracing/chains", f"/api/v1/tracing/cases/{c}/contacts"):
        assert epi.get(path).status_code == 200, path


def _set_onset(engine: Engine, case_id: int, onset: date) -> None:
    from fangkong.tracing.tables import tracing_cases

    with engine.begin() as conn:  # as a request before the bounds could store it
        conn.execute(tracing_cases.update().where(tracing_cases.c.id == case_id)
                     .values(onset_date=onset, sample_date=None))  # fmt: skip


def test_bulk_status_refuses_control_characters_and_huge_ids(world: World) -> None:
    epi = logged_in(world.app, "epi")
    case = world.cases["A"]
    token = csrf_of(epi.get(f"/tracing/cases/{case}").text)
    e = _contact_id(world, "E")
    for form, field, shown in (
        ({"contact": [str(e)], "reason": "电话\x00告知"}, "reason", "不能含控制字符"),
        ({"contact": [str(2**63)], "reason": "x"}, "contact", "应在"),
    ):
        got = epi.post(f"/tracing/cases/{case}/status", follow_redirects=False,
                       data={**form, "status": "notified", "csrf_token": token})  # fmt: skip
        assert got.status_code == 422, got.text[-300:]
        found = re.search(rf'id="bulk-{field}-error"[^>]*>([^<]*)<', got.text)
        assert found
        assert shown in found.group(1)
    with world.engine.connect() as conn:
        status = conn.execute(
            select(tracing_contacts.c.status).where(tracing_contacts.c.id == e)
        ).scalar_one()
    assert status != "notified"
