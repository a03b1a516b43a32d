"""``fangkong command ...``: the command centre's verbs — thin callers of the guarded
functions (``access*.py``); the operator at the CLI acts as ``cli:``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from fangkong.auth.guard import Call
from fangkong.auth.model import cli_actor
from fangkong.cli_support import database, out, settings
from fangkong.errors import BadInput, Problem
from fangkong.keys import load_server_keys
from fangkong.policy import load_pack

app = typer.Typer(help="Command centre: board, briefings, tasks, accountability. 指挥调度.",
                  no_args_is_help=True, rich_markup_mode=None)  # fmt: skip


@app.callback()
def _group() -> None:
    """Command centre: board, briefings, tasks, accountability. 指挥调度."""


# ---- accountability (守土有责) ------------------------------------------------------------


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
    p = report.timeliness.period
    out.print(f"{p.first} – {p.last}")
    for r in report.ranks:
        score = "—" if r.score is None else f"{r.score * 100:.1f}%"
        out.print(f"{r.rank:>3}  {r.county.code}  {r.county.name}  {score}  missed {r.missed}")
    for i, g in enumerate(report.gaps, 1):
        out.print(f"{i:>3}. {what_label(g, lang)}  {g.region_name} ({g.region_code}) "
                  f"{role_label(g.role, lang)}  +{g.excess_hours:g} h")  # fmt: skip


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(Problem("value.invalid", f"日期 {text!r} 应为 YYYY-MM-DD",
                               f"date {text!r} must be YYYY-MM-DD")) from None  # fmt: skip
