"""Use cases of users and roles: the rights a role holds (grant, revoke), accounts (add,
change role or password, disable, enable, list) and the demo's admin. Each owns its
transaction and writes its audit row; CLI commands, API routes and pages only call these.
Login and sessions are in ``sessions.py``, device tokens in ``devices.py``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, select, update

from fangkong import clock
from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.jurisdiction import in_subtree, region_exists
from fangkong.auth.model import Actor, UserInfo
from fangkong.auth.passwords import hash_password
from fangkong.auth.rights import USER_MANAGE
from fangkong.errors import BadInput, FieldProblem, InvalidFields, NotFound, Problem
from fangkong.store.schema import rights, role_rights, roles, user_sessions, users

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,63}")
MIN_PASSWORD = 10


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(code, zh, en)


# ---- roles and rights --------------------------------------------------------------------


def role_rights_of(engine: Engine, role: str) -> frozenset[str]:
    with engine.connect() as conn:
        held = conn.execute(select(role_rights.c.right).where(role_rights.c.role == role))
        return frozenset(held.scalars())


def list_roles(engine: Engine) -> dict[str, list[str]]:
    """Every role with the rights it holds (sorted)."""
    with engine.connect() as conn:
        out: dict[str, list[str]] = {r: [] for r in conn.execute(select(roles.c.name)).scalars()}
        for role, right in conn.execute(select(role_rights.c.role, role_rights.c.right)):
            out[role].append(right)
    return {role: sorted(held) for role, held in sorted(out.items())}


def _check_role_right(conn: Connection, role: str, right: str | None) -> None:
    if conn.execute(select(roles.c.name).where(roles.c.name == role)).first() is None:
        raise NotFound(_p("role.unknown", f"没有角色 {role}", f"no such role: {role}"))
    if right is not None and (
        conn.execute(select(rights.c.name).where(rights.c.name == right)).first() is None
    ):
        raise NotFound(_p("right.unknown", f"没有权限 {right}", f"no such right: {right}"))


def grant_right(
    engine: Engine, key: bytes, actor: Actor, role: str, right: str, address: str
) -> bool:
    """Give ``role`` the ``right``; False if it held it already."""
    actor.require(USER_MANAGE)
    with transaction(engine) as conn:
        _check_role_right(conn, role, right)
        held = conn.execute(
            select(role_rights).where(role_rights.c.role == role, role_rights.c.right == right)
        ).first()
        if held is None:
            conn.execute(role_rights.insert().values(role=role, right=right))
        record(
            conn,
            key,
            AuditEvent(
                actor.name,
                "role.grant",
                "ok" if held is None else "noop",
                address,
                "role",
                role,
                right,
            ),
        )
    return held is None


def revoke_right(
    engine: Engine, key: bytes, actor: Actor, role: str, right: str, address: str
) -> bool:
    """Take the ``right`` from ``role``; False if it did not hold it."""
    actor.require(USER_MANAGE)
    with transaction(engine) as conn:
        _check_role_right(conn, role, right)
        gone = conn.execute(
            delete(role_rights).where(role_rights.c.role == role, role_rights.c.right == right)
        ).rowcount
        record(
            conn,
            key,
            AuditEvent(
                actor.name, "role.revoke", "ok" if gone else "noop", address, "role", role, right
            ),
        )
    return bool(gone)


# ---- users -------------------------------------------------------------------------------


def _user_info(row: object) -> UserInfo:
    m = row._mapping  # type: ignore[attr-defined]
    return UserInfo(
        m["id"],
        m["username"],
        m["role"],
        m["region_code"],
        m["active"],
        m["locked_until"],
        m["disabled_at"],
        m["disabled_reason"],
    )


def _password_problem(password: str) -> FieldProblem | None:
    """The password rules of every way a password is set (add, passwd)."""
    if len(password) >= MIN_PASSWORD:
        return None
    return FieldProblem(
        "password",
        _p(
            "user.password_short",
            f"密码至少 {MIN_PASSWORD} 个字符",
            f"a password has at least {MIN_PASSWORD} characters",
        ),
    )


def _invalid(*problems: FieldProblem) -> InvalidFields:
    return InvalidFields(_p("request.invalid", "输入有误", "invalid input"), list(problems))


def add_user(
    engine: Engine,
    key: bytes,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    region_code: str,
    address: str,
) -> UserInfo:
    """Create a user in ``region_code`` with ``role``; the actor's own jurisdiction bounds
    where they may create users."""
    actor.require(USER_MANAGE)
    problems: list[FieldProblem] = []
    if not _USERNAME.fullmatch(username):
        problems.append(
            FieldProblem(
                "username",
                _p(
                    "user.username_invalid",
                    "用户名应为 3–64 个小写字母、数字或 _ . -，以字母或数字开头",
                    "a username is 3–64 lower-case letters, digits, _ . -, starting with a letter "
                    "or digit",
                ),
            )
        )
    if (short := _password_problem(password)) is not None:
        problems.append(short)
    if problems:
        raise _invalid(*problems)
    with transaction(engine) as conn:
        _check_role_right(conn, role, None)
        if not region_exists(conn, region_code) or (
            actor.region_code is not None and not in_subtree(conn, actor.region_code, region_code)
        ):
            raise NotFound(
                _p("region.unknown", f"没有区划 {region_code}", f"no such region: {region_code}")
            )
        if conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise BadInput(
                _p("user.exists", f"用户 {username} 已存在", f"user {username} exists already")
            )
        now = clock.wall()
        user_id = conn.execute(
            users.insert()
            .values(
                username=username,
                password_hash=hash_password(password),
                role=role,
                region_code=region_code,
                active=True,
                failed_logins=0,
                created_at=now,
                updated_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
        record(
            conn,
            key,
            AuditEvent(
                actor.name,
                "user.add",
                "ok",
                address,
                "user",
                str(user_id),
                f"role={role} region={region_code}",
            ),
        )
    return UserInfo(user_id, username, role, region_code, True)


def set_role(
    engine: Engine, key: bytes, actor: Actor, username: str, role: str, address: str
) -> UserInfo:
    actor.require(USER_MANAGE)
    with transaction(engine) as conn:
        _check_role_right(conn, role, None)
        row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            raise NotFound(_p("user.unknown", f"没有用户 {username}", f"no such user: {username}"))
        conn.execute(
            update(users).where(users.c.id == row.id).values(role=role, updated_at=clock.wall())
        )
        # a changed role takes effect at once: the user's sessions end
        conn.execute(delete(user_sessions).where(user_sessions.c.user_id == row.id))
        record(
            conn,
            key,
            AuditEvent(
                actor.name,
                "user.role",
                "ok",
                address,
                "user",
                str(row.id),
                f"role {row.role} -> {role}",
            ),
        )
    return UserInfo(row.id, username, role, row.region_code, row.active)


def _user_row(conn: Connection, actor: Actor, username: str) -> Row[Any]:
    """The user's row, locked for the change; NotFound when absent or outside the actor's
    jurisdiction (the same answer: a user elsewhere is not the actor's to see)."""
    row = conn.execute(select(users).where(users.c.username == username).with_for_update()).first()
    if row is None or (
        actor.region_code is not None and not in_subtree(conn, actor.region_code, row.region_code)
    ):
        raise NotFound(_p("user.unknown", f"没有用户 {username}", f"no such user: {username}"))
    return row


def set_password(
    engine: Engine,
    key: bytes,
    actor: Actor,
    username: str,
    password: str,
    address: str,
    *,
    keep_session: str | None = None,
) -> UserInfo:
    """Give a user a new password (the rules of ``add_user``). Their sessions end, except
    ``keep_session`` (the token of the session making the change, if any); a lockout ends
    too: the new password is the way back in."""
    actor.require(USER_MANAGE)
    if (short := _password_problem(password)) is not None:
        raise _invalid(short)
    with transaction(engine) as conn:
        row = _user_row(conn, actor, username)
        conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(
                password_hash=hash_password(password),
                failed_logins=0,
                locked_until=None,
                updated_at=clock.wall(),
            )
        )
        ended = delete(user_sessions).where(user_sessions.c.user_id == row.id)
        if keep_session is not None:
            ended = ended.where(user_sessions.c.token_hash != _token_hash(keep_session))
        conn.execute(ended)
        record(
            conn, key, AuditEvent(actor.name, "user.password", "ok", address, "user", str(row.id))
        )
    return UserInfo(row.id, username, row.role, row.region_code, row.active)


