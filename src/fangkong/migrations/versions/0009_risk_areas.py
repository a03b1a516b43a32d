"""risk areas: designations, lifting history, sealed-area needs

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 20:30:00

The tables of fangkong.riskareas.tables: risk_areas (one row per area with its current
level), risk_area_households (the households of a building-level area),
risk_area_changes (every level change: when, who or what, which rule), risk_area_needs
(residents' supplies and medical requests as tasks with deadlines) and
risk_area_need_changes (their status history). A data part adds the risk-area rights
and grants them to the shipped roles (a copy of ``fangkong.auth.rights`` as it was when
this revision was written: a migration never changes with the code).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.migrations.grants import grant_rights, revoke_rights
from fangkong.store.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RIGHTS = [
    ("riskarea.read", "查看风险区（原因、历史、建议）",
     "see risk areas (reasons, history, suggestions)"),
    ("riskarea.designate", "划定、调整风险区", "designate and change risk areas"),
    ("need.manage", "处理封控区居民需求", "handle the needs of residents of sealed areas"),
]  # fmt: skip
ROLE_RIGHTS = {
    "commander": ["riskarea.read", "riskarea.designate"],
    "epidemiologist": ["riskarea.read", "riskarea.designate", "need.manage"],
    "contact_tracer": ["riskarea.read"],
    "port_officer": ["riskarea.read"],
    "transfer_team": ["riskarea.read"],
    "quarantine_manager": ["riskarea.read", "need.manage"],
    "viewer": ["riskarea.read"],
}


def _create_tables() -> None:
    op.create_table(
        "risk_areas",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("building", sa.String(length=60), nullable=True),
        sa.Column("granularity", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("designated_at", UTCDateTime(), nullable=False),
        sa.Column("designated_by", sa.String(length=80), nullable=False),
        sa.Column("pack_name", sa.String(length=60), nullable=False),
        sa.Column("pack_version", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "granularity IN ('building','compound','community')",
            name=op.f("ck_risk_areas_granularity"),
        ),
        sa.CheckConstraint("level IN ('high','medium','low')", name=op.f("ck_risk_areas_level")),
        sa.CheckConstraint(
            "origin IN ('designated','downgraded')", name=op.f("ck_risk_areas_origin")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_risk_areas_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_areas")),
        sa.UniqueConstraint("code", name=op.f("uq_risk_areas_code")),
    )
    with op.batch_alter_table("risk_areas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_areas_level"), ["level"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_risk_areas_region_code"), ["region_code"], unique=False
        )
    op.create_table(
        "risk_area_households",
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("household_code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["risk_areas.id"],
            name=op.f("fk_risk_area_households_area_id_risk_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["household_code"], ["households.code"],
            name=op.f("fk_risk_area_households_household_code_households"),
        ),
        sa.PrimaryKeyConstraint("area_id", "household_code", name=op.f("pk_risk_area_households")),
    )  # fmt: skip
    op.create_table(
        "risk_area_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("from_level", sa.String(length=8), nullable=True),
        sa.Column("to_level", sa.String(length=8), nullable=False),
        sa.Column("origin", sa.String(length=12), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("pack_name", sa.String(length=60), nullable=False),
        sa.Column("pack_version", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["risk_areas.id"], name=op.f("fk_risk_area_changes_area_id_risk_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_area_changes")),
    )
    with op.batch_alter_table("risk_area_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_area_changes_area_id"), ["area_id"], unique=False)
    op.create_table(
        "risk_area_needs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("raised_by", sa.String(length=80), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("assigned_to", sa.String(length=80), nullable=True),
        sa.Column("status_at", UTCDateTime(), nullable=False),
        sa.Column("status_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "status IN ('open','in_progress','done','cancelled')",
            name=op.f("ck_risk_area_needs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["risk_areas.id"], name=op.f("fk_risk_area_needs_area_id_risk_areas")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_risk_area_needs_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_area_needs")),
    )
    with op.batch_alter_table("risk_area_needs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_area_needs_area_id"), ["area_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_risk_area_needs_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_risk_area_needs_status_due_at", ["status", "due_at"], unique=False
        )
    op.create_table(
        "risk_area_need_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"], ["risk_area_needs.id"],
            name=op.f("fk_risk_area_need_changes_need_id_risk_area_needs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_area_need_changes")),
    )  # fmt: skip
    with op.batch_alter_table("risk_area_need_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_area_need_changes_need_id"), ["need_id"], unique=False
        )


def _grant_rights() -> None:
    grant_rights(RIGHTS, ROLE_RIGHTS)


def upgrade() -> None:
    _create_tables()
    _grant_rights()


def downgrade() -> None:
    revoke_rights(RIGHTS)
    with op.batch_alter_table("risk_area_need_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_area_need_changes_need_id"))
    op.drop_table("risk_area_need_changes")
    with op.batch_alter_table("risk_area_needs", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_area_needs_status_due_at")
        batch_op.drop_index(batch_op.f("ix_risk_area_needs_person_id"))
        batch_op.drop_index(batch_op.f("ix_risk_area_needs_area_id"))
    op.drop_table("risk_area_needs")
    with op.batch_alter_table("risk_area_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_area_changes_area_id"))
    op.drop_table("risk_area_changes")
    op.drop_table("risk_area_households")
    with op.batch_alter_table("risk_areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_areas_region_code"))
        batch_op.drop_index(batch_op.f("ix_risk_areas_level"))
    op.drop_table("risk_areas")
