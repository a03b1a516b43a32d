"""Tasks down the hierarchy (一级抓一级): raise, move on, close, escalate, list.

One service function per use case, on a ``Bind`` (an Engine opens its own write
transaction, a Connection runs inside the caller's) with ``at`` the business time (the
one clock's instant, never the machine's). Every change is a ``command_task_changes``
row; the audit row is written by the guarded caller (``command.access_tasks``, a job).

Stable API: the names and keyword parameters below are what the raising job
(``command.raising``) and the capabilities that resolve a source call — ``raise_task``,
``close_for_source``, ``refresh_params``, ``change_status``, ``assign_task``,
``escalate_overdue``, ``follow_deadline``, ``get_task``, ``list_tasks``,
``tasks_for_sources``, ``escalated_sources``, ``task_history``, ``TaskView``, ``Escalated``,
``Change``. Add parameters with defaults; do not rename.

- ``raise_task`` — idempotent on ``(kind, source_type, source_id)``: a second call for
  the same source returns the stored task and ``created=False``;
- ``change_status`` — the moves of ``model.TRANSITIONS``; ``done`` by hand needs
  evidence (what the unit did), ``cancelled`` a note; closing stamps ``closed_at/_by``;
- ``close_for_source`` — the source was resolved in its own capability: close its task
  in the same transaction (nothing when there is none or it is already closed);
- ``follow_deadline`` — the source's own next step moved its deadline (an alert
  verified: the investigation's deadline now); the task takes it in the same transaction;
- ``tasks_for_sources`` / ``escalated_sources`` — how the capabilities whose rows raise
  tasks show the task's owner, level and deadline next to the row (escalation is the
  task's, never the source's own: docs/command.md);
- ``escalate_overdue`` — the one escalation (逐级上报) of the platform: an open task
  more than ``escalate_after_hours`` past its deadline (then past its last escalation)
  moves one level up the region tree, at most ``max_level`` levels above its first
  unit; the province never moves further;
- ``assign_task`` — a commander's task (交办) for a unit; that the unit lies strictly
  below the commander's region is checked by the guarded caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Row,
    Select,
    and_,
    cast,
    or_,
    select,
    update,
)

from fangkong.command.errors import TaskConflict, TaskInvalid, TaskUnknown, problem
from fangkong.command.model import (
    CLOSED_STATUSES,
    KIND,
    OPEN_STATUSES,
    STATUS,
    TRANSITIONS,
    is_missed,
)
from fangkong.command.rules import CommandRules
from fangkong.command.tables import EVIDENCE_MAX, REF_MAX, command_task_changes, command_tasks
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.schema import regions
from fangkong.store.tx import Bind, write_transaction

TITLE_MAX = 200  # a manual task's title: one line
DETAIL_MAX = 2000  # its detail: a paragraph
NOTE_MAX = 500  # a change's note
BY_MAX = 80  # the stored width of raised_by / changed_by / closed_by
ESCALATE_BY = "job:escalate"


@dataclass(frozen=True)
class TaskView:
    """A task as stored, with what is derived at ``at`` (never stored):

    ``missed`` (逾期) — ``model.is_missed``: done after the deadline, or still open past
    it; ``late`` (超时完成) — done after the deadline; ``overdue`` — still open past it.
    """

    id: int
    kind: str
    source_type: str | None
    source_id: str | None
    region_code: str  # owes it now
    origin_region_code: str  # first unit; accountability counts against it
    role: str | None
    params: Mapping[str, Any]
    status: str
    raised_at: datetime
    raised_by: str
    deadline_at: datetime
    escalation_level: int
    escalated_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    evidence: str | None
    missed: bool
    late: bool
    overdue: bool

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def title(self, lang: str) -> str:
        """What the task is, in ``lang``: a manual task's own title, else its kind."""
        if self.kind == "manual" and self.params.get("title"):
            return str(self.params["title"])
        kind = KIND.get(self.kind)
        return kind.label(lang) if kind else self.kind


