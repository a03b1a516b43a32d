"""Device tokens (设备令牌): a scanner or a lab system acts with a token bound to a scope
and a venue (its jurisdiction is the venue's region); a unit's duty terminal (值班终端,
scopes of ``UNIT_SCOPES``) with one bound to a region of ``UNIT_LEVELS`` and optionally a
role (migration 0021). Issuing one is audited; only its SHA-256 is stored.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select

from fangkong import clock
from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.jurisdiction import in_subtree
from fangkong.auth.model import Actor
from fangkong.auth.rights import DEVICE_SCOPES, TOKEN_ISSUE, UNIT_LEVELS, UNIT_SCOPES
from fangkong.auth.users import _p, _token_hash
from fangkong.errors import FieldProblem, InvalidFields, NotFound, Unauthenticated
from fangkong.store.schema import device_tokens, regions, role_rights, roles, venues

# ---- device tokens -----------------------------------------------------------------------

_TOKEN_PREFIX = "fkd_"  # noqa: S105 - marks a device token
REGION_MAX = 15  # regions.code
ROLE_MAX = 32  # roles.name


def _invalid(field: str, code: str, zh: str, en: str) -> InvalidFields:
    return InvalidFields(
        _p("request.invalid", "输入有误", "invalid input"), [FieldProblem(field, _p(code, zh, en))]
    )


def _check(scope: str, days: int, *, unit: bool) -> None:
    """The scope is known and takes this binding (a venue, or a unit); 1–366 days."""
    if scope not in DEVICE_SCOPES:
        raise _invalid("scope", "token.scope_unknown", f"范围应为：{', '.join(DEVICE_SCOPES)}",
                       f"scope must be one of: {', '.join(DEVICE_SCOPES)}")  # fmt: skip
    if unit and scope not in UNIT_SCOPES:
        raise _invalid("scope", "token.scope_venue",
                       f"范围 {scope} 的令牌绑定到场所：请用 --venue 指定场所，不用 --region",
                       f"a {scope} token is bound to a venue: give --venue, "
                       "not --region")  # fmt: skip
    if not unit and scope in UNIT_SCOPES:
        raise _invalid("scope", "token.scope_unit",
                       f"范围 {scope} 的令牌绑定到单位：请用 --region（可加 --role），不用 --venue",
                       f"a {scope} token is bound to a unit: give --region (and --role), "
                       "not --venue")  # fmt: skip
    if not 1 <= days <= 366:
        raise _invalid("days", "token.days", "有效期应为 1–366 天", "a token lasts 1 to 366 days")


def _insert(
    conn: Connection, key: bytes, actor: Actor, address: str, now: datetime, days: int,
    values: dict[str, str | None], bound: str = "",
) -> str:  # fmt: skip
    """Store a new token (hashed) and its audit row (``bound``: the unit, if any); the
    token, shown once."""
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = conn.execute(
        device_tokens.insert()
        .values(token_hash=_token_hash(token), created_at=now,
                expires_at=now + timedelta(days=days), **values)
        .returning(device_tokens.c.id)
    ).scalar_one()  # fmt: skip
    record(conn, key, AuditEvent(actor.name, "token.issue", "ok", address, "device",
                                 str(token_id), f"scope={values['scope']} days={days}{bound}"),
           at=now)  # fmt: skip
    return token


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
    """A new device token bound to a venue (shown once, stored hashed) and its expiry."""
    actor.require(TOKEN_ISSUE)
    _check(scope, days, unit=False)
    now = now or clock.wall()
    with transaction(engine) as conn:
        # a venue's token: its jurisdiction is the venue's region, never all
        venue = conn.execute(select(venues.c.region_code).where(venues.c.code == venue_code))
        region = venue.scalar_one_or_none()
        if region is None or (
            actor.region_code is not None and not in_subtree(conn, actor.region_code, region)
        ):
            raise NotFound(
                _p("venue.not_found", f"没有场所 {venue_code}", f"no such venue: {venue_code}")
            )
        token = _insert(conn, key, actor, address, now, days,
                        {"scope": scope, "venue_code": venue_code})  # fmt: skip
    return token, now + timedelta(days=days)


def issue_unit_token(
    engine: Engine, key: bytes, actor: Actor, scope: str, region_code: str, role: str | None,
    days: int, address: str, now: datetime | None = None,
) -> tuple[str, datetime]:  # fmt: skip
    """A new token of a unit's duty terminal (值班终端): bound to a region of
    ``UNIT_LEVELS`` inside the issuer's jurisdiction and optionally to a role that holds
    every right of the scope. Shown once, stored hashed; with its expiry."""
    actor.require(TOKEN_ISSUE)
    _check(scope, days, unit=True)
    if not 1 <= len(region_code) <= REGION_MAX or not region_code.isprintable():
        raise _invalid("region", "token.region_shape", f"区划代码应为 1–{REGION_MAX} 个字符",
                       f"a region code is 1 to {REGION_MAX} characters")  # fmt: skip
    if role is not None and (not 1 <= len(role) <= ROLE_MAX or not role.isprintable()):
        raise _invalid("role", "token.role_shape", f"角色名应为 1–{ROLE_MAX} 个字符",
                       f"a role name is 1 to {ROLE_MAX} characters")  # fmt: skip
    now = now or clock.wall()
    with transaction(engine) as conn:
        _check_unit(conn, actor, scope, region_code, role)
        token = _insert(conn, key, actor, address, now, days,
                        {"scope": scope, "region_code": region_code, "role": role},
                        f" region={region_code}" + (f" role={role}" if role else ""))  # fmt: skip
    return token, now + timedelta(days=days)


def _check_unit(
    conn: Connection, actor: Actor, scope: str, region_code: str, role: str | None
) -> None:
    """The region exists in the issuer's jurisdiction (else: absent) at a level that owes
    tasks; the role exists and holds the scope's rights."""
    level = conn.execute(
        select(regions.c.level).where(regions.c.code == region_code)
    ).scalar_one_or_none()
    if level is None or (
        actor.region_code is not None and not in_subtree(conn, actor.region_code, region_code)
    ):
        raise NotFound(
            _p("region.unknown", f"没有区划 {region_code}", f"no such region: {region_code}")
        )
    if level not in UNIT_LEVELS:
        raise _invalid("region", "token.region_level",
                       f"区划 {region_code} 低于乡镇（街道）：任务由乡镇及以上单位承担",
                       f"region {region_code} lies below a township: tasks are owed by "
                       "townships and above")  # fmt: skip
    if role is None:
        return
    if conn.execute(select(roles.c.name).where(roles.c.name == role)).first() is None:
        raise NotFound(_p("role.unknown", f"没有角色 {role}", f"no such role: {role}"))
    held = set(conn.execute(select(role_rights.c.right).where(role_rights.c.role == role))
               .scalars())  # fmt: skip
    if missing := [r for r in DEVICE_SCOPES[scope] if r not in held]:
        raise _invalid("role", "token.role_rights",
                       f"角色 {role} 不具备 {'、'.join(missing)} 权限，不能作 {scope} 终端的角色",
                       f"the role {role} lacks {', '.join(missing)}: it cannot stand behind a "
                       f"{scope} device")  # fmt: skip


