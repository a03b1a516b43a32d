"""``fangkong import`` and ``fangkong export``: registries in and out as CSV or Parquet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from fangkong import clock
from fangkong.cli_support import database, out, progress, settings
from fangkong.errors import ImportRejected
from fangkong.identity.sealing import Sealer, load_or_create_key
from fangkong.registry.service import ImportOptions, export_file, import_file

import_app = typer.Typer(
    help="Import registries from CSV or Parquet (columns: docs/formats.md). "
    "One transaction: any invalid row → error report, nothing imported, exit 2.",
    no_args_is_help=True,
)
export_app = typer.Typer(
    help="Export registries to CSV or Parquet in the import format.", no_args_is_help=True
)

_FILE = typer.Argument(..., help="Input file: .csv (UTF-8 with header) or .parquet.")
_SKIP = typer.Option(
    False, "--skip-invalid", help="Import the valid rows and report the invalid ones."
)
_ENCODING = typer.Option("utf-8", "--encoding", help="CSV text encoding, e.g. gbk.")
_REPORT = typer.Option(None, "--report", help="Error report path (default: FILE.errors.csv).")


def _run(kind: str, path: Path, skip_invalid: bool, encoding: str, report: Path | None) -> None:
    cfg = settings()
    sealer = Sealer(load_or_create_key(cfg)) if kind == "persons" else None
    options = ImportOptions(
        today=clock.today(ZoneInfo(cfg.timezone)),
        skip_invalid=skip_invalid,
        batch_size=cfg.import_batch_size,
        encoding=encoding,
        phone_region=cfg.phone_region,
        report_path=report,
    )
    with database(cfg) as engine, progress(f"import {kind}") as (bar, task):
        try:
            result = import_file(
                engine, kind, path, options, sealer=sealer,
                on_progress=lambda n: bar.update(task, completed=n),
            )  # fmt: skip
        except ImportRejected:
            bar.stop()
            raise
    out.print(
        f"{kind}: 读取 {result.rows_read:,} 行，新增 {result.inserted:,}，更新 "
        f"{result.updated:,}，未变 {result.unchanged:,}，跳过 {result.skipped:,} / "
        f"read {result.rows_read:,}, inserted {result.inserted:,}, updated "
        f"{result.updated:,}, unchanged {result.unchanged:,}, skipped {result.skipped:,}"
    )
    if result.report_path:
        out.print(f"错误报告 / error report: {result.report_path}")


_IMPORT_HELP = {
    "regions": "Import regions (province → compound) with their statistical codes.",
    "venues": "Import venues (places with place codes); their regions must be imported first.",
    "persons": "Import persons; ID and phone numbers are validated and sealed.",
}


def _import_command(kind: str) -> Callable[..., None]:
    def command(
        file: Path = _FILE, skip_invalid: bool = _SKIP, encoding: str = _ENCODING,
        report: Path | None = _REPORT,
    ) -> None:  # fmt: skip
        _run(kind, file, skip_invalid, encoding, report)

    command.__doc__ = _IMPORT_HELP[kind]
    return command


for _kind in _IMPORT_HELP:
    import_app.command(_kind)(_import_command(_kind))


def _export(kind: str, path: Path, masked: bool) -> None:
    cfg = settings()
    sealer = Sealer(load_or_create_key(cfg)) if kind == "persons" else None
    with database(cfg) as engine:
        n = export_file(engine, kind, path, sealer=sealer, masked=masked)
    out.print(f"{kind}: 导出 {n:,} 行 / exported {n:,} rows → {path}")


_OUT = typer.Argument(..., help="Output file: .csv or .parquet.")


@export_app.command("regions")
def export_regions(file: Path = _OUT) -> None:
    """Export regions."""
    _export("regions", file, False)


@export_app.command("venues")
def export_venues(file: Path = _OUT) -> None:
    """Export venues."""
    _export("venues", file, False)


@export_app.command("persons")
def export_persons(
    file: Path = _OUT,
    masked: bool = typer.Option(False, "--masked", help="Mask names, ID and phone numbers."),
) -> None:
    """Export persons (ID and phone numbers unsealed in full unless --masked)."""
    _export("persons", file, masked)
