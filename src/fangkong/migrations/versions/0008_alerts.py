"""early-warning signals, alerts and their lifecycle

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 20:30:00

The tables of fangkong.alerts.tables: signal_counts (counts per reporting point, signal,
region and day), alerts (evidence, owner, severity, deadlines, escalation) and
alert_changes (every step). A data part adds the alert rights and grants them to the
shipped roles (a copy of ``fangkong.auth.rights`` as it was when this revision was
written: a migration never changes with the code).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.migrations.grants import grant_rights, revoke_rights
from fangkong.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SIGNALS = (
    "signal IN ('fever_clinic','pharmacy_antipyretic','pharmacy_cough','pharmacy_antiviral',"
    "'pharmacy_antibiotic','pharmacy_cold','lab_positive','positive_outside_quarantine',"
    "'pneumonia_unknown_cause','school_absence','environment_positive','cold_chain_positive',"
    "'screening_positive')"
)
_STATUSES = "status IN ('raised','verified','investigated','closed','dismissed')"
_ACTIONS = (
    "action IN ('raised','repeated','verified','investigated','closed','dismissed','escalated')"
)

RIGHTS = [
    ("alert.read", "查看预警与四早看板", "see alerts and the four-earlies board"),
    ("alert.handle", "处置预警（核实、调查、结案、排除）",
     "handle alerts (verify, investigate, close, dismiss)"),
    ("signal.submit", "上报监测信号", "submit surveillance signals"),
]  # fmt: skip
ROLE_RIGHTS = {
    # alerts hold counts per region, no personal data: every staff role may read them
    "admin": ["alert.read"],
    "commander": ["alert.read", "alert.handle"],
    "epidemiologist": ["alert.read", "alert.handle", "signal.submit"],
    "contact_tracer": ["alert.read"],
    "lab": ["signal.submit"],
    "viewer": ["alert.read"],
}


def _tables() -> None:
    op.create_table(
        "signal_counts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("signal", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(_SIGNALS, name=op.f("ck_signal_counts_signal")),
        sa.CheckConstraint("count >= 0", name=op.f("ck_signal_counts_count")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_signal_counts_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_counts")),
        sa.UniqueConstraint("key", name=op.f("uq_signal_counts_key")),
    )
    with op.batch_alter_table("signal_counts", schema=None) as batch_op:
        batch_op.create_index("ix_signal_counts_signal_day", ["signal", "day"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("signals", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("frequency", sa.String(length=4), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("first_period", sa.Date(), nullable=False),
        sa.Column("last_period", sa.Date(), nullable=False),
        sa.Column("observed", sa.Float(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("rules_source", sa.String(length=160), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("verify_due", UTCDateTime(), nullable=False),
        sa.Column("investigate_due", UTCDateTime(), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column("investigated_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("escalated_to", sa.String(length=15), nullable=True),
        sa.Column("escalated_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('trigger','detection')", name=op.f("ck_alerts_kind")),
        sa.CheckConstraint("severity IN ('low','medium','high')", name=op.f("ck_alerts_severity")),
        sa.CheckConstraint(_STATUSES, name=op.f("ck_alerts_status")),
        sa.CheckConstraint("escalations >= 0", name=op.f("ck_alerts_escalations")),
        sa.ForeignKeyConstraint(
            ["escalated_to"], ["regions.code"], name=op.f("fk_alerts_escalated_to_regions")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_alerts_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_key"), ["key"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_region_code"), ["region_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_status"), ["status"], unique=False)

    op.create_table(
        "alert_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(_ACTIONS, name=op.f("ck_alert_changes_action")),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_changes_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_changes")),
    )
    with op.batch_alter_table("alert_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_changes_alert_id"), ["alert_id"], unique=False)


def _grant() -> None:
    grant_rights(RIGHTS, ROLE_RIGHTS)


def upgrade() -> None:
    _tables()
    _grant()


def downgrade() -> None:
    revoke_rights(RIGHTS)
    with op.batch_alter_table("alert_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_changes_alert_id"))
    op.drop_table("alert_changes")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_status"))
        batch_op.drop_index(batch_op.f("ix_alerts_region_code"))
        batch_op.drop_index(batch_op.f("ix_alerts_key"))
    op.drop_table("alerts")
    with op.batch_alter_table("signal_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_signal_counts_signal_day")
    op.drop_table("signal_counts")
