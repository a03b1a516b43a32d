"""What every CLI group shares: consoles, settings, bilingual messages, progress bars."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Engine

from fangkong import bounds, clock
from fangkong.audit import anchor
from fangkong.errors import BadInput, FangkongError, Problem
from fangkong.settings import SettingError, Settings, load_settings
from fangkong.store.engine import engine_for

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def settings() -> Settings:
    """The settings in force; a bad setting ends the command with exit 2."""
    try:
        return load_settings()
    except SettingError as exc:
        err.print(f"[red]设置错误 / bad setting[/red] {exc}")
        raise typer.Exit(2) from exc


def message(problem: Problem) -> str:
    try:
        lang = load_settings().lang
    except SettingError:
        lang = "zh+en"
    return problem.text(lang)


def fail(error: FangkongError) -> typer.Exit:
    """Print a typed error for a person (and each field it names) and return the Exit to
    raise."""
    err.print(f"[red]{error.code}[/red] {message(error.problem)}", markup=True)
    for bad in getattr(error, "fields", ()):
        err.print(f"  {bad.field}: {bad.problem.code} {message(bad.problem)}", markup=False)
    return typer.Exit(error.exit_code)


@contextmanager
def database(cfg: Settings | None = None) -> Iterator[Engine]:
    """The engine for the configured database, disposed when the command ends; the
    system clock (fangkong.clock) follows the settings and this database meanwhile."""
    cfg = cfg or settings()
    engine = engine_for(cfg)
    anchor.attach(engine, anchor.Anchor.from_settings(cfg))  # audit checkpoints
    try:
        bounds.configure_from(cfg)
        with clock.configured(cfg, engine):
            yield engine
    finally:
        engine.dispose()


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[tuple[Progress, TaskID]]:
    """A Rich progress bar on stderr (hidden when stderr is not a terminal)."""
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(description, total=total)
        yield bar, task


def instant_option(text: str | None) -> datetime | None:
    """A command's time option: ISO 8601 with an offset (None: not given), else a bilingual
    ``value.invalid`` naming what was typed."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise BadInput(Problem("value.invalid", f"无法识别的时间 {text!r}（须带时区，如 "
                               "2022-03-01T08:00+08:00）", f"not a time with an offset: {text!r} "
                               "(e.g. 2022-03-01T08:00+08:00)"))  # fmt: skip
    return value
