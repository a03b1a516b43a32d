"""`fangkong checkins import|compact` and `fangkong trace` — thin callers of the service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import pyarrow.compute as _pc
import typer

from fangkong.cli_support import out, settings
from fangkong.errors import BadInput, Problem
from fangkong.policy import load_pack
from fangkong.settings import Settings
from fangkong.tracing.engines import ENGINES
from fangkong.tracing.files import read_cases, read_checkins
from fangkong.tracing.lake import CheckinLake
from fangkong.tracing.output import write_output
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.trace import OUTPUT_COLUMNS, trace

Arrow = Any
pc: Any = _pc  # the pyarrow-stubs overloads reject valid calls on mixed arrays

app = typer.Typer(
    help="Check-in event lake: import scans and files, compact by day. 场所码扫码记录.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h)?\s*$")


def parse_duration(text: str) -> int:
    """Seconds in ``15m``, ``900s``, ``1h`` or ``15`` (minutes)."""
    match = _DURATION.match(text)
    if match is None:
        raise BadInput(
            Problem(
                "value.invalid",
                f"无法识别的时长 {text!r}，应如 15m、900s、1h",
                f"not a duration: {text!r}; use e.g. 15m, 900s, 1h",
            )
        )
    unit = {"s": 1, "m": 60, "min": 60, "h": 3600, None: 60}[match.group(2)]
    return int(match.group(1)) * unit


def rules_for(cfg: Settings, path: Path | None) -> ContactRules:
    """``--rules FILE``, else the contact rules of the policy pack in force."""
    if path is not None:
        return ContactRules.from_toml(path)
    return ContactRules.from_pack(load_pack(cfg.policy_pack))


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="Check-ins, .csv or .parquet (docs/formats.md).")],
    report: Annotated[
        Path | None, typer.Option(help="Error report path (default FILE.errors.csv).")
    ] = None,
) -> None:
    """Land a check-ins file in the lake; events already there are skipped."""
    cfg = settings()
    table = read_checkins(file, report=report)
    result = CheckinLake.at_home(cfg.home).land(table)
    out.print(
        f"{file}: {result.rows} 条 / rows, 新增 / new {result.landed}, "
        f"已有 / already in the lake {result.already}"
    )


@app.command("compact")
def compact_command() -> None:
    """Rewrite landed check-ins as Parquet by day, sorted by (venue, time in)."""
    cfg = settings()
    result = CheckinLake.at_home(cfg.home).compact()
    out.print(
        f"{result.days} 天 / days, {result.rows} 条 / rows, "
        f"合并批次 / batches merged {result.batches_removed}"
    )


def trace_command(
    checkins: Annotated[
        Path,
        typer.Option(
            "--checkins", help="Check-ins file (.csv/.parquet) or a check-in lake directory."
        ),
    ],
    cases: Annotated[Path, typer.Option("--cases", help="Cases file (.csv/.parquet).")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Close contacts, .csv or .parquet.")
    ],
    min_overlap: Annotated[
        str | None,
        typer.Option("--min-overlap", help="One minimum overlap for every venue type, e.g. 15m."),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules", help="TOML file with a [contacts] table (default: the pack in force)."
        ),
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="memory, duckdb or spark.")] = "memory",
    general: Annotated[
        Path | None,
        typer.Option("--general", help="Also write general contacts (below the minimum) here."),
    ] = None,
) -> None:
    """Close contacts of cases by venue co-presence (时空伴随), with evidence."""
    cfg = settings()
    if engine not in ENGINES:
        raise BadInput(
            Problem(
                "value.not_allowed",
                f"--engine 应为 {', '.join(ENGINES)} 之一",
                f"--engine must be one of {', '.join(ENGINES)}",
            )
        )
    contact_rules = rules_for(cfg, rules)
    if min_overlap is not None:
        contact_rules = contact_rules.with_min_overlap(parse_duration(min_overlap))
    tz = ZoneInfo(cfg.timezone)
    lake_files = None
    if checkins.is_dir():
        lake = CheckinLake(checkins)
        table, lake_files = lake.read(), lake.files()
    else:
        table = read_checkins(checkins)
    case_table = read_cases(cases, contact_rules, tz)
    result = trace(table, case_table, contact_rules, engine=engine, lake_files=lake_files)
    write_output(result.close.select(list(OUTPUT_COLUMNS)), output, tz)
    if general is not None:
        write_output(result.general.select(list(OUTPUT_COLUMNS)), general, tz)
    found = pc.count_distinct(result.close.column("contact_id")).as_py()
    out.print(
        f"{case_table.num_rows} 例 / cases → 密切接触者 {found} 人 / close contacts, "
        f"{result.close.num_rows} 条证据 / evidence rows → {output}"
    )


contacts_app = typer.Typer(
    help="Contacts of traced cases and their management status. 密接管理.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@contacts_app.command("list")
def contacts_list_command(
    case: Annotated[int, typer.Option("--case", help="The traced case's id.")],
    kind: Annotated[
        str | None, typer.Option("--kind", help="close, contact_of_contact or general.")
    ] = None,
) -> None:
    """A case's contacts: kind, status, last exposure and the evidence linking them."""
    from rich.table import Table

    from fangkong.cli_support import database
    from fangkong.tracing.views import contacts_of_case

    cfg = settings()
    with database(cfg) as engine:
        found = contacts_of_case(engine, case, kind=kind)
    tz = ZoneInfo(cfg.timezone)
    title = f"病例 case {case}: {len(found)} 接触者 / contacts"
    table = Table("contact", "person", "kind 类别", "status 状态", "last exposure 末次暴露",
                  "evidence 证据", title=title)  # fmt: skip
    for c in found:
        evidence = "; ".join(
            f"{e.setting} {e.place_code or ''} {e.overlap_seconds // 60} min".strip()
            for e in c.exposures[:3]
        ) + (f" (+{len(c.exposures) - 3})" if len(c.exposures) > 3 else "")
        last = c.last_exposure_at.astimezone(tz).isoformat(timespec="minutes")
        table.add_row(str(c.id), str(c.person_id), c.kind, c.status, last, evidence)
    out.print(table)


