"""``fangkong code``: a person's health code, its explanation, its QR image; recompute."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from fangkong.cli_support import database, out, settings
from fangkong.healthcode.codes import code_history, evaluate_person, issue_qr
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.evaluator import Decision, fmt_time
from fangkong.healthcode.lookup import person_with_id_number
from fangkong.healthcode.qr import qr_image
from fangkong.healthcode.recompute import recompute_all
from fangkong.store import migrate

app = typer.Typer(
    help="Health codes: show, explain, QR image, recompute. 健康码.", no_args_is_help=True
)

IdArg = Annotated[str, typer.Argument(help="Resident ID number (居民身份证号).")]


@app.callback()
def _group() -> None:
    """Health codes: show, explain, QR image, recompute. 健康码."""


def _decide(number: str) -> tuple[Decision, CodeContext, Engine, int]:
    cfg = settings()
    ctx = CodeContext.from_settings(cfg)
    with database(cfg) as engine:
        migrate.require_current(engine)
        pid = person_with_id_number(engine, ctx, number)
        return evaluate_person(engine, ctx, pid), ctx, engine, pid


@app.command("show")
def show_command(number: IdArg) -> None:
    """The person's colour now and the reasons (one line each)."""
    decision, ctx, _, _ = _decide(number)
    out.print(f"{decision.colour.zh} / {decision.colour.label}  ({decision.pack_ref})")
    for r in decision.reasons:
        out.print(f"  [{r.colour.label}] {r.rule_id}: {r.text_zh} / {r.text_en}")
    if decision.next_change_at is not None and decision.next_colour is not None:
        out.print(f"  → {decision.next_colour.label} {fmt_time(decision.next_change_at, ctx.tz)}")


@app.command("explain")
def explain_command(
    number: IdArg,
    history: Annotated[bool, typer.Option(help="Also list every past change of colour.")] = True,
) -> None:
    """The full explanation in Chinese and English: reasons, what clears each, next change."""
    cfg = settings()
    ctx = CodeContext.from_settings(cfg)
    with database(cfg) as engine:
        migrate.require_current(engine)
        pid = person_with_id_number(engine, ctx, number)
        decision = evaluate_person(engine, ctx, pid)
        out.print(decision.explain("zh+en", ctx.tz))
        if history:
            table = Table("time", "from", "to", "rule", "trigger", "pack")
            for t in code_history(engine, pid):
                table.add_row(fmt_time(t.at, ctx.tz), t.from_colour or "—", t.to_colour,
                              t.rule_id or "—", t.trigger, t.pack_ref)  # fmt: skip
            out.print(table)


@app.command("qr")
def qr_command(
    number: IdArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Image file: .png or .svg.")],
) -> None:
    """Write the person's dynamic QR code (a signed token valid FANGKONG_QR_VALIDITY_SECONDS)."""
    cfg = settings()
    ctx = CodeContext.from_settings(cfg)
    with database(cfg) as engine:
        migrate.require_current(engine)
        pid = person_with_id_number(engine, ctx, number)
        token = issue_qr(engine, ctx, pid)
    qr_image(token, output)
    out.print(f"{output} ({ctx.qr_validity_s} s)")


@app.command("recompute")
def recompute_command(
    at: Annotated[
        datetime | None, typer.Option(help="Evaluate at this time (ISO, with zone); default now.")
    ] = None,
    full: Annotated[
        bool,
        typer.Option(help="Also evaluate everyone with facts in bulk (a check; slower)."),
    ] = False,
) -> None:
    """Bring every code up to date: codes due for review or on new facts are re-explained,
    persons without a code get a green one."""
    cfg = settings()
    ctx = CodeContext.from_settings(cfg)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=ctx.tz)
    with database(cfg) as engine:
        migrate.require_current(engine)
        result = recompute_all(engine, ctx, at, full=full)
    out.print(
        f"codes / 健康码 {result.evaluated}, reviewed / 复核 {result.reviewed}, "
        f"changed / 变更 {result.changed}, assigned green / 新赋绿码 {result.assigned}"
    )
