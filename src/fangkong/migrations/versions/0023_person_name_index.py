"""an index on persons' names, for the search box (issue 19, point 2)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 12:30:00

The search box finds a person by name, ID number or phone. ID and phone numbers are
sealed and found through their keyed lookup hashes (``doc_hash``, ``phone_hash``, both
indexed already). A name is stored in clear in ``persons.name`` (masking is applied when
it is shown, by the reader's rights), so a name needs no new column: a keyed digest
beside the clear column would hide nothing. What it lacked is an index: ``ix_persons_name``
serves the exact full-name match (the normalised name the registry stores) without a
scan of the registry. No plaintext is copied anywhere; nothing to backfill (an index is
built from the rows present).
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_persons_name", "persons", ["name"])


def downgrade() -> None:
    op.drop_index("ix_persons_name", table_name="persons")
