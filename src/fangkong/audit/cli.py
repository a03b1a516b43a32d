"""``fangkong audit verify`` and ``fangkong audit search``."""

from __future__ import annotations

import typer
from rich.table import Table

from fangkong.audit.anchor import anchor_paths
from fangkong.audit.log import search, verify
from fangkong.cli_support import database, err, out, settings
from fangkong.keys import load_server_keys
from fangkong.store import migrate

app = typer.Typer(help="Audit log: verify the hash chain, search entries.", no_args_is_help=True)


@app.command("verify")
def verify_command() -> None:
    """Check the audit log's hash chain and its anchor file(s); exit 1 naming each
    altered, missing or forged row, and each checkpoint the table no longer matches."""
    cfg = settings()
    paths = anchor_paths(cfg)
    with database(cfg) as engine:
        migrate.require_current(engine)
        count, breaks = verify(engine, load_server_keys(cfg).audit, paths)
    if not breaks:
        out.print(f"审计日志完好 / audit chain intact: {count:,} rows")
        out.print("  anchored in " + ", ".join(str(p) for p in paths), markup=False)
        return
    for b in breaks:
        where = "row" if b.where == "row" else "anchor line"
        err.print(f"[red]{where} {b.seq}[/red]: ", end="")
        err.print(b.reason, markup=False)
    err.print(f"审计日志被改动 / audit chain broken: {len(breaks)} problem(s) in {count:,} rows")
    raise typer.Exit(1)


@app.command("search")
def search_command(
    person: int | None = typer.Option(None, "--person", help="Person row id (persons.id)."),
    user: str | None = typer.Option(None, "--user", help="Who acted: username, device:N, cli:..."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first."),
) -> None:
    """Show audit entries, newest first, about a person and/or by a user."""
    with database() as engine:
        migrate.require_current(engine)
        rows = search(engine, person=person, user=user, limit=limit)
    table = Table("seq", "at (UTC)", "actor", "action", "target", "outcome", "from", "detail")
    for r in rows:
        target = f"{r.target_type or ''} {r.target_id or ''}".strip()
        table.add_row(
            str(r.seq),
            f"{r.at:%Y-%m-%d %H:%M:%S}",
            r.actor,
            r.action,
            target,
            r.outcome,
            r.address,
            r.detail or "",
        )
    out.print(table)
    out.print(f"{len(rows)} rows")
