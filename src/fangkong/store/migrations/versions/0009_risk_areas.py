"""risk areas: designations, lifting history, sealed-area needs

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 20:30:00

Reserved in the chain so that capabilities built in parallel keep a linear history;
filled in by the capability that owns it.
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
