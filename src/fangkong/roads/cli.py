"""``fangkong roads status|report|refresh``: road status (道路通行状态) — thin callers of
``roads.access``; the operator at the CLI acts as ``cli:<user>``, from ``cli``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from fangkong.auth.guard import Call
from fangkong.auth.model import cli_actor
from fangkong.cli_support import database, fail, instant_option, out, settings
from fangkong.errors import FangkongError
from fangkong.keys import load_server_keys
from fangkong.policy import load_pack
from fangkong.roads import access
from fangkong.roads.files import read_reports
from fangkong.roads.rules import RoadRules
from fangkong.roads.state import STATES
from fangkong.roads.status import ReportIn
from fangkong.settings import Settings
from fangkong.store import migrate

app = typer.Typer(help="Road status: checkpoints' queues, waits, closures. 道路通行状态.",
                  no_args_is_help=True, rich_markup_mode=None)  # fmt: skip

STATE_WORDS = {"normal": "畅通 flowing", "congested": "拥堵 congested",
               "closed_authorised": "依令关闭 closed by order",
               "closed_unauthorised": "擅自关闭 closed without authority",
               "no_data": "无数据 no data"}  # fmt: skip
CONDITION_WORDS = {"queue": "排队超限 queue over the limit", "wait": "等待超时 wait over the limit",
                   "closure_unauthorised": "未经批准关闭 closed without authority"}  # fmt: skip


@app.callback()
def _group() -> None:
    """Road status: checkpoints' queues, waits, closures. 道路通行状态."""


def _call(cfg: Settings, engine: Engine) -> Call:
    return Call(engine, load_server_keys(cfg).audit, cli_actor(), "cli", cfg.tz)


def _n(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


@app.command("status")
def status_command(
    state: Annotated[str | None, typer.Option(help=f"Only one of: {', '.join(STATES)}.")] = None,
) -> None:
    """Every checkpoint's state as the last refresh found it."""
    cfg = settings()
    if state is not None and state not in STATES:
        raise typer.BadParameter(f"状态应为 {', '.join(STATES)} / one of {', '.join(STATES)}")
    with database(cfg) as engine:
        migrate.require_current(engine)
        rows, total = access.read_road_status(_call(cfg, engine), state=state)
    table = Table("卡口 checkpoint", "状态 state", "排队 waiting", "等待 wait (min)",
                  "通过/小时 per hour", "决定机关 authority", "预警 alerts",
                  title=f"道路通行状态 road status: {total}")  # fmt: skip
    for r in rows:
        table.add_row(f"{r.code} {r.name}", STATE_WORDS.get(r.state, r.state), _n(r.waiting),
                      _n(r.wait_minutes), _n(r.throughput_hour), r.authority or "—",
                      ", ".join(CONDITION_WORDS.get(c, c) for c in r.alerts) or "—")  # fmt: skip
    out.print(table)


@app.command("report")
def report_command(
    checkpoint: Annotated[str | None, typer.Option(help="The checkpoint's code.")] = None,
    ref: Annotated[str | None, typer.Option(help="The report's id (idempotency key).")] = None,
    at: Annotated[str | None, typer.Option(help="ISO 8601 with an offset (default: now).")] = None,
    waiting: Annotated[int, typer.Option(help="Vehicles waiting.", min=0)] = 0,
    wait: Annotated[int | None, typer.Option(help="Minutes of waiting.", min=0)] = None,
    lanes: Annotated[int, typer.Option(help="Lanes open.", min=0)] = 1,
    status: Annotated[str, typer.Option(help="open, restricted or closed.")] = "open",
    authority_level: Annotated[str | None, typer.Option(
        help="Who ordered a closure: national, province, city, county, township.")] = None,
    authority: Annotated[str | None, typer.Option(help="The order's number and issuer.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A CSV of reports instead.",
                                              exists=True, dir_okay=False)] = None,
) -> None:  # fmt: skip
    """Report a checkpoint's queue, wait, lanes or closure (or a CSV file of reports)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        call = _call(cfg, engine)
        try:
            if file is not None:
                got = access.report_file(call, read_reports(file.read_text(encoding="utf-8")))
                out.print(f"上报 reports: {len(got)}, 新 new: {sum(g.created for g in got)}")
                return
            if not checkpoint or not ref:
                raise typer.BadParameter("--checkpoint 与 --ref 必填 / give --checkpoint and --ref")
            when: datetime = instant_option(at) or call.now()
            one = access.report_road(call, ReportIn(
                checkpoint, ref, when, waiting, wait, lanes, status, authority_level, authority,
                reason), via="cli")  # fmt: skip
        except FangkongError as exc:
            raise fail(exc) from exc
    out.print(f"上报 report {one.id}: {'新 new' if one.created else '已有 already recorded'}")


@app.command("refresh")
def refresh_command() -> None:
    """Refresh every checkpoint's state at the system clock; raise and clear alerts."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        states = access.refresh_roads(_call(cfg, engine),
                                      RoadRules.from_pack(load_pack(cfg.policy_pack)))  # fmt: skip
    counts: dict[str, int] = {}
    for s in states:
        counts[s.state] = counts.get(s.state, 0) + 1
    for state in STATES:
        out.print(f"{STATE_WORDS[state]}: {counts.get(state, 0)}")
