"""testing: samples, pooled tubes, labs, results, test orders, mass-testing campaigns

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 20:30:00

Reserved in the chain so that capabilities built in parallel keep a linear history;
filled in by the capability that owns it.
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
