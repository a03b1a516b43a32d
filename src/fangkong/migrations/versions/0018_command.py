"""command centre: tasks and their history, the board's figures, daily briefings

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 07:30:00

The tables of fangkong.command.tables: command_tasks (a unit's task, raised once per
source through UNIQUE(kind, source_type, source_id), with its deadline, escalation and
evidence), command_task_changes (their history), command_figures (the board's
aggregates per region, day and figure key) and command_briefings (one daily briefing
per region and day). A data part adds the command rights and grants them to the
shipped roles (a copy of ``fangkong.auth.rights`` as it was when this revision was
written: a migration never changes with the code).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.migrations.grants import grant_rights, revoke_rights
from fangkong.store.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

RIGHTS = [
    ("command.read", "查看态势看板与日报（汇总数）", "see the situation board and briefings"),
    ("task.read", "查看工作任务", "see tasks"),
    ("task.change", "签收、办理、办结本单位任务", "acknowledge, work on and close own tasks"),
    ("task.assign", "向下级交办、撤销任务", "set tasks for units below and cancel them"),
]  # fmt: skip
_WORK = ["command.read", "task.read", "task.change"]
ROLE_RIGHTS = {
    "admin": ["command.read"],
    "commander": [*_WORK, "task.assign"],
    "epidemiologist": _WORK,
    "contact_tracer": _WORK,
    "lab": _WORK,
    "port_officer": _WORK,
    "transfer_team": _WORK,
    "quarantine_manager": _WORK,
    "viewer": ["command.read", "task.read"],
}
_KINDS = ("'alert','closed_loop_overdue','awaiting_placement','area_need','late_tubes',"
          "'lifting_due','capacity_shortage','manual'")  # fmt: skip
_SOURCES = "'alert','arrival','region_day','risk_area_need','risk_area'"
_STATUSES = "'open','acknowledged','in_progress','done','cancelled'"


def _create_tasks() -> None:
    op.create_table(
        "command_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("source_type", sa.String(length=24), nullable=True),
        sa.Column("source_id", sa.String(length=80), nullable=True),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("origin_region_code", sa.String(length=15), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("raised_by", sa.String(length=80), nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        sa.Column("evidence", sa.String(length=2000), nullable=True),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_command_tasks_kind")),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_command_tasks_status")),
        sa.CheckConstraint(
            f"source_type IN ({_SOURCES})", name=op.f("ck_command_tasks_source_type")
        ),
        sa.CheckConstraint(
            "escalation_level >= 0", name=op.f("ck_command_tasks_escalation_level")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_command_tasks_region_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["origin_region_code"], ["regions.code"],
            name=op.f("fk_command_tasks_origin_region_code_regions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_tasks")),
        sa.UniqueConstraint(
            "kind", "source_type", "source_id",
            name=op.f("uq_command_tasks_kind_source_type_source_id"),
        ),
    )  # fmt: skip
    with op.batch_alter_table("command_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_command_tasks_origin_region_code"), ["origin_region_code"], unique=False
        )
        batch_op.create_index(
            "ix_command_tasks_region_status_deadline",
            ["region_code", "status", "deadline_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_command_tasks_status_deadline", ["status", "deadline_at"], unique=False
        )
    op.create_table(
        "command_task_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("from_region", sa.String(length=15), nullable=True),
        sa.Column("to_region", sa.String(length=15), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["command_tasks.id"],
            name=op.f("fk_command_task_changes_task_id_command_tasks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_task_changes")),
    )  # fmt: skip
    with op.batch_alter_table("command_task_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_command_task_changes_task_id"), ["task_id"], unique=False
        )


def _create_board() -> None:
    op.create_table(
        "command_figures",
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"],
            name=op.f("fk_command_figures_region_code_regions"),
        ),
        sa.PrimaryKeyConstraint("region_code", "day", "key", name=op.f("pk_command_figures")),
    )  # fmt: skip
    op.create_table(
        "command_briefings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("written_at", UTCDateTime(), nullable=False),
        sa.Column("written_by", sa.String(length=80), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("csv", sa.Text(), nullable=True),
        sa.Column("path", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "html IS NOT NULL OR path IS NOT NULL", name=op.f("ck_command_briefings_content")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"],
            name=op.f("fk_command_briefings_region_code_regions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_briefings")),
        sa.UniqueConstraint(
            "region_code", "day", name=op.f("uq_command_briefings_region_code_day")
        ),
    )  # fmt: skip


def upgrade() -> None:
    _create_tasks()
    _create_board()
    grant_rights(RIGHTS, ROLE_RIGHTS)


def downgrade() -> None:
    revoke_rights(RIGHTS)
    op.drop_table("command_briefings")
    op.drop_table("command_figures")
    with op.batch_alter_table("command_task_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_command_task_changes_task_id"))
    op.drop_table("command_task_changes")
    with op.batch_alter_table("command_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_command_tasks_status_deadline")
        batch_op.drop_index("ix_command_tasks_region_status_deadline")
        batch_op.drop_index(batch_op.f("ix_command_tasks_origin_region_code"))
    op.drop_table("command_tasks")
