"""Writing a trace's contacts to a file: CSV (times ISO 8601 in the region's zone, with
offset) or Parquet (UTC timestamps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as _pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fangkong.errors import BadInput, Problem

pc: Any = _pc


def write_output(table: pa.Table, path: Path, tz: ZoneInfo) -> None:
    """CSV (times ISO 8601 in the region's zone, with offset) or Parquet (UTC timestamps)."""
    if path.suffix.lower() in (".parquet", ".pq"):
        pq.write_table(table, path)
        return
    if path.suffix.lower() != ".csv":
        raise BadInput(
            Problem(
                "file.format_unknown",
                f"{path}: 输出文件应为 .csv 或 .parquet",
                f"{path}: the output file must be .csv or .parquet",
            )
        )
    columns = []
    for name in table.column_names:
        col: Any = table.column(name)
        if pa.types.is_timestamp(col.type):
            local = pc.strftime(col.cast(pa.timestamp("s", tz=str(tz))), "%Y-%m-%dT%H:%M:%S%z")
            col = pc.replace_substring_regex(local, r"([+-]\d\d)(\d\d)$", r"\1:\2")
        columns.append(col)
    pacsv.write_csv(pa.table(columns, names=table.column_names), path)
