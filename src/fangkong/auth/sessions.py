"""Login (登录), sessions and lockout. Each use case owns its transaction and writes its
audit row.

Login, in order: the address's failed logins in the last minute (rate limit) → the
password (Argon2id, the same cost for unknown usernames) → the account disabled (停用)?
→ its lock → a session whose random token goes to the cookie and whose SHA-256 is
stored. Only the right password learns that an account is disabled or locked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select, update

from fangkong import clock
from fangkong.audit.log import AuditEvent, record, transaction, unknown_name
from fangkong.auth.model import Actor
from fangkong.auth.passwords import hash_password, needs_rehash, verify_password
from fangkong.auth.users import _p, _token_hash
from fangkong.errors import FangkongError, Forbidden, TooManyAttempts, Unauthenticated
from fangkong.settings import Settings
from fangkong.store.schema import audit_log, role_rights, user_sessions, users

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
