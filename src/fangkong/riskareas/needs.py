"""Needs of residents of sealed areas (封控区居民需求): supplies and medicines as tasks.

A resident of an area whose level is one of the pack's ``[risk_areas.needs] levels`` may
raise a need of a kind the pack lists (生活必需品, 药品 …); the task is due within
the kind's ``deadline_hours``. Staff move it ``open → in_progress → done`` (or cancel it,
with a note); every change is a history row. A task past its deadline and not finished
is overdue — listed first, so nobody in a sealed compound is left without food or care.

Medical and emergency needs (就医, 急危重症) are the care register's since migration 0028
(``fangkong.care``: a deadline per kind, a green-channel transfer to a designated ward):
asked for here, they are refused with a pointer to it (``need_moved``). The register is a
capability of its own rather than a kind here because it plans a vehicle and a ward; the
pack's ``[risk_areas.needs.kinds]`` may not list those kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, select, update

from fangkong import clock
from fangkong.command.tasks import close_for_source
from fangkong.riskareas.errors import NeedInvalid, NeedUnknown, StatusConflict, problem
from fangkong.riskareas.rules import MOVED_TO_CARE, RiskAreaRules
from fangkong.riskareas.service import residents
from fangkong.riskareas.tables import risk_area_need_changes, risk_area_needs, risk_areas
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.schema import persons
from fangkong.store.tx import Bind, write_transaction

NEXT = {"open": ("in_progress", "done", "cancelled"), "in_progress": ("open", "done", "cancelled")}
FINISHED = ("done", "cancelled")


@dataclass(frozen=True)
class NeedView:
    id: int
    area_id: int
    area_name: str
    person_id: int
    person_name: str  # as stored: callers mask it by rights
    kind: str
    note: str
    status: str
    raised_at: datetime
    due_at: datetime
    assigned_to: str | None
    status_at: datetime
    status_by: str
    overdue: bool


def _bad(code: str, zh: str, en: str) -> NeedInvalid:
    return NeedInvalid(problem(code, zh, en))


def raise_need(
    bind: Bind, rules: RiskAreaRules, *, area_id: int, person_id: int, kind: str, note: str,
    by: str, now: datetime | None = None,
) -> int:  # fmt: skip
    """Record a resident's need; returns the task id."""
    now = now or clock.now()
    if kind in MOVED_TO_CARE:
        raise _bad("need_moved",
                   "就医与急危重症需求请登记到急需就医台账（fangkong care need add，网页 /care）",
                   "medical and emergency needs are registered in the care register "
                   "(fangkong care need add, page /care)")  # fmt: skip
    if kind not in rules.need_kinds:
        raise _bad("need_kind", f"无此需求类型 {kind!r}（可选：{'、'.join(rules.need_kinds)}）",
                   f"no need kind {kind!r} (one of: {', '.join(rules.need_kinds)})")  # fmt: skip
    with write_transaction(bind) as conn:
        area = conn.execute(select(risk_areas).where(risk_areas.c.id == area_id)).first()
        if area is None:
            raise NeedUnknown(problem("area_unknown", f"无此风险区（{area_id}）",
                                      f"no risk area {area_id}"))  # fmt: skip
        if area.level not in rules.need_levels:
            raise _bad("not_sealed", f"{area.name} 不是封控管理区域（当前为 {area.level}）",
                       f"{area.name} is not under control (its level is {area.level})")  # fmt: skip
        if person_id not in residents(conn, area.id, area.region_code, area.building):
            raise _bad("not_resident", f"人员 {person_id} 不住在 {area.name}",
                       f"person {person_id} does not live in {area.name}")  # fmt: skip
        due = now + timedelta(hours=rules.need_kinds[kind].deadline_hours)
        inserted = conn.execute(
            risk_area_needs.insert().values(
                area_id=area_id, person_id=person_id, kind=kind, note=note.strip(),
                status="open", raised_at=now, raised_by=by[:80], due_at=due, status_at=now,
                status_by=by[:80])
        ).inserted_primary_key  # fmt: skip
        need_id = int(inserted[0]) if inserted is not None else 0
        _history(conn, need_id, now, None, "open", by, note.strip())
    return need_id


def _history(conn: Connection, need_id: int, at: datetime, before: str | None, after: str,
             by: str, note: str) -> None:  # fmt: skip
    conn.execute(risk_area_need_changes.insert().values(
        need_id=need_id, at=at, from_status=before, to_status=after, changed_by=by[:80],
        note=note))  # fmt: skip


