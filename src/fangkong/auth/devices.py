"""Device tokens (设备令牌): a scanner or a lab system acts with a token bound to a scope,
a region and (for scanners) a venue. Issuing one is audited; only its SHA-256 is stored.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from fangkong import clock
from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.jurisdiction import in_subtree
from fangkong.auth.model import Actor
from fangkong.auth.rights import DEVICE_SCOPES, TOKEN_ISSUE
from fangkong.auth.users import _p, _token_hash
from fangkong.errors import FieldProblem, InvalidFields, NotFound, Unauthenticated
from fangkong.store.schema import device_tokens, venues

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
