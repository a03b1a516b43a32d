"""tasks from the existing deadlines: alerts, sealed areas' needs, closed-loop alerts

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 08:00:00

A data migration (docs/command.md, "The existing deadlines move onto tasks"): one
command task for every row of ``alerts``, ``risk_area_needs`` and ``arrivals_alerts``,
open or closed, so accountability has the history. ``INSERT … SELECT`` through light
table stubs (the same SQL on SQLite and PostgreSQL); a key already in ``command_tasks``
(the raising job ran first, or this step ran before) is skipped, so the step and the
job are harmless together. Every task migrated gets one history row "migrated".

Status mapping:
  alerts          raised → open; verified, investigated → in_progress; closed → done;
                  dismissed → cancelled. Deadline: verify_due while raised, else
                  investigate_due. Region now: escalated_to when escalated.
  needs           the same names (open, in_progress, done, cancelled); deadline due_at;
                  the area's region.
  arrivals alerts active → open, resolved → done; source "<traveller>/<stage>" (a
                  hand-off alert: "<traveller>/handoff"; the latest row of a traveller,
                  kind and stage); escalation level = level - 1 (teams told above the
                  first: the region stays, the loop escalates along teams).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BY = "migration:0019"
_S, _T, _I = sa.String, sa.DateTime, sa.Integer
_tasks = sa.table(
    "command_tasks", sa.column("id", _I), sa.column("kind", _S), sa.column("source_type", _S),
    sa.column("source_id", _S), sa.column("region_code", _S),
    sa.column("origin_region_code", _S), sa.column("role", _S), sa.column("params", sa.JSON),
    sa.column("status", _S), sa.column("raised_at", _T), sa.column("raised_by", _S),
    sa.column("deadline_at", _T), sa.column("escalation_level", _I),
    sa.column("escalated_at", _T), sa.column("closed_at", _T), sa.column("closed_by", _S),
)  # fmt: skip
_changes = sa.table(
    "command_task_changes", sa.column("task_id", _I), sa.column("at", _T),
    sa.column("changed_by", _S), sa.column("from_status", _S), sa.column("to_status", _S),
    sa.column("note", sa.Text),
)  # fmt: skip
_alerts = sa.table(
    "alerts", sa.column("id", _I), sa.column("rule", _S), sa.column("region_code", _S),
    sa.column("status", _S), sa.column("raised_at", _T), sa.column("verify_due", _T),
    sa.column("investigate_due", _T), sa.column("closed_at", _T),
    sa.column("escalations", _I), sa.column("escalated_to", _S), sa.column("escalated_at", _T),
)  # fmt: skip
_needs = sa.table(
    "risk_area_needs", sa.column("id", _I), sa.column("area_id", _I), sa.column("status", _S),
    sa.column("raised_at", _T), sa.column("due_at", _T), sa.column("status_at", _T),
    sa.column("status_by", _S),
)  # fmt: skip
_areas = sa.table("risk_areas", sa.column("id", _I), sa.column("region_code", _S))
_loop = sa.table(
    "arrivals_alerts", sa.column("id", _I), sa.column("traveller_id", _I),
    sa.column("kind", _S), sa.column("stage", _S), sa.column("region_code", _S),
    sa.column("level", _I), sa.column("due_at", _T), sa.column("raised_at", _T),
    sa.column("escalated_at", _T), sa.column("resolved_at", _T), sa.column("active", sa.Boolean),
)  # fmt: skip
_COLUMNS = ["kind", "source_type", "source_id", "region_code", "origin_region_code", "role",
            "params", "status", "raised_at", "raised_by", "deadline_at", "escalation_level",
            "escalated_at", "closed_at", "closed_by"]  # fmt: skip
STAGE_ROLE = (("registered", "port_officer"), ("sampled", "port_officer"),
              ("boarded", "transfer_team"), ("handed_over", "quarantine_manager"),
              ("managed", "quarantine_manager"))  # fmt: skip


def _key(x: sa.ColumnElement[int]) -> sa.ColumnElement[str]:
    return sa.cast(x, sa.String(80))


def _new(kind: str, source_id: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """The key is not in command_tasks yet."""
    t = _tasks.c
    held = sa.select(t.id).where(t.kind == kind, t.source_id == source_id)
    return ~sa.exists(held)


def _params() -> sa.ColumnElement[object]:
    return sa.literal({"migrated": True}, sa.JSON)


def _from_alerts() -> sa.Select[tuple[object, ...]]:
    a = _alerts.c
    status = sa.case({"raised": "open", "verified": "in_progress", "investigated": "in_progress",
                      "closed": "done"}, value=a.status, else_="cancelled")  # fmt: skip
    closed = a.status.in_(("closed", "dismissed"))
    return sa.select(
        sa.literal("alert"), sa.literal("alert"), _key(a.id),
        sa.func.coalesce(a.escalated_to, a.region_code), a.region_code,
        sa.literal("epidemiologist"), _params(), status, a.raised_at, sa.literal(BY),
        sa.case((a.status == "raised", a.verify_due), else_=a.investigate_due),
        a.escalations, a.escalated_at, sa.case((closed, a.closed_at)),
        sa.case((closed, sa.literal(BY))),
    ).where(_new("alert", _key(a.id)))  # fmt: skip


def _from_needs() -> sa.Select[tuple[object, ...]]:
    n, ra = _needs.c, _areas.c
    closed = n.status.in_(("done", "cancelled"))
    return (
        sa.select(
            sa.literal("area_need"), sa.literal("risk_area_need"), _key(n.id), ra.region_code,
            ra.region_code, sa.null(), _params(), n.status, n.raised_at, sa.literal(BY),
            n.due_at, sa.literal(0), sa.null(), sa.case((closed, n.status_at)),
            sa.case((closed, n.status_by)),
        )
        .select_from(_needs.join(_areas, ra.id == n.area_id))
        .where(_new("area_need", _key(n.id)))
    )  # fmt: skip


def _from_loop() -> sa.Select[tuple[object, ...]]:
    a = _loop.c
    later = _loop.alias("later")
    step = sa.case((a.kind == "handoff", sa.literal("handoff")), else_=a.stage)
    source_id = _key(a.traveller_id) + sa.literal("/") + step
    latest = ~sa.exists(sa.select(later.c.id).where(
        later.c.traveller_id == a.traveller_id, later.c.kind == a.kind,
        later.c.stage == a.stage, later.c.id > a.id))  # fmt: skip
    role = sa.case(*((a.stage == s, sa.literal(r)) for s, r in STAGE_ROLE))
    resolved = a.active.is_(None)
    return sa.select(
        sa.literal("closed_loop_overdue"), sa.literal("arrival"), source_id, a.region_code,
        a.region_code, role, _params(), sa.case((resolved, "done"), else_="open"),
        a.raised_at, sa.literal(BY), a.due_at,
        sa.case((a.level > 1, a.level - 1), else_=0), a.escalated_at,
        sa.case((resolved, sa.func.coalesce(a.resolved_at, a.raised_at))),
        sa.case((resolved, sa.literal(BY))),
    ).where(latest, _new("closed_loop_overdue", source_id))  # fmt: skip


def upgrade() -> None:
    for select in (_from_alerts(), _from_needs(), _from_loop()):
        op.execute(_tasks.insert().from_select(_COLUMNS, select))
    t, c = _tasks.c, _changes.c
    first = sa.select(
        t.id, t.raised_at, sa.literal(BY), sa.null(), t.status, sa.literal("migrated")
    ).where(t.raised_by == BY, ~sa.exists(sa.select(c.task_id).where(c.task_id == t.id)))
    op.execute(_changes.insert().from_select(
        ["task_id", "at", "changed_by", "from_status", "to_status", "note"], first))  # fmt: skip


def downgrade() -> None:
    t, c = _tasks.c, _changes.c
    migrated = sa.select(t.id).where(t.raised_by == BY)
    op.execute(_changes.delete().where(c.task_id.in_(migrated)))
    op.execute(_tasks.delete().where(t.raised_by == BY))
