"""medical care under control: the register of urgent medical needs, designated wards

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 18:00:00

Issue 20, part 5 (docs/logistics/care.md). Creates ``care_wards``, ``care_needs`` and
``care_need_changes``; adds the command task kind and source type ``care_need`` to
``command_tasks``' checks; grants ``care.read`` and ``care.manage``.

Data: the sealed areas' needs of kind ``medical`` and ``emergency`` **move** from
``risk_area_needs`` into ``care_needs`` (the pack's ``[risk_areas.needs]`` no longer
takes those kinds; ``[care]`` does):

- kind ``emergency`` stays ``emergency``; ``medical`` (就医) becomes ``other`` (其他就医);
- the note becomes the detail; area, person, raised at/by and the deadline are kept;
  ``moved_from`` keeps the old id;
- status: open → open; in_progress → open (no transfer was planned: the register's
  ``planned`` means a vehicle and a ward); done, cancelled → the same, closed at/by the
  last change;
- the history rows move to ``care_need_changes`` (an ``in_progress`` is kept as written,
  its note saying so); an ``assigned_to`` becomes a history note; one more row
  "moved from risk_area_needs N" says when;
- their command tasks stay the same tasks (history and escalation kept): kind
  ``area_need`` → ``care_need``, source ``risk_area_need``/old id → ``care_need``/new id.

The downgrade reverses it: every care need goes back to ``risk_area_needs`` (under its
old id when it had one and no later need took it): ``emergency`` → ``emergency``, every
other kind → ``medical`` (the kind named in the note), planned / in_transfer →
in_progress; its history and task follow; wards and transfers are dropped with the tables.

On SQLite, changing the checks of ``command_tasks`` recreates the table while
``command_task_changes`` refers to it: the history waits in a holding table meanwhile and
comes back unchanged (same ids, same task ids).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from fangkong.migrations.grants import grant_rights, revoke_rights
from fangkong.store.types import UTCDateTime

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

BY = "migration:0028"
HOLD = "_hold_0028_task_changes"  # SQLite: the task history while command_tasks is rebuilt
RIGHTS = (
    ("care.read", "查看急需就医人员登记与定点病区",
     "see urgent medical needs and designated wards"),
    ("care.manage", "登记就医需求、安排绿色通道转运、维护定点病区",
     "register medical needs, plan green-channel transfers, keep wards"),
)  # fmt: skip
GRANTS = {
    "commander": ["care.read", "care.manage"],
    "epidemiologist": ["care.read", "care.manage"],
    "quarantine_manager": ["care.read", "care.manage"],
    "transfer_team": ["care.read", "care.manage"],
}
KINDS_BEFORE = ("alert", "closed_loop_overdue", "awaiting_placement", "area_need", "late_tubes",
                "lifting_due", "capacity_shortage", "manual",
                "road_alert", "supply_floor")  # fmt: skip
SOURCES_BEFORE = ("alert", "arrival", "region_day", "risk_area_need", "risk_area",
                  "road_alert", "supply_alert")  # fmt: skip
MOVED = ("medical", "emergency")

_S, _T, _I = sa.String, UTCDateTime, sa.Integer
_old = sa.table(
    "risk_area_needs", sa.column("id", _I), sa.column("area_id", _I), sa.column("person_id", _I),
    sa.column("kind", _S), sa.column("note", sa.Text), sa.column("status", _S),
    sa.column("raised_at", _T), sa.column("raised_by", _S), sa.column("due_at", _T),
    sa.column("assigned_to", _S), sa.column("status_at", _T), sa.column("status_by", _S),
)  # fmt: skip
_old_changes = sa.table(
    "risk_area_need_changes", sa.column("id", _I), sa.column("need_id", _I),
    sa.column("at", _T), sa.column("from_status", _S), sa.column("to_status", _S),
    sa.column("changed_by", _S), sa.column("note", sa.Text),
)  # fmt: skip
_needs = sa.table(
    "care_needs", sa.column("id", _I), sa.column("person_id", _I), sa.column("area_id", _I),
    sa.column("kind", _S), sa.column("detail", sa.Text), sa.column("status", _S),
    sa.column("raised_at", _T), sa.column("raised_by", _S), sa.column("due_at", _T),
    sa.column("status_at", _T), sa.column("status_by", _S), sa.column("closed_at", _T),
    sa.column("closed_by", _S), sa.column("moved_from", _I),
)  # fmt: skip
_changes = sa.table(
    "care_need_changes", sa.column("id", _I), sa.column("need_id", _I), sa.column("at", _T),
    sa.column("from_status", _S), sa.column("to_status", _S), sa.column("changed_by", _S),
    sa.column("note", sa.Text),
)  # fmt: skip
_tasks = sa.table(
    "command_tasks", sa.column("id", _I), sa.column("kind", _S), sa.column("source_type", _S),
    sa.column("source_id", _S),
)  # fmt: skip


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


def _checks(kinds: tuple[str, ...], sources: tuple[str, ...]) -> None:
    """``command_tasks``' kind and source-type checks set to these values. SQLite
    recreates the table (batch mode); the task history refers to it, so its rows wait in
    a holding table meanwhile (dropping a parent that still has children fails)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(f"CREATE TABLE {HOLD} AS SELECT * FROM command_task_changes")  # noqa: S608
        op.execute("DELETE FROM command_task_changes")
    with op.batch_alter_table("command_tasks") as batch:
        batch.drop_constraint(op.f("ck_command_tasks_kind"), type_="check")
        batch.drop_constraint(op.f("ck_command_tasks_source_type"), type_="check")
        batch.create_check_constraint(op.f("ck_command_tasks_kind"), _in("kind", kinds))
        batch.create_check_constraint(op.f("ck_command_tasks_source_type"),
                                      _in("source_type", sources))  # fmt: skip
    if sqlite:
        op.execute(f"INSERT INTO command_task_changes SELECT * FROM {HOLD}")  # noqa: S608
        op.execute(f"DROP TABLE {HOLD}")


