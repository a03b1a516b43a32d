"""``fangkong db``: create, migrate and inspect the operational store."""

from __future__ import annotations

import typer
from rich.table import Table

from fangkong.cli_support import database, out
from fangkong.store import migrate

app = typer.Typer(
    help="Operational store: create or migrate the schema, show its state.", no_args_is_help=True
)


@app.command("upgrade")
def upgrade_command(
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
) -> None:
    """Create the schema or migrate it to the newest revision (one transaction)."""
    with database() as engine:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine, revision)
        after = migrate.current_revision(engine)
        url = engine.url.render_as_string(hide_password=True)
    if before == after:
        out.print(f"数据库已是最新 / schema already at {after}  ({url})")
    else:
        out.print(f"数据库已升级 / schema upgraded {before or '(empty)'} → {after}  ({url})")


@app.command("status")
def status_command() -> None:
    """Show the database, its schema revision against the newest, and row counts.

    Exit 1 when the schema is missing or behind (run `fangkong db upgrade`).
    """
    with database() as engine:
        st = migrate.status(engine)
    out.print(f"database 数据库: {st.url} ({st.backend})")
    out.print(f"revision 版本: {st.current or '(none)'}   newest 最新: {st.head}")
    if st.counts:
        table = Table("table 表", "rows 行数")
        for name, count in st.counts.items():
            table.add_row(name, f"{count:,}")
        out.print(table)
    if not st.up_to_date:
        out.print("需要升级 / schema is not up to date: run `fangkong db upgrade`")
        raise typer.Exit(1)
