"""``fangkong alerts ...``: signals in, detection, the alert list, one alert, lifecycle
steps, the board — thin callers of the service. ``escalate`` is an alias of ``fangkong
command escalate``: an alert escalates through its command task (docs/command.md)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import Engine

from fangkong import clock
from fangkong.alerts.access import (
    PAGE_SIZE,
    Filters,
    change_alert,
    list_alerts,
    read_alert,
    read_board,
)
from fangkong.alerts.detection import detect_days
from fangkong.alerts.rules import AlertRules
from fangkong.alerts.series import export_options, export_table, write_table
from fangkong.alerts.signals import import_signals
from fangkong.auth.guard import Call
from fangkong.auth.model import cli_actor
from fangkong.cli_support import database, out, settings
from fangkong.command.cli import escalate_command as command_escalate
from fangkong.command.tasks import TaskView
from fangkong.errors import BadInput, Problem
from fangkong.keys import load_server_keys
from fangkong.policy import load_pack
from fangkong.settings import Settings
from fangkong.store import migrate
from fangkong.store.listing import Bounded

app = typer.Typer(help="Early warning: signals, detection, alerts, the board. 监测预警.",
                  no_args_is_help=True, rich_markup_mode=None)  # fmt: skip

ADDRESS = "cli"


@app.callback()
def _group() -> None:
    """Early warning: signals, detection, alerts, the board. 监测预警."""


def _call(cfg: Settings, engine: Engine) -> Call:
    """The guarded call of a command: the CLI actor, from the address ``cli``."""
    return Call(engine, load_server_keys(cfg).audit, cli_actor(), ADDRESS, cfg.tz)


def _day(text: str | None, tz: ZoneInfo) -> date:
    if text is None:
        return clock.today(tz)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(Problem("value.invalid", f"日期 {text!r} 应为 YYYY-MM-DD",
                               f"date {text!r} must be YYYY-MM-DD")) from None  # fmt: skip


def _fmt(t: datetime | None, tz: ZoneInfo) -> str:
    return "—" if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


@app.command("ingest")
def ingest_command(
    path: Annotated[Path, typer.Argument(help="Signals file, CSV or Parquet (docs/formats.md).")],
) -> None:
    """Import counts of signals (fever clinics, pharmacies, labs, schools...); all or none."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        r = import_signals(engine, path)
    out.print(f"{path}: 读取 read {r.rows:,}  新增 inserted {r.inserted:,}  "
              f"更新 updated {r.updated:,}  未变 unchanged {r.unchanged:,}")  # fmt: skip


@app.command("detect")
def detect_command(
    day: Annotated[
        str | None, typer.Option("--day", help="Last day to evaluate (default today).")
    ] = None,
    since: Annotated[str | None, typer.Option("--from", help="First day (default: --day).")] = None,
) -> None:
    """Run the pack's triggers and detectors for each day from --from to --day."""
    cfg = settings()
    tz = ZoneInfo(cfg.timezone)
    rules = AlertRules.from_pack(load_pack(cfg.policy_pack))
    last = _day(day, tz)
    first = _day(since, tz) if since else last
    if first > last:
        raise BadInput(Problem("value.invalid", "--from 晚于 --day", "--from is after --day"))
    with database(cfg) as engine:
        migrate.require_current(engine)
        for d, r in detect_days(engine, rules, first, last, clock.now(), by=cli_actor().name):
            out.print(f"{d}: 命中 hits {r.candidates}  新预警 raised {r.raised}  "
                      f"合并 repeated {r.repeated}")  # fmt: skip
            for note in r.skipped:
                out.print(f"  {note}")


@app.command("list")
def list_command(
    status: Annotated[str | None, typer.Option(help="A status, or 'open'.")] = None,
    severity: Annotated[str | None, typer.Option(help="low, medium or high.")] = None,
    rule: Annotated[str | None, typer.Option(help="A trigger or detector id of the pack.")] = None,
    region: Annotated[str | None, typer.Option(help="Alerts in this region and below.")] = None,
) -> None:
    """Alerts, newest first; "escalated": the unit that owes the alert's task now and
    its level, when the task escalated."""
    cfg = settings()
    tz = ZoneInfo(cfg.timezone)
    with database(cfg) as engine:
        migrate.require_current(engine)
        view = list_alerts(_call(cfg, engine), Filters(status, severity, None, rule, region),
                           Bounded(limit=PAGE_SIZE))  # fmt: skip
    table = Table("id", "状态 status", "级别 severity", "规则 rule", "区划 region", "期 period",
                  "观察 observed", "阈值 threshold", "发出 raised", "升级 escalated")  # fmt: skip
    for r in view.rows:
        table.add_row(str(r.id), r.status, r.severity, r.rule,
                      f"{view.names.get(r.region_code, '')} {r.region_code}",
                      str(r.last_period), f"{r.observed:g}",
                      "—" if r.threshold is None else f"{r.threshold:.2f}",
                      _fmt(r.raised_at, tz), _escalated(view.tasks.get(r.id)))  # fmt: skip
    out.print(table)


def _escalated(task: TaskView | None) -> str:
    if task is None or task.escalation_level == 0:
        return ""
    return f"{task.region_code} (level {task.escalation_level})"


