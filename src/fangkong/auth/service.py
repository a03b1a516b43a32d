"""Use cases of users, roles, sessions and device tokens. Each owns its transaction and
writes its audit row; CLI commands, API routes and pages only call these.

Login (登录), in order: the address's failed logins in the last minute (rate limit) →
the password (Argon2id, the same cost for unknown usernames) → the account disabled
(停用)? → its lock → a session whose random token goes to the cookie and whose SHA-256
is stored. Only the right password learns that an account is disabled or locked.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, select, update

from fangkong import clock
from fangkong.audit.log import AuditEvent, record, transaction, unknown_name
from fangkong.auth.jurisdiction import in_subtree, region_exists
from fangkong.auth.model import Actor, UserInfo
from fangkong.auth.passwords import hash_password, needs_rehash, verify_password
from fangkong.auth.rights import DEVICE_SCOPES, TOKEN_ISSUE, USER_MANAGE
from fangkong.errors import (
    BadInput,
    FangkongError,
    FieldProblem,
    Forbidden,
    InvalidFields,
    NotFound,
    Problem,
    TooManyAttempts,
    Unauthenticated,
)
from fangkong.settings import Settings
from fangkong.store.schema import (
    audit_log,
    device_tokens,
    rights,
    role_rights,
    roles,
    user_sessions,
    users,
    venues,
)

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,63}")
MIN_PASSWORD = 10
_SEEN_EVERY = timedelta(seconds=30)  # last_seen_at is refreshed at most this often


@dataclass(frozen=True)
class Policy:
    """The login and session rules in force (from the settings)."""

    idle: timedelta
    max_age: timedelta
    max_failures: int
    lockout: timedelta
    rate_per_minute: int

    @classmethod
    def of(cls, s: Settings) -> Policy:
        return cls(
            idle=timedelta(minutes=s.session_idle_minutes),
            max_age=timedelta(hours=s.session_max_hours),
            max_failures=s.login_max_failures,
            lockout=timedelta(minutes=s.lockout_minutes),
            rate_per_minute=s.login_rate_per_minute,
        )


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


# ---- login and sessions ------------------------------------------------------------------

_LOGIN_FAILED = _p("login.failed", "用户名或密码错误", "wrong username or password")


def login(
    engine: Engine,
    key: bytes,
    policy: Policy,
    username: str,
    password: str,
    address: str,
    now: datetime | None = None,
) -> str:
    """Check the password; on success return a new session token (for the cookie)."""
    now = now or clock.wall()
    token = secrets.token_urlsafe(32)
    error: FangkongError | None = None
    with transaction(engine) as conn:
        recent_failures = conn.execute(
            select(func.count())
            .select_from(audit_log)
            .where(
                audit_log.c.address == address,
                audit_log.c.action == "login",
                audit_log.c.outcome != "ok",
                audit_log.c.at >= now - timedelta(minutes=1),
            )
        ).scalar_one()
        user = conn.execute(select(users).where(users.c.username == username)).first()
        outcome, target = "ok", None if user is None else str(user.id)
        if recent_failures >= policy.rate_per_minute:
            outcome = "rate_limited"
            error = TooManyAttempts(
                _p(
                    "login.rate_limited",
                    "登录失败次数过多，请一分钟后再试",
                    "too many failed logins from this address: wait a minute",
                )
            )
        elif not verify_password(user.password_hash if user else None, password) or user is None:
            outcome, error = "bad_credentials", Unauthenticated(_LOGIN_FAILED)
            if user is not None and not _locked(user.locked_until, now):
                failures = user.failed_logins + 1
                locked = failures >= policy.max_failures
                conn.execute(
                    update(users)
                    .where(users.c.id == user.id)
                    .values(
                        failed_logins=0 if locked else failures,
                        locked_until=now + policy.lockout if locked else user.locked_until,
                    )
                )
                if locked:
                    outcome = "locked"  # audited; the caller still hears only "failed"
            elif user is not None:
                outcome = "locked"
            # A wrong password never learns whether the account exists, is disabled or is
            # locked; only the right password is told (below).
        elif not user.active:
            outcome, error = "disabled", Forbidden(LOGIN_DISABLED)
        elif _locked(user.locked_until, now):
            outcome, error = "locked", _locked_error(policy)  # right password, still locked
        if error is None and user is not None:
            changes: dict[str, object] = {"failed_logins": 0, "locked_until": None}
            if needs_rehash(user.password_hash):
                changes["password_hash"] = hash_password(password)
            conn.execute(update(users).where(users.c.id == user.id).values(**changes))
            conn.execute(
                user_sessions.insert().values(
                    token_hash=_token_hash(token),
                    user_id=user.id,
                    created_at=now,
                    last_seen_at=now,
                    address=address[:64],
                )
            )
        record(
            conn,
            key,
            # a name that is no account may be anything typed there (an ID number, a
            # password): only its keyed pseudonym is kept, so attempts still correlate
            AuditEvent(
                user.username if user is not None else unknown_name(key, username),
                "login",
                outcome,
                address,
                "user",
                target,
            ),
            at=now,
        )
    if error is not None:
        raise error
    return token


LOGIN_DISABLED = _p(
    "login.disabled",
    "此账户已停用，请联系管理员",
    "this account is disabled: ask an administrator",
)


def _locked(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now


def _locked_error(policy: Policy) -> TooManyAttempts:
    minutes = int(policy.lockout.total_seconds() // 60)
    return TooManyAttempts(
        _p(
            "login.locked",
            f"密码错误次数过多，账户已锁定 {minutes} 分钟",
            f"too many wrong passwords: the account is locked for {minutes} minutes",
        )
    )


SESSION_MISSING = _p("session.missing", "请先登录", "please log in")
SESSION_EXPIRED = _p(
    "session.expired",
    "长时间未操作，请重新登录",
    "your session ended after a time without activity: log in again",
)


def session_actor(engine: Engine, policy: Policy, token: str, now: datetime | None = None) -> Actor:
    """The user behind a session token; ends the session when idle or too old."""
    now = now or clock.wall()
    digest = _token_hash(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(
                user_sessions, users.c.username, users.c.role, users.c.region_code, users.c.active
            )
            .join(users, users.c.id == user_sessions.c.user_id)
            .where(user_sessions.c.token_hash == digest)
        ).first()
        held = (
            None
            if row is None
            else frozenset(
                conn.execute(
                    select(role_rights.c.right).where(role_rights.c.role == row.role)
                ).scalars()
            )
        )
    if row is None or not row.active:
        raise Unauthenticated(SESSION_MISSING)
    if now - row.last_seen_at > policy.idle or now - row.created_at > policy.max_age:
        with transaction(engine) as conn:
            conn.execute(delete(user_sessions).where(user_sessions.c.token_hash == digest))
        raise Unauthenticated(SESSION_EXPIRED)
    if now - row.last_seen_at > _SEEN_EVERY:
        with transaction(engine) as conn:
            conn.execute(
                update(user_sessions)
                .where(user_sessions.c.token_hash == digest)
                .values(last_seen_at=now)
            )
    assert held is not None  # noqa: S101 - set when row is
    return Actor(
        kind="user",
        name=row.username,
        rights=held,
        region_code=row.region_code,
        user_id=row.user_id,
        role=row.role,
    )


def logout(engine: Engine, key: bytes, token: str, address: str) -> None:
    digest = _token_hash(token)
    with transaction(engine) as conn:
        row = conn.execute(
            select(users.c.id, users.c.username)
            .join(user_sessions, users.c.id == user_sessions.c.user_id)
            .where(user_sessions.c.token_hash == digest)
        ).first()
        if row is None:
            return
        conn.execute(delete(user_sessions).where(user_sessions.c.token_hash == digest))
        record(conn, key, AuditEvent(row.username, "logout", "ok", address, "user", str(row.id)))


# ---- device tokens -----------------------------------------------------------------------

_TOKEN_PREFIX = "fkd_"  # noqa: S105 - marks a device token


def issue_device_token(
    engine: Engine,
    key: bytes,
    actor: Actor,
    scope: str,
    venue_code: str,
    days: int,
    address: str,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A new device token (shown once, stored hashed) and when it expires."""
    actor.require(TOKEN_ISSUE)
    if scope not in DEVICE_SCOPES:
        raise InvalidFields(
            _p("request.invalid", "输入有误", "invalid input"),
            [
                FieldProblem(
                    "scope",
                    _p(
                        "token.scope_unknown",
                        f"范围应为：{', '.join(DEVICE_SCOPES)}",
                        f"scope must be one of: {', '.join(DEVICE_SCOPES)}",
                    ),
                )
            ],
        )
    if not 1 <= days <= 366:
        raise InvalidFields(
            _p("request.invalid", "输入有误", "invalid input"),
            [
                FieldProblem(
                    "days", _p("token.days", "有效期应为 1–366 天", "a token lasts 1 to 366 days")
                )
            ],
        )
    now = now or clock.wall()
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = now + timedelta(days=days)
    with transaction(engine) as conn:
        # every token is bound to a venue: its jurisdiction is the venue's region, never all
        venue = conn.execute(select(venues.c.region_code).where(venues.c.code == venue_code))
        region = venue.scalar_one_or_none()
        if region is None or (
            actor.region_code is not None and not in_subtree(conn, actor.region_code, region)
        ):
            raise NotFound(
                _p("venue.not_found", f"没有场所 {venue_code}", f"no such venue: {venue_code}")
            )
        token_id = conn.execute(
            device_tokens.insert()
            .values(
                token_hash=_token_hash(token),
                scope=scope,
                venue_code=venue_code,
                created_at=now,
                expires_at=expires,
            )
            .returning(device_tokens.c.id)
        ).scalar_one()
        record(
            conn,
            key,
            AuditEvent(
                actor.name,
                "token.issue",
                "ok",
                address,
                "device",
                str(token_id),
                f"scope={scope} days={days}",
            ),
            at=now,
        )
    return token, expires


_TOKEN_INVALID = _p(
    "token.invalid", "设备令牌无效或已撤销", "the device token is invalid or revoked"
)


def device_actor(engine: Engine, token: str, now: datetime | None = None) -> Actor:
    """The device behind a bearer token: its scope's rights, bound to its venue."""
    now = now or clock.wall()
    with engine.connect() as conn:
        row = conn.execute(
            select(device_tokens, venues.c.region_code)
            .outerjoin(venues, venues.c.code == device_tokens.c.venue_code)
            .where(device_tokens.c.token_hash == _token_hash(token))
        ).first()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated(_TOKEN_INVALID)
    if row.expires_at <= now:
        raise Unauthenticated(
            _p(
                "token.expired",
                "设备令牌已过期，请重新签发",
                "the device token has expired: issue a new one",
            )
        )
    return Actor(
        kind="device",
        name=f"device:{row.id}",
        rights=frozenset(DEVICE_SCOPES[row.scope]),
        region_code=row.region_code,
        venue_code=row.venue_code,
        scope=row.scope,
        expires_at=row.expires_at,
    )


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
