"""users, roles, rights, sessions, device tokens, audit log (hash chain)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 09:00:00

Seeds the shipped roles and rights (a copy of ``fangkong.auth.rights`` as it was when
this revision was written: a migration never changes with the code) and the audit
chain's head row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RIGHTS = [
    ("dashboard.view", "查看工作台", "view the dashboard"),
    ("person.read", "查询人员（脱敏）", "look up persons (masked)"),
    ("person.read_full", "查看人员完整信息", "see persons' data in full"),
    ("person.write", "修改人员信息", "change persons' records"),
    ("person.export", "导出人员数据", "export persons"),
    ("venue.read", "查看场所", "view venues"),
    ("audit.read", "查看审计日志", "read the audit log"),
    ("user.manage", "管理用户与角色", "manage users and roles"),
    ("token.issue", "签发设备令牌", "issue device tokens"),
    ("scan.submit", "提交扫码记录", "submit scans"),
]
ROLES = [
    ("admin", "系统管理员", "administrator"),
    ("commander", "指挥部", "command centre"),
    ("epidemiologist", "流调/疾控人员", "epidemiologist"),
    ("contact_tracer", "密接追踪员", "contact tracer"),
    ("lab", "检测机构", "laboratory"),
    ("port_officer", "口岸工作人员", "port-of-entry officer"),
    ("transfer_team", "转运专班", "transfer team"),
    ("quarantine_manager", "隔离点管理员", "quarantine-site manager"),
    ("venue_device", "场所扫码设备", "venue device"),
    ("viewer", "只读用户", "viewer"),
]
_STAFF = ["dashboard.view", "person.read", "venue.read"]
_CASEWORK = [*_STAFF, "person.read_full", "person.write"]
ROLE_RIGHTS = {
    "admin": [*_STAFF, "audit.read", "user.manage", "token.issue"],
    "commander": [*_STAFF, "person.export"],
    "epidemiologist": [*_CASEWORK, "person.export"],
    "contact_tracer": _CASEWORK,
    "lab": ["dashboard.view", "person.read"],
    "port_officer": [*_STAFF, "person.read_full"],
    "transfer_team": [*_STAFF, "person.read_full"],
    "quarantine_manager": [*_STAFF, "person.read_full", "person.write"],
    "venue_device": ["scan.submit"],
    "viewer": _STAFF,
}


def upgrade() -> None:
    roles = op.create_table(
        "roles",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("label_zh", sa.String(length=60), nullable=False),
        sa.Column("label_en", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_roles")),
    )
    rights = op.create_table(
        "rights",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("label_zh", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rights")),
    )
    role_rights = op.create_table(
        "role_rights",
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("right", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["right"], ["rights.name"], name=op.f("fk_role_rights_right_rights")
        ),
        sa.ForeignKeyConstraint(["role"], ["roles.name"], name=op.f("fk_role_rights_role_roles")),
        sa.PrimaryKeyConstraint("role", "right", name=op.f("pk_role_rights")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=15), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_users_region_code_regions")
        ),
        sa.ForeignKeyConstraint(["role"], ["roles.name"], name=op.f("fk_users_role_roles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_region_code"), ["region_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_role"), ["role"], unique=False)

    op.create_table(
        "user_sessions",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_user_sessions")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "device_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("scope", sa.String(length=24), nullable=False),
        sa.Column("venue_code", sa.String(length=40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["venue_code"], ["venues.code"], name=op.f("fk_device_tokens_venue_code_venues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_device_tokens_token_hash")),
    )
    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_tokens_venue_code"), ["venue_code"], unique=False
        )

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target_type", sa.String(length=20), nullable=True),
        sa.Column("target_id", sa.String(length=80), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("row_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_log_target", ["target_type", "target_id"], unique=False)
        batch_op.create_index(
            "ix_audit_log_address_action_at", ["address", "action", "at"], unique=False
        )

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("row_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )

    op.bulk_insert(rights, [{"name": n, "label_zh": zh, "label_en": en} for n, zh, en in RIGHTS])
    op.bulk_insert(roles, [{"name": n, "label_zh": zh, "label_en": en} for n, zh, en in ROLES])
    op.bulk_insert(
        role_rights,
        [{"role": role, "right": right} for role, held in ROLE_RIGHTS.items() for right in held],
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "row_hash": bytes(32)}])


def downgrade() -> None:
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_address_action_at")
        batch_op.drop_index("ix_audit_log_target")
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))
    op.drop_table("audit_log")
    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_tokens_venue_code"))
    op.drop_table("device_tokens")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))
    op.drop_table("user_sessions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_role"))
        batch_op.drop_index(batch_op.f("ix_users_region_code"))
    op.drop_table("users")
    op.drop_table("role_rights")
    op.drop_table("rights")
    op.drop_table("roles")
