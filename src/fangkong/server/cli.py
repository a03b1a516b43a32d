"""``fangkong serve``: the web app and API on uvicorn (uvloop and httptools when present)."""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

import typer

from fangkong.cli_support import out, settings
from fangkong.files import lock_down_process
from fangkong.settings import Settings
from fangkong.store import migrate
from fangkong.store.engine import engine_for

if TYPE_CHECKING:
    from fastapi import FastAPI

GIL_SWITCH_S = 0.0005
# uvicorn closes idle connections after 5 s; clients and balancers keep theirs 60 s or more
KEEP_ALIVE_S = 75


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="Server processes sharing the port (default 1; about one per core). On SQLite "
        "each has its own scan writer; they take turns on a lock file next to the database "
        "(measured: 2 processes on 2 cores verify about 1.5x the scans of one).",
    ),
    access_log: bool = typer.Option(
        False, "--access-log/--no-access-log", help="Log every request (off: costs time)."
    ),
    keep_alive: int = typer.Option(
        KEEP_ALIVE_S,
        "--keep-alive",
        min=1,
        max=3600,
        help="Seconds an idle connection stays open (default 75). Keep it longer than the "
        "idle timeout of the load balancer or client in front: a server that closes first "
        "races the next request sent on that connection, which then fails.",
    ),
) -> None:
    """Serve the web pages, the API and its docs (/docs) until Ctrl-C."""
    import uvicorn

    cfg = settings()
    engine = engine_for(cfg)
    try:
        migrate.require_current(engine)
    finally:
        engine.dispose()
    out.print(
        f"fangkong: http://{host}:{port}/  (API docs 接口文档 /docs; {workers} worker(s); "
        "Ctrl-C to stop 停止)"
    )
    uvicorn.run(
        "fangkong.server.cli:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **proxy_options(cfg),
        log_level="info",
        access_log=access_log,
        timeout_keep_alive=keep_alive,
    )


def proxy_options(cfg: Settings) -> dict[str, Any]:
    """uvicorn's options for X-Forwarded-*: believed only from ``FANGKONG_TRUSTED_PROXIES``.
    Left to itself uvicorn trusts 127.0.0.1, so anyone on the host could choose the
    address that rate limits and the audit log see."""
    if not cfg.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(cfg.trusted_proxies)}


def app_factory() -> FastAPI:
    """The app of one server process, from the settings in its environment."""
    from fangkong.server.app import create_app

    # Hand the GIL over every 0.5 ms, not 5: the event loop answers requests while the scan
    # writer thread commits; with the default a request can wait 5 ms for the GIL each time
    # it returns from SQLite (measured: 1.5-2x fewer scans per second).
    sys.setswitchinterval(GIL_SWITCH_S)
    lock_down_process()  # also when started by uvicorn itself, not `fangkong serve`
    cfg = settings()
    app = create_app(cfg, engine_for(cfg))
    app.state.pid = os.getpid()
    # the demand forecast's serial interval needs scipy.stats, imported on first use: 1-2 s
    # that the first readiness or forecast page would otherwise pay (issue 19)
    importlib.import_module("fangkong.surveillance.rt")
    return app
