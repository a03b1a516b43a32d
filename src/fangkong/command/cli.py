"""``fangkong command ...``: the command centre's verbs — thin callers of
``command.access_*``; the operator at the CLI acts as ``cli:<user>``, from ``cli``.

Tasks (任务): ``command task list|show|assign|ack|start|done|cancel``; ``command
escalate`` moves overdue tasks one level up at the system clock (逐级上报).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import Engine

from fangkong.auth.guard import Call
from fangkong.auth.model import cli_actor
from fangkong.cli_support import database, instant_option, out, settings
from fangkong.command import access_tasks
from fangkong.command.briefing import briefing_day
from fangkong.command.model import KIND, MEASURES, MISSED, STATUS, Term
from fangkong.command.rules import CommandRules
from fangkong.command.tasks import TaskView
from fangkong.command.timeliness import Timeliness
from fangkong.errors import BadInput, Problem
from fangkong.keys import load_server_keys
from fangkong.policy import load_pack
from fangkong.settings import Settings
from fangkong.store import migrate

app = typer.Typer(help="Command centre: board, briefings, tasks, accountability. 指挥调度.",
                  no_args_is_help=True, rich_markup_mode=None)  # fmt: skip
task_app = typer.Typer(help="Tasks down the hierarchy. 任务（一级抓一级）.", no_args_is_help=True,
                       rich_markup_mode=None)  # fmt: skip
app.add_typer(task_app, name="task")

ADDRESS = "cli"
TaskArg = Annotated[int, typer.Argument(help="The task's id.", min=1)]
Note = Annotated[str | None, typer.Option("--note", help="A note for the history.")]


@app.callback()
def _group() -> None:
    """Command centre: board, briefings, tasks, accountability. 指挥调度."""


def _call(cfg: Settings, engine: Engine) -> Call:
    return Call(engine, load_server_keys(cfg).audit, cli_actor(), ADDRESS, cfg.tz)


def _rules(cfg: Settings) -> CommandRules:
    return CommandRules.from_pack(load_pack(cfg.policy_pack))


def _label(term: Term | None, key: str, lang: str) -> str:
    if term is None:
        return key
    return f"{term.zh} {term.en}" if lang == "zh+en" else term.label(lang)


def _fmt(t: datetime | None, tz: ZoneInfo) -> str:
    return "—" if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _status(task: TaskView, lang: str) -> str:
    text = _label(STATUS.get(task.status), task.status, lang)
    return f"{text} · {_label(MISSED, 'missed', lang)}" if task.overdue else text


@task_app.command("list")
def list_command(
    region: Annotated[str | None, typer.Option(help="Tasks of this region and below.")] = None,
    status: Annotated[
        str | None, typer.Option(help="open, acknowledged, in_progress, done or cancelled.")
    ] = None,
    kind: Annotated[str | None, typer.Option(help=f"One of: {', '.join(KIND)}.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Unfinished tasks only.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Open tasks past deadline.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """Tasks by deadline, overdue marked."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        rows, total = access_tasks.list_tasks(
            _call(cfg, engine), region=region, status=status, kind=kind, open_only=open_only,
            overdue=overdue, limit=limit,
        )  # fmt: skip
    lang, tz = cfg.lang, cfg.tz
    table = Table("id", "任务 task", "单位 unit", "岗位 role", "期限 deadline", "状态 status",
                  "升级 level", title=f"任务 tasks: {len(rows)}/{total}")  # fmt: skip
    for t in rows:
        unit = t.region_code if t.region_code == t.origin_region_code else (
            f"{t.region_code} ← {t.origin_region_code}")  # fmt: skip
        table.add_row(str(t.id), t.title(lang), unit, t.role or "—", _fmt(t.deadline_at, tz),
                      _status(t, lang), str(t.escalation_level))  # fmt: skip
    out.print(table)


@task_app.command("show")
def show_command(task_id: TaskArg) -> None:
    """One task with its history."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        detail = access_tasks.read_task(_call(cfg, engine), task_id)
    lang, tz, t = cfg.lang, cfg.tz, detail.task
    facts = Table("", "", show_header=False, title=f"任务 task {t.id}: {t.title(lang)}")
    for name, value in (
        ("类型 kind", _label(KIND.get(t.kind), t.kind, lang)),
        ("来源 source", f"{t.source_type}/{t.source_id}" if t.source_type else "—"),
        ("单位 unit", t.region_code), ("最初单位 first unit", t.origin_region_code),
        ("岗位 role", t.role or "—"), ("状态 status", _status(t, lang)),
        ("期限 deadline", _fmt(t.deadline_at, tz)), ("下达 raised", _fmt(t.raised_at, tz)),
        ("升级 level", str(t.escalation_level)), ("办结 closed", _fmt(t.closed_at, tz)),
        ("处置 evidence", t.evidence or "—"),
        *((f"{k}", str(v)) for k, v in t.params.items()),
    ):  # fmt: skip
        facts.add_row(name, value)
    out.print(facts)
    hist = Table("时间 at", "人 by", "从 from", "至 to", "区划 region", "说明 note",
                 title="记录 history")  # fmt: skip
    for c in detail.history:
        region = f"{c.from_region} → {c.to_region}" if c.to_region else ""
        hist.add_row(_fmt(c.at, tz), c.changed_by, c.from_status or "", c.to_status, region,
                     c.note)  # fmt: skip
    out.print(hist)


@task_app.command("assign")
def assign_command(
    region: Annotated[str, typer.Argument(help="The unit's region code (below yours).")],
    title: Annotated[str, typer.Option(help="What is to be done (交办事项).")],
    detail: Annotated[str, typer.Option(help="Details.")] = "",
    role: Annotated[str | None, typer.Option(help="A role within the unit.")] = None,
    deadline: Annotated[
        str | None, typer.Option(help="ISO 8601 with offset; default: the pack's manual deadline.")
    ] = None,
) -> None:
    """Set a task by hand (交办) for a unit below."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        task = access_tasks.assign_task(
            _call(cfg, engine), _rules(cfg), region_code=region, role=role, title=title,
            detail=detail, deadline_at=instant_option(deadline),
        )  # fmt: skip
    out.print(
        f"任务 task {task.id} → {task.region_code}  期限 deadline {_fmt(task.deadline_at, cfg.tz)}"
    )


