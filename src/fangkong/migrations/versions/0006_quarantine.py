"""quarantine: facilities, rooms, bookings, placements, follow-up, alerts, candidate sites

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 20:30:00

The tables of fangkong.quarantine.tables, and the quarantine rights granted to the
shipped roles (a copy of ``fangkong.auth.rights`` as it was when this revision was
written: a migration never changes with the code). Grants an admin made since are left
alone; downgrade removes these rights, every grant of them, and the tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.migrations.grants import grant_rights, revoke_rights
from fangkong.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RIGHTS = [
    (
        "quarantine.read",
        "查看隔离场所、安置与准备情况",
        "see quarantine sites, placements, readiness",
    ),
    ("quarantine.place", "安置隔离人员、随访、解除", "place, follow up and release people"),
    ("quarantine.manage", "管理隔离场所与备选场地", "manage facilities and candidate sites"),
    ("quarantine.adjust", "延长或缩短隔离期", "extend or shorten quarantine periods"),
]
_ALL = ["quarantine.read", "quarantine.place", "quarantine.manage", "quarantine.adjust"]
ROLE_RIGHTS = {
    "commander": ["quarantine.read", "quarantine.manage", "quarantine.adjust"],
    "epidemiologist": _ALL,
    "contact_tracer": ["quarantine.read", "quarantine.place"],
    "port_officer": ["quarantine.read", "quarantine.place"],
    "transfer_team": ["quarantine.read", "quarantine.place"],
    "quarantine_manager": ["quarantine.read", "quarantine.place", "quarantine.manage"],
    "viewer": ["quarantine.read"],
}


def upgrade() -> None:
    op.create_table(
        "quarantine_facilities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("staff", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "kind IN ('hotel','fangcang','designated_hospital')",
            name=op.f("ck_quarantine_facilities_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('standby','activating','open','closing')",
            name=op.f("ck_quarantine_facilities_status"),
        ),
        sa.CheckConstraint("staff >= 0", name=op.f("ck_quarantine_facilities_staff")),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["regions.code"],
            name=op.f("fk_quarantine_facilities_region_code_regions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_facilities")),
        sa.UniqueConstraint("code", name=op.f("uq_quarantine_facilities_code")),
    )
    with op.batch_alter_table("quarantine_facilities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantine_facilities_region_code"), ["region_code"], unique=False
        )

    op.create_table(
        "quarantine_sites",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("site_type", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("floor_area_m2", sa.Float(), nullable=False),
        sa.Column("rooms", sa.Integer(), nullable=True),
        sa.Column("toilets", sa.Integer(), nullable=False),
        sa.Column("power", sa.String(length=12), nullable=False),
        sa.Column("access", sa.String(length=12), nullable=False),
        sa.Column("hospital_km", sa.Float(), nullable=False),
        sa.Column("surveyed_at", UTCDateTime(), nullable=False),
        sa.Column("surveyed_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "access IN ('poor','road','highway')", name=op.f("ck_quarantine_sites_access")
        ),
        sa.CheckConstraint(
            "power IN ('none','grid','grid_backup')", name=op.f("ck_quarantine_sites_power")
        ),
        sa.CheckConstraint(
            "site_type IN ('gym','exhibition_hall','school','hotel','warehouse','other')",
            name=op.f("ck_quarantine_sites_site_type"),
        ),
        sa.CheckConstraint(
            "floor_area_m2 >= 0 AND toilets >= 0 AND hospital_km >= 0",
            name=op.f("ck_quarantine_sites_sizes"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_quarantine_sites_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_sites")),
        sa.UniqueConstraint("code", name=op.f("uq_quarantine_sites_code")),
    )
    with op.batch_alter_table("quarantine_sites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantine_sites_region_code"), ["region_code"], unique=False
        )

    op.create_table(
        "quarantine_rooms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "kind IN ('single','family','accessible')", name=op.f("ck_quarantine_rooms_kind")
        ),
        sa.CheckConstraint(
            "state IN ('free','occupied','out_of_service')", name=op.f("ck_quarantine_rooms_state")
        ),
        sa.CheckConstraint("beds >= 1", name=op.f("ck_quarantine_rooms_beds")),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["quarantine_facilities.id"],
            name=op.f("fk_quarantine_rooms_facility_id_quarantine_facilities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_rooms")),
        sa.UniqueConstraint(
            "facility_id", "code", name=op.f("uq_quarantine_rooms_facility_id_code")
        ),
    )
    with op.batch_alter_table("quarantine_rooms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quarantine_rooms_facility_state", ["facility_id", "state"], unique=False
        )

    op.create_table(
        "quarantine_bookings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("risk_group", sa.String(length=24), nullable=False),
        sa.Column("booked_at", UTCDateTime(), nullable=False),
        sa.Column("freed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("active IS NULL OR active", name=op.f("ck_quarantine_bookings_active")),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["quarantine_rooms.id"],
            name=op.f("fk_quarantine_bookings_room_id_quarantine_rooms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_bookings")),
        sa.UniqueConstraint(
            "room_id", "active", name=op.f("uq_quarantine_bookings_room_id_active")
        ),
    )
    op.create_table(
        "quarantine_placements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("risk_group", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=15), nullable=True),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("planned_end", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("test_days", sa.String(length=200), nullable=False),
        sa.Column("follows_id", sa.Integer(), nullable=True),
        sa.Column("request_ref", sa.String(length=64), nullable=True),
        sa.Column("pack_ref", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('centralised','home_quarantine','home_monitoring')",
            name=op.f("ck_quarantine_placements_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('active','released','converted','absconded','cancelled')",
            name=op.f("ck_quarantine_placements_status"),
        ),
        sa.CheckConstraint(
            "active IS NULL OR active", name=op.f("ck_quarantine_placements_active")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["quarantine_bookings.id"],
            name=op.f("fk_quarantine_placements_booking_id_quarantine_bookings"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["quarantine_facilities.id"],
            name=op.f("fk_quarantine_placements_facility_id_quarantine_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["follows_id"],
            ["quarantine_placements.id"],
            name=op.f("fk_quarantine_placements_follows_id_quarantine_placements"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_quarantine_placements_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["regions.code"],
            name=op.f("fk_quarantine_placements_region_code_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["quarantine_rooms.id"],
            name=op.f("fk_quarantine_placements_room_id_quarantine_rooms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_placements")),
        sa.UniqueConstraint(
            "person_id", "active", name=op.f("uq_quarantine_placements_person_id_active")
        ),
        sa.UniqueConstraint("request_ref", name=op.f("uq_quarantine_placements_request_ref")),
    )
    with op.batch_alter_table("quarantine_placements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantine_placements_facility_id"), ["facility_id"], unique=False
        )

    op.create_table(
        "quarantine_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.CheckConstraint(
            "kind IN ('absconded','abnormal_check','positive_test','missed_check')",
            name=op.f("ck_quarantine_alerts_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_quarantine_alerts_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["quarantine_placements.id"],
            name=op.f("fk_quarantine_alerts_placement_id_quarantine_placements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_alerts")),
    )
    with op.batch_alter_table("quarantine_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_alerts_open", ["kind", "resolved_at"], unique=False)

    op.create_table(
        "quarantine_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("symptoms", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "status IN ('done','not_done','abnormal')", name=op.f("ck_quarantine_checks_status")
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["quarantine_placements.id"],
            name=op.f("fk_quarantine_checks_placement_id_quarantine_placements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_checks")),
        sa.UniqueConstraint(
            "placement_id", "day", name=op.f("uq_quarantine_checks_placement_id_day")
        ),
    )
    with op.batch_alter_table("quarantine_checks", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_checks_day", ["day"], unique=False)

    op.create_table(
        "quarantine_period_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("old_end", UTCDateTime(), nullable=True),
        sa.Column("new_end", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["quarantine_placements.id"],
            name=op.f("fk_quarantine_period_changes_placement_id_quarantine_placements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_period_changes")),
    )
    with op.batch_alter_table("quarantine_period_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantine_period_changes_placement_id"), ["placement_id"], unique=False
        )

    op.create_table(
        "quarantine_tests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("day_number", sa.Integer(), nullable=False),
        sa.Column("sampled_at", UTCDateTime(), nullable=False),
        sa.Column("result", sa.String(length=12), nullable=False),
        sa.Column("reported_at", UTCDateTime(), nullable=True),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "result IN ('pending','negative','positive')", name=op.f("ck_quarantine_tests_result")
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["quarantine_placements.id"],
            name=op.f("fk_quarantine_tests_placement_id_quarantine_placements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_tests")),
    )
    with op.batch_alter_table("quarantine_tests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantine_tests_placement_id"), ["placement_id"], unique=False
        )

    # ### end Alembic commands ###

    grant_rights(RIGHTS, ROLE_RIGHTS)


def downgrade() -> None:
    revoke_rights(RIGHTS)
    with op.batch_alter_table("quarantine_tests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_tests_placement_id"))

    op.drop_table("quarantine_tests")
    with op.batch_alter_table("quarantine_period_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_period_changes_placement_id"))

    op.drop_table("quarantine_period_changes")
    with op.batch_alter_table("quarantine_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_checks_day")

    op.drop_table("quarantine_checks")
    with op.batch_alter_table("quarantine_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_alerts_open")

    op.drop_table("quarantine_alerts")
    with op.batch_alter_table("quarantine_placements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_placements_facility_id"))

    op.drop_table("quarantine_placements")
    op.drop_table("quarantine_bookings")
    with op.batch_alter_table("quarantine_rooms", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_rooms_facility_state")

    op.drop_table("quarantine_rooms")
    with op.batch_alter_table("quarantine_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_sites_region_code"))

    op.drop_table("quarantine_sites")
    with op.batch_alter_table("quarantine_facilities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_facilities_region_code"))

    op.drop_table("quarantine_facilities")
