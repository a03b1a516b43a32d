"""``fangkong command`` — the command centre's jobs and verbs, thin callers of the services."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from fangkong.auth.guard import Call
from fangkong.auth.model import cli_actor
from fangkong.cli_support import database, out, settings
from fangkong.errors import BadInput, Problem
from fangkong.keys import load_server_keys
from fangkong.policy.loader import load_pack
from fangkong.settings import Settings
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


def _call(cfg: Settings, engine: Engine) -> Call:
    """The guarded call of a command: the CLI actor, from the address ``cli``."""
    return Call(engine, load_server_keys(cfg).audit, cli_actor(), "cli", cfg.tz)


# ---- the daily briefing (日报) ----------------------------------------------------------------


def _briefing_day(text: str | None, call: Call) -> date:
    from fangkong import bounds

    if text is None:
        return call.today()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        wrong = Problem("value.invalid", f"--date：日期 {text!r} 应为 YYYY-MM-DD",
                        f"--date: {text!r} must be a date, YYYY-MM-DD")  # fmt: skip
        raise BadInput(wrong) from None
    bounds.refuse(bounds.date_problem(day, "event", "--date", now=call.now()))
    return day


@app.command("briefing")
def briefing_command(
    region: Annotated[str, typer.Option("--region", help="Region code (省/市/县…).")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="FILE: writes FILE.html and FILE.csv.")
    ],
    day: Annotated[
        str | None,
        typer.Option("--date", help="Local day YYYY-MM-DD (default: the system clock's day)."),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    cities: Annotated[
        bool, typer.Option("--cities", help="Also one briefing per child city (各市分会场).")
    ] = False,
) -> None:
    """Write the daily briefing (每日疫情研判) of a region: self-contained HTML + CSV."""
    from fangkong import bounds
    from fangkong.command.access_briefing import write_briefing
    from fangkong.command.briefing import LANGS
    from fangkong.command.rules import CommandRules

    bounds.refuse(bounds.text_problem(region, "--region"))
    if lang not in LANGS:
        raise BadInput(Problem("value.invalid", f"--lang：应为 zh 或 en（{lang!r}）",
                               f"--lang: must be zh or en, not {lang!r}"))  # fmt: skip
    cfg = settings()
    rules = CommandRules.from_pack(load_pack(cfg.policy_pack))
    stem = output.name.removesuffix(".html").removesuffix(".csv")
    with database(cfg) as engine:
        migrate.require_current(engine)
        call = _call(cfg, engine)
        when = _briefing_day(day, call)
        done = write_briefing(call, rules, region_code=region, day=when, lang=lang,
                              cities=cities, out_dir=output.parent, stem=stem)  # fmt: skip
    for w in done:
        out.print(f"{w.region_code} {when}: {w.html_path}  {w.csv_path}")
