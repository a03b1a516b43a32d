"""Health-code pages: lookup with explanation, navigation by rights, the corrections queue
(CSRF-protected forms), counts by colour on the home page. Both backends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.healthcode.codes import evaluate_person
from fangkong.healthcode.tables import code_corrections
from fangkong.store.schema import audit_log
from tests.api.codes import AUDIT_KEY, codes_of, make_red, make_yellow
from tests.api.helpers import csrf_of, logged_in, make_app, person_identity, person_ids
from tests.conftest import PASSWORD
from tests.web.labels_check import raw_in
from tests.web.listing_check import check_list, links, small_pages  # noqa: F401 (a fixture)


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    # a commander over the whole province decides corrections filed by the county's epi
    add_user(province, AUDIT_KEY, cli_actor(), "cmd", PASSWORD, "commander", "140000", "test")
    return make_app(province, tmp_path)


def _text(html: str, element_id: str) -> str:
    """The text of the element with ``element_id`` (its tags removed)."""
    found = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert found, f"no #{element_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(2))).strip()


def test_lookup_shows_colour_reasons_qr_history_in_both_languages(
    app: FastAPI, province: Engine
) -> None:
    pid = person_ids(province, "140102")[0]
    make_red(province, codes_of(app), pid)
    number, name = person_identity(province, pid)
    c = logged_in(app, "epi")
    form = c.get("/codes")
    assert form.status_code == 200
    page = c.post("/codes/lookup", data={"id_number": number, "csrf_token": csrf_of(form.text)})
    assert page.status_code == 200, page.text
    html = page.text
    assert _text(html, "code-colour") == "红码"
    assert name in html
    assert "密切接触" in _text(html, "reasons")
    assert "解除条件" in html
    assert "转为黄码" in _text(html, "next-change")
    assert f'src="/api/v1/persons/{pid}/code/qr.png"' in html
    assert "密切接触者" in _text(html, "history")  # the rule and the fact by name
    assert raw_in(html) == []  # no rule id, trigger or colour key shown raw
    c.cookies.set("fk_lang", "en")
    en = c.get(f"/codes/{pid}").text
    assert _text(en, "code-colour") == "Red code"
    assert "close contact" in _text(en, "reasons").lower()
    assert "turns Yellow code" in _text(en, "next-change")
    assert "密切接触" not in en
    assert "Close contact" in _text(en, "history")
    assert raw_in(en) == []


def test_lookup_errors_and_csrf(app: FastAPI, province: Engine) -> None:
    c = logged_in(app, "epi")
    token = csrf_of(c.get("/codes").text)
    bad = c.post("/codes/lookup", data={"id_number": "123", "csrf_token": token})
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    other = person_identity(province, person_ids(province, "140121")[0])[0]
    hidden = c.post("/codes/lookup", data={"id_number": other, "csrf_token": token})
    assert hidden.status_code == 404
    assert _text(hidden.text, "not-found") == "未找到此人员"
    forged = c.post("/codes/lookup", data={"id_number": other, "csrf_token": "x" * 64})
    assert forged.status_code == 403


def test_navigation_follows_rights(app: FastAPI) -> None:
    links = {
        user: (
            'href="/codes"' in (home := logged_in(app, user).get("/").text),
            'href="/corrections"' in home,
        )
        for user in ("epi", "viewer", "admin", "cmd")
    }
    assert links == {
        "epi": (True, True),
        "viewer": (True, False),
        "admin": (False, False),
        "cmd": (True, True),
    }
    assert logged_in(app, "viewer").get("/corrections").status_code == 403
    assert logged_in(app, "admin").get("/codes").status_code == 403


def test_viewer_page_masks_name_and_reasons(app: FastAPI, province: Engine) -> None:
    pid = person_ids(province, "140102")[0]
    make_red(province, codes_of(app), pid)
    html = logged_in(app, "viewer").get(f"/codes/{pid}").text
    assert _text(html, "code-colour") == "红码"
    assert person_identity(province, pid)[1] not in html
    assert "reasons-masked" in html
    assert "密切接触者" in html  # which rule applies, by name
    assert 'class="reason-text"' not in html  # not its details
    assert raw_in(html) == []
    assert "提交纠错申请" not in html


def test_corrections_queue_flow(app: FastAPI, province: Engine) -> None:
    pid = person_ids(province, "140102")[0]
    make_yellow(province, codes_of(app), pid)
    epi = logged_in(app, "epi")
    page = epi.get(f"/codes/{pid}").text
    no_csrf = epi.post(f"/codes/{pid}/corrections", data={"reason": "wrong person"})
    assert no_csrf.status_code == 403
    empty = epi.post(f"/codes/{pid}/corrections", data={"reason": " ", "csrf_token": csrf_of(page)})
    assert empty.status_code == 422
    assert _text(empty.text, "correction-form-reason-error") == "请填写此项"
    filed = epi.post(
        f"/codes/{pid}/corrections",
        data={"reason": "未去过发热门诊", "csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert filed.status_code == 303
    after = epi.get(filed.headers["location"]).text
    assert "纠错申请已提交" in after
    assert "未去过发热门诊" in after
    with province.connect() as conn:
        cid = conn.execute(select(code_corrections.c.id)).scalar_one()

    # the filer may not decide their own objection
    queue = epi.get("/corrections").text
    assert f'id="correction-{cid}"' in queue
    own = epi.post(
        f"/corrections/{cid}/decide",
        data={"decision": "upheld", "reason": "ok", "csrf_token": csrf_of(queue)},
    )
    assert own.status_code == 403
    assert "不能决定自己提交的纠错申请" in _text(own.text, "decide-error")

    # another county's decider neither sees it nor may decide it
    county2 = logged_in(app, "county2")
    other_queue = county2.get("/corrections").text
    assert f'id="correction-{cid}"' not in other_queue
    assert "queue-empty" in other_queue
    hidden = county2.post(
        f"/corrections/{cid}/decide",
        data={"decision": "upheld", "reason": "x", "csrf_token": csrf_of(other_queue)},
    )
    assert hidden.status_code == 404

    cmd = logged_in(app, "cmd")
    queue = cmd.get("/corrections").text
    assert f'id="correction-{cid}"' in queue
    refused = cmd.post(f"/corrections/{cid}/decide", data={"decision": "rejected", "reason": "x"})
    assert refused.status_code == 403  # no CSRF token
    decided = cmd.post(
        f"/corrections/{cid}/decide",
        data={"decision": "rejected", "reason": "门诊记录属实", "csrf_token": csrf_of(queue)},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    done = cmd.get(decided.headers["location"]).text
    assert "decided" in done
    assert "queue-empty" in done
    again = cmd.post(
        f"/corrections/{cid}/decide",
        data={"decision": "upheld", "reason": "再议", "csrf_token": csrf_of(done)},
    )
    assert again.status_code == 409
    with province.connect() as conn:
        row = conn.execute(select(code_corrections)).one()
        actions = conn.execute(
            select(audit_log.c.actor, audit_log.c.outcome).where(
                audit_log.c.action == "code.decide"
            )
        ).all()
    assert (row.state, row.decided_by, row.decision_reason) == ("rejected", "cmd", "门诊记录属实")
    assert [tuple(a) for a in actions] == [
        ("epi", "forbidden"),
        ("county2", "not_found"),
        ("cmd", "ok"),
        ("cmd", "correction.decided"),
    ]
    assert "已驳回" in epi.get(f"/codes/{pid}").text


def test_home_counts_by_colour(app: FastAPI, province: Engine) -> None:
    codes = codes_of(app)
    ids = person_ids(province, "140102")
    make_red(province, codes, ids[0])
    make_yellow(province, codes, ids[1])
    make_yellow(province, codes, ids[2])
    for pid in ids[3:8]:
        evaluate_person(province, codes, pid)
    make_red(province, codes, person_ids(province, "140121")[0])
    epi = logged_in(app, "epi").get("/").text  # county 140102
    assert [_text(epi, f"n-{c}") for c in ("green", "yellow", "red")] == ["5", "2", "1"]
    assert int(_text(epi, "n-none").replace(",", "")) == len(ids) - 8
    cmd = logged_in(app, "cmd").get("/").text  # the province
    assert [_text(cmd, f"n-{c}") for c in ("green", "yellow", "red")] == ["5", "2", "2"]
    assert "colours-by-area" in cmd
    spec = re.search(r'id="area-chart-spec">(.*?)</script>', cmd, re.S)
    assert spec
    assert '"colour": "红码"' in spec.group(1)
    admin = logged_in(app, "admin").get("/").text
    assert 'id="colours"' not in admin


@pytest.mark.usefixtures("small_pages")
def test_corrections_queue_and_audit_log_sort_and_page(app: FastAPI, province: Engine) -> None:
    """The queue (cards) and the audit log: sorted both ways and walked in pages of 2,
    the audit log's user filter kept on every link; the log is not counted (issue 19)."""
    epi = logged_in(app, "epi")
    for pid in person_ids(province, "140102")[:3]:
        page = epi.get(f"/codes/{pid}").text
        filed = epi.post(f"/codes/{pid}/corrections", follow_redirects=False,
                         data={"reason": f"纠错{pid}", "csrf_token": csrf_of(page)})  # fmt: skip
        assert filed.status_code == 303
    cmd = logged_in(app, "cmd")
    first = cmd.get("/corrections?sort=filed&dir=asc&size=2").text
    shown = re.findall(r'<section class="card" id="(correction-\d+)"', first)
    assert len(shown) == 2
    nexts = links(first, "next")
    assert nexts
    assert "sort=filed" in nexts[0]
    rest = re.findall(r'<section class="card" id="(correction-\d+)"', cmd.get(nexts[0]).text)
    assert len(rest) == 1
    assert rest[0] not in shown
    newest = cmd.get("/corrections?sort=filed&dir=desc&size=200").text
    order = re.findall(r'<section class="card" id="(correction-\d+)"', newest)
    assert order == (shown + rest)[::-1]
    assert 'aria-current="true"' in newest  # the chosen order is marked
    admin = logged_in(app, "admin")
    seqs = check_list(admin, "/admin/audit?user=epi", "audit", "audit-", "seq", keep="user=epi")
    assert len(seqs) >= 6  # logins, views and the three corrections
    log = admin.get("/admin/audit?user=epi&size=2").text
    assert "共" not in _text(log, "audit-pages")  # rows a–b, no count of the whole log
    check_list(admin, "/admin/audit?user=epi", "audit", "audit-", "action", keep="user=epi")
