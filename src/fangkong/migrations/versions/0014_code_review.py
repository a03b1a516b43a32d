"""health codes: review time and the facts they were evaluated on

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-30 12:00:00

``health_codes.review_at``: the first instant after the evaluation at which anything the
stored explanation depends on can change without a new fact (an interval starts or
ends, a stored fact becomes visible); ``fact_count`` / ``last_fact_id``: how many
``person_facts`` rows (voided included) the person had and the greatest id, when the code
was evaluated. ``recompute_all`` re-explains the codes whose review time has come or
whose facts moved, so stored reasons always equal the recomputed ones.

Codes stored before are due at once (``review_at = evaluated_at``): the next recompute
re-explains them and fills the new columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.store.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs on both backends: no copy of the table
    op.add_column("health_codes", sa.Column("review_at", UTCDateTime(), nullable=True))
    op.add_column(
        "health_codes",
        sa.Column("fact_count", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("health_codes", sa.Column("last_fact_id", sa.Integer(), nullable=True))
    op.execute("UPDATE health_codes SET review_at = evaluated_at")
    op.create_index(op.f("ix_health_codes_review_at"), "health_codes", ["review_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_health_codes_review_at"), table_name="health_codes")
    with op.batch_alter_table("health_codes") as batch:
        batch.drop_column("last_fact_id")
        batch.drop_column("fact_count")
        batch.drop_column("review_at")
