"""`fangkong detect METHOD COUNTS.csv`: aberration detection over count series files.

A thin caller: read and validate the series (:mod:`series`), parse ``--param`` against
the method's table (:mod:`detect`), plan, run and write with :mod:`detect_files` (one
row per series and period from ``--from`` to ``--to``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from fangkong.cli_support import out
from fangkong.surveillance.detect import METHODS, method_named, parse_params
from fangkong.surveillance.detect_files import bad, detect_all, plan, write_rows
from fangkong.surveillance.series import PERIODS_PER_YEAR, parse_period, read_series


def _when(text: str | None, freq: str, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return parse_period(text, freq)  # type: ignore[arg-type]
    except ValueError as exc:
        raise bad(
            "period.invalid",
            f"{option} {text!r} 不是 ISO 日期（如 2024-01-29）",
            f"{option} {text!r} is not an ISO date (e.g. 2024-01-29)",
        ) from exc


_METHOD_HELP = "One of: " + ", ".join(METHODS) + "."


def detect_command(
    method: Annotated[str, typer.Argument(help=_METHOD_HELP)],
    counts: Annotated[Path, typer.Argument(help="series,period,count[,population] CSV.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output CSV.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First period to output (ISO date).")
    ] = None,
    stop: Annotated[str | None, typer.Option("--to", help="Last period to output.")] = None,
    freq: Annotated[str, typer.Option("--freq", help="week (default) or day.")] = "week",
    param: Annotated[
        list[str] | None, typer.Option("--param", help="NAME=VALUE, R's name in snake_case.")
    ] = None,
) -> None:
    """Aberration detection (EARS, Farrington, CUSUM, GLR, Bayes, MPM, EWMA) per series."""
    spec = method_named(method)
    if freq not in PERIODS_PER_YEAR:
        raise bad("freq.invalid", f"--freq 应为 week 或 day，而不是 {freq!r}",
                   f"--freq must be week or day, not {freq!r}")  # fmt: skip
    params = parse_params(spec, param or [])
    series = read_series(counts, freq=freq)  # type: ignore[arg-type]
    first_day, last_day = _when(start, freq, "--from"), _when(stop, freq, "--to")
    plans = [plan(s, spec, params, first_day, last_day) for s in series]
    found = detect_all(spec, plans, params)
    alarms = write_rows(output, plans, found)
    rows = sum(p.stop - p.start + 1 for p in plans)
    out.print(
        f"{spec.name}: {len(plans)} 个序列 / series, {rows} 行 / rows, "
        f"{alarms} 个警报 / alarms → {output}"
    )
