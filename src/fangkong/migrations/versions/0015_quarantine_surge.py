"""quarantine surge: facilities' opening time, a placement's period anchor, tests' source,
alerts without a placement (not placed by the deadline)

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02 10:00:00

- ``quarantine_facilities.opens_at``: when an activating facility takes its first guest
  (备用转启用: standby hotels after the pack's lead time, fangcang after the survey's
  activation days).
- ``quarantine_placements.period_from``: day 1 of the period (a close contact's last
  exposure); ``starts_at`` stays the time the placement takes effect. NULL: ``starts_at``.
- ``quarantine_tests.source_ref`` (unique): the lab result a test was recorded from, so a
  result is recorded once.
- ``quarantine_alerts``: ``placement_id`` may be NULL (kind ``not_placed``: a person due
  for placement has none), ``due_at`` the deadline the alert is about; the kind list gains
  ``not_placed``. SQLite rebuilds the table (batch mode) to change the check constraint.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.store.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_OLD_KINDS = "kind IN ('absconded','abnormal_check','positive_test','missed_check')"
_NEW_KINDS = "kind IN ('absconded','abnormal_check','positive_test','missed_check','not_placed')"


def upgrade() -> None:
    op.add_column("quarantine_facilities", sa.Column("opens_at", UTCDateTime(), nullable=True))
    op.add_column("quarantine_placements", sa.Column("period_from", UTCDateTime(), nullable=True))
    op.add_column("quarantine_tests", sa.Column("source_ref", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_quarantine_tests_source_ref", "quarantine_tests", ["source_ref"], unique=True
    )
    with op.batch_alter_table("quarantine_alerts", recreate="auto") as batch:
        batch.add_column(sa.Column("due_at", UTCDateTime(), nullable=True))
        batch.alter_column("placement_id", existing_type=sa.Integer(), nullable=True)
        batch.drop_constraint(op.f("ck_quarantine_alerts_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_quarantine_alerts_kind"), _NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM quarantine_alerts WHERE placement_id IS NULL")
    with op.batch_alter_table("quarantine_alerts", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_quarantine_alerts_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_quarantine_alerts_kind"), _OLD_KINDS)
        batch.alter_column("placement_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("due_at")
    op.drop_index("ix_quarantine_tests_source_ref", table_name="quarantine_tests")
    with op.batch_alter_table("quarantine_tests") as batch:
        batch.drop_column("source_ref")
    with op.batch_alter_table("quarantine_placements") as batch:
        batch.drop_column("period_from")
    with op.batch_alter_table("quarantine_facilities") as batch:
        batch.drop_column("opens_at")
