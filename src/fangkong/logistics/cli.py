"""``fangkong logistics ...``: checkpoints and crossings — thin callers of the guarded use
cases (the operator acts, audited as the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from fangkong.auth.guard import Call
from fangkong.auth.model import cli_actor
from fangkong.cli_support import database, out, settings
from fangkong.keys import load_server_keys
from fangkong.logistics.model import CHECKPOINT_KINDS
from fangkong.settings import Settings
from fangkong.store.listing import Bounded

app = typer.Typer(help="Road checkpoints and crossings. 卡口与车辆通行查验.",
                  no_args_is_help=True, rich_markup_mode=None)  # fmt: skip
checkpoint_app = typer.Typer(help="Checkpoints: add, list. 卡口.", no_args_is_help=True,
                             rich_markup_mode=None)  # fmt: skip
crossings_app = typer.Typer(help="Crossings: import a file. 通行记录.", no_args_is_help=True,
                            rich_markup_mode=None)  # fmt: skip
app.add_typer(checkpoint_app, name="checkpoint")
app.add_typer(crossings_app, name="crossings")


def _call(cfg: Settings, engine: Engine) -> Call:
    return Call(engine, load_server_keys(cfg).audit, cli_actor(), "cli", cfg.tz)


@checkpoint_app.command("add")
def add_command(
    code: Annotated[str, typer.Argument(help="Checkpoint code, e.g. CK-G5-01.")],
    name: Annotated[str, typer.Option("--name", help="Its name, e.g. G5 京昆高速太原西收费站.")],
    region: Annotated[str, typer.Option("--region", help="Its region code (the county answers).")],
    road: Annotated[str, typer.Option("--road", help="The road, e.g. G5 京昆高速.")],
    latitude: Annotated[float, typer.Option("--lat", help="Latitude.")],
    longitude: Annotated[float, typer.Option("--lon", help="Longitude.")],
    kind: Annotated[
        str, typer.Option("--kind", help=f"One of {', '.join(CHECKPOINT_KINDS)}.")
    ] = "road_checkpoint",
    lanes: Annotated[int, typer.Option("--lanes", help="Lanes checked (≥ 1).")] = 1,
    venue: Annotated[
        str | None,
        typer.Option(
            "--venue",
            help="Its venue (devices bound to it record crossings here; "
            "the closed loop's hand-over needs it).",
        ),
    ] = None,
) -> None:
    """Add a checkpoint (the same again changes nothing)."""
    from fangkong.logistics.access import add
    from fangkong.logistics.checkpoints import CheckpointIn

    cfg = settings()
    with database(cfg) as engine:
        added = add(
            _call(cfg, engine),
            CheckpointIn(code, name, kind, region, road, latitude, longitude, lanes, venue),
        )
    out.print(f"{code}: {'已添加 / added' if added else '未变 / unchanged'}")


@checkpoint_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Rows shown.")] = 100,
) -> None:
    """The checkpoints, by code."""
    from fangkong.logistics.access import checkpoints

    cfg = settings()
    with database(cfg) as engine:
        rows, total = checkpoints(_call(cfg, engine), Bounded(limit=limit))
    table = Table("code", "name", "kind", "region", "road", "lanes", "venue")
    for r in rows:
        table.add_row(
            r.code, r.name, r.kind, r.region_code, r.road, str(r.lanes), r.venue_code or ""
        )
    out.print(table)
    out.print(f"{total} 个卡口 / checkpoints")


@crossings_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV or JSON (docs/logistics/crossings.md).")],
    checkpoint: Annotated[
        str, typer.Option("--checkpoint", help="The checkpoint of rows that name none.")
    ] = "",
) -> None:
    """Record the crossings of a file: every row or none (a bad row names file, row, field).
    Sent again, nothing changes (idempotent by checkpoint and ref)."""
    from fangkong.healthcode.context import CodeContext
    from fangkong.logistics.access import import_file
    from fangkong.logistics.files import read_crossings

    cfg = settings()
    codes = CodeContext.from_settings(cfg)
    rows = read_crossings(file, checkpoint=checkpoint, tz=codes.tz)
    with database(cfg) as engine:
        got = import_file(_call(cfg, engine), codes, rows, source=str(file), home=cfg.home)
    outcomes: dict[str, int] = {}
    for c in got:
        outcomes[c.outcome] = outcomes.get(c.outcome, 0) + 1
    new = sum(1 for c in got if c.created)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
    out.print(f"{file}: {len(got)} 条 / crossings, 新 / new {new}; {summary}")
