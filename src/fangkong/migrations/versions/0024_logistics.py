"""logistics: road checkpoints, crossings and the people of a crossing (issue 20, part 1)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 18:00:00

The tables of fangkong.logistics.tables — logistics_checkpoints (a road checkpoint,
service area, toll station or freight hub, its region, road and venue),
logistics_crossings (one vehicle through one checkpoint, unique per (checkpoint, ref),
with the check's outcome), logistics_crossing_people (driver and passengers, the facts
read and what was done) — and a data part: the logistics rights granted to the shipped
roles (a copy of ``fangkong.auth.rights`` as it was when this revision was written).
Downgrade removes both.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.migrations.grants import grant_rights, revoke_rights
from fangkong.store.types import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

RIGHTS = [
    ("logistics.read", "查看卡口与通行记录", "see checkpoints and crossings"),
    ("logistics.crossing", "登记车辆通行查验", "record crossings at checkpoints"),
    ("logistics.manage", "管理卡口、导入通行记录", "manage checkpoints, import crossings"),
]
_ALL = ["logistics.read", "logistics.crossing", "logistics.manage"]
ROLE_RIGHTS = {
    "commander": _ALL,
    "epidemiologist": ["logistics.read"],
    "port_officer": _ALL,
    "transfer_team": ["logistics.read"],
    "viewer": ["logistics.read"],
}


def upgrade() -> None:
    op.create_table(
        "logistics_checkpoints",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("road", sa.String(length=60), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("venue_code", sa.String(length=40), nullable=True),
        sa.Column("lanes", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('road_checkpoint','service_area','toll_station','freight_hub')",
            name=op.f("ck_logistics_checkpoints_kind"),
        ),
        sa.CheckConstraint("lanes >= 1", name=op.f("ck_logistics_checkpoints_lanes")),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["regions.code"],
            name=op.f("fk_logistics_checkpoints_region_code_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["venue_code"], ["venues.code"], name=op.f("fk_logistics_checkpoints_venue_code_venues")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_logistics_checkpoints")),
        sa.UniqueConstraint("venue_code", name=op.f("uq_logistics_checkpoints_venue_code")),
    )
    op.create_index(
        op.f("ix_logistics_checkpoints_region_code"),
        "logistics_checkpoints",
        ["region_code"],
        unique=False,
    )
    op.create_table(
        "logistics_crossings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("checkpoint_code", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("vehicle_kind", sa.String(length=8), nullable=False),
        sa.Column("cargo_class", sa.String(length=16), nullable=False),
        sa.Column("origin_region", sa.String(length=12), nullable=False),
        sa.Column("destination_region", sa.String(length=12), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("pass_serial", sa.String(length=32), nullable=True),
        sa.Column("pass_verdict", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("waited_minutes", sa.Integer(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("via", sa.String(length=4), nullable=False),
        sa.CheckConstraint(
            "direction IN ('in','out')", name=op.f("ck_logistics_crossings_direction")
        ),
        sa.CheckConstraint(
            "vehicle_kind IN ('lorry','van','car','bus')",
            name=op.f("ck_logistics_crossings_vehicle_kind"),
        ),
        sa.CheckConstraint(
            "cargo_class IN ('key_supplies','medical','ordinary','none')",
            name=op.f("ck_logistics_crossings_cargo_class"),
        ),
        sa.CheckConstraint(
            "pass_verdict IN ('none','valid','invalid','revoked','expired','wrong_vehicle',"
            "'wrong_route','wrong_driver')",
            name=op.f("ck_logistics_crossings_pass_verdict"),
        ),
        sa.CheckConstraint(
            "outcome IN ('passed','sampled_released','turned_back','closed_loop')",
            name=op.f("ck_logistics_crossings_outcome"),
        ),
        sa.CheckConstraint("via IN ('api','file','form')", name=op.f("ck_logistics_crossings_via")),
        sa.ForeignKeyConstraint(
            ["checkpoint_code"],
            ["logistics_checkpoints.code"],
            name=op.f("fk_logistics_crossings_checkpoint_code_logistics_checkpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logistics_crossings")),
        sa.UniqueConstraint(
            "checkpoint_code", "ref", name=op.f("uq_logistics_crossings_checkpoint_code_ref")
        ),
    )
    op.create_index(
        "ix_logistics_crossings_checkpoint_at",
        "logistics_crossings",
        ["checkpoint_code", "at"],
        unique=False,
    )
    op.create_table(
        "logistics_crossing_people",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("crossing_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=9), nullable=False),
        sa.Column("code_colour", sa.String(length=6), nullable=False),
        sa.Column("test_valid", sa.Boolean(), nullable=False),
        sa.Column("from_risk_area", sa.Boolean(), nullable=False),
        sa.Column("sampled", sa.Boolean(), nullable=False),
        sa.Column("traveller_id", sa.Integer(), nullable=True),
        sa.Column("sample_barcode", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "role IN ('driver','passenger')", name=op.f("ck_logistics_crossing_people_role")
        ),
        sa.CheckConstraint(
            "code_colour IN ('green','yellow','red','none')",
            name=op.f("ck_logistics_crossing_people_code_colour"),
        ),
        sa.ForeignKeyConstraint(
            ["crossing_id"],
            ["logistics_crossings.id"],
            name=op.f("fk_logistics_crossing_people_crossing_id_logistics_crossings"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_logistics_crossing_people_person_id_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["traveller_id"],
            ["arrivals_travellers.id"],
            name=op.f("fk_logistics_crossing_people_traveller_id_arrivals_travellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logistics_crossing_people")),
    )
    op.create_index(
        op.f("ix_logistics_crossing_people_crossing_id"),
        "logistics_crossing_people",
        ["crossing_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_logistics_crossing_people_person_id"),
        "logistics_crossing_people",
        ["person_id"],
        unique=False,
    )
    grant_rights(RIGHTS, ROLE_RIGHTS)


def downgrade() -> None:
    revoke_rights(RIGHTS)
    op.drop_table("logistics_crossing_people")
    op.drop_table("logistics_crossings")
    op.drop_table("logistics_checkpoints")