@dataclass(frozen=True)
class Change:
    """One history row of a task (kept, never edited)."""

    id: int
    task_id: int
    at: datetime
    changed_by: str
    from_status: str | None  # None: raised
    to_status: str
    from_region: str | None  # set when it escalated
    to_region: str | None
    note: str
    ref: str | None = None  # the sender's change id (a device's), when it gave one


@dataclass(frozen=True)
class Escalated:
    """A task the escalation moved: from which unit to which, at which level now."""

    task_id: int
    from_region: str
    to_region: str
    level: int


def _view(row: Row[Any], at: datetime) -> TaskView:
    done_late = (
        row.status == "done" and row.closed_at is not None and row.closed_at > row.deadline_at
    )
    return TaskView(
        id=row.id, kind=row.kind, source_type=row.source_type, source_id=row.source_id,
        region_code=row.region_code, origin_region_code=row.origin_region_code, role=row.role,
        params=dict(row.params or {}), status=row.status, raised_at=row.raised_at,
        raised_by=row.raised_by, deadline_at=row.deadline_at,
        escalation_level=row.escalation_level, escalated_at=row.escalated_at,
        closed_at=row.closed_at, closed_by=row.closed_by, evidence=row.evidence,
        missed=is_missed(row.status, row.deadline_at, row.closed_at, at),
        late=done_late,
        overdue=row.status in OPEN_STATUSES and at > row.deadline_at,
    )  # fmt: skip


def _bad(code: str, zh: str, en: str) -> TaskInvalid:
    return TaskInvalid(problem(code, zh, en))


def _unknown(task_id: int) -> TaskUnknown:
    return TaskUnknown(problem("task_unknown", f"无此任务（{task_id}）", f"no task {task_id}"))