@contacts_app.command("status")
def contacts_status_command(
    contact_id: Annotated[int, typer.Argument(help="The contact's id.")],
    status: Annotated[
        str,
        typer.Argument(help="notified, quarantined, monitoring, released, became_case or lost."),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with who and when).")],
) -> None:
    """Move a contact to a new status; refused (exit 2) when the move is not allowed."""
    import getpass

    from fangkong.cli_support import database
    from fangkong.tracing.statuses import set_contact_status

    cfg = settings()
    with database(cfg) as engine:
        old = set_contact_status(
            engine, contact_id, status, by=f"cli:{getpass.getuser()}", reason=reason
        )
    out.print(f"接触者 contact {contact_id}: {old} → {status}")


tracing_app = typer.Typer(
    help="A case's investigation: its steps, stamped as they are done. 流调处置.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
CaseArg = Annotated[int, typer.Argument(help="The traced case's id.", min=1)]


def _steps_call(cfg: Settings, engine: Any) -> Any:
    from fangkong.auth.guard import Call
    from fangkong.auth.model import cli_actor
    from fangkong.keys import load_server_keys

    return Call(engine, load_server_keys(cfg).audit, cli_actor(), "cli", cfg.tz)


def _when(t: Any, tz: ZoneInfo) -> str:
    return "—" if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


@tracing_app.command("steps")
def steps_command(case: CaseArg) -> None:
    """The steps of a case's investigation: when each was recorded, and by whom."""
    from rich.table import Table

    from fangkong.cli_support import database
    from fangkong.store import migrate
    from fangkong.tracing.access import read_case_contacts
    from fangkong.tracing.steps import STEPS

    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        view = read_case_contacts(_steps_call(cfg, engine), case).case
    table = Table("节点 step", "完成时间 done at", "记录人 by", title=f"病例 case {case}")
    for s in STEPS:
        table.add_row(f"{s.zh} {s.en}", _when(getattr(view, f"{s.key}_at"), cfg.tz),
                      getattr(view, f"{s.key}_by") or "—")  # fmt: skip
    out.print(table)


@tracing_app.command("step")
def step_command(
    case: CaseArg,
    step: Annotated[str, typer.Argument(help="verified, on_site, core_facts or report.")],
) -> None:
    """Record a step of a case's investigation as done now (the system clock's time; a
    step recorded before keeps its first time). Exit 2 when the step is unknown or comes
    too early (the report before the core facts)."""
    from fangkong.cli_support import database
    from fangkong.store import migrate
    from fangkong.tracing.steps import STEP, record_step

    cfg = settings()
    with database(cfg) as engine:
        migrate.require_current(engine)
        stamp = record_step(_steps_call(cfg, engine), case, step)
    s = STEP[stamp.step]
    kept = "" if stamp.new else "（已记录，保留首次 / recorded before, first time kept）"
    out.print(f"病例 case {case}: {s.zh} {s.en} {_when(stamp.at, cfg.tz)} {stamp.by}{kept}")
