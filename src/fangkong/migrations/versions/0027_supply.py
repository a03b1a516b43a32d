"""necessities: outlets, daily reports, deliveries to sealed areas, floor alerts

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-07 18:00:00

Issue 20, part 4 (docs/logistics/supply.md). The tables of fangkong.supply.tables:
supply_outlets (markets, supermarkets, suppliers, pharmacies: a region, optionally a
venue), supply_reports (stock and sales per outlet × day × good, UNIQUE), supply_deliveries
(no-contact deliveries to sealed areas, UNIQUE area × good × day) and supply_alerts (a
floor breached; ``open_key`` UNIQUE while open: one open alert per cause × region × good).

``command_tasks`` takes a new kind ``supply_floor`` raised from the source type
``supply_alert``: its CHECK constraints on kind and source_type are drawn again with the
lists of 0018 plus these (the lists as they were when this revision was written), through
``migrations.checks.redraw_check`` (on SQLite the table is not copied: other tables'
rows reference it).

A data part adds the supply rights and grants them to the shipped roles (a copy of
``fangkong.auth.rights`` as it was when this revision was written).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.migrations.checks import redraw_check
from fangkong.migrations.grants import grant_rights, revoke_rights
from fangkong.store.types import UTCDateTime

revision = "0027"
down_revision = "0025"
branch_labels = None
depends_on = None

RIGHTS = [
    ("supply.read", "查看民生物资保供", "see necessities' supply"),
    ("supply.report", "上报民生物资库存与销量", "report necessities' stock and sales"),
    ("supply.manage", "管理保供网点与封控区配送", "manage outlets and deliveries to sealed areas"),
]  # fmt: skip
ROLE_RIGHTS = {
    "commander": ["supply.read", "supply.report", "supply.manage"],
    "epidemiologist": ["supply.read"],
    "viewer": ["supply.read"],
}
# command_tasks' CHECK lists: 0018's, and with this revision's additions
_KINDS_0018 = ("'alert','closed_loop_overdue','awaiting_placement','area_need','late_tubes',"
               "'lifting_due','capacity_shortage','manual'")  # fmt: skip
_SOURCES_0018 = "'alert','arrival','region_day','risk_area_need','risk_area'"
_KINDS = _KINDS_0018 + ",'supply_floor'"
_SOURCES = _SOURCES_0018 + ",'supply_alert'"


def _task_checks(kinds: str, sources: str) -> None:
    redraw_check("command_tasks", op.f("ck_command_tasks_kind"), f"kind IN ({kinds})")
    redraw_check("command_tasks", op.f("ck_command_tasks_source_type"),
                 f"source_type IN ({sources})")  # fmt: skip


def _outlets_reports() -> None:
    op.create_table(
        "supply_outlets",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("venue_code", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint("kind IN ('market','supermarket','supplier','pharmacy')",
                           name=op.f("ck_supply_outlets_kind")),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"],
                                name=op.f("fk_supply_outlets_region_code_regions")),
        sa.ForeignKeyConstraint(["venue_code"], ["venues.code"],
                                name=op.f("fk_supply_outlets_venue_code_venues")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_supply_outlets")),
        sa.UniqueConstraint("venue_code", name=op.f("uq_supply_outlets_venue_code")),
    )  # fmt: skip
    with op.batch_alter_table("supply_outlets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supply_outlets_region_code"), ["region_code"],
                              unique=False)  # fmt: skip
    op.create_table(
        "supply_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("outlet_code", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("good", sa.String(length=24), nullable=False),
        sa.Column("stock", sa.Float(), nullable=False),
        sa.Column("sales", sa.Float(), nullable=False),
        sa.Column("reported_at", UTCDateTime(), nullable=False),
        sa.Column("reported_by", sa.String(length=80), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_supply_reports_stock")),
        sa.CheckConstraint("sales >= 0", name=op.f("ck_supply_reports_sales")),
        sa.CheckConstraint("via IN ('api','file','form')", name=op.f("ck_supply_reports_via")),
        sa.ForeignKeyConstraint(["outlet_code"], ["supply_outlets.code"],
                                name=op.f("fk_supply_reports_outlet_code_supply_outlets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_reports")),
        sa.UniqueConstraint("outlet_code", "day", "good",
                            name=op.f("uq_supply_reports_outlet_code_day_good")),
    )  # fmt: skip
    with op.batch_alter_table("supply_reports", schema=None) as batch_op:
        batch_op.create_index("ix_supply_reports_day_good", ["day", "good"], unique=False)


def _deliveries_alerts() -> None:
    op.create_table(
        "supply_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("good", sa.String(length=24), nullable=False),
        sa.Column("planned_for", sa.Date(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("quantity_planned", sa.Float(), nullable=False),
        sa.Column("planned_at", UTCDateTime(), nullable=False),
        sa.Column("planned_by", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_by", sa.String(length=80), nullable=True),
        sa.Column("quantity_delivered", sa.Float(), nullable=True),
        sa.CheckConstraint("status IN ('planned','delivered','cancelled')",
                           name=op.f("ck_supply_deliveries_status")),
        sa.CheckConstraint("quantity_planned >= 0",
                           name=op.f("ck_supply_deliveries_quantity_planned")),
        sa.CheckConstraint("quantity_delivered IS NULL OR quantity_delivered >= 0",
                           name=op.f("ck_supply_deliveries_quantity_delivered")),
        sa.ForeignKeyConstraint(["area_id"], ["risk_areas.id"],
                                name=op.f("fk_supply_deliveries_area_id_risk_areas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_deliveries")),
        sa.UniqueConstraint("area_id", "good", "planned_for",
                            name=op.f("uq_supply_deliveries_area_id_good_planned_for")),
    )  # fmt: skip
    with op.batch_alter_table("supply_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_supply_deliveries_planned_for_status",
                              ["planned_for", "status"], unique=False)  # fmt: skip
    op.create_table(
        "supply_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("good", sa.String(length=24), nullable=False),
        sa.Column("cause", sa.String(length=8), nullable=False),
        sa.Column("open_key", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("floor_days", sa.Float(), nullable=False),
        sa.Column("days_at_raise", sa.Float(), nullable=False),
        sa.Column("days_now", sa.Float(), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        sa.CheckConstraint("status IN ('open','closed')", name=op.f("ck_supply_alerts_status")),
        sa.CheckConstraint("cause IN ('stock','delivery')", name=op.f("ck_supply_alerts_cause")),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"],
                                name=op.f("fk_supply_alerts_region_code_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_supply_alerts_open_key")),
    )  # fmt: skip
    with op.batch_alter_table("supply_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supply_alerts_region_code"), ["region_code"],
                              unique=False)  # fmt: skip


def upgrade() -> None:
    _outlets_reports()
    _deliveries_alerts()
    _task_checks(_KINDS, _SOURCES)
    grant_rights(RIGHTS, ROLE_RIGHTS)


def downgrade() -> None:
    revoke_rights(RIGHTS)
    # a supply task cannot outlive the kind that allows it
    op.execute("DELETE FROM command_task_changes WHERE task_id IN "
               "(SELECT id FROM command_tasks WHERE kind = 'supply_floor')")  # fmt: skip
    op.execute("DELETE FROM command_tasks WHERE kind = 'supply_floor'")
    _task_checks(_KINDS_0018, _SOURCES_0018)
    for table, indexes in (
        ("supply_alerts", ("ix_supply_alerts_region_code",)),
        ("supply_deliveries", ("ix_supply_deliveries_planned_for_status",)),
        ("supply_reports", ("ix_supply_reports_day_good",)),
        ("supply_outlets", ("ix_supply_outlets_region_code",)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(index)
        op.drop_table(table)
