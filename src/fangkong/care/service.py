"""The care register's use cases (就医保障): register, plan, move, complete, escalate.

Functions on a ``Bind`` (an Engine opens its own write transaction, a Connection runs in
the caller's) with ``at`` the business time; the guarded callers (``care.access``) write
the audit rows. Stable API for the province loop (``fangkong.demo``) and the shells:
``register_need``, ``plan_transfer``, ``start_transfer``, ``complete_transfer``,
``cancel_need``, ``escalate_overdue``, ``sync_tasks``, ``save_ward``.

Every need is a command task (kind ``care_need``) owed by the area's region, due when the
need is: raised with the need, moved to ``in_progress`` when its transfer is planned,
closed (``done`` / ``cancelled``) with the need — the task follows the need's status —
and escalated one level up when overdue (``escalate_overdue``, at ``[care.escalation]``'s
pace; the command's daily escalation moves it too). ``sync_tasks`` is the sweep behind
those call sites (the command's raising job runs it).

    open ──plan_transfer──▶ planned ──start_transfer──▶ in_transfer ──complete──▶ done
      │  (vehicle, ward, ETA ≤ due)   │                     │
      └──────── cancel_need (a note) ─┴─────────────────────┴──────────────▶ cancelled
    open ──complete_transfer──▶ done   (a kind without a ward: medicines at the door)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, String, cast, func, select, update

from fangkong.arrivals.dispatch import free_vehicles
from fangkong.care import plan as core
from fangkong.care.errors import NeedConflict, NeedInvalid, NeedUnknown, NoTransfer, problem
from fangkong.care.rules import CareRules
from fangkong.care.tables import (
    CLOSED_STATUSES,
    DETAIL_MAX,
    NOTE_MAX,
    OPEN_STATUSES,
    OUTCOMES,
    care_need_changes,
    care_needs,
    care_wards,
)
from fangkong.command.model import OPEN_STATUSES as TASK_OPEN
from fangkong.command.raising import Candidate, raise_many
from fangkong.command.tables import command_tasks
from fangkong.command.tasks import Escalated, change_status, close_for_source, escalate_kind
from fangkong.quarantine.regions import load_regions
from fangkong.riskareas.service import residents
from fangkong.riskareas.tables import risk_areas
from fangkong.store.schema import persons
from fangkong.store.tx import Bind, write_transaction

PLANNED_NOTE = "已安排绿色通道转运 / green-channel transfer planned"
MET_NOTE = "就医需求已办结 / the medical need was met"
KIND, SOURCE = "care_need", "care_need"  # the command task's kind and source type
BY_MAX = 80


@dataclass(frozen=True)
class TransferPlan:
    """The green-channel transfer planned for a need (times are UTC instants)."""

    need_id: int
    vehicle: str
    ward: str
    departs_at: datetime
    arrives_at: datetime
    distance_km: float  # vehicle → patient → ward
    late: bool  # arrives after the deadline (planned anyway: allow_late)


@dataclass(frozen=True)
class Sweep:
    """What ``escalate_overdue`` did: tasks raised and closed, tasks escalated, and how
    many needs are past their deadline still open."""

    raised: int
    closed: int
    escalated: tuple[Escalated, ...]
    overdue: int


def _bad(code: str, zh: str, en: str) -> NeedInvalid:
    return NeedInvalid(problem(code, zh, en))


def unknown(need_id: int) -> NeedUnknown:
    return NeedUnknown(problem("need_unknown", f"无此就医需求（{need_id}）",
                               f"no medical need {need_id}"))  # fmt: skip


def _text(value: str, field_zh: str, field_en: str, limit: int) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise _bad("text_too_long", f"{field_zh}最多 {limit} 个字符",
                   f"{field_en}: at most {limit} characters")  # fmt: skip
    return value


def _history(conn: Connection, need_id: int, at: datetime, before: str | None, after: str,
             by: str, note: str) -> None:  # fmt: skip
    conn.execute(care_need_changes.insert().values(
        need_id=need_id, at=at, from_status=before, to_status=after, changed_by=by[:BY_MAX],
        note=note))  # fmt: skip


# ---- registering -------------------------------------------------------------------------------


def _area_of(conn: Connection, rules: CareRules, person_id: int, area_id: int | None) -> Row[Any]:
    """The area the need belongs to: the one given (the person must live in it, at a
    level the register serves), else the most severe such area the person lives in."""
    ra = risk_areas.c
    query = select(risk_areas).where(ra.level.in_(rules.levels))
    if area_id is not None:
        area = conn.execute(select(risk_areas).where(ra.id == area_id)).first()
        if area is None:
            raise _bad("area_unknown", f"无此风险区（{area_id}）", f"no risk area {area_id}")
        if area.level not in rules.levels:
            raise _bad("not_controlled", f"{area.name} 不是封控或高风险区域（当前为 {area.level}）",
                       f"{area.name} is not under control (its level is {area.level})")  # fmt: skip
        query = query.where(ra.id == area_id)
    rank = {level: i for i, level in enumerate(("high", "medium"))}
    areas = sorted(conn.execute(query).all(), key=lambda a: (rank.get(a.level, 9), a.id))
    for area in areas:
        if person_id in residents(conn, area.id, area.region_code, area.building):
            return area
    if area_id is not None:
        raise _bad("not_resident", f"人员 {person_id} 不住在该风险区",
                   f"person {person_id} does not live in that risk area")  # fmt: skip
    raise _bad("no_area", f"人员 {person_id} 不住在封控或高风险区域",
               f"person {person_id} lives in no area under control")  # fmt: skip


def register_need(
    bind: Bind, rules: CareRules, *, person_id: int, kind: str, detail: str = "",
    area_id: int | None = None, by: str, at: datetime,
) -> int:  # fmt: skip
    """Register a resident's urgent medical need, due within the kind's hours; its
    command task is raised with it (owed by the area's region). Returns the need's id."""
    if kind not in rules.kinds:
        raise _bad("need_kind", f"无此就医需求类型 {kind!r}（可选：{'、'.join(rules.kinds)}）",
                   f"no medical need kind {kind!r} (one of: {', '.join(rules.kinds)})")  # fmt: skip
    detail = _text(detail, "需求说明", "detail", DETAIL_MAX)
    with write_transaction(bind) as conn:
        if conn.execute(select(persons.c.id).where(persons.c.id == person_id)).first() is None:
            raise _bad("person_unknown", f"无此人员（{person_id}）", f"no person {person_id}")
        area = _area_of(conn, rules, person_id, area_id)
        due = at + timedelta(hours=rules.kinds[kind].deadline_hours)
        inserted = conn.execute(care_needs.insert().values(
            person_id=person_id, area_id=area.id, kind=kind, detail=detail,
            status="open", raised_at=at, raised_by=by[:BY_MAX], due_at=due, status_at=at,
            status_by=by[:BY_MAX])).inserted_primary_key  # fmt: skip
        need_id = int(inserted[0]) if inserted is not None else 0
        _history(conn, need_id, at, None, "open", by, detail)
        _raise(conn, [need_id], at=at, by=by)
    return need_id


# ---- the need's command task ------------------------------------------------------------------


def _raise(conn: Connection, need_ids: Sequence[int], *, at: datetime, by: str) -> int:
    """Raise the task of each need not holding one (idempotent: ``raise_many``)."""
    n, ra = care_needs.c, risk_areas.c
    rows = conn.execute(
        select(n.id, n.kind, n.due_at, ra.id.label("area_id"), ra.name, ra.region_code)
        .join(risk_areas, ra.id == n.area_id).where(n.id.in_(list(need_ids)))
    ).all()  # fmt: skip
    return raise_many(conn, KIND, SOURCE, (
        Candidate(str(r.id), r.region_code, None,
                  {"care_kind": r.kind, "area": r.name, "area_id": int(r.area_id)}, r.due_at)
        for r in rows
    ), at=at, by=by)  # fmt: skip


def _task_follows(conn: Connection, need_id: int, status: str, *, by: str, at: datetime,
                  note: str) -> None:  # fmt: skip
    """The need's task takes the need's status: planned / in transfer → in progress;
    done / cancelled → closed the same way."""
    if status in CLOSED_STATUSES:
        close_for_source(conn, KIND, SOURCE, str(need_id), status=status, by=by, at=at,
                         note=note or MET_NOTE)  # fmt: skip
        return
    t = command_tasks.c
    task = conn.execute(select(t.id, t.status).where(
        t.kind == KIND, t.source_type == SOURCE, t.source_id == str(need_id))).first()  # fmt: skip
    if task is not None and task.status in ("open", "acknowledged"):
        change_status(conn, int(task.id), "in_progress", by=by, at=at,
                      note=note or PLANNED_NOTE)  # fmt: skip


# ---- moving a need on ----------------------------------------------------------------------------


def _locked(conn: Connection, need_id: int) -> Row[Any]:
    row = conn.execute(
        select(care_needs).where(care_needs.c.id == need_id).with_for_update()
    ).first()
    if row is None:
        raise unknown(need_id)
    return row


def _conflict(row: Row[Any], to: str) -> NeedConflict:
    return NeedConflict(problem(
        "need_status", f"就医需求 {row.id} 当前为 {row.status}，不能改为 {to}",
        f"medical need {row.id} is {row.status}; it cannot become {to}"))  # fmt: skip


def _move(conn: Connection, row: Row[Any], to: str, *, by: str, at: datetime, note: str,
          **values: object) -> None:  # fmt: skip
    values |= {"status": to, "status_at": at, "status_by": by[:BY_MAX]}
    if to in CLOSED_STATUSES:
        values |= {"closed_at": at, "closed_by": by[:BY_MAX]}
    conn.execute(update(care_needs).where(care_needs.c.id == row.id).values(**values))
    _history(conn, int(row.id), at, row.status, to, by, note)
    _task_follows(conn, int(row.id), to, by=by, at=at, note=note)


def _wards(conn: Connection) -> list[core.Ward]:
    w = care_wards.c
    return [core.Ward(r.code, float(r.latitude), float(r.longitude), tuple(r.kinds or ()),
                      int(r.beds_free), bool(r.buffer))
            for r in conn.execute(select(care_wards).order_by(w.code))]  # fmt: skip


def plan_transfer(
    bind: Bind, rules: CareRules, need_id: int, *, by: str, at: datetime,
    allow_late: bool = False,
) -> TransferPlan:  # fmt: skip
    """Plan an open need's green-channel transfer (``care.plan``): a free vehicle of the
    closed loop (``arrivals.dispatch.free_vehicles``, read only) and a ward with a free
    bed (one bed taken now), arriving before the deadline — else :class:`NoTransfer`
    naming why (``allow_late``: the earliest arrival even after the deadline)."""
    with write_transaction(bind) as conn:
        row = _locked(conn, need_id)
        if row.status != "open":
            raise _conflict(row, "planned")
        kind = rules.kinds.get(row.kind)
        if kind is None or not kind.ward:
            raise NoTransfer(problem(
                "no_transfer_kind", "此类需求不安排转运（送药上门），请直接办结",
                "this kind of need has no transfer (brought to the door): complete it",
            ))  # fmt: skip
        area = conn.execute(select(risk_areas).where(risk_areas.c.id == row.area_id)).one()
        home = conn.execute(select(persons.c.residence_code)
                            .where(persons.c.id == row.person_id)).scalar_one()  # fmt: skip
        lat, lon = load_regions(conn).point(home or area.region_code)
        patient = core.Patient(row.kind, lat, lon, area.level in rules.buffer_levels,
                               (row.due_at - at).total_seconds() / 3600)  # fmt: skip
        cars = [core.Vehicle(c.code, c.lat, c.lon) for c in free_vehicles(conn)]
        found = core.plan_transfer(patient, _wards(conn), cars, rules.ward_choice,
                                   rules.transfer, allow_late=allow_late)  # fmt: skip
        if isinstance(found, core.Refusal):
            raise NoTransfer(problem(found.code, found.zh, found.en))
        taken = conn.execute(
            update(care_wards)
            .where(care_wards.c.code == found.ward, care_wards.c.beds_free > 0)
            .values(beds_free=care_wards.c.beds_free - 1)
        ).rowcount  # fmt: skip
        if not taken:  # another plan took the last bed in between
            raise NoTransfer(problem("no_ward", "病区已无空床", "the ward has no free bed left"))
        departs = at + timedelta(hours=found.departs_h)
        arrives = at + timedelta(hours=found.arrives_h)
        km = round(found.pickup_km + found.trip_km, 1)
        late = arrives > row.due_at
        note = f"{found.vehicle} → {found.ward}" + (" (late)" if late else "")
        _move(conn, row, "planned", by=by, at=at, note=note, ward_code=found.ward,
              vehicle_code=found.vehicle, departs_at=departs, arrives_at=arrives,
              distance_km=km)  # fmt: skip
        return TransferPlan(need_id, found.vehicle, found.ward, departs, arrives, km, late)


def start_transfer(bind: Bind, need_id: int, *, by: str, at: datetime) -> None:
    """The vehicle has the patient on board (planned → in transfer)."""
    with write_transaction(bind) as conn:
        row = _locked(conn, need_id)
        if row.status != "planned":
            raise _conflict(row, "in_transfer")
        _move(conn, row, "in_transfer", by=by, at=at, note="", departs_at=at)


def complete_transfer(
    bind: Bind, rules: CareRules, need_id: int, *, outcome: str, note: str = "", by: str,
    at: datetime,
) -> None:  # fmt: skip
    """The need is met: the patient handed over at the ward (planned or in transfer), or
    — for a kind without a ward — the medicines brought (from open). ``outcome`` one of
    ``OUTCOMES``; its task closes as done."""
    if outcome not in OUTCOMES:
        raise _bad(
            "outcome", f"结果应为 {'、'.join(OUTCOMES)}", f"outcome: one of {', '.join(OUTCOMES)}"
        )
    note = _text(note, "说明", "note", NOTE_MAX)
    with write_transaction(bind) as conn:
        row = _locked(conn, need_id)
        kind = rules.kinds.get(row.kind)
        from_open = row.status == "open" and (kind is None or not kind.ward)
        if row.status not in ("planned", "in_transfer") and not from_open:
            raise _conflict(row, "done")
        values: dict[str, object] = {"outcome": outcome}
        if row.status != "open" and row.arrives_at is not None and at < row.arrives_at:
            values["arrives_at"] = at  # handed over earlier than planned
        _move(conn, row, "done", by=by, at=at, note=note or outcome, **values)


def cancel_need(bind: Bind, need_id: int, *, note: str, by: str, at: datetime) -> None:
    """Withdraw an unfinished need (a note says why); a planned bed is given back."""
    note = _text(note, "说明", "note", NOTE_MAX)
    if not note:
        raise _bad("note_missing", "取消须写明原因", "a cancellation needs a note")
    with write_transaction(bind) as conn:
        row = _locked(conn, need_id)
        if row.status not in OPEN_STATUSES:
            raise _conflict(row, "cancelled")
        if row.ward_code is not None:
            w = care_wards.c
            conn.execute(update(care_wards).where(w.code == row.ward_code, w.beds_free < w.beds)
                         .values(beds_free=w.beds_free + 1))  # fmt: skip
        _move(conn, row, "cancelled", by=by, at=at, note=note)


# ---- the sweep and the escalation --------------------------------------------------------------


def sync_tasks(conn: Connection, *, at: datetime, by: str) -> tuple[int, int]:
    """Raise the task of every unfinished need holding none, close the open tasks of
    finished needs (as the need ended); ``(raised, closed)``."""
    n, t = care_needs.c, command_tasks.c
    still = [
        int(i) for i in conn.execute(select(n.id).where(n.status.in_(OPEN_STATUSES))).scalars()
    ]
    raised = _raise(conn, still, at=at, by=by) if still else 0
    held = conn.execute(
        select(t.source_id, n.status, n.closed_at)
        .join(care_needs, cast(n.id, String(80)) == t.source_id)
        .where(t.kind == KIND, t.status.in_(TASK_OPEN), n.status.in_(CLOSED_STATUSES))
    ).all()  # fmt: skip
    closed = 0
    for source_id, status, closed_at in held:
        task = close_for_source(conn, KIND, SOURCE, str(source_id), status=status, by=by,
                                at=closed_at or at, note=MET_NOTE)  # fmt: skip
        closed += task is not None
    return raised, closed


def escalate_overdue(conn: Bind, at: datetime, rules: CareRules, *, by: str = "job:care") -> Sweep:
    """The care desk's sweep: tasks raised and closed (``sync_tasks``), then every open
    care task ``[care.escalation] escalate_after_hours`` past its deadline moved one level
    up (``command.tasks.escalate_kind``), at most ``max_level`` levels."""
    with write_transaction(conn) as c:
        raised, closed = sync_tasks(c, at=at, by=by)
        moved = escalate_kind(c, KIND, after_hours=rules.escalation.after_hours,
                              max_level=rules.escalation.max_level, at=at)  # fmt: skip
        n = care_needs.c
        overdue = c.execute(select(func.count()).select_from(care_needs).where(
            n.status.in_(OPEN_STATUSES), n.due_at < at)).scalar_one()  # fmt: skip
    return Sweep(raised, closed, tuple(moved), int(overdue))
