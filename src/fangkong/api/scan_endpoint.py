"""``POST /api/v1/scan`` as a plain ASGI layer: the path every venue's scanner hits.

The route in ``routes.py`` documents the endpoint (OpenAPI) and answers whatever this
layer passes on; this layer answers scans sent with a device's bearer token itself, with
the same body model, checks, verdict, problems and security headers, but in front of
FastAPI (``app.FangkongApp`` calls it first): no middleware stack, routing or dependency
injection and — on SQLite — no thread per request::

    body ─▶ ScanIn (pydantic, from JSON bytes) ─▶ device (cached ≤ DEVICE_CACHE_S)
         ─▶ scan_subject checks (the zone too, if sent) ─▶ ScanWriter.prepare (read-only,
            on the event loop; on PostgreSQL in a worker thread)
         ─▶ await ScanWriter.submit_async (group commit) ─▶ ScanOut JSON

The same on PostgreSQL (issue 21: a transaction per scan in a worker thread reached 0.2×
SQLite's scans/s); without a writer (an app built so in tests) the scan runs in a worker
thread. A device token revoked or expired is refused at most
``device_cache.DEVICE_CACHE_S`` seconds late (the cache keeps an actor no longer than
its token's expiry); unknown tokens are never cached.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import anyio
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fangkong.api.device_cache import DeviceCache
from fangkong.api.routes import SCAN_BODY_MALFORMED, SCAN_PATH, ScanIn, ScanOut
from fangkong.errors import FangkongError
from fangkong.healthcode.access import ScanRequest, prepare_at_venue, scan_at_venue
from fangkong.healthcode.scan_verdict import ScanVerdict
from fangkong.http import problems
from fangkong.http.context import AppContext
from fangkong.http.headers import api_headers, with_api_headers

# PostgreSQL: threads per process that read for scans (each with its own connection).
# Measured with benchmarks/scan_load.py --backend postgres (issue 21), alternating runs:
# 4 threads 914–1,241 scans/s, anyio's default 40 threads 802–943 (fewer threads
# contending for the GIL, and a tenth of the connections).
PG_READ_THREADS = 4
MAX_BODY = 16 * 1024
_JSON = [(b"content-type", b"application/json")]
log = logging.getLogger(__name__)


class ScanEndpoint:
    """ASGI layer answering device scans; everything else goes to ``app``. It stands in
    front of the app's middleware, so it adds the API's security headers and answers an
    unexpected error with the ``internal`` problem itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._devices = DeviceCache()
        self._limiters: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anyio.CapacityLimiter
        ] = weakref.WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != SCAN_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth[:7].lower() != "bearer ":  # people, or nobody: the full stack answers
            await self.app(scope, receive, send)
            return
        lang = problems.negotiate(headers.get(b"accept-language", b"").decode("latin-1"))
        ctx: AppContext = scope["app"].state.ctx
        https = ctx.settings.https
        try:
            body = await _read_body(receive)
            status, payload = 200, await self._scan(ctx, auth[7:].strip(), body, lang)
        except FangkongError as exc:
            error = problems.from_error(exc, lang, SCAN_PATH)
            await error(scope, receive, with_api_headers(send, https))
            return
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()]
            response = problems.from_validation(
                RequestValidationError(errors), lang, SCAN_PATH,
                problem=SCAN_BODY_MALFORMED, status=400,
            )  # fmt: skip
            await response(scope, receive, with_api_headers(send, https))
            return
        except Exception:  # what the app's error handler would do: log, answer 500
            log.exception("unhandled error on POST %s", SCAN_PATH)
            await problems.internal(lang, SCAN_PATH)(scope, receive, with_api_headers(send, https))
            return
        length = (b"content-length", str(len(payload)).encode())
        start = [*_JSON, *api_headers(https), length]
        await send({"type": "http.response.start", "status": status, "headers": start})
        await send({"type": "http.response.body", "body": payload})

    async def _scan(self, ctx: AppContext, token: str, body: bytes, lang: str) -> bytes:
        scan_in = ScanIn.model_validate_json(body)
        actor = self._devices.actor(ctx.engine, token)
        scan = ScanRequest(scan_in.venue_code, scan_in.device_time, scan_in.event_id,
                           scan_in.token, scan_in.id_number, scan_in.zone)  # fmt: skip
        writer = ctx.scan_writer
        if writer is None:
            verdict = await anyio.to_thread.run_sync(
                lambda: scan_at_venue(ctx.engine, ctx.codes, actor, scan)
            )
            return ScanOut.of(verdict, lang).model_dump_json().encode()
        if writer.sqlite:  # in-process reads: cheaper than a hop to a worker thread
            prepared = prepare_at_venue(ctx.engine, actor, scan, writer)
        else:  # PostgreSQL: the event loop goes on while the reads wait for the server
            prepared = await anyio.to_thread.run_sync(
                lambda: prepare_at_venue(ctx.engine, actor, scan, writer),
                limiter=self._read_threads(),
            )
        verdict = (
            prepared if isinstance(prepared, ScanVerdict) else await writer.submit_async(prepared)
        )
        return ScanOut.of(verdict, lang).model_dump_json().encode()

    def _read_threads(self) -> anyio.CapacityLimiter:
        """This event loop's limiter of the threads that read for scans on PostgreSQL."""
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(PG_READ_THREADS)
        return limiter


async def _read_body(receive: Receive, limit: int = MAX_BODY, model: str = "ScanIn") -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: Any = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ValidationError.from_exception_data(
                model, [{"type": "too_long", "loc": (), "input": "", "ctx": {
                    "field_type": "Body", "min_length": 0, "max_length": limit,
                    "actual_length": size}}],
            )  # fmt: skip
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
