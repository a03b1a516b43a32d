"""device tokens of a unit (a region, optionally a role); a task change's idempotency key

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 11:00:00

Issue 18, point 4 (docs/command.md, "Tasks on a unit's device"):

- ``device_tokens.region_code`` (a region, indexed) and ``device_tokens.role`` (a role of
  ``roles``): a unit's duty terminal (值班终端) — scope ``tasks`` — is bound to a region
  (township and above) and optionally a role instead of a venue. A token holds a venue
  or a region, never both, and a role only with a region (check ``binding``). The tokens
  issued before keep their venue and change in nothing.
- ``command_task_changes.ref``: the sender's idempotency key of a change (≤ 64
  characters), unique per task, so a device that resends a change after a lost answer
  does not write it twice.

No right is added: a device scope's rights are code (``fangkong.auth.rights``), not rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_BINDING = (
    "(region_code IS NULL AND role IS NULL) OR (venue_code IS NULL AND region_code IS NOT NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("device_tokens") as batch:
        batch.add_column(sa.Column("region_code", sa.String(length=15), nullable=True))
        batch.add_column(sa.Column("role", sa.String(length=32), nullable=True))
        batch.create_foreign_key(
            op.f("fk_device_tokens_region_code_regions"), "regions", ["region_code"], ["code"]
        )
        batch.create_foreign_key(op.f("fk_device_tokens_role_roles"), "roles", ["role"], ["name"])
        batch.create_index(op.f("ix_device_tokens_region_code"), ["region_code"], unique=False)
        batch.create_check_constraint(op.f("ck_device_tokens_binding"), _BINDING)
    with op.batch_alter_table("command_task_changes") as batch:
        batch.add_column(sa.Column("ref", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_command_task_changes_task_id_ref"), ["task_id", "ref"]
        )


def downgrade() -> None:
    with op.batch_alter_table("command_task_changes") as batch:
        batch.drop_constraint(op.f("uq_command_task_changes_task_id_ref"), type_="unique")
        batch.drop_column("ref")
    # a unit's token has no venue: it cannot outlive the columns that bind it
    op.execute("DELETE FROM device_tokens WHERE region_code IS NOT NULL")
    with op.batch_alter_table("device_tokens") as batch:
        batch.drop_constraint(op.f("ck_device_tokens_binding"), type_="check")
        batch.drop_index(op.f("ix_device_tokens_region_code"))
        batch.drop_constraint(op.f("fk_device_tokens_role_roles"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_device_tokens_region_code_regions"), type_="foreignkey")
        batch.drop_column("role")
        batch.drop_column("region_code")