_TOKEN_INVALID = _p(
    "token.invalid", "设备令牌无效或已撤销", "the device token is invalid or revoked"
)


def device_actor(engine: Engine, token: str, now: datetime | None = None) -> Actor:
    """The device behind a bearer token: its scope's rights, bound to its venue — or to
    its unit: the region, and with a role only the scope's rights the role still holds
    (read at each request, as a person's)."""
    now = now or clock.wall()
    with engine.connect() as conn:
        row = conn.execute(
            select(device_tokens, venues.c.region_code.label("venue_region"))
            .outerjoin(venues, venues.c.code == device_tokens.c.venue_code)
            .where(device_tokens.c.token_hash == _token_hash(token))
        ).first()
        held = None
        if row is not None and row.role is not None:
            rights = select(role_rights.c.right).where(role_rights.c.role == row.role)
            held = frozenset(conn.execute(rights).scalars())
    # a token bound to nothing (none is issued so) would see everything: refused
    region = None if row is None else row.region_code or row.venue_region
    if row is None or row.revoked_at is not None or region is None:
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
        rights=frozenset(r for r in DEVICE_SCOPES[row.scope] if held is None or r in held),
        region_code=region,
        role=row.role,
        venue_code=row.venue_code,
        scope=row.scope,
        expires_at=row.expires_at,
    )
