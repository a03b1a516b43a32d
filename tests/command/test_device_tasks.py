"""A unit's duty terminal (值班终端): a device token of scope ``tasks`` bound to a region
(township and above) and optionally a role — issue and validation, jurisdiction by the
region's subtree, the role, the audit as the device, changes resent without doubling the
history (issue 18, point 4). Both backends."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, insert, select

from fangkong.auth.admin import list_device_tokens
from fangkong.auth.devices import issue_device_token, issue_unit_token
from fangkong.auth.guard import Call
from fangkong.auth.model import Actor, cli_actor
from fangkong.auth.rights import TASK_CHANGE, TOKEN_ISSUE
from fangkong.auth.users import revoke_right
from fangkong.command import access_tasks, tasks
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_task_changes
from fangkong.errors import InvalidFields, NotFound
from fangkong.policy import load_pack
from fangkong.store.schema import audit_log, device_tokens
from tests.api.codes import AUDIT_KEY, venue_of
from tests.api.helpers import client, logged_in, make_app
from tests.command.conftest import T0
from tests.command.test_api_tasks import seed_tasks

A = "140102001000"  # the township of county 140102
B = "140121100000"  # the township of county 140121
CITY = "140100"
PROBLEM = "application/problem+json"


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    return make_app(province, tmp_path)


def _issue(engine: Engine, region: str, role: str | None = None, **kw: Any) -> str:
    actor = kw.pop("actor", cli_actor())
    token, _ = issue_unit_token(engine, AUDIT_KEY, actor, kw.pop("scope", "tasks"), region,
                                role, kw.pop("days", 30), "test")  # fmt: skip
    return token


def _field_code(call: Any) -> str:
    with pytest.raises(InvalidFields) as err:
        call()
    return err.value.fields[0].problem.code


def _terminal(app: FastAPI, token: str) -> Any:
    return client(app, Authorization=f"Bearer {token}", **{"Accept-Language": "en"})


def _history(engine: Engine, task_id: int) -> list[tuple[str | None, str, str]]:
    c = command_task_changes.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.from_status, c.to_status, c.changed_by)
            .where(c.task_id == task_id)
            .order_by(c.id)
        ).all()
    return [(r.from_status, r.to_status, r.changed_by) for r in rows]


def test_issue_is_bounded_and_validated(province: Engine) -> None:
    assert _field_code(lambda: _issue(province, A, scope="scan")) == "token.scope_venue"
    market = venue_of(province, "market")
    venue_token = lambda: issue_device_token(  # noqa: E731
        province, AUDIT_KEY, cli_actor(), "tasks", market, 30, "t")  # fmt: skip
    assert _field_code(venue_token) == "token.scope_unit"
    assert _field_code(lambda: _issue(province, A, scope="nope")) == "token.scope_unknown"
    assert _field_code(lambda: _issue(province, A, days=0)) == "token.days"
    assert _field_code(lambda: _issue(province, "1" * 16)) == "token.region_shape"
    assert _field_code(lambda: _issue(province, A, "r" * 33)) == "token.role_shape"
    # a community owes no tasks; the viewer role cannot change them
    assert _field_code(lambda: _issue(province, "140102001001")) == "token.region_level"
    assert _field_code(lambda: _issue(province, A, "viewer")) == "token.role_rights"
    for region, role, code in ((("149999", None, "region.unknown")), (A, "nobody", "role.unknown")):
        with pytest.raises(NotFound) as err:
            _issue(province, region, role)
        assert err.value.code == code
        assert err.value.problem.message_zh != err.value.problem.message_en
    # an issuer of county 140102 cannot bind a token to the other county's township
    county_admin = Actor("user", "ca", frozenset({TOKEN_ISSUE}), "140102")
    with pytest.raises(NotFound):
        _issue(province, B, actor=county_admin)
    _issue(province, A, "lab", actor=county_admin)
    (listed,) = list_device_tokens(province, cli_actor())  # the refused ones stored nothing
    assert (listed.scope, listed.venue_code, listed.region_code, listed.role) == (
        "tasks", None, A, "lab")  # fmt: skip
    with province.connect() as conn:
        issued = conn.execute(
            select(audit_log.c.actor, audit_log.c.detail).where(audit_log.c.action == "token.issue")
        ).all()
    assert [tuple(r) for r in issued] == [("ca", f"scope=tasks days=30 region={A} role=lab")]


def test_a_token_bound_to_nothing_is_refused(app: FastAPI, province: Engine) -> None:
    # none is issued so (0002 allowed it); it would have had the whole province
    from fangkong.auth.users import _token_hash
    from fangkong.clock import wall

    with province.begin() as conn:
        conn.execute(insert(device_tokens).values(
            token_hash=_token_hash("fkd_unbound"), scope="tasks", created_at=wall(),
            expires_at=wall().replace(year=wall().year + 1)))  # fmt: skip
    r = _terminal(app, "fkd_unbound").get("/api/v1/command/tasks")
    assert (r.status_code, r.json()["code"]) == (401, "token.invalid")


def test_terminal_sees_and_works_its_units_tasks(app: FastAPI, province: Engine) -> None:
    mine, theirs = seed_tasks(province)  # late tubes in A and in B, role lab
    token = _issue(province, A)
    device = _terminal(app, token)
    (row,) = list_device_tokens(province, cli_actor())
    who = f"device:{row.id}"
    listed = device.get("/api/v1/command/tasks").json()
    assert [t["id"] for t in listed["tasks"]] == [mine]
    assert listed["tasks"][0]["kind_label"] == "late tubes"
    for r in (device.get(f"/api/v1/command/tasks/{theirs}"),
              device.post(f"/api/v1/command/tasks/{theirs}/status", json={"status": "done",
                          "evidence": "x"})):  # fmt: skip
        assert (r.status_code, r.headers["content-type"]) == (404, PROBLEM)
    url = f"/api/v1/command/tasks/{mine}/status"
    r = device.post(url, json={"status": "acknowledged", "ref": "a1"})  # no CSRF: a bearer
    assert (r.status_code, r.json()["status"]) == (200, "acknowledged")
    r = device.post(url, json={"status": "done", "evidence": "tubes sent to the lab"})
    assert (r.json()["status"], r.json()["closed_by"]) == ("done", who)
    # no setting, no cancelling, no board: the scope carries task.read and task.change only
    assert device.post(url, json={"status": "cancelled", "note": "x"}).status_code == 403
    assert device.post("/api/v1/command/tasks", json={"region_code": A, "title": "x"}
                       ).status_code == 403  # fmt: skip
    assert device.get("/api/v1/command/board").status_code == 403
    assert _history(province, mine) == [
        (None, "open", "job:raise"), ("open", "acknowledged", who),
        ("acknowledged", "done", who)]  # fmt: skip
    with province.connect() as conn:
        audited = conn.execute(
            select(audit_log.c.action, audit_log.c.target_id, audit_log.c.outcome)
            .where(audit_log.c.actor == who)
            .order_by(audit_log.c.seq)
        ).all()
    assert [tuple(a) for a in audited] == [
        ("task.list", None, "ok"), ("task.view", str(theirs), "out_of_jurisdiction"),
        ("task.change", str(theirs), "out_of_jurisdiction"), ("task.change", str(mine), "ok"),
        ("task.change", str(mine), "ok"), ("task.change", str(mine), "forbidden"),
        ("task.assign", None, "forbidden"), ("command.board", None, "forbidden"),
    ]  # fmt: skip


def test_a_city_terminal_sees_its_subtree(app: FastAPI, province: Engine) -> None:
    mine, theirs = seed_tasks(province)
    city = _terminal(app, _issue(province, CITY)).get("/api/v1/command/tasks").json()
    assert sorted(t["id"] for t in city["tasks"]) == sorted([mine, theirs])
    county = _terminal(app, _issue(province, "140121")).get("/api/v1/command/tasks").json()
    assert [t["id"] for t in county["tasks"]] == [theirs]


def test_a_role_terminal_sees_its_role_and_the_units(app: FastAPI, province: Engine) -> None:
    lab_task, _ = seed_tasks(province)
    rules = CommandRules.from_pack(load_pack("protocol-9"))
    made = {
        role: tasks.assign_task(province, rules, region_code=A, role=role, title=f"t {role}",
                                detail="", deadline_at=None, by="cmdr", at=T0).id
        for role in ("quarantine_manager", None)
    }  # fmt: skip
    lab = _terminal(app, _issue(province, A, "lab"))
    seen = sorted(t["id"] for t in lab.get("/api/v1/command/tasks").json()["tasks"])
    assert seen == sorted([lab_task, made[None]])
    assert lab.get(f"/api/v1/command/tasks/{made['quarantine_manager']}").status_code == 404
    # rights follow the role at each request, as a person's
    revoke_right(province, AUDIT_KEY, cli_actor(), "lab", TASK_CHANGE, "test")
    r = lab.post(f"/api/v1/command/tasks/{lab_task}/status", json={"status": "acknowledged"})
    assert (r.status_code, r.json()["code"]) == (403, "auth.forbidden")
    assert lab.get(f"/api/v1/command/tasks/{lab_task}").status_code == 200


def test_a_resent_change_is_made_once(app: FastAPI, province: Engine) -> None:
    mine, _ = seed_tasks(province)
    device = _terminal(app, _issue(province, A))
    url = f"/api/v1/command/tasks/{mine}/status"
    for first in (True, False, False):  # the answer was lost: the device resends its queue
        r = device.post(url, json={"status": "acknowledged", "ref": "q-1"})
        # resent, the task is answered as it stands
        assert (r.status_code, r.json()["status"]) == (200, "acknowledged" if first else
                                                       "in_progress")  # fmt: skip
        r = device.post(url, json={"status": "in_progress", "evidence": "team sent",
                                   "ref": "q-2"})  # fmt: skip
        assert (r.status_code, r.json()["status"]) == (200, "in_progress")
    # the same move without a ref, the same evidence: nothing new either
    assert device.post(url, json={"status": "in_progress"}).status_code == 200
    assert device.post(url, json={"status": "in_progress", "evidence": "team sent"}).json()[
        "evidence"] == "team sent"  # fmt: skip
    # new evidence on an open task is kept, with its own history row
    r = device.post(url, json={"status": "in_progress", "evidence": "3 of 5 tubes"})
    assert (r.status_code, r.json()["evidence"]) == (200, "3 of 5 tubes")
    # a used ref for another move is refused; a step passed is a conflict
    r = device.post(url, json={"status": "done", "evidence": "x", "ref": "q-1"})
    assert (r.status_code, r.json()["code"]) == (409, "command.ref_reused")
    r = device.post(url, json={"status": "acknowledged"})
    assert (r.status_code, r.json()["code"]) == (409, "command.status_move")
    r = device.post(url, json={"status": "done", "evidence": "all sent", "ref": "q-3"})
    assert r.json()["status"] == "done"
    assert device.post(url, json={"status": "done", "evidence": "all sent", "ref": "q-3"}
                       ).status_code == 200  # fmt: skip
    moves = [(f, t) for f, t, _ in _history(province, mine)]
    assert moves == [(None, "open"), ("open", "acknowledged"), ("acknowledged", "in_progress"),
                     ("in_progress", "in_progress"), ("in_progress", "done")]  # fmt: skip
    detail = device.get(f"/api/v1/command/tasks/{mine}").json()
    assert [h["ref"] for h in detail["history"]] == [None, "q-1", "q-2", None, "q-3"]
    assert [h["note"] for h in detail["history"]][3] == "evidence"
    page = logged_in(app, "epi").get(f"/command/tasks/{mine}").text  # people read it translated
    assert "补充处置情况" in page
    assert ">evidence<" not in page
    with province.connect() as conn:
        repeats = conn.execute(
            select(audit_log.c.detail).where(audit_log.c.action == "task.change",
                                             audit_log.c.detail.like("%repeat%"))
        ).scalars().all()  # fmt: skip
    assert len(repeats) == 2 + 2 + 2 + 1  # two resends of each ref'd move, 2 without, q-3


def test_copies_sent_at_once_are_one_change(province: Engine) -> None:
    mine, _ = seed_tasks(province)
    call = Call(province, AUDIT_KEY, Actor(
        "device", "device:9", frozenset({"task.read", "task.change"}), A))  # fmt: skip
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def send() -> None:
        start.wait()
        try:
            access_tasks.change_status(call, mine, "acknowledged", ref="same")
        except Exception as exc:  # collected, asserted empty
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [t for _, t, _ in _history(province, mine)] == ["open", "acknowledged"]
