"""health-code rights: read, read in full, file and decide corrections, record facts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 19:15:00

A data migration: adds the rights of the health-code pages and API and grants them to
the shipped roles (a copy of ``fangkong.auth.rights`` as it was when this revision was
written: a migration never changes with the code). Grants an admin made to roles since
are left alone; downgrade removes these rights and every grant of them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RIGHTS = [
    ("code.read", "查看健康码（原因脱敏）", "see health codes (reasons masked)"),
    ("code.read_full", "查看健康码完整原因", "see the reasons of health codes in full"),
    ("code.correct", "提交健康码纠错申请", "file health-code corrections"),
    ("code.decide", "审核健康码纠错申请", "decide health-code corrections"),
    ("fact.record", "录入赋码依据", "record the facts codes are computed from"),
]
_CODES = ["code.read", "code.read_full"]
ROLE_RIGHTS = {
    "commander": [*_CODES, "code.decide"],
    "epidemiologist": [*_CODES, "code.correct", "code.decide", "fact.record"],
    "contact_tracer": [*_CODES, "code.correct", "fact.record"],
    "lab": ["fact.record"],
    "port_officer": [*_CODES, "code.correct"],
    "transfer_team": _CODES,
    "quarantine_manager": [*_CODES, "code.correct", "fact.record"],
    "viewer": ["code.read"],
}

_rights = sa.table(
    "rights", sa.column("name", sa.String), sa.column("label_zh", sa.String),
    sa.column("label_en", sa.String),
)  # fmt: skip
_role_rights = sa.table("role_rights", sa.column("role", sa.String), sa.column("right", sa.String))
_roles = sa.table("roles", sa.column("name", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    present = set(conn.execute(sa.select(_rights.c.name)).scalars())
    op.bulk_insert(
        _rights,
        [{"name": n, "label_zh": zh, "label_en": en} for n, zh, en in RIGHTS if n not in present],
    )
    roles = set(conn.execute(sa.select(_roles.c.name)).scalars())
    held = {(r.role, r.right) for r in conn.execute(sa.select(_role_rights)).all()}
    op.bulk_insert(
        _role_rights,
        [
            {"role": role, "right": right}
            for role, rights in ROLE_RIGHTS.items()
            if role in roles  # an admin may have removed a shipped role
            for right in rights
            if (role, right) not in held
        ],
    )


def downgrade() -> None:
    names = [n for n, _, _ in RIGHTS]
    op.execute(_role_rights.delete().where(_role_rights.c.right.in_(names)))
    op.execute(_rights.delete().where(_rights.c.name.in_(names)))
