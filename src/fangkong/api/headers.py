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


def with_api_headers(send: Send) -> Send:
    """``send`` adding :data:`API_HEADERS` (those not already set) to the response start."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            h = MutableHeaders(scope=message)
            for name, value in API_HEADERS:
                h.setdefault(name.decode(), value.decode())
        await send(message)

    return send_with_headers


class SecurityHeaders:
    """nosniff, no framing, same-origin referrers; ``no-store`` outside ``/static/``
    (pages and answers may hold personal data); a CSP on HTML (``docs_csp`` on /docs)."""

    def __init__(self, app: ASGIApp, *, page_csp: str, docs_csp: str) -> None:
        self.app = app
        self.page_csp = page_csp
        self.docs_csp = docs_csp

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
                if not path.startswith("/static/"):
                    h.setdefault("Cache-Control", "no-store")
                if h.get("content-type", "").startswith("text/html"):
                    csp = self.docs_csp if path == "/docs" else self.page_csp
                    h.setdefault("Content-Security-Policy", csp)
            await send(message)

        await self.app(scope, receive, send_with_headers)