def _move(task_id: int, status: str, note: str | None, evidence: str | None = None) -> None:
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        task = access_tasks.change_status(
            _call(cfg, engine), task_id, status, note=note, evidence=evidence
        )
    out.print(f"任务 task {task.id}: {_label(STATUS.get(task.status), task.status, cfg.lang)}")


@task_app.command("ack")
def ack_command(task_id: TaskArg, note: Note = None) -> None:
    """Acknowledge a task (签收)."""
    _move(task_id, "acknowledged", note)


@task_app.command("start")
def start_command(task_id: TaskArg, note: Note = None) -> None:
    """Mark a task in progress (办理中)."""
    _move(task_id, "in_progress", note)


@task_app.command("done")
def done_command(
    task_id: TaskArg,
    evidence: Annotated[str, typer.Option(help="What the unit did (required).")],
    note: Note = None,
) -> None:
    """Close a task as done (办结), with evidence."""
    _move(task_id, "done", note, evidence)


@task_app.command("cancel")
def cancel_command(
    task_id: TaskArg, note: Annotated[str, typer.Option("--note", help="Why (required).")]
) -> None:
    """Cancel a task (撤销; a commander's right)."""
    _move(task_id, "cancelled", note)


@app.command("escalate")
def escalate_command() -> None:
    """Move every open task overdue by more than the pack's hours one level up, at the
    system clock (run it every few minutes, or after each daily run)."""
    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        moved = access_tasks.escalate(_call(cfg, engine), _rules(cfg))
    for m in moved:
        out.print(f"任务 task {m.task_id}: {m.from_region} → {m.to_region} (level {m.level})")
    out.print(f"升级 escalated: {len(moved)}")


@app.command("accountability")
def accountability_command(
    region: Annotated[str | None, typer.Option(help="A region code; default the province.")] = None,
    days: Annotated[int, typer.Option(help="Local days of the period (1-92).")] = 14,
    last: Annotated[str | None, typer.Option(help="Last day YYYY-MM-DD; default today.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write CSV here.")] = None,
    lang: Annotated[str, typer.Option(help="zh or en labels.")] = "zh",
) -> None:
    """Counties ranked by timeliness and tasks on time, and the ten worst gaps (查漏补短)."""
    from fangkong.command.access_accountability import accountability
    from fangkong.command.accountability import role_label, what_label

    cfg = settings()
    day = _date(last)
    with database(cfg) as engine:
        call = Call(engine, load_server_keys(cfg).audit, cli_actor(), "cli", cfg.tz)
        report = accountability(call, load_pack(cfg.policy_pack), region=region, days=days,
                                last=day)  # fmt: skip
    if output is not None:
        output.write_text(report.to_csv(lang), encoding="utf-8-sig")
        out.print(f"{output}: {len(report.ranks)} counties / 县区, {len(report.gaps)} gaps / 短板")
        return
    t = report.timeliness
    p = t.period
    out.print(f"{p.first} – {p.last}")
    _measures(t, lang)
    for r in report.ranks:
        score = "—" if r.score is None else f"{r.score * 100:.1f}%"
        out.print(f"{r.rank:>3}  {r.county.code}  {r.county.name}  {score}  missed {r.missed}")
    for i, g in enumerate(report.gaps, 1):
        out.print(f"{i:>3}. {what_label(g, lang)}  {g.region_name} ({g.region_code}) "
                  f"{role_label(g.role, lang)}  +{g.excess_hours:g} h")  # fmt: skip


def _measures(t: Timeliness, lang: str) -> None:
    """The measures of the region asked (its own row: the top of the sums, else its
    county): on time of decided, late, overdue, not yet due, median hours."""
    whole = next((r for r in t.rollups if r.code == t.region_code), None)
    if whole is None and t.counties:
        whole = t.counties[0]
    if whole is None:
        return
    zh = lang.startswith("zh")
    table = Table(title=f"{whole.name} ({whole.code})")
    table.add_column("时效 measure" if zh else "measure", overflow="fold", min_width=16)
    for head in ("目标 target h", "按时 on time", "超时 late", "逾期 overdue", "未到期 pending",
                 "中位数 median h"):  # fmt: skip
        table.add_column(head, overflow="fold")
    for m in MEASURES:
        s = whole.measures[m.key]
        median = "—" if s.median_hours is None else f"{s.median_hours:g}"
        table.add_row(m.label(lang), f"{s.target_hours:g}", f"{s.on_time}/{s.decided}",
                      str(s.late), str(s.overdue), str(s.pending), median)  # fmt: skip
    out.print(table)


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


# ---- the daily briefing (日报) ----------------------------------------------------------------


def _briefing_day(text: str | None, call: Call) -> date:
    from fangkong import bounds

    if text is None:
        return briefing_day(call.today())
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
        typer.Option(
            "--date", help="Local day YYYY-MM-DD (default: the day just ended by the system clock)."
        ),
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
