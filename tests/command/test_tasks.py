"""The task service: idempotent raising, the allowed moves, closing for a source,
escalation timing and levels, listing by jurisdiction. Both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from fangkong.command import tasks
from fangkong.command.errors import TaskConflict, TaskInvalid, TaskUnknown
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_task_changes, command_tasks
from fangkong.store.listing import Bounded
from tests.command.conftest import T0

H = timedelta(hours=1)


def _raise(
    engine: Engine, rules: CommandRules, source_id: str = "140101001/2026-12-01",
    region: str = "140101001", kind: str = "awaiting_placement",
) -> tasks.TaskView:  # fmt: skip
    view, _ = tasks.raise_task(
        engine, rules, kind=kind, source_type="region_day", source_id=source_id,
        region_code=region, role="quarantine_manager", params={"count": 3}, by="job:raise",
        at=T0,
    )  # fmt: skip
    return view


def test_raise_is_idempotent_per_source(tree: Engine, rules: CommandRules) -> None:
    first, created = tasks.raise_task(
        tree, rules, kind="awaiting_placement", source_type="region_day",
        source_id="140101/2026-12-01", region_code="140101", role="quarantine_manager",
        params={"count": 3}, by="job:raise", at=T0,
    )  # fmt: skip
    assert created
    assert first.deadline_at == T0 + 6 * H  # protocol-9: awaiting_placement 6 h
    assert (first.status, first.region_code, first.origin_region_code) == (
        "open",
        "140101",
        "140101",
    )
    again, created = tasks.raise_task(
        tree, rules, kind="awaiting_placement", source_type="region_day",
        source_id="140101/2026-12-01", region_code="140101", role="quarantine_manager",
        params={"count": 9}, by="job:raise", at=T0 + H,
    )  # fmt: skip
    assert not created
    assert again.id == first.id
    assert again.params == {"count": 3}
    with tree.connect() as conn:
        assert conn.execute(select(func.count()).select_from(command_tasks)).scalar_one() == 1
    assert [c.to_status for c in tasks.task_history(tree, first.id)] == ["open"]
    assert tasks.refresh_params(tree, first.id, {"count": 9})
    assert tasks.get_task(tree, first.id, at=T0).params == {"count": 9}  # type: ignore[union-attr]


def test_raise_refuses_bad_input(tree: Engine, rules: CommandRules) -> None:
    base = {
        "source_id": "1",
        "region_code": "140101",
        "role": None,
        "params": {},
        "by": "j",
        "at": T0,
    }
    with pytest.raises(TaskInvalid, match="source"):
        tasks.raise_task(tree, rules, kind="alert", source_type="region_day", **base)  # type: ignore[arg-type]
    with pytest.raises(TaskInvalid) as err:  # an alert's deadline comes from the alert
        tasks.raise_task(tree, rules, kind="alert", source_type="alert", **base)  # type: ignore[arg-type]
    assert err.value.code == "command.deadline_missing"
    with pytest.raises(TaskInvalid):
        tasks.raise_task(tree, rules, kind="manual", source_type="alert", **base)  # type: ignore[arg-type]
    with pytest.raises(TaskInvalid) as err:
        tasks.raise_task(tree, rules, kind="alert", source_type="alert", deadline_at=T0 + H,
                         **{**base, "region_code": "99"})  # type: ignore[arg-type]  # fmt: skip
    assert err.value.code == "command.region_unknown"
    view, created = tasks.raise_task(tree, rules, kind="alert", source_type="alert",
                                     deadline_at=T0 + 2 * H, **base)  # type: ignore[arg-type]  # fmt: skip
    assert created
    assert view.deadline_at == T0 + 2 * H


def test_moves_follow_the_transitions(tree: Engine, rules: CommandRules) -> None:
    task = _raise(tree, rules)
    acked = tasks.change_status(tree, task.id, "acknowledged", by="u1", at=T0 + H)
    assert acked.status == "acknowledged"
    assert acked.closed_at is None
    with pytest.raises(TaskConflict):
        tasks.change_status(tree, task.id, "open", by="u1", at=T0 + H)
    with pytest.raises(TaskInvalid) as err:
        tasks.change_status(tree, task.id, "done", by="u1", at=T0 + H)
    assert err.value.code == "command.evidence_missing"
    with pytest.raises(TaskInvalid):
        tasks.change_status(tree, task.id, "cancelled", by="u1", at=T0 + H)
    done = tasks.change_status(tree, task.id, "done", by="u1", at=T0 + 7 * H, evidence="placed")
    assert (done.closed_at, done.closed_by, done.evidence) == (T0 + 7 * H, "u1", "placed")
    assert done.late
    assert done.missed
    assert not done.overdue
    with pytest.raises(TaskConflict):
        tasks.change_status(tree, task.id, "in_progress", by="u1", at=T0 + 8 * H)
    with pytest.raises(TaskUnknown):
        tasks.change_status(tree, 999, "acknowledged", by="u1", at=T0)
    history = tasks.task_history(tree, task.id)
    assert [(c.from_status, c.to_status) for c in history] == [
        (None, "open"), ("open", "acknowledged"), ("acknowledged", "done")]  # fmt: skip


def test_close_for_source(tree: Engine, rules: CommandRules) -> None:
    task = _raise(tree, rules)
    key = ("awaiting_placement", "region_day", "140101001/2026-12-01")
    assert tasks.close_for_source(tree, *key, by="job:raise", at=T0 + H, note="cleared") == task.id
    closed = tasks.get_task(tree, task.id, at=T0 + 9 * H)
    assert closed is not None
    assert closed.status == "done"
    assert not closed.missed
    assert closed.evidence == "cleared"
    assert tasks.close_for_source(tree, *key, by="job:raise", at=T0 + H, note="again") is None
    assert tasks.close_for_source(tree, "alert", "alert", "7", by="x", at=T0, note="n") is None


def test_escalation_timing_and_levels(tree: Engine, rules: CommandRules) -> None:
    # protocol-9: 2 h after the deadline, again every 2 h, at most 3 levels
    task = _raise(tree, rules)  # township, deadline T0 + 6 h
    deadline = task.deadline_at
    assert tasks.escalate_overdue(tree, rules, at=deadline + 2 * H) == []  # not more than 2 h
    (moved,) = tasks.escalate_overdue(tree, rules, at=deadline + 2 * H + 60 * timedelta(seconds=1))
    assert (moved.from_region, moved.to_region, moved.level) == ("140101001", "140101", 1)
    assert tasks.escalate_overdue(tree, rules, at=deadline + 3 * H) == []  # 1 h since
    t1 = deadline + 4 * H + H
    assert [m.to_region for m in tasks.escalate_overdue(tree, rules, at=t1)] == ["1401"]
    assert [m.to_region for m in tasks.escalate_overdue(tree, rules, at=t1 + 3 * H)] == ["14"]
    assert tasks.escalate_overdue(tree, rules, at=t1 + 30 * H) == []  # the province stays
    view = tasks.get_task(tree, task.id, at=t1)
    assert view is not None
    assert (view.region_code, view.origin_region_code, view.escalation_level) == (
        "14",
        "140101001",
        3,
    )
    assert view.deadline_at == deadline
    assert view.overdue
    assert view.missed
    with tree.connect() as conn:
        regions = conn.execute(
            select(command_task_changes.c.from_region, command_task_changes.c.to_region)
            .where(command_task_changes.c.to_region.is_not(None)).order_by(command_task_changes.c.id)
        ).all()  # fmt: skip
    assert [tuple(r) for r in regions] == [
        ("140101001", "140101"),
        ("140101", "1401"),
        ("1401", "14"),
    ]


def test_escalation_max_level_and_closed(tree: Engine, rules: CommandRules) -> None:
    low = CommandRules(**{**rules.__dict__, "escalation": type(rules.escalation)(2, 1)})
    task = _raise(tree, low, region="140101001")
    closed = _raise(tree, low, source_id="140201/2026-12-01", region="140201")
    tasks.change_status(tree, closed.id, "done", by="u", at=T0 + H, evidence="ok")
    far = T0 + 100 * H
    assert [m.task_id for m in tasks.escalate_overdue(tree, low, at=far)] == [task.id]
    assert tasks.escalate_overdue(tree, low, at=far + 100 * H) == []  # max_level 1
    in_progress = _raise(tree, low, source_id="1402/2026-12-01", region="1402")
    tasks.change_status(tree, in_progress.id, "in_progress", by="u", at=T0)
    assert [m.to_region for m in tasks.escalate_overdue(tree, low, at=far)] == ["14"]


def test_assign_and_list(tree: Engine, rules: CommandRules) -> None:
    manual = tasks.assign_task(tree, rules, region_code="140101", role=None, title=" 核查 ",
                               detail="", deadline_at=None, by="cmdr", at=T0)  # fmt: skip
    assert manual.kind == "manual"
    assert manual.title("en") == "核查"
    assert manual.deadline_at == T0 + 24 * H
    assert manual.source_id is None
    with pytest.raises(TaskInvalid):
        tasks.assign_task(tree, rules, region_code="140101", role=None, title=" ", detail="",
                          deadline_at=None, by="cmdr", at=T0)  # fmt: skip
    with pytest.raises(TaskInvalid):
        tasks.assign_task(tree, rules, region_code="140101", role=None, title="x", detail="",
                          deadline_at=T0 - H, by="cmdr", at=T0)  # fmt: skip
    other = _raise(tree, rules, source_id="140201/2026-12-01", region="140201")
    first = _raise(tree, rules)
    rows, total = tasks.list_tasks(tree, at=T0, bounded=Bounded(limit=2))
    assert total == 3
    assert [r.id for r in rows] == [other.id, first.id]
    rows, total = tasks.list_tasks(tree, at=T0, region_codes=["140101"])
    assert total == 1
    assert rows[0].id == manual.id
    rows, total = tasks.list_tasks(tree, at=T0, overdue_at=T0 + 7 * H)
    assert {r.id for r in rows} == {other.id, first.id}
    rows, total = tasks.list_tasks(tree, at=T0, kind="manual", status="open")
    assert [r.id for r in rows] == [manual.id]
    assert tasks.get_task(tree, 999, at=T0) is None
