"""road status: checkpoints' reports, the refreshed status, alerts; the road_alert task

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 18:00:00

Issue 20, part 3 (docs/logistics/roads.md):

- ``roads_reports``: a checkpoint's report of itself (queue, wait, lanes, open /
  restricted / closed, the authority of a closure), UNIQUE(checkpoint, ref);
- ``roads_status``: one row per checkpoint as the last refresh found it;
- ``roads_alerts``: one row per episode of a condition, ``open_key`` UNIQUE while open;
- ``command_tasks`` takes the kind ``road_alert`` (source type ``road_alert``): its CHECK
  constraints on ``kind`` and ``source_type`` are written again with it;
- rights ``road.read`` (the road-status map and list: counts, no personal data) and
  ``road.report`` (report a checkpoint's status; the ``checkpoint`` device scope carries
  it in code, ``fangkong.auth.rights``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.migrations.grants import grant_rights, revoke_rights
from fangkong.store.types import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

RIGHTS = [
    ("road.read", "查看道路通行状态", "see road status"),
    ("road.report", "上报卡口通行状况与关闭", "report checkpoints' traffic and closures"),
]
_SEE = ["road.read"]
ROLE_RIGHTS = {
    "commander": ["road.read", "road.report"],
    "epidemiologist": _SEE,
    "port_officer": ["road.read", "road.report"],
    "transfer_team": _SEE,
    "viewer": _SEE,
}
_KINDS_BEFORE = ("alert", "closed_loop_overdue", "awaiting_placement", "area_need",
                 "late_tubes", "lifting_due", "capacity_shortage", "manual")  # fmt: skip
_SOURCES_BEFORE = ("alert", "arrival", "region_day", "risk_area_need", "risk_area")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


def _task_checks(kinds: tuple[str, ...], sources: tuple[str, ...]) -> None:
    with op.batch_alter_table("command_tasks") as batch:
        batch.drop_constraint(op.f("ck_command_tasks_kind"), type_="check")
        batch.drop_constraint(op.f("ck_command_tasks_source_type"), type_="check")
        batch.create_check_constraint(op.f("ck_command_tasks_kind"), _in("kind", kinds))
        batch.create_check_constraint(
            op.f("ck_command_tasks_source_type"), _in("source_type", sources)
        )


def upgrade() -> None:
    op.create_table(
        "roads_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checkpoint_code", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("vehicles_waiting", sa.Integer(), nullable=False),
        sa.Column("wait_minutes", sa.Integer(), nullable=True),
        sa.Column("lanes_open", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("authority_level", sa.String(length=10), nullable=True),
        sa.Column("authority", sa.String(length=120), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("reported_by", sa.String(length=80), nullable=False),
        sa.Column("via", sa.String(length=4), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('open','restricted','closed')",
                           name=op.f("ck_roads_reports_status")),
        sa.CheckConstraint(
            "authority_level IN ('national','province','city','county','township')",
            name=op.f("ck_roads_reports_authority_level")),
        sa.CheckConstraint("via IN ('api','file','form','cli')", name=op.f("ck_roads_reports_via")),
        sa.CheckConstraint("vehicles_waiting >= 0 AND lanes_open >= 0",
                           name=op.f("ck_roads_reports_counts")),
        sa.CheckConstraint("wait_minutes IS NULL OR wait_minutes >= 0",
                           name=op.f("ck_roads_reports_wait")),
        sa.ForeignKeyConstraint(["checkpoint_code"], ["logistics_checkpoints.code"],
                                name=op.f("fk_roads_reports_checkpoint_code_logistics_checkpoints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roads_reports")),
        sa.UniqueConstraint("checkpoint_code", "ref",
                            name=op.f("uq_roads_reports_checkpoint_code_ref")),
    )  # fmt: skip
    op.create_index("ix_roads_reports_checkpoint_at", "roads_reports", ["checkpoint_code", "at"])
    op.create_table(
        "roads_status",
        sa.Column("checkpoint_code", sa.String(length=40), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("waiting", sa.Integer(), nullable=True),
        sa.Column("wait_minutes", sa.Integer(), nullable=True),
        sa.Column("wait_median", sa.Integer(), nullable=True),
        sa.Column("throughput_hour", sa.Float(), nullable=False),
        sa.Column("crossings", sa.Integer(), nullable=False),
        sa.Column("authority_level", sa.String(length=10), nullable=True),
        sa.Column("authority", sa.String(length=120), nullable=True),
        sa.Column("report_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "state IN ('normal','congested','closed_authorised','closed_unauthorised','no_data')",
            name=op.f("ck_roads_status_state")),
        sa.ForeignKeyConstraint(["checkpoint_code"], ["logistics_checkpoints.code"],
                                name=op.f("fk_roads_status_checkpoint_code_logistics_checkpoints")),
        sa.PrimaryKeyConstraint("checkpoint_code", name=op.f("pk_roads_status")),
    )  # fmt: skip
    op.create_index(op.f("ix_roads_status_state"), "roads_status", ["state"])
    op.create_table(
        "roads_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checkpoint_code", sa.String(length=40), nullable=False),
        sa.Column("condition", sa.String(length=24), nullable=False),
        sa.Column("open_key", sa.String(length=80), nullable=True),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("cleared_at", UTCDateTime(), nullable=True),
        sa.Column("observed", sa.Float(), nullable=True),
        sa.Column("limit", sa.Float(), nullable=True),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("condition IN ('queue','wait','closure_unauthorised')",
                           name=op.f("ck_roads_alerts_condition")),
        sa.ForeignKeyConstraint(["checkpoint_code"], ["logistics_checkpoints.code"],
                                name=op.f("fk_roads_alerts_checkpoint_code_logistics_checkpoints")),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"],
                                name=op.f("fk_roads_alerts_region_code_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roads_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_roads_alerts_open_key")),
    )  # fmt: skip
    op.create_index("ix_roads_alerts_checkpoint", "roads_alerts", ["checkpoint_code", "opened_at"])
    _task_checks((*_KINDS_BEFORE[:-1], "road_alert", "manual"), (*_SOURCES_BEFORE, "road_alert"))
    grant_rights(RIGHTS, ROLE_RIGHTS)


def downgrade() -> None:
    revoke_rights(RIGHTS)
    op.execute("DELETE FROM command_task_changes WHERE task_id IN "
               "(SELECT id FROM command_tasks WHERE kind = 'road_alert')")  # fmt: skip
    op.execute("DELETE FROM command_tasks WHERE kind = 'road_alert'")
    _task_checks(_KINDS_BEFORE, _SOURCES_BEFORE)
    op.drop_index("ix_roads_alerts_checkpoint", table_name="roads_alerts")
    op.drop_table("roads_alerts")
    op.drop_index(op.f("ix_roads_status_state"), table_name="roads_status")
    op.drop_table("roads_status")
    op.drop_index("ix_roads_reports_checkpoint_at", table_name="roads_reports")
    op.drop_table("roads_reports")