def set_need_status(
    bind: Bind, need_id: int, status: str, *, by: str, note: str = "",
    assigned_to: str | None = None, now: datetime | None = None,
) -> None:  # fmt: skip
    """Move a task on; a finished task cannot change, a cancellation needs a note."""
    now = now or clock.now()
    with write_transaction(bind) as conn:
        row = conn.execute(
            select(risk_area_needs.c.status).where(risk_area_needs.c.id == need_id)
        ).first()
        if row is None:
            raise NeedUnknown(problem("need_unknown", f"无此需求（{need_id}）",
                                      f"no need {need_id}"))  # fmt: skip
        allowed = NEXT.get(row.status, ())
        if status not in allowed:
            raise StatusConflict(problem(
                "need_status", f"需求 {need_id} 当前为 {row.status}，不能改为 {status}",
                f"need {need_id} is {row.status}; it cannot become {status}",
            ))  # fmt: skip
        if status == "cancelled" and not note.strip():
            raise _bad("note_missing", "取消需求须写明原因", "a cancellation needs a note")
        values: dict[str, object] = {"status": status, "status_at": now, "status_by": by[:80]}
        if assigned_to is not None:
            values["assigned_to"] = assigned_to[:80] or None
        conn.execute(update(risk_area_needs).where(risk_area_needs.c.id == need_id)
                     .values(**values))  # fmt: skip
        _history(conn, need_id, now, row.status, status, by, note.strip())
        if status in FINISHED:  # its task (command) closes with it
            done = note.strip() or "需求已办结 / need met"
            close_for_source(conn, "area_need", "risk_area_need", str(need_id), status=status,
                             by=by, at=now, note=done)  # fmt: skip


def list_needs(
    bind: Bind, *, now: datetime | None = None, area_id: int | None = None,
    status: str | None = None, open_only: bool = False, within: str | None = None,
) -> list[NeedView]:  # fmt: skip
    """Tasks, overdue first, then by deadline; ``within`` keeps areas in a region's subtree."""
    return page_needs(bind, None, now=now, area_id=area_id, status=status,
                      open_only=open_only, within=within)[0]  # fmt: skip


# what the needs may be sorted by (their whitelist)
NEED_SORTS: listing.Columns = {
    "area": risk_areas.c.name, "kind": risk_area_needs.c.kind,
    "status": risk_area_needs.c.status, "due": risk_area_needs.c.due_at,
}  # fmt: skip


def page_needs(
    bind: Bind, bounded: Bounded | None, *, now: datetime | None = None,
    area_id: int | None = None, status: str | None = None, open_only: bool = False,
    within: str | None = None,
) -> tuple[list[NeedView], int]:  # fmt: skip
    """:func:`list_needs`, one page of it (sorted by a key of :data:`NEED_SORTS`) when
    ``bounded`` is given; and how many needs there are."""
    from fangkong.auth.jurisdiction import subtree

    now = now or clock.now()
    n = risk_area_needs.c
    query = (
        select(risk_area_needs, risk_areas.c.name.label("area_name"),
               persons.c.name.label("person_name"))
        .join(risk_areas, risk_areas.c.id == n.area_id)
        .join(persons, persons.c.id == n.person_id)
    )  # fmt: skip
    if area_id is not None:
        query = query.where(n.area_id == area_id)
    if status is not None:
        query = query.where(n.status == status)
    if open_only:
        query = query.where(n.status.not_in(FINISHED))
    if within is not None:
        query = query.where(risk_areas.c.region_code.in_(subtree(within)))
    finished = case((n.status.in_(FINISHED), 1), else_=0)
    late = case((and_(n.status.not_in(FINISHED), n.due_at < now), 0), else_=1)
    with write_transaction(bind) as conn:
        rows, total = listing.fetch(conn, query, bounded, NEED_SORTS,
                                    (late, finished, n.due_at, n.id))  # fmt: skip
    views = [
        NeedView(
            r.id,
            r.area_id,
            r.area_name,
            r.person_id,
            r.person_name,
            r.kind,
            r.note,
            r.status,
            r.raised_at,
            r.due_at,
            r.assigned_to,
            r.status_at,
            r.status_by,
            r.status not in FINISHED and r.due_at < now,
        )
        for r in rows
    ]
    return views, total
