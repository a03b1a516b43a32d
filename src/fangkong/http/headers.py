"""Security headers on every answer, as a plain ASGI middleware (no per-request task or
stream wrapping, unlike ``@app.middleware("http")``)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# what every API answer carries (see SecurityHeaders): for answers built outside it
API_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
# FANGKONG_HTTPS: browsers come back over HTTPS only, for a year, subdomains included
HSTS: tuple[bytes, bytes] = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def api_headers(https: bool) -> list[tuple[bytes, bytes]]:
    """:data:`API_HEADERS`, with :data:`HSTS` when the service is reached over HTTPS."""
    return [*API_HEADERS, HSTS] if https else API_HEADERS


def with_api_headers(send: Send, https: bool = False) -> Send:
    """``send`` adding :func:`api_headers` (those not already set) to the response start."""
    extra = api_headers(https)

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            h = MutableHeaders(scope=message)
            for name, value in extra:
                h.setdefault(name.decode(), value.decode())
        await send(message)

    return send_with_headers


class SecurityHeaders:
    """nosniff, no framing, same-origin referrers; ``no-store`` outside ``/static/``
    (pages and answers may hold personal data); a CSP on HTML (``docs_csp`` on /docs);
    HSTS when ``https`` (``FANGKONG_HTTPS``)."""

    def __init__(self, app: ASGIApp, *, page_csp: str, docs_csp: str, https: bool = False) -> None:
        self.app = app
        self.page_csp = page_csp
        self.docs_csp = docs_csp
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                h.setdefault("X-Content-Type-Options", "nosniff")
                h.setdefault("X-Frame-Options", "DENY")
                h.setdefault("Referrer-Policy", "same-origin")
                if self.https:
                    h.setdefault(HSTS[0].decode(), HSTS[1].decode())
                if not path.startswith("/static/"):
                    h.setdefault("Cache-Control", "no-store")
                if h.get("content-type", "").startswith("text/html"):
                    csp = self.docs_csp if path == "/docs" else self.page_csp
                    h.setdefault("Content-Security-Policy", csp)
            await send(message)

        await self.app(scope, receive, send_with_headers)