def _text(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise _bad(
            "text_too_long", f"{field} 最多 {limit} 个字符", f"{field}: at most {limit} characters"
        )
    return value or None


def _history(
    conn: Connection, task_id: int, at: datetime, by: str, before: str | None, after: str,
    note: str, from_region: str | None = None, to_region: str | None = None,
    ref: str | None = None,
) -> None:  # fmt: skip
    conn.execute(command_task_changes.insert().values(
        task_id=task_id, at=at, changed_by=by[:BY_MAX], from_status=before, to_status=after,
        from_region=from_region, to_region=to_region, note=note, ref=ref))  # fmt: skip


def _check_region(conn: Connection, code: str) -> None:
    if conn.execute(select(regions.c.code).where(regions.c.code == code)).first() is None:
        raise _bad("region_unknown", f"无此行政区划（{code}）", f"no region {code}")


def _by_source(conn: Connection, kind: str, source_type: str, source_id: str) -> Row[Any] | None:
    t = command_tasks.c
    return conn.execute(
        select(command_tasks).where(
            t.kind == kind, t.source_type == source_type, t.source_id == source_id
        )
    ).first()


def _row(conn: Connection, task_id: int) -> Row[Any] | None:
    return conn.execute(select(command_tasks).where(command_tasks.c.id == task_id)).first()


def _stored(conn: Connection, task_id: int) -> Row[Any]:
    row = _row(conn, task_id)
    if row is None:
        raise _unknown(task_id)
    return row


def _deadline(
    rules: CommandRules, kind: str, deadline_at: datetime | None, at: datetime
) -> datetime:
    if deadline_at is not None:
        return deadline_at
    hours = rules.tasks[kind].deadline_hours
    if hours is None:
        raise _bad("deadline_missing", f"{KIND[kind].zh}任务的期限取自来源，须给出",
                   f"a {kind} task takes its source's deadline: give deadline_at")  # fmt: skip
    return at + timedelta(hours=hours)


def _insert(
    conn: Connection, *, kind: str, source_type: str | None, source_id: str | None,
    region_code: str, role: str | None, params: Mapping[str, Any], deadline_at: datetime,
    by: str, at: datetime, note: str,
) -> int:  # fmt: skip
    inserted = conn.execute(command_tasks.insert().values(
        kind=kind, source_type=source_type, source_id=source_id, region_code=region_code,
        origin_region_code=region_code, role=role, params=dict(params), status="open",
        raised_at=at, raised_by=by[:BY_MAX], deadline_at=deadline_at, escalation_level=0,
    )).inserted_primary_key  # fmt: skip
    task_id = int(inserted[0]) if inserted is not None else 0
    _history(conn, task_id, at, by, None, "open", note)
    return task_id


def raise_task(
    bind: Bind, rules: CommandRules, *, kind: str, source_type: str, source_id: str,
    region_code: str, role: str | None, params: Mapping[str, Any],
    deadline_at: datetime | None = None, by: str, at: datetime,
) -> tuple[TaskView, bool]:  # fmt: skip
    """Raise the task of a source, once: ``(task, created)``; a second call for the same
    ``(kind, source_type, source_id)`` returns the stored task (whatever its status) and
    ``False``. ``deadline_at`` defaults to ``at`` + the pack's ``deadline_hours`` of the
    kind; kinds whose deadline comes from the source (alert, area_need) must give it."""
    if kind not in KIND or kind == "manual":
        raise _bad("kind_unknown", f"无此自动任务类型 {kind!r}", f"no raised task kind {kind!r}")
    if KIND[kind].source_type != source_type:
        raise _bad("source_type", f"{kind} 任务的来源应为 {KIND[kind].source_type}",
                   f"a {kind} task's source is {KIND[kind].source_type}")  # fmt: skip
    if not source_id or len(source_id) > 80:
        raise _bad("source_id", "来源编号应为 1–80 个字符", "source_id: 1 to 80 characters")
    role = _text(role, "role", 40)
    with write_transaction(bind) as conn:
        found = _by_source(conn, kind, source_type, source_id)
        if found is not None:
            return _view(found, at), False
        _check_region(conn, region_code)
        task_id = _insert(
            conn, kind=kind, source_type=source_type, source_id=source_id,
            region_code=region_code, role=role, params=params,
            deadline_at=_deadline(rules, kind, deadline_at, at), by=by, at=at, note="raised",
        )  # fmt: skip
        return _view(_stored(conn, task_id), at), True


def refresh_params(bind: Bind, task_id: int, params: Mapping[str, Any]) -> bool:
    """Replace an open task's ``params`` (a condition's current count); no history row —
    the params explain the task, they are not a change of who owes what. False when the
    task is closed or absent."""
    t = command_tasks.c
    with write_transaction(bind) as conn:
        done = conn.execute(
            update(command_tasks)
            .where(t.id == task_id, t.status.in_(OPEN_STATUSES))
            .values(params=dict(params))
        )
        return bool(done.rowcount)


def _move(
    conn: Connection, row: Row[Any], to_status: str, *, by: str, at: datetime, note: str,
    evidence: str | None, ref: str | None = None,
) -> None:  # fmt: skip
    values: dict[str, object] = {"status": to_status}
    if to_status in CLOSED_STATUSES:
        values |= {"closed_at": at, "closed_by": by[:BY_MAX]}
    if evidence is not None:
        values["evidence"] = evidence
    conn.execute(update(command_tasks).where(command_tasks.c.id == row.id).values(**values))
    _history(conn, row.id, at, by, row.status, to_status, note, ref=ref)


def _made_before(
    conn: Connection, row: Row[Any], to_status: str, evidence: str | None, ref: str | None
) -> bool:
    """Whether the change asked for is there already, so a resent request writes nothing:
    a change of this task under the same ``ref`` (the same move; another move under a
    used ref is refused), or the task at that status already, with that evidence (or
    none given). A step the task has passed stays a conflict: the sender learns where
    the task stands."""
    if ref is not None:
        c = command_task_changes.c
        made = conn.execute(
            select(c.to_status).where(c.task_id == row.id, c.ref == ref)
        ).scalar_one_or_none()
        if made is not None:
            if made != to_status:
                raise TaskConflict(problem(
                    "ref_reused", f"变更编号 {ref} 已用于将任务 {row.id} 改为“{STATUS[made].zh}”",
                    f"the change id {ref} was used to make task {row.id} {STATUS[made].en}",
                ))  # fmt: skip
            return True
    return row.status == to_status and (evidence is None or evidence == row.evidence)


def change_status(
    bind: Bind, task_id: int, to_status: str, *, by: str, at: datetime,
    note: str | None = None, evidence: str | None = None, ref: str | None = None,
) -> TaskView:  # fmt: skip
    """Move a task on (``model.TRANSITIONS``): a finished task never changes; ``done``
    needs ``evidence`` (what the unit did), ``cancelled`` a ``note`` (why). An open task
    asked for its own status with new ``evidence`` keeps the evidence (a history row).

    Idempotent (a device resends after a lost answer, or works offline): a change made
    before — the same ``ref`` (the sender's change id, ≤ 64 characters) on this task, or
    the status the task has already — returns the task as it stands and writes nothing
    (``_made_before``). The task's row is locked first, so two copies of one
    request sent at once are one change on PostgreSQL too."""
    if to_status not in STATUS:
        raise _bad("status_unknown", f"无此任务状态 {to_status!r}", f"no task status {to_status!r}")
    note = _text(note, "note", NOTE_MAX)
    evidence = _text(evidence, "evidence", EVIDENCE_MAX)
    ref = _text(ref, "ref", REF_MAX)
    if to_status == "done" and not evidence:
        raise _bad(
            "evidence_missing", "办结任务须写明处置情况", "closing a task as done needs evidence"
        )
    if to_status == "cancelled" and not note:
        raise _bad("note_missing", "取消任务须写明原因", "a cancellation needs a note")
    with write_transaction(bind) as conn:
        row = conn.execute(
            select(command_tasks).where(command_tasks.c.id == task_id).with_for_update()
        ).first()
        if row is None:
            raise _unknown(task_id)
        if _made_before(conn, row, to_status, evidence, ref):
            return _view(row, at)
        evidence_only = to_status == row.status and to_status in OPEN_STATUSES
        if not evidence_only and to_status not in TRANSITIONS.get(row.status, ()):
            raise TaskConflict(problem(
                "status_move",
                f"任务 {task_id} 当前为“{STATUS[row.status].zh}”，不能改为“{STATUS[to_status].zh}”",
                f"task {task_id} is {STATUS[row.status].en}; "
                f"it cannot become {STATUS[to_status].en}",
            ))  # fmt: skip
        _move(conn, row, to_status, by=by, at=at, note=note or ("evidence" if evidence_only
              else ""), evidence=evidence, ref=ref)  # fmt: skip
        return _view(_stored(conn, task_id), at)


def close_for_source(
    bind: Bind, kind: str, source_type: str, source_id: str, *, status: str = "done",
    by: str, at: datetime, note: str,
) -> int | None:  # fmt: skip
    """Close the task of a source resolved in its own capability (same transaction when
    given its Connection); the id of the task closed, None when there is none or it is
    already closed. ``note`` is kept as the evidence when closing as done."""
    if status not in CLOSED_STATUSES:
        raise _bad("status_unknown", f"关闭状态应为 done 或 cancelled，实为 {status!r}",
                   f"close as done or cancelled, not {status!r}")  # fmt: skip
    with write_transaction(bind) as conn:
        row = _by_source(conn, kind, source_type, source_id)
        if row is None or row.status in CLOSED_STATUSES:
            return None
        evidence = (note[:EVIDENCE_MAX] or None) if status == "done" else None
        _move(conn, row, status, by=by, at=at, note=note[:NOTE_MAX], evidence=evidence)
        return int(row.id)


def assign_task(
    bind: Bind, rules: CommandRules, *, region_code: str, role: str | None, title: str,
    detail: str, deadline_at: datetime | None, by: str, at: datetime,
) -> TaskView:  # fmt: skip
    """A commander's task (交办) for a unit: ``title`` and ``detail`` kept in ``params``;
    the deadline given, else the pack's ``manual.deadline_hours`` from ``at``. That the
    unit lies strictly below the commander's region is the guarded caller's check."""
    clean_title = _text(title, "title", TITLE_MAX)
    if not clean_title:
        raise _bad("title_missing", "交办任务须有标题", "a task needs a title")
    clean_detail = _text(detail, "detail", DETAIL_MAX) or ""
    role = _text(role, "role", 40)
    deadline = _deadline(rules, "manual", deadline_at, at)
    if deadline <= at:
        raise _bad("deadline_past", "期限应晚于交办时间", "the deadline must be after now")
    with write_transaction(bind) as conn:
        _check_region(conn, region_code)
        task_id = _insert(
            conn, kind="manual", source_type=None, source_id=None, region_code=region_code,
            role=role, params={"title": clean_title, "detail": clean_detail},
            deadline_at=deadline, by=by, at=at, note="assigned",
        )  # fmt: skip
        return _view(_stored(conn, task_id), at)


def escalate_overdue(bind: Bind, rules: CommandRules, *, at: datetime) -> list[Escalated]:
    """Move every open task more than ``escalate_after_hours`` past its deadline — or
    past its last escalation — one level up (逐级上报), at most ``max_level`` levels above
    its first unit; a task at the province stays. The deadline does not move. Running
    it twice at the same ``at`` moves nothing the second time."""
    esc = rules.escalation
    return escalate_kind(bind, None, after_hours=esc.after_hours, max_level=esc.max_level, at=at)


def escalate_kind(
    bind: Bind, kind: str | None, *, after_hours: float, max_level: int, at: datetime
) -> list[Escalated]:
    """:func:`escalate_overdue` for the tasks of one ``kind`` (None: every kind) at a
    capability's own pace (the care register escalates a patient's need faster)."""
    after = timedelta(hours=after_hours)
    t = command_tasks.c
    with write_transaction(bind) as conn:
        query = (
            select(command_tasks, regions.c.parent_code)
            .join(regions, regions.c.code == t.region_code)
            .where(
                t.status.in_(OPEN_STATUSES),
                t.deadline_at < at - after,
                t.escalation_level < max_level,
                regions.c.parent_code.is_not(None),
                or_(t.escalated_at.is_(None), t.escalated_at < at - after),
            )
            .order_by(t.deadline_at, t.id)
        )
        if kind is not None:
            query = query.where(t.kind == kind)
        rows = conn.execute(query).all()
        moved: list[Escalated] = []
        for row in rows:
            level = row.escalation_level + 1
            conn.execute(
                update(command_tasks)
                .where(t.id == row.id)
                .values(region_code=row.parent_code, escalation_level=level, escalated_at=at)
            )
            _history(conn, row.id, at, ESCALATE_BY, row.status, row.status,
                     f"escalated to level {level}", row.region_code, row.parent_code)  # fmt: skip
            moved.append(Escalated(row.id, row.region_code, row.parent_code, level))
        return moved


def follow_deadline(
    bind: Bind, kind: str, source_type: str, source_id: str, deadline_at: datetime
) -> bool:
    """The source's next step set a new deadline: its open task takes it (no history row,
    as the raising job's sweep does); False when there is no open task."""
    t = command_tasks.c
    with write_transaction(bind) as conn:
        done = conn.execute(
            update(command_tasks)
            .where(t.kind == kind, t.source_type == source_type, t.source_id == source_id,
                   t.status.in_(OPEN_STATUSES), t.deadline_at != deadline_at)
            .values(deadline_at=deadline_at)
        )  # fmt: skip
        return bool(done.rowcount)


def tasks_for_sources(
    bind: Bind, kind: str, source_type: str, source_ids: Sequence[str], *, at: datetime
) -> dict[str, TaskView]:
    """The tasks of these sources, by source id (a source without a task is absent)."""
    t = command_tasks.c
    wanted = sorted(set(source_ids))
    found: dict[str, TaskView] = {}
    with write_transaction(bind) as conn:
        for i in range(0, len(wanted), 500):
            rows = conn.execute(select(command_tasks).where(
                t.kind == kind, t.source_type == source_type,
                t.source_id.in_(wanted[i : i + 500]))).all()  # fmt: skip
            found.update({str(r.source_id): _view(r, at) for r in rows})
    return found


def escalated_sources(kind: str, source_type: str) -> Select[Any]:
    """The ids (as integers) of the sources whose task the escalation moved above its
    first unit: a subquery for a capability's "escalated" filter and count."""
    t = command_tasks.c
    return select(cast(t.source_id, Integer)).where(
        t.kind == kind, t.source_type == source_type, t.escalation_level > 0
    )


def get_task(bind: Bind, task_id: int, *, at: datetime) -> TaskView | None:
    with write_transaction(bind) as conn:
        row = _row(conn, task_id)
        return None if row is None else _view(row, at)


def list_tasks(
    bind: Bind, *, at: datetime, visible: ColumnElement[bool] | None = None,
    region_codes: Sequence[str] | None = None, status: str | None = None,
    open_only: bool = False, kind: str | None = None, overdue_at: datetime | None = None,
    bounded: Bounded = listing.FIRST_PAGE,
) -> tuple[list[TaskView], int]:  # fmt: skip
    """One page of tasks (by deadline then id, or by a key of :data:`TASK_SORTS`) and the
    total matching; ``visible`` a WHERE clause on
    ``command_tasks`` (the caller's jurisdiction), ``region_codes`` keeps tasks a unit
    owes now or first owed, ``overdue_at`` keeps open tasks past their deadline then."""
    t = command_tasks.c
    conds: list[ColumnElement[bool]] = []
    if visible is not None:
        conds.append(visible)
    if region_codes is not None:
        codes = list(region_codes)
        conds.append(or_(t.region_code.in_(codes), t.origin_region_code.in_(codes)))
    if status is not None:
        conds.append(t.status == status)
    if open_only:
        conds.append(t.status.in_(OPEN_STATUSES))
    if kind is not None:
        conds.append(t.kind == kind)
    if overdue_at is not None:
        conds.append(and_(t.status.in_(OPEN_STATUSES), t.deadline_at < overdue_at))
    where = and_(True, *conds)
    with write_transaction(bind) as conn:
        rows, total = listing.fetch(conn, select(command_tasks).where(where), bounded,
                                    TASK_SORTS, (t.deadline_at, t.id))  # fmt: skip
        return [_view(r, at) for r in rows], total


# what the task list may be sorted by (its whitelist)
TASK_SORTS: listing.Columns = {
    "id": command_tasks.c.id, "deadline": command_tasks.c.deadline_at,
    "status": command_tasks.c.status, "region": command_tasks.c.region_code,
    "role": command_tasks.c.role, "kind": command_tasks.c.kind,
}  # fmt: skip


def task_history(bind: Bind, task_id: int) -> list[Change]:
    """The task's changes, oldest first."""
    c = command_task_changes.c
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(command_task_changes).where(c.task_id == task_id).order_by(c.at, c.id)
        ).all()
    return [
        Change(r.id, r.task_id, r.at, r.changed_by, r.from_status, r.to_status,
               r.from_region, r.to_region, r.note, r.ref)
        for r in rows
    ]  # fmt: skip
