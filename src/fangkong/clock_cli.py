"""``fangkong clock``: show the system's clock, set the replay instant, go live again."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import typer

from fangkong import clock
from fangkong.auth.model import cli_actor
from fangkong.cli_support import database, err, out, settings

app = typer.Typer(
    help="The system's clock (business time): show it, set the replay instant, go live.",
    no_args_is_help=True,
)


def _both(at: datetime, tz: ZoneInfo) -> str:
    return f"{at.isoformat()}  ({at.astimezone(tz).isoformat()} {tz.key})"


@app.command("show")
def show_command() -> None:
    """The clock's mode (FANGKONG_CLOCK), the instant it reads and where that comes from."""
    cfg = settings()
    tz = ZoneInfo(cfg.timezone)
    with database(cfg) as engine:
        r = clock.reading(engine)
    out.print(f"mode 模式: {cfg.clock}")
    out.print(f"now 系统时间: {_both(r.at, tz)}")
    out.print(f"source 来源: {r.source}")
    if r.replay is not None:
        out.print(
            f"replay 回放时刻: {_both(r.replay.at, tz)} set by {r.replay.set_by} "
            f"at {r.replay.set_at.isoformat()}"
        )
        if r.source != "replay":
            out.print("FANGKONG_CLOCK 不是 auto，回放时刻未生效 / not auto: the replay is not used")


@app.command("set")
def set_command(
    instant: str = typer.Argument(help="ISO-8601 instant with offset, e.g. 2022-04-08T00:00+08:00"),
) -> None:
    """Store the replay instant: in auto mode the whole system reads it as now."""
    try:
        at = clock.parse_instant(instant)
    except ValueError as exc:
        err.print(f"[red]clock.invalid[/red] {exc}", markup=True)
        raise typer.Exit(2) from exc
    cfg = settings()
    with database(cfg) as engine:
        value = clock.set_replay(engine, at, by=cli_actor().name)
    out.print(f"回放时刻已设 / replay instant set: {_both(value.at, ZoneInfo(cfg.timezone))}")
    if cfg.clock.mode != "auto":
        out.print(f"FANGKONG_CLOCK={cfg.clock}: 非 auto，未生效 / not auto, so not used")


@app.command("live")
def live_command() -> None:
    """Clear the replay instant: in auto mode the system reads machine time again."""
    with database() as engine:
        cleared = clock.clear_replay(engine)
    if cleared:
        out.print("回放时刻已清除，时钟为实时 / replay instant cleared: the clock is live")
    else:
        out.print("没有回放时刻 / no replay instant was set")