@app.command("show")
def show_command(alert_id: Annotated[int, typer.Argument(help="The alert's id.")]) -> None:
    """One alert: evidence, deadlines, history."""
    cfg = settings()
    tz = ZoneInfo(cfg.timezone)
    with database(cfg) as engine:
        migrate.require_current(engine)
        v = read_alert(_call(cfg, engine), alert_id)
    a = v.alert
    out.print(f"[bold]预警 alert {a.id}[/bold] {a.status} · {a.severity} · {a.rule} "
              f"({a.kind}, {a.method}) · {v.region_name} {a.region_code} ({a.level})")  # fmt: skip
    out.print(f"信号 signals {a.signals} · 期 periods {a.first_period}..{a.last_period} "
              f"({a.frequency}) · 观察 observed {a.observed:g} · 期望 expected "
              f"{'—' if a.expected is None else f'{a.expected:.2f}'} · 阈值 threshold "
              f"{'—' if a.threshold is None else f'{a.threshold:.2f}'} · "
              f"重复 repeats {a.repeats}")  # fmt: skip
    out.print(f"参数 parameters {v.evidence.get('params')}")
    out.print(
        f"发出 raised {_fmt(a.raised_at, tz)} · 核实期限 verify by "
        f"{_fmt(a.verify_due, tz)} · 调查期限 investigate by {_fmt(a.investigate_due, tz)}"
    )
    t = v.task
    out.print("任务 task: 尚未生成 not raised yet (fangkong command raise)" if t is None else
              f"任务 task {t.id} {t.status} · 责任单位 owes it now {v.owner_name or ''} "
              f"{t.region_code} · 上报层级 escalation level {t.escalation_level} · "
              f"时限 deadline {_fmt(t.deadline_at, tz)}")  # fmt: skip
    series = Table("期 period", "计数 count", "阈值 threshold", "报警 alarm", title="序列 series")
    ev = v.evidence
    for p, c, t, al in zip(ev["periods"], ev["counts"], ev["thresholds"], ev["alarms"],
                           strict=True):  # fmt: skip
        series.add_row(p, f"{c:g}", "—" if t is None else f"{t:.2f}", "●" if al else "")
    out.print(series)
    hist = Table(
        "时间 at", "动作 action", "从 from", "至 to", "人 by", "说明 note", title="记录 history"
    )
    for h in v.history:
        hist.add_row(_fmt(h.at, tz), h.action, h.from_status or "", h.to_status, h.changed_by,
                     h.note)  # fmt: skip
    out.print(hist)


@app.command("transition")
def transition_command(
    alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
    status: Annotated[str, typer.Argument(help="verified, investigated, closed or dismissed.")],
    note: Annotated[str, typer.Option("--note", help="What was found or done (required).")],
) -> None:
    """Move an alert one step: verify (核实), investigate (调查), close (结案), dismiss (排除)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        before = change_alert(_call(cfg, engine), alert_id, status, note)
    out.print(f"预警 alert {alert_id}: {before} → {status}")


@app.command("escalate")
def escalate_command() -> None:
    """Alias of `fangkong command escalate`: every open task overdue by more than the
    pack's [command.escalation] hours moves one level up — an alert's task among them
    (alerts escalate through their tasks; kept so schedules that call it keep working)."""
    command_escalate()


@app.command("board")
def board_command() -> None:
    """The four-earlies board: timeliness per jurisdiction."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        b = read_board(_call(cfg, engine))
    table = Table("辖区 area", "预警 raised", "未结 open", "超时 overdue", "升级 escalated",
                  "按时核实 verified on time", "核实中位 h", "按时调查 investigated on time",
                  "调查中位 h", "发现中位 h detect")  # fmt: skip
    for r in (*b.rows, b.total):
        table.add_row(
            f"{r.name} {r.code}", str(r.raised), str(r.open), str(r.overdue), str(r.escalated),
            _share(r.verified_on_time, r.verified_due), _h(r.median_verify_hours),
            _share(r.investigated_on_time, r.investigated_due),
            _h(r.median_investigate_hours), _h(r.median_detect_hours),
        )  # fmt: skip
    out.print(table)


def _share(k: int, n: int) -> str:
    return "—" if not n else f"{k}/{n} ({k / n:.0%})"


def _h(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


@app.command("series")
def series_command(
    output: Annotated[Path, typer.Option("-o", help="Output file, .csv or .parquet.")],
    since: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    until: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    freq: Annotated[str, typer.Option("--freq", help="day or week (ISO weeks).")] = "day",
    level: Annotated[list[str] | None, typer.Option("--level", help="Region level(s).")] = None,
    signal: Annotated[list[str] | None, typer.Option("--signal", help="Signal(s).")] = None,
) -> None:
    """Export counts per region level × signal × day or ISO week, with populations."""
    cfg = settings()
    tz = ZoneInfo(cfg.timezone)
    levels, signals = export_options(level, signal, freq)
    with database(cfg) as engine:
        migrate.require_current(engine)
        table = export_table(engine, signals, levels, freq, _day(since, tz), _day(until, tz))
    write_table(table, output)
    out.print(f"{output}: {table.num_rows:,} 行 rows")
