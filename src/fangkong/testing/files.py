"""Reading a lab's results file (CSV, every cell as text, or Parquet) for
``testing.results.post_results``; a file that cannot be read is a ``BadInput``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fangkong.errors import BadInput, Problem


def read_table(path: Path) -> pa.Table:
    """A results file: CSV (every cell as text) or Parquet."""
    if not path.exists():
        raise BadInput(Problem("file.not_found", f"找不到文件 {path}", f"file not found: {path}"))
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pq.read_table(path)
        if suffix == ".csv":
            return _csv_text(path)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise BadInput(
            Problem("file.unreadable", f"{path} 无法读取：{exc}", f"{path} cannot be read: {exc}")
        ) from exc
    raise BadInput(
        Problem(
            "file.format_unknown",
            f"{path}: 应为 .csv 或 .parquet",
            f"{path}: the file must be .csv or .parquet",
        )
    )


def _csv_text(path: Path) -> pa.Table:
    names = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16)).column_names
    types = {n: pa.string() for n in names}
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
