"""health codes: facts, codes, transitions, corrections, scans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 18:53:16

The tables of fangkong.healthcode.tables: person_facts (what the code rules read),
health_codes (current code per person), code_transitions, code_corrections, scans.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_colour", sa.String(length=6), nullable=True),
        sa.Column("to_colour", sa.String(length=6), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=True),
        sa.Column("trigger", sa.String(length=60), nullable=False),
        sa.Column("pack_name", sa.String(length=60), nullable=False),
        sa.Column("pack_version", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_code_transitions_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_transitions")),
    )
    with op.batch_alter_table("code_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_transitions_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "health_codes",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("colour", sa.String(length=6), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("pack_name", sa.String(length=60), nullable=False),
        sa.Column("pack_version", sa.String(length=40), nullable=False),
        sa.Column("next_change_at", UTCDateTime(), nullable=True),
        sa.Column("evaluated_at", UTCDateTime(), nullable=False),
        sa.Column("qr_ref", sa.LargeBinary(length=16), nullable=False),
        sa.CheckConstraint(
            "colour IN ('green','yellow','red')", name=op.f("ck_health_codes_colour")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_health_codes_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_health_codes")),
        sa.UniqueConstraint("qr_ref", name=op.f("uq_health_codes_qr_ref")),
    )
    with op.batch_alter_table("health_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_codes_colour"), ["colour"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_health_codes_next_change_at"), ["next_change_at"], unique=False
        )

    op.create_table(
        "person_facts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("client_event_id", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("voided_at", UTCDateTime(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_person_facts_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_facts")),
        sa.UniqueConstraint("client_event_id", name=op.f("uq_person_facts_client_event_id")),
    )
    with op.batch_alter_table("person_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_facts_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_person_facts_person_kind", ["person_id", "kind"], unique=False)

    op.create_table(
        "scans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_event_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("venue_code", sa.String(length=40), nullable=False),
        sa.Column("device_time", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("colour", sa.String(length=6), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("token_digest", sa.LargeBinary(length=16), nullable=True),
        sa.Column("request_digest", sa.LargeBinary(length=16), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("pack_name", sa.String(length=60), nullable=False),
        sa.Column("pack_version", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_scans_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["venue_code"], ["venues.code"], name=op.f("fk_scans_venue_code_venues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
        sa.UniqueConstraint("client_event_id", name=op.f("uq_scans_client_event_id")),
    )
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scans_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scans_token_digest"), ["token_digest"], unique=False)
        batch_op.create_index("ix_scans_venue_time", ["venue_code", "device_time"], unique=False)

    op.create_table(
        "code_corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("fact_id", sa.Integer(), nullable=True),
        sa.Column("filed_at", UTCDateTime(), nullable=False),
        sa.Column("filed_by", sa.String(length=80), nullable=False),
        sa.Column("filer_role", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "filer_role IN ('person','officer')", name=op.f("ck_code_corrections_filer_role")
        ),
        sa.CheckConstraint(
            "state IN ('open','upheld','rejected')", name=op.f("ck_code_corrections_state")
        ),
        sa.ForeignKeyConstraint(
            ["fact_id"], ["person_facts.id"], name=op.f("fk_code_corrections_fact_id_person_facts")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_code_corrections_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_corrections")),
    )
    with op.batch_alter_table("code_corrections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_corrections_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_code_corrections_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("code_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_corrections_state"))
        batch_op.drop_index(batch_op.f("ix_code_corrections_person_id"))

    op.drop_table("code_corrections")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index("ix_scans_venue_time")
        batch_op.drop_index(batch_op.f("ix_scans_token_digest"))
        batch_op.drop_index(batch_op.f("ix_scans_person_id"))

    op.drop_table("scans")
    with op.batch_alter_table("person_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_person_facts_person_kind")
        batch_op.drop_index(batch_op.f("ix_person_facts_person_id"))

    op.drop_table("person_facts")
    with op.batch_alter_table("health_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_codes_next_change_at"))
        batch_op.drop_index(batch_op.f("ix_health_codes_colour"))

    op.drop_table("health_codes")
    with op.batch_alter_table("code_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_transitions_person_id"))

    op.drop_table("code_transitions")
