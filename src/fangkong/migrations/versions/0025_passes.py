"""key-freight passes and their drivers (重点物资运输车辆通行证)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 18:00:00

The tables of fangkong.passes.tables: freight_passes (one row per pass: serial, revision,
vehicle, cargo class, route, period, issuing region, revocation) and freight_pass_drivers
(its drivers, registry persons, with what was checked at issue). A data part adds the
pass rights and grants them to the shipped roles (a copy as this revision was written: a
migration never changes with the code).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.migrations.grants import grant_rights, revoke_rights
from fangkong.store.types import UTCDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

RIGHTS = [
    ("pass.read", "查看重点物资运输车辆通行证", "see key-freight vehicle passes"),
    ("pass.issue", "签发、换发、撤销通行证", "issue, renew and revoke passes"),
]
ROLE_RIGHTS = {
    "commander": ["pass.read", "pass.issue"],
    "epidemiologist": ["pass.read"],
    "port_officer": ["pass.read"],
    "transfer_team": ["pass.read"],
    "viewer": ["pass.read"],
}
_KINDS = "'lorry','van','car','bus'"
_CARGO = "'key_supplies','medical','ordinary','none'"
_COLOURS = "'green','yellow','red','none'"


def upgrade() -> None:
    op.create_table(
        "freight_passes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("serial", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("vehicle_kind", sa.String(length=8), nullable=False),
        sa.Column("cargo_class", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("origin_region", sa.String(length=12), nullable=False),
        sa.Column("destination_region", sa.String(length=12), nullable=False),
        sa.Column("via", sa.JSON(), nullable=False),
        sa.Column("closed_loop", sa.Boolean(), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("issued_by", sa.String(length=80), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.Column("revoke_reason", sa.String(length=500), nullable=True),
        sa.Column("pack_ref", sa.String(length=80), nullable=False),
        sa.CheckConstraint(f"vehicle_kind IN ({_KINDS})",
                           name=op.f("ck_freight_passes_vehicle_kind")),
        sa.CheckConstraint(f"cargo_class IN ({_CARGO})",
                           name=op.f("ck_freight_passes_cargo_class")),
        sa.CheckConstraint("valid_until > valid_from", name=op.f("ck_freight_passes_period")),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_freight_passes_revision")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_freight_passes_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_freight_passes")),
        sa.UniqueConstraint("serial", name=op.f("uq_freight_passes_serial")),
    )  # fmt: skip
    with op.batch_alter_table("freight_passes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_freight_passes_plate"), ["plate"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_freight_passes_region_code"), ["region_code"], unique=False
        )
        batch_op.create_index("ix_freight_passes_valid_until", ["valid_until"], unique=False)
    op.create_table(
        "freight_pass_drivers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("tested_at", UTCDateTime(), nullable=False),
        sa.Column("code_colour", sa.String(length=8), nullable=False),
        sa.Column("from_risk_area", sa.Boolean(), nullable=False),
        sa.CheckConstraint(f"code_colour IN ({_COLOURS})",
                           name=op.f("ck_freight_pass_drivers_code_colour")),
        sa.ForeignKeyConstraint(
            ["pass_id"], ["freight_passes.id"],
            name=op.f("fk_freight_pass_drivers_pass_id_freight_passes"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_freight_pass_drivers_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_freight_pass_drivers")),
        sa.UniqueConstraint(
            "pass_id", "person_id", name=op.f("uq_freight_pass_drivers_pass_id_person_id")
        ),
    )  # fmt: skip
    with op.batch_alter_table("freight_pass_drivers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_freight_pass_drivers_person_id"), ["person_id"], unique=False
        )
    grant_rights(RIGHTS, ROLE_RIGHTS)


def downgrade() -> None:
    revoke_rights(RIGHTS)
    with op.batch_alter_table("freight_pass_drivers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_freight_pass_drivers_person_id"))
    op.drop_table("freight_pass_drivers")
    with op.batch_alter_table("freight_passes", schema=None) as batch_op:
        batch_op.drop_index("ix_freight_passes_valid_until")
        batch_op.drop_index(batch_op.f("ix_freight_passes_region_code"))
        batch_op.drop_index(batch_op.f("ix_freight_passes_plate"))
    op.drop_table("freight_passes")
