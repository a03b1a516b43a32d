"""Migration 0028 moves the sealed areas' medical and emergency needs into the care
register — history and command tasks with them — and the downgrade gives them back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, func, select

from fangkong.care.tables import care_need_changes, care_needs
from fangkong.command.tables import command_task_changes, command_tasks
from fangkong.riskareas.tables import risk_area_need_changes, risk_area_needs
from fangkong.store import migrate
from fangkong.store.schema import regions
from tests.care.conftest import T0, TREE, H, _area, _person


def _need(conn: Connection, area: int, person: int, kind: str, status: str, **kw: Any) -> int:
    key = conn.execute(risk_area_needs.insert().values(
        area_id=area, person_id=person, kind=kind, note=f"{kind} note", status=status,
        raised_at=T0, raised_by="u1", due_at=T0 + 2 * H, assigned_to=kw.get("assigned_to"),
        status_at=T0 + H, status_by="u2")).inserted_primary_key  # fmt: skip
    need = int(key[0]) if key else 0
    conn.execute(risk_area_need_changes.insert(), [
        {"need_id": need, "at": T0, "from_status": None, "to_status": "open",
         "changed_by": "u1", "note": "raised"},
        *([{"need_id": need, "at": T0 + H, "from_status": "open", "to_status": status,
            "changed_by": "u2", "note": "moving"}] if status != "open" else []),
    ])  # fmt: skip
    task = conn.execute(command_tasks.insert().values(
        kind="area_need", source_type="risk_area_need", source_id=str(need),
        region_code="140101001", origin_region_code="140101001", role=None, params={},
        status="in_progress" if status == "in_progress" else "open", raised_at=T0,
        raised_by="job:raise", deadline_at=T0 + 2 * H,
        escalation_level=1)).inserted_primary_key  # fmt: skip
    conn.execute(command_task_changes.insert().values(
        task_id=int(task[0]) if task else 0, at=T0, changed_by="job:raise", from_status=None,
        to_status="open", note="raised"))  # fmt: skip
    return need


def _count(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_medical_and_emergency_needs_move_into_the_register_and_back(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0023")
    with empty_engine.begin() as conn:
        for code, parent, level, name, _ in TREE:
            conn.execute(regions.insert().values(code=code, parent_code=parent, level=level,
                                                 name=name))  # fmt: skip
        area = _area(conn, "140101001", "high", "甲镇封控区")
        who = _person(conn, 1, "140101001", "张一")
        supplies = _need(conn, area, who, "supplies", "open")
        medical = _need(conn, area, who, "medical", "in_progress", assigned_to="医生甲")
        emergency = _need(conn, area, who, "emergency", "done")
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        left = {r.id: r.kind for r in conn.execute(select(risk_area_needs))}
        moved = {r.moved_from: r for r in conn.execute(select(care_needs))}
        tasks = {r.id: r for r in conn.execute(select(command_tasks))}
        history = conn.execute(select(care_need_changes).order_by(care_need_changes.c.id)).all()
        assert _count(conn, risk_area_need_changes) == 1  # the supplies need's
        assert _count(conn, command_task_changes) == 3  # every task keeps its history
    assert left == {supplies: "supplies"}
    assert set(moved) == {medical, emergency}
    m, e = moved[medical], moved[emergency]
    assert (m.kind, m.status, m.detail, m.due_at, m.closed_at) == (
        "other", "open", "medical note", T0 + 2 * H, None)  # fmt: skip
    assert (e.kind, e.status, e.closed_at, e.closed_by) == ("emergency", "done", T0 + H, "u2")
    by_source = {(t.kind, t.source_type, t.source_id): t for t in tasks.values()}
    assert set(by_source) == {("area_need", "risk_area_need", str(supplies)),
                              ("care_need", "care_need", str(m.id)),
                              ("care_need", "care_need", str(e.id))}  # fmt: skip
    assert by_source[("care_need", "care_need", str(m.id))].escalation_level == 1
    notes = [h.note for h in history if h.need_id == m.id]
    assert notes[0] == "raised"
    assert "处理中 / in progress" in notes[1]
    assert notes[-1] == f"moved from risk_area_needs {medical}; assigned to 医生甲"
    assert [h.to_status for h in history if h.need_id == e.id] == ["open", "done", "done"]

    migrate.downgrade(empty_engine, "0023")
    with empty_engine.connect() as conn:
        back = {r.id: r for r in conn.execute(select(risk_area_needs))}
        tasks_back = {
            (t.kind, t.source_type, t.source_id) for t in conn.execute(select(command_tasks))
        }
        changes_back = conn.execute(select(risk_area_need_changes)).all()
    assert set(back) == {supplies, medical, emergency}
    assert (back[medical].kind, back[medical].status, back[medical].note) == (
        "medical", "open", "medical note")  # fmt: skip
    assert (back[emergency].kind, back[emergency].status) == ("emergency", "done")
    assert tasks_back == {("area_need", "risk_area_need", str(n))
                          for n in (supplies, medical, emergency)}  # fmt: skip
    assert len(changes_back) == 1 + 2 + 2
    # up again, a new need (SQLite may give it a moved need's old id), and down again
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as conn:
        assert _count(conn, care_needs) == 2
        _need(conn, area, who, "supplies", "open")
    migrate.downgrade(empty_engine, "0023")
    with empty_engine.connect() as conn:
        kinds = sorted(r.kind for r in conn.execute(select(risk_area_needs)))
    assert kinds == ["emergency", "medical", "supplies", "supplies"]
