"""The task pages through the app (TestClient): the list of the jurisdiction with the
overdue mark and translated labels, one task with history and the status form (CSRF),
the assign form for commanders, the navigation link under task.read."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from fangkong.command import tasks
from fangkong.command.rules import CommandRules
from fangkong.policy import load_pack
from tests.api.helpers import csrf_of, logged_in, make_app
from tests.command.test_api_tasks import T0, seed_tasks, township
from tests.web.listing_check import check_list, small_pages  # noqa: F401 (a fixture)


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    return make_app(province, tmp_path)


def test_list_and_task_pages(app: FastAPI, province: Engine) -> None:
    mine, theirs = seed_tasks(province)  # raised 2026-12-01 09:00, 4 h: overdue now
    epi = logged_in(app, "epi")
    page = epi.get("/command/tasks")
    assert page.status_code == 200
    assert 'href="/command/tasks"' in page.text  # the navigation link
    assert 'class="region" href="/command/tasks?region=' in page.text  # units are links
    assert f'id="task-{mine}"' in page.text
    assert f'id="task-{theirs}"' not in page.text
    assert "样本送检超时" in page.text  # the kind's zh label
    assert "逾期" in page.text
    assert 'id="assign"' not in page.text  # no task.assign
    en = logged_in(app, "epi", **{"Accept-Language": "en"})
    en.get("/lang/en?next=/")
    assert "late tubes" in en.get("/command/tasks").text
    assert epi.get("/command/tasks", params={"status": "done"}).text.count('class="task') == 0
    assert epi.get(f"/command/tasks/{theirs}").status_code == 404
    one = epi.get(f"/command/tasks/{mine}")
    assert one.status_code == 200
    assert 'id="to-acknowledged"' in one.text
    assert 'id="to-cancelled"' not in one.text  # cancelling is the commander's
    csrf = csrf_of(one.text)
    url = f"/command/tasks/{mine}/status"
    refused = epi.post(url, data={"status": "done", "csrf_token": csrf})
    assert refused.status_code == 400
    assert "处置" in refused.text
    assert epi.post(url, data={"status": "acknowledged"}).status_code == 403  # no CSRF token
    moved = epi.post(url, data={"status": "acknowledged", "note": "收到", "csrf_token": csrf},
                     follow_redirects=False)  # fmt: skip
    assert moved.status_code == 303
    shown = epi.get(moved.headers["location"]).text
    assert re.search(r'id="task-status">已签收<', shown)
    assert "收到" in shown


def test_assign_form(app: FastAPI, province: Engine) -> None:
    seed_tasks(province)
    cmdr = logged_in(app, "cmdr")
    page = cmdr.get("/command/tasks")
    assert 'id="assign"' in page.text
    assert '<option value="140121">' in page.text  # a county below the city
    csrf = csrf_of(page.text)
    form = {"region_code": "140121", "title": "督导核酸", "detail": "今日完成", "role": "lab",
            "deadline": "", "csrf_token": csrf}  # fmt: skip
    r = cmdr.post("/command/tasks", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "督导核酸" in cmdr.get(r.headers["location"]).text
    r = cmdr.post("/command/tasks", data={**form, "region_code": "140100"})
    assert r.status_code == 400
    assert 'id="assign-error"' in r.text
    viewer = logged_in(app, "viewer")
    assert 'href="/command/tasks"' in viewer.get("/command/tasks").text


@pytest.mark.usefixtures("small_pages")
def test_task_list_sorts_and_pages(app: FastAPI, province: Engine) -> None:
    """Tasks with other deadlines: sorted by deadline both ways, walked in pages of 2,
    the open-only filter kept on every link (issue 19)."""
    mine, _ = seed_tasks(province)
    rules = CommandRules.from_pack(load_pack("protocol-9"))
    for day in (2, 3, 4):
        tasks.raise_task(
            province, rules, kind="late_tubes", source_type="region_day",
            source_id=f"140102/2026-12-0{day}", region_code=township(province, "140102"),
            role="lab", params={"tubes": day}, by="job:raise", at=T0 + timedelta(days=day),
        )  # fmt: skip
    epi = logged_in(app, "epi")
    order = check_list(epi, "/command/tasks?open_only=true", "tasks", "task-", "deadline",
                       keep="open_only=true", total=4)  # fmt: skip
    assert order[0] == f"task-{mine}"  # the earliest deadline
    check_list(epi, "/command/tasks", "tasks", "task-", "id", total=4)


def test_a_raised_tasks_parameters_are_said_in_words(app: FastAPI, province: Engine) -> None:
    """An alert's task keeps its alert, rule, severity and region; a traveller's its stage
    and due time: the task page names each by its label and each value by its vocabulary
    (a link for the alert, the time in the system's zone), never as stored."""
    rules = CommandRules.from_pack(load_pack("protocol-9"))
    region = township(province, "140102")
    alert, _ = tasks.raise_task(
        province, rules, kind="alert", source_type="alert", source_id="7",
        region_code=region, role="epidemiologist",
        params={"alert": 7, "rule": "no_such_rule", "severity": "high", "region": "小店街道"},
        deadline_at=T0 + timedelta(hours=2), by="job:raise", at=T0,
    )  # fmt: skip
    loop, _ = tasks.raise_task(
        province, rules, kind="closed_loop_overdue", source_type="arrival", source_id="3/sampled",
        region_code=region, role=None,
        params={"stage": "sampled", "due_at": "2026-12-01T01:00:00+00:00", "region": "小店街道"},
        by="job:raise", at=T0,
    )  # fmt: skip
    epi = logged_in(app, "epi")
    page = epi.get(f"/command/tasks/{alert.id}").text
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd class=\"task-param\">(.*?)</dd>", page))
    assert facts["预警"] == '<a href="/alerts/7">#7</a>'
    assert facts["严重程度"] == "高"
    assert facts["规则"] == "No such rule"  # a rule the pack lacks: in words, not its id
    assert facts["地区"] == "小店街道"
    assert "severity" not in page
    assert "no_such_rule" not in page
    shown = epi.get(f"/command/tasks/{loop.id}").text
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd class=\"task-param\">(.*?)</dd>", shown))
    assert facts["环节"] != "sampled"
    assert "sampled" not in shown
    assert facts["应完成时间"].startswith("2026-12-01 09:00")  # UTC 01:00 in Asia/Shanghai
    assert '来返人员 <a href="/arrivals/travellers/3">#3</a>' in shown  # the source, no key
    mine, _ = seed_tasks(province)  # a region's day: "140102/2026-12-01"
    assert "地区日报 2026-12-01<" in epi.get(f"/command/tasks/{mine}").text
