"""arrivals closed loop: manifests, travellers, transfers, hand-overs

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 20:30:00

The tables of fangkong.arrivals.tables — arrivals_teams, arrivals_vehicles,
arrivals_manifests, arrivals_trips, arrivals_travellers (the closed loop's state),
arrivals_stage_changes, arrivals_handoffs, arrivals_alerts — and a data part: the
arrivals rights granted to the shipped roles (a copy of ``fangkong.auth.rights`` as it
was when this revision was written). Downgrade removes both.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.migrations.grants import grant_rights, revoke_rights
from fangkong.store.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

RIGHTS = [
    ("arrival.read", "查看入境/来返人员闭环看板", "see the arrivals board and travellers"),
    ("arrival.manifest", "上传旅客名单", "send traveller manifests"),
    ("arrival.manage", "管理落地检测、转运与移交", "manage landing tests, transfers and hand-offs"),
    ("arrival.confirm", "确认登车与交接", "confirm boarding and hand-over"),
]
_ALL = ["arrival.read", "arrival.manage", "arrival.confirm"]
ROLE_RIGHTS = {
    "commander": _ALL,
    "epidemiologist": _ALL,
    "port_officer": _ALL,
    "transfer_team": ["arrival.read", "arrival.confirm"],
    "quarantine_manager": ["arrival.read", "arrival.confirm"],
    "viewer": ["arrival.read"],
}

_TABLES = (
    "arrivals_alerts", "arrivals_handoffs", "arrivals_stage_changes", "arrivals_travellers",
    "arrivals_trips", "arrivals_manifests", "arrivals_vehicles", "arrivals_teams",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "arrivals_manifests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("point_code", sa.String(length=40), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "mode IN ('flight','train','highway')", name=op.f("ck_arrivals_manifests_mode")
        ),
        sa.ForeignKeyConstraint(
            ["point_code"], ["venues.code"], name=op.f("fk_arrivals_manifests_point_code_venues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrivals_manifests")),
        sa.UniqueConstraint("ref", name=op.f("uq_arrivals_manifests_ref")),
    )
    op.create_index(
        op.f("ix_arrivals_manifests_point_code"), "arrivals_manifests", ["point_code"], unique=False
    )
    op.create_table(
        "arrivals_teams",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("venue_code", sa.String(length=40), nullable=True),
        sa.Column("superior_code", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "kind IN ('checkpoint','transfer','receiving','command')",
            name=op.f("ck_arrivals_teams_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_arrivals_teams_region_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["superior_code"],
            ["arrivals_teams.code"],
            name=op.f("fk_arrivals_teams_superior_code_arrivals_teams"),
        ),
        sa.ForeignKeyConstraint(
            ["venue_code"], ["venues.code"], name=op.f("fk_arrivals_teams_venue_code_venues")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_arrivals_teams")),
    )
    op.create_index(
        op.f("ix_arrivals_teams_region_code"), "arrivals_teams", ["region_code"], unique=False
    )
    op.create_index(
        op.f("ix_arrivals_teams_venue_code"), "arrivals_teams", ["venue_code"], unique=False
    )
    op.create_table(
        "arrivals_vehicles",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("team_code", sa.String(length=40), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("in_service", sa.Boolean(), nullable=False),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_arrivals_vehicles_capacity")),
        sa.ForeignKeyConstraint(
            ["team_code"],
            ["arrivals_teams.code"],
            name=op.f("fk_arrivals_vehicles_team_code_arrivals_teams"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_arrivals_vehicles")),
    )
    op.create_index(
        op.f("ix_arrivals_vehicles_team_code"), "arrivals_vehicles", ["team_code"], unique=False
    )
    op.create_table(
        "arrivals_trips",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("vehicle_code", sa.String(length=40), nullable=False),
        sa.Column("point_code", sa.String(length=40), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=False),
        sa.Column("destination_key", sa.String(length=60), nullable=False),
        sa.Column("destination_name", sa.String(length=200), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("departs_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("eta", UTCDateTime(timezone=True), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("planned_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("planned_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "status IN ('planned','done','cancelled')", name=op.f("ck_arrivals_trips_status")
        ),
        sa.ForeignKeyConstraint(
            ["point_code"], ["venues.code"], name=op.f("fk_arrivals_trips_point_code_venues")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_code"],
            ["arrivals_vehicles.code"],
            name=op.f("fk_arrivals_trips_vehicle_code_arrivals_vehicles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrivals_trips")),
    )
    op.create_index(
        op.f("ix_arrivals_trips_point_code"), "arrivals_trips", ["point_code"], unique=False
    )
    op.create_index(
        op.f("ix_arrivals_trips_vehicle_code"), "arrivals_trips", ["vehicle_code"], unique=False
    )
    op.create_table(
        "arrivals_travellers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("manifest_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("doc_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("phone_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("address_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("point_code", sa.String(length=40), nullable=False),
        sa.Column("arrived_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("destination_region", sa.String(length=15), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=False),
        sa.Column("management", sa.String(length=24), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("reason_zh", sa.Text(), nullable=False),
        sa.Column("reason_en", sa.Text(), nullable=False),
        sa.Column("landing_test", sa.Boolean(), nullable=False),
        sa.Column("transfer", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("stage_since", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("responsible_region", sa.String(length=15), nullable=False),
        sa.Column("tube_barcode", sa.String(length=40), nullable=True),
        sa.Column("placement_id", sa.Integer(), nullable=True),
        sa.Column("destination_key", sa.String(length=60), nullable=True),
        sa.Column("destination_name", sa.String(length=200), nullable=True),
        sa.Column("trip_id", sa.Integer(), nullable=True),
        sa.Column("pack_ref", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "stage IN ('registered','sampled','boarded','handed_over','managed','released')",
            name=op.f("ck_arrivals_travellers_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["destination_region"],
            ["regions.code"],
            name=op.f("fk_arrivals_travellers_destination_region_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["manifest_id"],
            ["arrivals_manifests.id"],
            name=op.f("fk_arrivals_travellers_manifest_id_arrivals_manifests"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_arrivals_travellers_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["quarantine_placements.id"],
            name=op.f("fk_arrivals_travellers_placement_id_quarantine_placements"),
        ),
        sa.ForeignKeyConstraint(
            ["point_code"], ["venues.code"], name=op.f("fk_arrivals_travellers_point_code_venues")
        ),
        sa.ForeignKeyConstraint(
            ["responsible_region"],
            ["regions.code"],
            name=op.f("fk_arrivals_travellers_responsible_region_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["trip_id"],
            ["arrivals_trips.id"],
            name=op.f("fk_arrivals_travellers_trip_id_arrivals_trips"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrivals_travellers")),
        sa.UniqueConstraint(
            "manifest_id", "doc_hash", name=op.f("uq_arrivals_travellers_manifest_id_doc_hash")
        ),
    )
    op.create_index(
        op.f("ix_arrivals_travellers_due_at"), "arrivals_travellers", ["due_at"], unique=False
    )
    op.create_index(
        op.f("ix_arrivals_travellers_person_id"), "arrivals_travellers", ["person_id"], unique=False
    )
    op.create_index(
        op.f("ix_arrivals_travellers_point_code"),
        "arrivals_travellers",
        ["point_code"],
        unique=False,
    )
    op.create_index(
        "ix_arrivals_travellers_point_stage",
        "arrivals_travellers",
        ["point_code", "stage"],
        unique=False,
    )
    op.create_index(
        op.f("ix_arrivals_travellers_responsible_region"),
        "arrivals_travellers",
        ["responsible_region"],
        unique=False,
    )
    op.create_index(
        op.f("ix_arrivals_travellers_stage"), "arrivals_travellers", ["stage"], unique=False
    )
    op.create_index(
        op.f("ix_arrivals_travellers_trip_id"), "arrivals_travellers", ["trip_id"], unique=False
    )
    op.create_table(
        "arrivals_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("traveller_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("team_code", sa.String(length=40), nullable=True),
        sa.Column("notified", sa.JSON(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("raised_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.CheckConstraint("kind IN ('overdue','handoff')", name=op.f("ck_arrivals_alerts_kind")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_arrivals_alerts_region_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["team_code"],
            ["arrivals_teams.code"],
            name=op.f("fk_arrivals_alerts_team_code_arrivals_teams"),
        ),
        sa.ForeignKeyConstraint(
            ["traveller_id"],
            ["arrivals_travellers.id"],
            name=op.f("fk_arrivals_alerts_traveller_id_arrivals_travellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrivals_alerts")),
        sa.UniqueConstraint(
            "traveller_id",
            "kind",
            "stage",
            "active",
            name=op.f("uq_arrivals_alerts_traveller_id_kind_stage_active"),
        ),
    )
    op.create_index(
        op.f("ix_arrivals_alerts_region_code"), "arrivals_alerts", ["region_code"], unique=False
    )
    op.create_index(
        op.f("ix_arrivals_alerts_traveller_id"), "arrivals_alerts", ["traveller_id"], unique=False
    )
    op.create_table(
        "arrivals_handoffs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("traveller_id", sa.Integer(), nullable=False),
        sa.Column("from_region", sa.String(length=15), nullable=False),
        sa.Column("to_region", sa.String(length=15), nullable=False),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_region"], ["regions.code"], name=op.f("fk_arrivals_handoffs_from_region_regions")
        ),
        sa.ForeignKeyConstraint(
            ["to_region"], ["regions.code"], name=op.f("fk_arrivals_handoffs_to_region_regions")
        ),
        sa.ForeignKeyConstraint(
            ["traveller_id"],
            ["arrivals_travellers.id"],
            name=op.f("fk_arrivals_handoffs_traveller_id_arrivals_travellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrivals_handoffs")),
        sa.UniqueConstraint("traveller_id", name=op.f("uq_arrivals_handoffs_traveller_id")),
    )
    op.create_index(
        op.f("ix_arrivals_handoffs_to_region"), "arrivals_handoffs", ["to_region"], unique=False
    )
    op.create_table(
        "arrivals_stage_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("traveller_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=12), nullable=True),
        sa.Column("to_stage", sa.String(length=12), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "via IN ('import','api','scan','form','job','cli')",
            name=op.f("ck_arrivals_stage_changes_via"),
        ),
        sa.ForeignKeyConstraint(
            ["traveller_id"],
            ["arrivals_travellers.id"],
            name=op.f("fk_arrivals_stage_changes_traveller_id_arrivals_travellers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrivals_stage_changes")),
    )
    op.create_index(
        op.f("ix_arrivals_stage_changes_traveller_id"),
        "arrivals_stage_changes",
        ["traveller_id"],
        unique=False,
    )
    _grant()


def _grant() -> None:
    grant_rights(RIGHTS, ROLE_RIGHTS)


def downgrade() -> None:
    revoke_rights(RIGHTS)
    for table in _TABLES:
        op.drop_table(table)
