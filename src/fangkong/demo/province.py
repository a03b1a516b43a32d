"""The twin's province into the platform's store: regions, venues and persons written as
the registry's CSV files and imported through the same service the CLI uses
(``fangkong import``). ``fangkong demo`` and every job of ``fangkong evaluate`` call it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from fangkong.identity.sealing import Sealer
from fangkong.registry.service import ImportOptions, ImportResult, import_file
from fangkong.twin.registry import Registry, write_registry

KINDS = ("regions", "venues", "persons")


def import_registry(
    engine: Engine, registry: Registry, folder: Path, sealer: Sealer, *, today: date,
    phone_region: str,
) -> dict[str, ImportResult]:  # fmt: skip
    """Write ``registry`` to ``folder`` (CSV) and import it; the results by kind."""
    files: dict[str, Path] = write_registry(registry, folder, "csv")
    options = ImportOptions(today=today, phone_region=phone_region)
    return {kind: import_file(engine, kind, files[kind], options, sealer=sealer) for kind in KINDS}
