"""Guarded task use cases: jurisdiction hides tasks as absent, rights refuse, every call
writes one audit row; a commander assigns only below their region."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from fangkong.auth.guard import Call
from fangkong.auth.model import Actor
from fangkong.auth.rights import TASK_ASSIGN, TASK_CHANGE, TASK_READ
from fangkong.command import access_tasks as access
from fangkong.command import tasks
from fangkong.command.errors import TaskInvalid, TaskUnknown
from fangkong.command.rules import CommandRules
from fangkong.errors import Forbidden
from fangkong.store.schema import audit_log
from tests.command.conftest import T0

KEY = b"k" * 32
H = timedelta(hours=1)


def _call(engine: Engine, region: str | None, *rights: str, name: str = "u") -> Call:
    actor = Actor(kind="user", name=name, rights=frozenset(rights), region_code=region)
    return Call(engine, KEY, actor, address="test", at=T0)


def _audit(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.outcome, audit_log.c.target_id).order_by(
                audit_log.c.seq
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _task(engine: Engine, rules: CommandRules, region: str) -> tasks.TaskView:
    view, _ = tasks.raise_task(
        engine, rules, kind="late_tubes", source_type="region_day",
        source_id=f"{region}/2026-12-01", region_code=region, role="lab", params={"tubes": 4},
        by="job:raise", at=T0,
    )  # fmt: skip
    return view


def test_jurisdiction_hides_tasks(tree: Engine, rules: CommandRules) -> None:
    mine = _task(tree, rules, "140101001")
    theirs = _task(tree, rules, "140201")
    county = _call(tree, "140101", TASK_READ)
    rows, total = access.list_tasks(county)
    assert total == 1
    assert [r.id for r in rows] == [mine.id]
    assert access.read_task(county, mine.id).history[0].to_status == "open"
    with pytest.raises(TaskUnknown):
        access.read_task(county, theirs.id)
    with pytest.raises(TaskUnknown):
        access.read_task(county, 999)
    province = _call(tree, "14", TASK_READ)
    assert access.list_tasks(province)[1] == 2
    assert access.list_tasks(province, region="1402")[1] == 1
    with pytest.raises(TaskInvalid) as bad:
        access.list_tasks(province, status="closed")
    assert "acknowledged" in bad.value.problem.message_en
    assert _audit(tree)[-6:-3] == [
        ("task.view", "ok", str(mine.id)),
        ("task.view", "out_of_jurisdiction", str(theirs.id)),
        ("task.view", "not_found", "999"),
    ]


def test_escalated_task_stays_visible_to_its_unit(tree: Engine, rules: CommandRules) -> None:
    task = _task(tree, rules, "140101001")
    tasks.escalate_overdue(tree, rules, at=T0 + 100 * H)
    township = _call(tree, "140101001", TASK_READ, TASK_CHANGE)
    assert access.read_task(township, task.id).task.region_code == "140101"
    moved = access.change_status(township, task.id, "acknowledged", note="收到")
    assert moved.status == "acknowledged"


def test_rights_and_audit_of_changes(tree: Engine, rules: CommandRules) -> None:
    task = _task(tree, rules, "140101")
    viewer = _call(tree, "140101", TASK_READ)
    with pytest.raises(Forbidden):
        access.change_status(viewer, task.id, "acknowledged")
    worker = _call(tree, "140101", TASK_READ, TASK_CHANGE, name="lab1")
    with pytest.raises(Forbidden):  # cancelling is the commander's
        access.change_status(worker, task.id, "cancelled", note="no")
    other = _call(tree, "140201", TASK_READ, TASK_CHANGE)
    with pytest.raises(TaskUnknown):
        access.change_status(other, task.id, "acknowledged")
    done = access.change_status(worker, task.id, "done", evidence="tubes re-run")
    assert done.closed_by == "lab1"
    assert _audit(tree)[-4:] == [
        ("task.change", "forbidden", str(task.id)),
        ("task.change", "forbidden", str(task.id)),
        ("task.change", "out_of_jurisdiction", str(task.id)),
        ("task.change", "ok", str(task.id)),
    ]
    with pytest.raises(Forbidden):
        access.list_tasks(_call(tree, "14"))


def test_assign_only_below(tree: Engine, rules: CommandRules) -> None:
    commander = _call(tree, "1401", TASK_READ, TASK_ASSIGN, name="cmdr")
    task = access.assign_task(commander, rules, region_code="140101", role=None,
                              title="督导核酸", detail="今日完成")  # fmt: skip
    assert (task.kind, task.raised_by, task.region_code) == ("manual", "cmdr", "140101")
    with pytest.raises(TaskInvalid) as own:
        access.assign_task(commander, rules, region_code="1401", role=None, title="x", detail="")
    assert own.value.code == "command.region_not_below"
    with pytest.raises(TaskInvalid) as outside:
        access.assign_task(commander, rules, region_code="1402", role=None, title="x", detail="")
    assert outside.value.code == "command.region_unknown"
    with pytest.raises(Forbidden):
        access.assign_task(_call(tree, "1401", TASK_READ, TASK_CHANGE), rules,
                           region_code="140101", role=None, title="x", detail="")  # fmt: skip
    assert _audit(tree)[-3:] == [
        ("task.assign", "command.region_not_b", None),
        ("task.assign", "out_of_jurisdiction", None),
        ("task.assign", "forbidden", None),
    ]
    cancelled = access.change_status(commander, task.id, "cancelled", note="并入其他任务")
    assert cancelled.status == "cancelled"
    assert not cancelled.missed
    assert access.escalate(commander, rules) == []