def disable_user(
    engine: Engine, key: bytes, actor: Actor, username: str, reason: str, address: str
) -> bool:
    """Turn an account off (停用): its sessions end and login is refused until
    ``enable_user``. False if it was disabled already (the first reason stays)."""
    actor.require(USER_MANAGE)
    reason = " ".join(reason.split())
    if not reason:
        raise _invalid(
            FieldProblem(
                "reason",
                _p("user.reason_missing", "请说明停用原因", "say why the account is disabled"),
            )
        )
    with transaction(engine) as conn:
        row = _user_row(conn, actor, username)
        if row.active:
            now = clock.wall()
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(active=False, disabled_at=now, disabled_reason=reason[:200], updated_at=now)
            )
        # ended in either case: a session of a disabled account is never valid
        conn.execute(delete(user_sessions).where(user_sessions.c.user_id == row.id))
        outcome = "ok" if row.active else "noop"
        detail = reason[:200]
        record(
            conn,
            key,
            AuditEvent(actor.name, "user.disable", outcome, address, "user", str(row.id), detail),
        )
    return bool(row.active)


def enable_user(engine: Engine, key: bytes, actor: Actor, username: str, address: str) -> bool:
    """Turn a disabled account on again; False if it was not disabled."""
    actor.require(USER_MANAGE)
    with transaction(engine) as conn:
        row = _user_row(conn, actor, username)
        if not row.active:
            conn.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(
                    active=True, disabled_at=None, disabled_reason=None, updated_at=clock.wall()
                )
            )
        outcome = "noop" if row.active else "ok"
        record(
            conn, key, AuditEvent(actor.name, "user.enable", outcome, address, "user", str(row.id))
        )
    return not row.active


def list_users(engine: Engine) -> list[UserInfo]:
    with engine.connect() as conn:
        return [_user_info(r) for r in conn.execute(select(users).order_by(users.c.username))]


def demo_admin(
    engine: Engine, key: bytes, region_code: str, *, username: str = "admin", role: str = "admin"
) -> tuple[str, str]:
    """For ``fangkong demo``: a user (default ``admin``, role ``admin``) at
    ``region_code`` with a fresh random password (set anew on every run); returns
    (username, password) to print once."""
    password = secrets.token_urlsafe(12)
    with engine.connect() as conn:
        exists = conn.execute(select(users.c.id).where(users.c.username == username)).first()
    if exists is None:
        from fangkong.auth.model import cli_actor

        add_user(engine, key, cli_actor(), username, password, role, region_code, "demo")
    else:  # audited as "demo", as before; the old password's sessions end
        demo = Actor(kind="cli", name="demo", rights=frozenset({USER_MANAGE}), region_code=None)
        set_password(engine, key, demo, username, password, "demo")
    return username, password
