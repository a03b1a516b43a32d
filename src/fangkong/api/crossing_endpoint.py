"""``POST /api/v1/crossings`` from a checkpoint's device, as a plain ASGI layer.

The route in ``logistics_routes.py`` documents the endpoint (OpenAPI) and answers whatever
this layer passes on (people by session, other content types, a query string); this layer
answers crossings sent with a bearer token itself — the same body model, auth (the
device's token: scope ``checkpoint``, right ``logistics.crossing``), answer body, status
codes, problems and security headers — in front of FastAPI's middleware and routing::

    body (≤ MAX_BODY) ─▶ CrossingBody (pydantic) ─▶ device (cached as for scans: a
         revoked token is refused at most ``device_cache.DEVICE_CACHE_S`` seconds late)
         ─▶ access.prepare_device (decided on a read connection: on SQLite on the loop,
            on PostgreSQL in a worker thread) ─▶ await CrossingWriter.submit_async (group
            commit; the samples registered there) ─▶ CrossingResult JSON
         (a crossing handing someone to the closed loop, or sent back by the writer:
          access.record, the full path, in a worker thread)

A device's crossing writes no audit row on either path (the crossing row names the device
and is the record, as a scan is).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import weakref
from typing import Any

import anyio
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from fangkong.api.device_cache import DeviceCache
from fangkong.api.logistics_routes import CrossingBody, crossing_in, result
from fangkong.api.scan_endpoint import _read_body
from fangkong.auth.guard import Call
from fangkong.errors import FangkongError
from fangkong.http import problems
from fangkong.http.context import AppContext
from fangkong.http.headers import api_headers, with_api_headers
from fangkong.logistics import access
from fangkong.logistics.crossing_input import CrossingIn, CrossingOut
from fangkong.logistics.crossing_writer import Redo
from fangkong.logistics.crossings import PreparedCrossing
from fangkong.logistics.rules import LogisticsRules

CROSSING_PATH = "/api/v1/crossings"
# threads per process deciding crossings: fewer threads contend less for the GIL, and a
# crossing waiting for its commit holds none (measured with benchmarks/checkpoint_load.py)
CROSSING_THREADS = 4
MAX_BODY = 256 * 1024  # 60 people with every field at its bound fit several times over
_JSON = [(b"content-type", b"application/json")]
log = logging.getLogger(__name__)


class CrossingEndpoint:
    """ASGI layer answering checkpoint devices' crossings; everything else goes to
    ``app``. It adds the API's security headers and answers an unexpected error with the
    ``internal`` problem itself (it stands in front of the app's middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.devices = DeviceCache()
        self._limiters: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anyio.CapacityLimiter
        ] = weakref.WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _ours(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        lang = problems.negotiate(headers.get(b"accept-language", b"").decode("latin-1"))
        token = headers[b"authorization"].decode("latin-1")[7:].strip()
        ctx: AppContext = scope["app"].state.ctx
        https = ctx.settings.https
        client = scope.get("client")
        address = client[0] if client else "unknown"
        try:
            body = _body(await _read_body(receive, MAX_BODY, "CrossingBody"))
            payload = await self._answer(ctx, token, body, address, lang)
        except FangkongError as exc:
            error = problems.from_error(exc, lang, CROSSING_PATH)
            await error(scope, receive, with_api_headers(send, https))
            return
        except RequestValidationError as exc:
            response = problems.from_validation(exc, lang, CROSSING_PATH)
            await response(scope, receive, with_api_headers(send, https))
            return
        except Exception:  # what the app's error handler would do: log, answer 500
            log.exception("unhandled error on POST %s", CROSSING_PATH)
            internal = problems.internal(lang, CROSSING_PATH)
            await internal(scope, receive, with_api_headers(send, https))
            return
        length = (b"content-length", str(len(payload)).encode())
        start = [*_JSON, *api_headers(https), length]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        await send({"type": "http.response.body", "body": payload})

    async def _answer(
        self, ctx: AppContext, token: str, body: CrossingBody, address: str, lang: str
    ) -> bytes:
        """Decide (on SQLite on the loop, as the scan endpoint reads: a few compiled
        lookups of a local file, cheaper than the hop to a thread; on PostgreSQL in a
        worker thread, at most ``CROSSING_THREADS`` a loop), await the group commit on the
        loop (no thread held while waiting), or record on the full path in a thread."""
        limiter = self._threads()
        if ctx.engine.dialect.name == "sqlite":  # a few indexed reads of a local file
            call, crossing, got, rules = _prepare(ctx, self.devices, token, body, address)
        else:
            call, crossing, got, rules = await anyio.to_thread.run_sync(
                _prepare, ctx, self.devices, token, body, address, limiter=limiter
            )
        out: CrossingOut | None = got if isinstance(got, CrossingOut) else None
        if isinstance(got, PreparedCrossing) and not got.hands_over:
            with contextlib.suppress(Redo):
                out = await access.writer_for(ctx.engine, ctx.codes).submit_async(got, rules)
        if out is None:
            out = await anyio.to_thread.run_sync(
                functools.partial(
                    access.record, call, ctx.codes, crossing, via="api", home=ctx.settings.home
                ),
                limiter=limiter,
            )
        return result(out, lang).model_dump_json().encode()

    def _threads(self) -> anyio.CapacityLimiter:
        """This event loop's limiter of the threads that decide and record crossings."""
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(CROSSING_THREADS)
        return limiter


def _ours(scope: Scope) -> bool:
    """A device's crossing as the route takes it: POST, JSON (or no content type), no
    query string, a bearer token."""
    if scope["type"] != "http" or scope["path"] != CROSSING_PATH or scope["method"] != "POST":
        return False
    if scope.get("query_string"):
        return False
    headers = dict(scope["headers"])
    kind = headers.get(b"content-type", b"application/json").split(b";")[0].strip().lower()
    auth = headers.get(b"authorization", b"")
    return bool(kind == b"application/json" and auth[:7].lower() == b"bearer ")


def _body(raw: bytes) -> CrossingBody:
    """The body as FastAPI reads it (JSON, then the model), its errors located under
    ``body`` as the route's are. A good body is parsed by pydantic straight from the bytes;
    a bad one is read again the route's way, so that its errors are the route's."""
    try:
        return CrossingBody.model_validate_json(raw)
    except ValidationError:
        pass
    try:
        data: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        pos = getattr(exc, "pos", 0)
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", pos), "msg": "JSON decode error",
              "input": {}, "ctx": {"error": str(exc)[:200]}}]
        ) from exc  # fmt: skip
    try:
        return CrossingBody.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()]
        raise RequestValidationError(errors) from exc


def _prepare(
    ctx: AppContext, devices: DeviceCache, token: str, body: CrossingBody, address: str
) -> tuple[Call, CrossingIn, PreparedCrossing | CrossingOut, LogisticsRules]:
    actor = devices.actor(ctx.engine, token)  # raises for unknown, revoked, expired
    call = Call(engine=ctx.engine, key=ctx.keys.audit, actor=actor, address=address,
                tz=ctx.settings.tz)  # fmt: skip
    crossing = crossing_in(body)
    got, rules = access.prepare_device(call, ctx.codes, crossing, via="api",
                                       home=ctx.settings.home)  # fmt: skip
    return call, crossing, got, rules
