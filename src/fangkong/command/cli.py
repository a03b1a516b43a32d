"""``fangkong command`` — the command centre's jobs and verbs, thin callers of the services."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from fangkong.cli_support import database, out, settings
from fangkong.errors import BadInput, Problem
from fangkong.policy.loader import load_pack
from fangkong.store import migrate

app = typer.Typer(help="Command centre: figures, board, tasks. 指挥调度.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Command centre: figures, board, tasks. 指挥调度."""


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(Problem("value.invalid", f"日期 {text!r} 应为 YYYY-MM-DD",
                               f"date {text!r} must be YYYY-MM-DD")) from None  # fmt: skip


@app.command("figures")
def figures_command(
    day: Annotated[
        str | None, typer.Option("--date", help="Local day YYYY-MM-DD; default the clock's.")
    ] = None,
) -> None:
    """Compute the board's figures for a day (态势数据汇总), replacing that day's."""
    from fangkong.command.figures import FigureRules, run_figures

    cfg = settings()
    rules = FigureRules.from_pack(load_pack(cfg.policy_pack), cfg.tz)
    with database(cfg) as engine:
        migrate.require_current(engine)
        done = run_figures(engine, rules, day=_date(day))
    out.print(
        f"态势数据 / figures {done.day.isoformat()}: {done.regions} 个地区 / regions, "
        f"{done.rows} 项 / rows (as of {done.at.astimezone(cfg.tz):%Y-%m-%d %H:%M})"
    )
