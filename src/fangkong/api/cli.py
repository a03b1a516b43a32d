"""``fangkong serve``: the web app and API on uvicorn."""

from __future__ import annotations

import typer

from fangkong.cli_support import out, settings
from fangkong.store import migrate
from fangkong.store.engine import engine_for


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
) -> None:
    """Serve the web pages, the API and its docs (/docs) until Ctrl-C."""
    import uvicorn

    from fangkong.api.app import create_app

    cfg = settings()
    engine = engine_for(cfg)
    migrate.require_current(engine)
    app = create_app(cfg, engine)
    out.print(f"fangkong: http://{host}:{port}/  (API docs 接口文档 /docs; Ctrl-C to stop 停止)")
    try:
        uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")
    finally:
        engine.dispose()
