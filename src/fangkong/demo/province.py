"""The twin's province into the platform's store: regions, venues and persons written as
the registry's CSV files and imported through the same service the CLI uses
(``fangkong import``). ``fangkong demo`` and every job of ``fangkong evaluate`` call it.

The persons file holds raw ID and phone numbers: it lives in a private (0700) temporary
folder only while the import reads it, and is deleted after (see docs/security.md)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from fangkong.files import private_dir
from fangkong.identity.sealing import Sealer
from fangkong.registry.service import ImportOptions, ImportResult, import_file
from fangkong.twin.registry import Registry, write_registry

KINDS = ("regions", "venues", "persons")


def import_registry(
    engine: Engine, registry: Registry, folder: Path, sealer: Sealer, *, today: date,
    phone_region: str,
) -> dict[str, ImportResult]:  # fmt: skip
    """Import ``registry`` through CSV files in a temporary folder inside ``folder``, removed
    after (with the files an older version left in ``folder``); the results by kind."""
    for kind in KINDS:  # older versions kept the files, raw identifiers and all
        (folder / f"{kind}.csv").unlink(missing_ok=True)
    options = ImportOptions(today=today, phone_region=phone_region)
    with tempfile.TemporaryDirectory(prefix=".import-", dir=private_dir(folder)) as tmp:
        files: dict[str, Path] = write_registry(registry, Path(tmp), "csv")
        return {
            kind: import_file(engine, kind, files[kind], options, sealer=sealer) for kind in KINDS
        }
