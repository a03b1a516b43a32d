"""Tasks as staff reach them (pages, API, CLI): rights, jurisdiction, audit.

- ``task.read`` — the tasks whose first unit (``origin_region_code``) or current unit
  (``region_code``) lies in the caller's jurisdiction: the unit and every level above it
  see the task, also after it escalated past the unit. A task outside answers as one
  that does not exist (audited ``out_of_jurisdiction``).
- ``task.change`` — acknowledge, work on, close with evidence a task the caller sees;
  cancelling is the commander's (``task.assign``). A change resent (same ``ref``, or the
  status the task has) writes nothing and is audited as a repeat.
- A unit's duty terminal (a device token of scope ``tasks``, bound to a region) sees and
  works like a person of the unit; one bound to a role too sees only the tasks of that
  role and those of the unit as a whole (no role).
- ``task.assign`` — a task by hand for a unit strictly below the caller's region.

Every call writes one audit row, refused ones too (ids and statuses only; tasks hold no
personal data).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Select, and_, or_, select, true

from fangkong.auth.guard import Call, hidden, inside
from fangkong.auth.model import Actor
from fangkong.auth.rights import TASK_ASSIGN, TASK_CHANGE, TASK_READ
from fangkong.command import tasks
from fangkong.command.errors import TaskInvalid, TaskUnknown, problem
from fangkong.command.model import KIND, STATUS, Term
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_tasks
from fangkong.store.listing import Bounded
from fangkong.store.schema import regions

TARGET = "task"


@dataclass(frozen=True)
class TaskDetail:
    """One task with its history, oldest change first."""

    task: tasks.TaskView
    history: list[tasks.Change]


def _subtree(region_code: str, name: str) -> Select[tuple[str]]:
    """``region_code`` and the regions below it, as a CTE named ``name`` (two subtrees in
    one query need two names)."""
    tree = select(regions.c.code).where(regions.c.code == region_code).cte(name, recursive=True)
    tree = tree.union_all(select(regions.c.code).where(regions.c.parent_code == tree.c.code))
    return select(tree.c.code)


def _owed_in(codes: Select[tuple[str]]) -> ColumnElement[bool]:
    t = command_tasks.c
    return or_(t.origin_region_code.in_(codes), t.region_code.in_(codes))


def _terminal_role(actor: Actor) -> str | None:
    """The role a unit's terminal stands for (a person's role narrows nothing)."""
    return actor.role if actor.kind == "device" else None


def visible(actor: Actor) -> ColumnElement[bool]:
    """Tasks the actor sees: first or current unit inside the jurisdiction; for a
    terminal bound to a role, of that role or of the unit as a whole."""
    where = true() if actor.region_code is None else (
        _owed_in(_subtree(actor.region_code, "jurisdiction")))  # fmt: skip
    if (role := _terminal_role(actor)) is not None:
        t = command_tasks.c
        where = and_(where, or_(t.role.is_(None), t.role == role))
    return where


def _unknown(task_id: int) -> TaskUnknown:
    return TaskUnknown(problem("task_unknown", f"无此任务（{task_id}）", f"no task {task_id}"))


def _seen(conn: Connection, call: Call, task_id: int) -> tasks.TaskView:
    """The task if the caller sees it; absent and hidden answer alike."""
    task = tasks.get_task(conn, task_id, at=call.now())
    if task is None:
        raise _unknown(task_id)
    role = _terminal_role(call.actor)
    if not (inside(conn, call.actor, task.origin_region_code)
            or inside(conn, call.actor, task.region_code)) or (
            role is not None and task.role not in (None, role)):  # fmt: skip
        raise hidden(_unknown(task_id))
    return task


def _known(value: str | None, vocabulary: Mapping[str, Term], field: str, zh: str) -> None:
    if value is not None and value not in vocabulary:
        raise TaskInvalid(problem(
            f"{field}_unknown", f"无此任务{zh} {value!r}（可选：{'、'.join(vocabulary)}）",
            f"no task {field} {value!r} (one of: {', '.join(vocabulary)})",
        ))  # fmt: skip


def list_tasks(
    call: Call, *, region: str | None = None, status: str | None = None,
    open_only: bool = False, kind: str | None = None, overdue: bool = False,
    owing: bool = False, limit: int = 50, offset: int = 0, bounded: Bounded | None = None,
) -> tuple[list[tasks.TaskView], int]:  # fmt: skip
    """The caller's tasks by deadline and the total; ``region`` keeps the tasks a region
    (and the units below it) owes now or first owed — with ``owing`` only those it owes
    now, as the board's task figures count them; ``overdue`` the open tasks past their
    deadline at the call's time."""
    where = visible(call.actor)
    if region is not None:
        codes = _subtree(region, "region_filter")
        owed = command_tasks.c.region_code.in_(codes) if owing else _owed_in(codes)
        where = and_(where, owed)
    now = call.now()

    def body(conn: Connection) -> tuple[tuple[list[tasks.TaskView], int], str]:
        call.require(TASK_READ)
        _known(status, STATUS, "status", "状态")
        _known(kind, KIND, "kind", "类型")
        found = tasks.list_tasks(
            conn, at=now, visible=where, status=status, open_only=open_only, kind=kind,
            overdue_at=now if overdue else None,
            bounded=bounded or Bounded(limit=limit, offset=offset),
        )  # fmt: skip
        return found, f"{found[1]} tasks"

    return call.audited("task.list", TARGET, region, body)


