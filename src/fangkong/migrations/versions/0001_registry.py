"""registry: regions, households, venues, persons

Revision ID: 0001
Revises:
Create Date: 2026-11-29 18:01:03.202364
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "regions",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("parent_code", sa.String(length=15), nullable=True),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("area_type", sa.String(length=8), nullable=True),
        sa.Column("geojson", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "level IN ('province','city','county','township','community','compound')",
            name=op.f("ck_regions_level"),
        ),
        sa.CheckConstraint(
            "population IS NULL OR population >= 0", name=op.f("ck_regions_population")
        ),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["regions.code"], name=op.f("fk_regions_parent_code_regions")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
    )
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_regions_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "households",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("residence_code", sa.String(length=15), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["residence_code"], ["regions.code"], name=op.f("fk_households_residence_code_regions")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_households")),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_households_residence_code"), ["residence_code"], unique=False
        )

    op.create_table(
        "venues",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name=op.f("ck_venues_capacity")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_venues_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_venues")),
    )
    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venues_region_code"), ["region_code"], unique=False)
        batch_op.create_index("ix_venues_type_region", ["type", "region_code"], unique=False)

    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("doc_type", sa.String(length=24), nullable=False),
        sa.Column("doc_country", sa.String(length=3), nullable=False),
        sa.Column("doc_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("doc_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("household_code", sa.String(length=40), nullable=True),
        sa.Column("residence_code", sa.String(length=15), nullable=True),
        sa.Column("venue_code", sa.String(length=40), nullable=True),
        sa.Column("occupation", sa.String(length=24), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("sex IN ('M','F')", name=op.f("ck_persons_sex")),
        sa.ForeignKeyConstraint(
            ["household_code"],
            ["households.code"],
            name=op.f("fk_persons_household_code_households"),
        ),
        sa.ForeignKeyConstraint(
            ["residence_code"], ["regions.code"], name=op.f("fk_persons_residence_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["venue_code"], ["venues.code"], name=op.f("fk_persons_venue_code_venues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
        sa.UniqueConstraint("doc_hash", name=op.f("uq_persons_doc_hash")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_persons_household_code"), ["household_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_persons_phone_hash"), ["phone_hash"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_persons_residence_code"), ["residence_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_persons_venue_code"), ["venue_code"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_venue_code"))
        batch_op.drop_index(batch_op.f("ix_persons_residence_code"))
        batch_op.drop_index(batch_op.f("ix_persons_phone_hash"))
        batch_op.drop_index(batch_op.f("ix_persons_household_code"))

    op.drop_table("persons")
    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.drop_index("ix_venues_type_region")
        batch_op.drop_index(batch_op.f("ix_venues_region_code"))

    op.drop_table("venues")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_residence_code"))

    op.drop_table("households")
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_regions_parent_code"))

    op.drop_table("regions")
