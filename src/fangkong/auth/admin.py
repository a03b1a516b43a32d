"""Roles made and removed at run time, device tokens listed and revoked: the use cases
behind ``fangkong role add|rights|remove`` and ``fangkong token list|revoke``. Each owns
its transaction and writes an audit row in it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, update

from fangkong import clock
from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.model import Actor
from fangkong.auth.rights import TOKEN_ISSUE, USER_MANAGE
from fangkong.errors import Conflict, FieldProblem, InvalidFields, NotFound, Problem
from fangkong.store.schema import device_tokens, rights, role_rights, roles, users, venues

ROLE_NAME = re.compile(r"[a-z][a-z0-9_.-]{1,31}")
LABEL_MAX = 60  # roles.label_zh / label_en
DETAIL_MAX = 200  # audit_log.detail
_INVALID = Problem("request.invalid", "输入有误", "invalid input")


# ---- roles -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleInfo:
    name: str
    label_zh: str
    label_en: str
    rights: tuple[str, ...]
    users: int  # users holding the role


def add_role(
    engine: Engine,
    key: bytes,
    actor: Actor,
    name: str,
    granted: list[str],
    address: str,
    description: str = "",
) -> RoleInfo:
    """A new role holding exactly ``granted`` (known rights, at least one)."""
    actor.require(USER_MANAGE)
    label = description.strip() or name
    problems = _role_problems(name, granted, label)
    if problems:
        raise InvalidFields(_INVALID, problems)
    with transaction(engine) as conn:
        if conn.execute(select(roles.c.name).where(roles.c.name == name)).first() is not None:
            raise Conflict(
                Problem("role.exists", f"角色 {name} 已存在", f"the role {name} exists already")
            )
        _require_rights(conn, granted)
        conn.execute(roles.insert().values(name=name, label_zh=label, label_en=label))
        held = sorted(set(granted))
        conn.execute(role_rights.insert(), [{"role": name, "right": r} for r in held])
        record(conn, key, AuditEvent(actor.name, "role.add", "ok", address, "role", name,
                                     _detail("rights=" + ",".join(held))))  # fmt: skip
    return RoleInfo(name, label, label, tuple(held), 0)


def role_info(engine: Engine, name: str) -> RoleInfo:
    """A role, its rights and how many users hold it."""
    with engine.connect() as conn:
        row = conn.execute(select(roles).where(roles.c.name == name)).first()
        if row is None:
            raise _no_role(name)
        held = conn.execute(
            select(role_rights.c.right).where(role_rights.c.role == name).order_by("right")
        ).scalars()
        n = conn.execute(select(func.count()).where(users.c.role == name)).scalar_one()
        return RoleInfo(name, row.label_zh, row.label_en, tuple(held), int(n))


def remove_role(engine: Engine, key: bytes, actor: Actor, name: str, address: str) -> None:
    """Remove a role no user holds (refused while one does: change their role first)."""
    actor.require(USER_MANAGE)
    with transaction(engine) as conn:
        if conn.execute(select(roles.c.name).where(roles.c.name == name)).first() is None:
            raise _no_role(name)
        n = conn.execute(select(func.count()).where(users.c.role == name)).scalar_one()
        if n:
            raise Conflict(
                Problem(
                    "role.in_use",
                    f"角色 {name} 仍有 {n} 个用户，请先更改他们的角色",
                    f"{n} user(s) hold the role {name}: change their role first",
                )
            )
        conn.execute(role_rights.delete().where(role_rights.c.role == name))
        conn.execute(roles.delete().where(roles.c.name == name))
        record(conn, key, AuditEvent(actor.name, "role.remove", "ok", address, "role", name))


def _role_problems(name: str, granted: list[str], label: str) -> list[FieldProblem]:
    problems = []
    if not ROLE_NAME.fullmatch(name):
        problems.append(FieldProblem("name", Problem(
            "role.name", "角色名应为 2–32 个小写字母、数字或 _ . -，以字母开头",
            "a role name is 2-32 of a-z 0-9 _ . -, starting with a letter")))  # fmt: skip
    if not granted:
        problems.append(FieldProblem("right", Problem(
            "role.no_rights", "至少给出一项权限（--right）",
            "give the role at least one right (--right)")))  # fmt: skip
    if len(label) > LABEL_MAX:
        problems.append(FieldProblem("description", Problem(
            "role.description_long", f"说明至多 {LABEL_MAX} 个字符",
            f"a description has at most {LABEL_MAX} characters")))  # fmt: skip
    return problems


def _require_rights(conn: Connection, granted: list[str]) -> None:
    known = set(conn.execute(select(rights.c.name)).scalars())
    unknown = sorted(set(granted) - known)
    if unknown:
        listed = ", ".join(sorted(known))
        raise InvalidFields(_INVALID, [FieldProblem("right", Problem(
            "right.unknown", f"没有权限 {', '.join(unknown)}；已知权限：{listed}",
            f"no such right: {', '.join(unknown)}; known rights: {listed}"))])  # fmt: skip


def _no_role(name: str) -> NotFound:
    return NotFound(Problem("role.unknown", f"没有角色 {name}", f"no such role: {name}"))


def _detail(text: str) -> str:
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"


# ---- device tokens -----------------------------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    """A device token as listed: never the token itself (only its hash is stored)."""

    id: int
    scope: str
    venue_code: str | None
    region_code: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    role: str | None = None  # a unit's token may stand for one role of the unit

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


def list_device_tokens(engine: Engine, actor: Actor) -> list[TokenInfo]:
    """Every device token, newest first; the region is the unit's or the venue's."""
    actor.require(TOKEN_ISSUE)
    query = (
        select(device_tokens, venues.c.region_code.label("venue_region"))
        .outerjoin(venues, venues.c.code == device_tokens.c.venue_code)
        .order_by(device_tokens.c.id.desc())
    )
    with engine.connect() as conn:
        return [
            TokenInfo(
                r.id,
                r.scope,
                r.venue_code,
                r.region_code or r.venue_region,
                r.created_at,
                r.expires_at,
                r.revoked_at,
                r.role,
            )
            for r in conn.execute(query)
        ]


def revoke_device_token(
    engine: Engine, key: bytes, actor: Actor, token_id: int, address: str
) -> bool:
    """Revoke a device token at once; False if it was revoked already."""
    actor.require(TOKEN_ISSUE)
    now = clock.wall()
    with transaction(engine) as conn:
        row = conn.execute(select(device_tokens).where(device_tokens.c.id == token_id)).first()
        if row is None:
            raise NotFound(
                Problem(
                    "token.not_found", f"没有设备令牌 {token_id}", f"no device token {token_id}"
                )
            )
        fresh = row.revoked_at is None
        if fresh:
            conn.execute(
                update(device_tokens).where(device_tokens.c.id == token_id).values(revoked_at=now)
            )
        record(conn, key, AuditEvent(actor.name, "token.revoke", "ok" if fresh else "noop",
                                     address, "device", str(token_id)), at=now)  # fmt: skip
    return fresh