def _create_tables() -> None:
    op.create_table(
        "care_wards",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("hospital", sa.String(length=100), nullable=False),
        sa.Column("venue_code", sa.String(length=40), nullable=True),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=False),
        sa.Column("beds_free", sa.Integer(), nullable=False),
        sa.Column("buffer", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint("beds >= 1", name=op.f("ck_care_wards_beds")),
        sa.CheckConstraint("beds_free >= 0 AND beds_free <= beds",
                           name=op.f("ck_care_wards_beds_free")),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"],
                                name=op.f("fk_care_wards_region_code_regions")),
        sa.ForeignKeyConstraint(["venue_code"], ["venues.code"],
                                name=op.f("fk_care_wards_venue_code_venues")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_care_wards")),
    )  # fmt: skip
    op.create_index(op.f("ix_care_wards_region_code"), "care_wards", ["region_code"])
    op.create_index(op.f("ix_care_wards_venue_code"), "care_wards", ["venue_code"])
    op.create_table(
        "care_needs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("raised_by", sa.String(length=80), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("ward_code", sa.String(length=40), nullable=True),
        sa.Column("vehicle_code", sa.String(length=40), nullable=True),
        sa.Column("departs_at", UTCDateTime(), nullable=True),
        sa.Column("arrives_at", UTCDateTime(), nullable=True),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("status_at", UTCDateTime(), nullable=False),
        sa.Column("status_by", sa.String(length=80), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("moved_from", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('dialysis','chemotherapy','pregnancy','chronic_medication','emergency',"
            "'other')", name=op.f("ck_care_needs_kind")),
        sa.CheckConstraint(
            "status IN ('open','planned','in_transfer','done','cancelled')",
            name=op.f("ck_care_needs_status")),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('admitted','treated_returned','treated_at_home',"
            "'other')", name=op.f("ck_care_needs_outcome")),
        sa.ForeignKeyConstraint(["area_id"], ["risk_areas.id"],
                                name=op.f("fk_care_needs_area_id_risk_areas")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_care_needs_person_id_persons")),
        sa.ForeignKeyConstraint(["ward_code"], ["care_wards.code"],
                                name=op.f("fk_care_needs_ward_code_care_wards")),
        sa.ForeignKeyConstraint(["vehicle_code"], ["arrivals_vehicles.code"],
                                name=op.f("fk_care_needs_vehicle_code_arrivals_vehicles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_needs")),
        sa.UniqueConstraint("moved_from", name=op.f("uq_care_needs_moved_from")),
    )  # fmt: skip
    op.create_index(op.f("ix_care_needs_area_id"), "care_needs", ["area_id"])
    op.create_index(op.f("ix_care_needs_person_id"), "care_needs", ["person_id"])
    op.create_index(op.f("ix_care_needs_ward_code"), "care_needs", ["ward_code"])
    op.create_index("ix_care_needs_status_due_at", "care_needs", ["status", "due_at"])
    op.create_table(
        "care_need_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["need_id"], ["care_needs.id"],
                                name=op.f("fk_care_need_changes_need_id_care_needs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_need_changes")),
    )  # fmt: skip
    op.create_index(op.f("ix_care_need_changes_need_id"), "care_need_changes", ["need_id"])


def _status_up(status: str) -> str:
    return "open" if status == "in_progress" else status


def _move_up(conn: sa.Connection) -> None:
    """risk_area_needs of kinds medical/emergency → care_needs (see the docstring)."""
    o, oc = _old.c, _old_changes.c
    for r in conn.execute(sa.select(_old).where(o.kind.in_(MOVED)).order_by(o.id)).all():
        closed = r.status in ("done", "cancelled")
        new_id = conn.execute(_needs.insert().values(
            person_id=r.person_id, area_id=r.area_id,
            kind="emergency" if r.kind == "emergency" else "other", detail=r.note,
            status=_status_up(r.status), raised_at=r.raised_at, raised_by=r.raised_by,
            due_at=r.due_at, status_at=r.status_at, status_by=r.status_by,
            closed_at=r.status_at if closed else None, closed_by=r.status_by if closed else None,
            moved_from=r.id).returning(_needs.c.id)).scalar_one()  # fmt: skip
        history = conn.execute(sa.select(_old_changes).where(oc.need_id == r.id)
                               .order_by(oc.at, oc.id)).all()  # fmt: skip
        rows: list[dict[str, Any]] = [
            {"need_id": new_id, "at": h.at,
             "from_status": h.from_status and _status_up(h.from_status),
             "to_status": _status_up(h.to_status), "changed_by": h.changed_by,
             "note": h.note if h.to_status != "in_progress"
             else f"处理中 / in progress {h.note}".strip()}
            for h in history
        ]  # fmt: skip
        moved_note = f"moved from risk_area_needs {r.id}"
        if r.assigned_to:
            moved_note += f"; assigned to {r.assigned_to}"
        rows.append({"need_id": new_id, "at": r.status_at, "from_status": _status_up(r.status),
                     "to_status": _status_up(r.status), "changed_by": BY,
                     "note": moved_note})  # fmt: skip
        conn.execute(_changes.insert(), rows)
        t = _tasks.c
        conn.execute(sa.update(_tasks).where(
            t.kind == "area_need", t.source_type == "risk_area_need", t.source_id == str(r.id)
        ).values(kind="care_need", source_type="care_need", source_id=str(new_id)))  # fmt: skip
        conn.execute(_old_changes.delete().where(oc.need_id == r.id))
        conn.execute(_old.delete().where(o.id == r.id))


def upgrade() -> None:
    _checks((*KINDS_BEFORE, "care_need"), (*SOURCES_BEFORE, "care_need"))
    _create_tables()
    _move_up(op.get_bind())
    grant_rights(RIGHTS, GRANTS)


def _status_down(status: str) -> str:
    return "in_progress" if status in ("planned", "in_transfer") else status


def _move_down(conn: sa.Connection) -> None:
    """care_needs → risk_area_needs (every kind: emergency, or medical naming the kind)."""
    n, c = _needs.c, _changes.c
    for r in conn.execute(sa.select(_needs).order_by(n.id)).all():
        kind = "emergency" if r.kind == "emergency" else "medical"
        note = r.detail if r.kind in ("emergency", "other") else f"[{r.kind}] {r.detail}".strip()
        values = {
            "area_id": r.area_id, "person_id": r.person_id, "kind": kind, "note": note,
            "status": _status_down(r.status), "raised_at": r.raised_at, "raised_by": r.raised_by,
            "due_at": r.due_at, "assigned_to": None, "status_at": r.status_at,
            "status_by": r.status_by,
        }  # fmt: skip
        taken = sa.select(_old.c.id).where(_old.c.id == r.moved_from)
        if r.moved_from is not None and conn.execute(taken).first() is None:
            values["id"] = r.moved_from  # its old id, unless a later need holds it (SQLite)
        old_id = conn.execute(_old.insert().values(**values).returning(_old.c.id)).scalar_one()
        history = conn.execute(sa.select(_changes).where(c.need_id == r.id, c.changed_by != BY)
                               .order_by(c.at, c.id)).all()  # fmt: skip
        if history:
            conn.execute(_old_changes.insert(), [
                {"need_id": old_id, "at": h.at,
                 "from_status": h.from_status and _status_down(h.from_status),
                 "to_status": _status_down(h.to_status), "changed_by": h.changed_by,
                 "note": h.note} for h in history])  # fmt: skip
        t = _tasks.c
        conn.execute(sa.update(_tasks).where(
            t.kind == "care_need", t.source_type == "care_need", t.source_id == str(r.id)
        ).values(kind="area_need", source_type="risk_area_need",
                 source_id=str(old_id)))  # fmt: skip


def downgrade() -> None:
    conn = op.get_bind()
    _move_down(conn)
    if conn.dialect.name == "postgresql":  # ids given back: the sequence must lie beyond them
        conn.execute(sa.text(
            "SELECT setval(pg_get_serial_sequence('risk_area_needs', 'id'), "
            "(SELECT COALESCE(MAX(id), 0) + 1 FROM risk_area_needs), false)"))  # fmt: skip
    revoke_rights(RIGHTS)
    op.drop_table("care_need_changes")
    op.drop_table("care_needs")
    op.drop_table("care_wards")
    _checks(KINDS_BEFORE, SOURCES_BEFORE)
