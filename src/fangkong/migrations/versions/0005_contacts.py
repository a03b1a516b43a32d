"""contact management: traced cases, contacts, exposures, status changes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 20:30:00

The tables of fangkong.tracing.tables: tracing_cases (cases and their infectious
windows), tracing_contacts (one row per exposed person, with a status),
tracing_exposures (the evidence: case, contact, setting, venue, overlap) and
tracing_contact_changes (every status change, who and when).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_KINDS = "kind IN ('close','contact_of_contact','general')"
_STATUSES = (
    "status IN ('identified','notified','quarantined','monitoring','released','became_case','lost')"
)


def upgrade() -> None:
    op.create_table(
        "tracing_cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("sample_date", sa.Date(), nullable=True),
        sa.Column("isolated_at", UTCDateTime(), nullable=True),
        sa.Column("infectious_from", UTCDateTime(), nullable=False),
        sa.Column("infectious_until", UTCDateTime(), nullable=True),
        sa.Column("rules_source", sa.String(length=120), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=False),
        sa.Column("traced_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "onset_date IS NOT NULL OR sample_date IS NOT NULL",
            name=op.f("ck_tracing_cases_dated"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_tracing_cases_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_cases")),
        sa.UniqueConstraint("person_id", name=op.f("uq_tracing_cases_person_id")),
    )
    op.create_table(
        "tracing_contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("first_exposure_at", UTCDateTime(), nullable=False),
        sa.Column("last_exposure_at", UTCDateTime(), nullable=False),
        sa.Column("identified_at", UTCDateTime(), nullable=False),
        sa.Column("status_at", UTCDateTime(), nullable=False),
        sa.Column("status_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(_KINDS, name=op.f("ck_tracing_contacts_kind")),
        sa.CheckConstraint(_STATUSES, name=op.f("ck_tracing_contacts_status")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_tracing_contacts_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_contacts")),
        sa.UniqueConstraint("person_id", name=op.f("uq_tracing_contacts_person_id")),
    )
    with op.batch_alter_table("tracing_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracing_contacts_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_tracing_contacts_status"), ["status"], unique=False)

    op.create_table(
        "tracing_contact_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["tracing_contacts.id"],
            name=op.f("fk_tracing_contact_changes_contact_id_tracing_contacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_contact_changes")),
    )
    with op.batch_alter_table("tracing_contact_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tracing_contact_changes_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "tracing_exposures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("source_contact_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("setting", sa.String(length=12), nullable=False),
        sa.Column("place_code", sa.String(length=64), nullable=True),
        sa.Column("overlap_start", UTCDateTime(), nullable=False),
        sa.Column("overlap_end", UTCDateTime(), nullable=False),
        sa.Column("overlap_seconds", sa.Integer(), nullable=False),
        sa.Column("case_event_id", sa.String(length=64), nullable=True),
        sa.Column("contact_event_id", sa.String(length=64), nullable=True),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(_KINDS, name=op.f("ck_tracing_exposures_kind")),
        sa.CheckConstraint(
            "setting IN ('venue','household','class','workplace','vehicle')",
            name=op.f("ck_tracing_exposures_setting"),
        ),
        sa.CheckConstraint("overlap_seconds >= 0", name=op.f("ck_tracing_exposures_overlap")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["tracing_cases.id"],
            name=op.f("fk_tracing_exposures_case_id_tracing_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["tracing_contacts.id"],
            name=op.f("fk_tracing_exposures_contact_id_tracing_contacts"),
        ),
        sa.ForeignKeyConstraint(
            ["source_contact_id"],
            ["tracing_contacts.id"],
            name=op.f("fk_tracing_exposures_source_contact_id_tracing_contacts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracing_exposures")),
        sa.UniqueConstraint("key", name=op.f("uq_tracing_exposures_key")),
    )
    with op.batch_alter_table("tracing_exposures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracing_exposures_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_tracing_exposures_contact_kind", ["contact_id", "kind"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tracing_exposures", schema=None) as batch_op:
        batch_op.drop_index("ix_tracing_exposures_contact_kind")
        batch_op.drop_index(batch_op.f("ix_tracing_exposures_case_id"))
    op.drop_table("tracing_exposures")
    with op.batch_alter_table("tracing_contact_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracing_contact_changes_contact_id"))
    op.drop_table("tracing_contact_changes")
    with op.batch_alter_table("tracing_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracing_contacts_status"))
        batch_op.drop_index(batch_op.f("ix_tracing_contacts_kind"))
    op.drop_table("tracing_contacts")
    op.drop_table("tracing_cases")