def read_task(call: Call, task_id: int) -> TaskDetail:
    """One task with its history, if the caller sees it."""

    def body(conn: Connection) -> tuple[TaskDetail, str]:
        call.require(TASK_READ)
        task = _seen(conn, call, task_id)
        return TaskDetail(task, tasks.task_history(conn, task_id)), task.status

    return call.audited("task.view", TARGET, str(task_id), body)


def task_history(call: Call, task_id: int) -> list[tasks.Change]:
    return read_task(call, task_id).history


def change_status(
    call: Call, task_id: int, to_status: str, *, note: str | None = None,
    evidence: str | None = None, ref: str | None = None,
) -> tasks.TaskView:  # fmt: skip
    """Move a task the caller sees on; cancelling needs ``task.assign``. ``ref``: the
    sender's change id — resent, the change is not made twice (``tasks.change_status``)."""

    def body(conn: Connection) -> tuple[tasks.TaskView, str]:
        call.require(TASK_READ, TASK_ASSIGN if to_status == "cancelled" else TASK_CHANGE)
        before = _seen(conn, call, task_id)
        after = tasks.change_status(
            conn, task_id, to_status, by=call.actor.name, at=call.now(), note=note,
            evidence=evidence, ref=ref,
        )  # fmt: skip
        same = (before.status, before.evidence) == (after.status, after.evidence)
        return after, (f"{before.status}->{after.status}" + (" repeat" if same else "")
                       + (f" ref={ref}" if ref else ""))  # fmt: skip

    return call.audited("task.change", TARGET, str(task_id), body)


def _below(conn: Connection, actor: Actor, region_code: str) -> None:
    """Refuse a unit not strictly below the actor's region (outside: as absent)."""
    exists = conn.execute(select(regions.c.code).where(regions.c.code == region_code)).first()
    if exists is None or not inside(conn, actor, region_code):
        error = TaskInvalid(problem("region_unknown", f"无此行政区划（{region_code}）",
                                    f"no region {region_code}"))  # fmt: skip
        raise error if exists is None else hidden(error)
    if region_code == actor.region_code:
        raise TaskInvalid(problem(
            "region_not_below", "只能向下级单位交办任务", "tasks are set for units below yours",
        ))  # fmt: skip


def assign_task(
    call: Call, rules: CommandRules, *, region_code: str, role: str | None, title: str,
    detail: str, deadline_at: datetime | None = None,
) -> tasks.TaskView:  # fmt: skip
    """A commander's task (交办) for a unit strictly below the caller's region."""

    def body(conn: Connection) -> tuple[tasks.TaskView, str | None, str]:
        call.require(TASK_READ, TASK_ASSIGN)
        _below(conn, call.actor, region_code)
        task = tasks.assign_task(
            conn, rules, region_code=region_code, role=role, title=title, detail=detail,
            deadline_at=deadline_at, by=call.actor.name, at=call.now(),
        )  # fmt: skip
        return task, str(task.id), f"region={region_code}"

    return call.audited("task.assign", TARGET, None, body)


def escalate(call: Call, rules: CommandRules) -> list[tasks.Escalated]:
    """Run the escalation at the call's time (the CLI, the daily job), audited."""

    def body(conn: Connection) -> tuple[list[tasks.Escalated], str]:
        call.require(TASK_ASSIGN)
        moved = tasks.escalate_overdue(conn, rules, at=call.now())
        return moved, f"{len(moved)} escalated"

    return call.audited("task.escalate", TARGET, None, body)


def region_names(call: Call, codes: Iterable[str]) -> dict[str, str]:
    """Names of regions (not personal data: any caller with ``task.read``)."""
    call.require(TASK_READ)
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    with call.engine.connect() as conn:
        rows = conn.execute(
            select(regions.c.code, regions.c.name).where(regions.c.code.in_(wanted))
        ).all()
    return {r.code: r.name for r in rows}


def units_below(call: Call) -> list[tuple[str, str]]:
    """(code, name) of the units directly below the caller's region (the province's
    cities for an actor without a region): what an assign form offers first."""
    call.require(TASK_ASSIGN)
    r = regions.c
    parent = r.parent_code.is_(None) if call.actor.region_code is None else (
        r.parent_code == call.actor.region_code)  # fmt: skip
    with call.engine.connect() as conn:
        if call.actor.region_code is None:
            roots = [row.code for row in conn.execute(select(r.code).where(parent))]
            parent = r.parent_code.in_(roots)
        rows = conn.execute(select(r.code, r.name).where(parent).order_by(r.code)).all()
    return [(row.code, row.name) for row in rows]
