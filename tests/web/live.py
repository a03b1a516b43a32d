"""What the browser tests share: a real uvicorn over a SQLite province, a real Chromium.

Playwright drives Debian's Chromium (``/usr/bin/chromium``). Without it the browser tests
skip, unless FANGKONG_REQUIRE_BROWSER=1 (CI), which turns the missing browser into a
failure with the command that installs it. A test module's server fixture calls
:func:`province` first (which checks for the browser), sets up its world, then serves
it with :func:`live_server`; its tests open :func:`chromium` and :func:`login`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from fangkong.store import migrate
from fangkong.store.engine import make_engine
from tests.conftest import PASSWORD, load_province

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_SECONDS = 20  # how long uvicorn may take to start


def require_browser() -> None:
    """Skip the test without Chromium; fail it instead under FANGKONG_REQUIRE_BROWSER=1."""
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} not found: apt-get install -y chromium"
    if os.environ.get("FANGKONG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"FANGKONG_REQUIRE_BROWSER=1 but {message}")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def province(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path], name: str
) -> tuple[Engine, Path]:
    """After :func:`require_browser`: a fresh home directory ``name`` and an engine on a
    migrated SQLite file there holding the test province."""
    require_browser()
    home = tmp_path_factory.mktemp(name)
    engine = make_engine(f"sqlite:///{home / 'fangkong.db'}")
    migrate.upgrade(engine)
    load_province(engine, twin_files)
    return engine, home


@contextmanager
def live_server(engine: Engine, home: Path, app: Any = None, **options: Any) -> Iterator[str]:
    """A real uvicorn serving ``app`` (made now over ``engine`` and ``home`` if None) on
    a free 127.0.0.1 port, in a daemon thread (``options``: more uvicorn settings); yields
    its base URL once it has started. On leaving, the server stops and the engine is
    disposed of."""
    import uvicorn

    from tests.api.helpers import make_app

    port = free_port()
    config = uvicorn.Config(
        app if app is not None else make_app(engine, home),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        **options,
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium launched headless through Playwright; closed on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def login(page: Any, server: str, username: str) -> None:
    """Log ``username`` (the test password) in through the login form; lands on ``/``."""
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{server}/")


def watch_console(page: Any) -> list[str]:
    """What the page reports going wrong, collected as it happens: console errors and
    warnings (Vega warns of specs it cannot draw, e.g. "Infinite extent", and of a
    spec of another major version) and uncaught script errors."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)  # fmt: skip
    page.on("pageerror", lambda exc: seen.append(f"pageerror: {exc}"))
    return seen


def drawn_marks(page: Any, chart: str, timeout: int = 20_000) -> int:
    """How many marks Vega drew in the chart ``chart`` (a CSS selector of the element
    holding it), once it has drawn some; fails on a drawn path without numbers (a mark
    positioned from missing data: "Mundefined,undefined")."""
    marks = f"{chart} svg .role-mark > path, {chart} svg .role-mark > g"
    page.wait_for_selector(marks, state="attached", timeout=timeout)
    broken = page.eval_on_selector_all(
        f"{chart} svg path",
        "ps => ps.map(p => p.getAttribute('d') || '').filter(d => /undefined|NaN/.test(d))",
    )
    assert broken == [], f"{chart}: {len(broken)} paths without numbers, e.g. {broken[0][:80]}"
    return int(page.locator(marks).count())
