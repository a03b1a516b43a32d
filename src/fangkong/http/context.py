"""What every request shares (settings, engine, keys) and how a caller is recognised.

A device sends ``Authorization: Bearer fkd_...``; a person's browser sends the session
cookie. Requests that change state with a cookie must carry the CSRF token (form field
``csrf_token`` or header ``X-CSRF-Token``): an HMAC of the session token under the
server's CSRF key, so no other site can forge it and no table has to store it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy import Engine

from fangkong import clock
from fangkong.auth.devices import device_actor
from fangkong.auth.model import Actor
from fangkong.auth.sessions import SESSION_MISSING, Policy, session_actor
from fangkong.errors import Forbidden, Problem, Unauthenticated
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.scan_writer import ScanWriter
from fangkong.identity.sealing import Sealer
from fangkong.keys import ServerKeys
from fangkong.settings import Settings

SESSION_COOKIE = "fk_session"
PRESESSION_COOKIE = "fk_pre"
LANG_COOKIE = "fk_lang"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSRF_REFUSED = Problem(
    "csrf.invalid",
    "表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试",
    "the form is stale or did not come from this site (CSRF check failed): reload and retry",
)


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    engine: Engine
    sealer: Sealer
    keys: ServerKeys
    codes: CodeContext  # policy pack, QR keys, time zone of the health-code use cases
    scan_writer: ScanWriter | None = None  # scans are group-committed (both backends)

    @property
    def policy(self) -> Policy:
        return Policy.of(self.settings)

    def today(self) -> date:
        return clock.today(ZoneInfo(self.settings.timezone))


def app_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def csrf_token(keys: ServerKeys, basis: str) -> str:
    return hmac.new(keys.csrf, basis.encode(), hashlib.sha256).hexdigest()


def session_csrf(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return csrf_token(app_context(request).keys, "s:" + token) if token else None


def check_csrf(request: Request, supplied: str | None, basis: str | None) -> None:
    """Refuse a state-changing request whose token does not match its cookie."""
    ctx = app_context(request)
    expected = csrf_token(ctx.keys, basis) if basis else None
    if not expected or not supplied or not hmac.compare_digest(expected, supplied):
        raise Forbidden(CSRF_REFUSED)


def current_actor(request: Request) -> Actor:
    """The caller: a device by bearer token, else a person by session cookie."""
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    ctx = app_context(request)
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        actor = device_actor(ctx.engine, auth[7:].strip())
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise Unauthenticated(SESSION_MISSING)
        actor = session_actor(ctx.engine, ctx.policy, token)
        if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
            check_csrf(request, request.headers.get(CSRF_HEADER), "s:" + token)
    request.state.actor = actor
    return actor
