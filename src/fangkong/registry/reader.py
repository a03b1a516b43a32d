"""Stream CSV or Parquet files as batches of string columns, with file-level errors named."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fangkong import bounds
from fangkong.errors import BadInput, Problem, RowProblem
from fangkong.registry.model import FileFormat

Cell = str | None


@dataclass
class Batch:
    """Rows ``first_row`` .. ``first_row + len - 1`` (data rows count from 1)."""

    first_row: int
    columns: dict[str, list[Cell]]
    length: int


@dataclass
class Source:
    path: Path
    fmt: FileFormat
    encoding: str = "utf-8"
    batch_size: int = 50_000
    # rows the CSV parser could not split into the right number of fields, and cells
    # holding a control character (NUL etc., refused in every file: fangkong.bounds)
    malformed: list[RowProblem] = field(default_factory=list)
    # refuse control characters here (False: the caller's validators do it, row by row)
    check_text: bool = True


def file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise BadInput(
        Problem(
            "file.format_unknown",
            f"{path}: 无法识别的文件类型 {suffix or '(无扩展名)'}，应为 .csv 或 .parquet",
            f"{path}: unknown file type {suffix or '(no extension)'}; use .csv or .parquet",
        )
    )


def _check_header(source: Source, names: list[str]) -> None:
    missing = [c for c in source.fmt.required_columns if c not in names]
    unknown = [c for c in names if c not in source.fmt.names]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if not (missing or unknown or dupes):
        return
    parts_zh, parts_en = [], []
    if missing:
        parts_zh.append("缺少列 " + ", ".join(missing))
        parts_en.append("missing columns " + ", ".join(missing))
    if unknown:
        parts_zh.append("未知列 " + ", ".join(unknown))
        parts_en.append("unknown columns " + ", ".join(unknown))
    if dupes:
        parts_zh.append("重复列 " + ", ".join(dupes))
        parts_en.append("repeated columns " + ", ".join(dupes))
    raise BadInput(
        Problem(
            "file.header",
            f"{source.path} 表头有误：{'；'.join(parts_zh)}。"
            f"应有的列：{', '.join(source.fmt.names)}",
            f"{source.path} header: {'; '.join(parts_en)}. "
            f"Expected columns: {', '.join(source.fmt.names)}",
        )
    )


def _as_cells(array: Any) -> list[Cell]:
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    cells: list[Cell] = array.to_pylist()
    # an empty or blank cell is a missing value; surrounding spaces are never meaningful
    return [c.strip() or None if c is not None else None for c in cells]


def _sliced(
    first_row: int, batches: list[pa.RecordBatch], names: list[str], size: int
) -> Iterator[Batch]:
    """Re-cut Arrow's record batches (sized by bytes) into batches of ``size`` rows."""
    table = pa.Table.from_batches(batches)
    for start in range(0, table.num_rows, size):
        part = table.slice(start, size).combine_chunks().to_batches()
        if part:
            yield _batch(first_row + start, part[0], names)


def _batch(first_row: int, table_batch: pa.RecordBatch, names: list[str]) -> Batch:
    columns = {name: _as_cells(table_batch.column(i)) for i, name in enumerate(names)}
    return Batch(first_row, columns, table_batch.num_rows)


def _read_csv(source: Source) -> Iterator[Batch]:
    def on_invalid(row: pacsv.InvalidRow) -> Literal["skip"]:
        line = row.number if row.number is not None else 0
        source.malformed.append(
            RowProblem(
                max(line - 1, 0),
                "*",
                Problem(
                    "row.field_count",
                    f"应有 {row.expected_columns} 列，实有 {row.actual_columns} 列",
                    f"expected {row.expected_columns} fields, found {row.actual_columns}",
                ),
            )
        )
        return "skip"

    read = pacsv.ReadOptions(encoding=source.encoding, block_size=8 << 20, use_threads=False)
    parse = pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=False)
    # the header pass parses the first block too: its bad rows are reported by the real pass
    quiet = pacsv.ParseOptions(invalid_row_handler=lambda _row: "skip", newlines_in_values=False)
    try:
        header = pacsv.open_csv(source.path, read_options=read, parse_options=quiet).schema.names
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _unreadable(source, exc) from exc
    _check_header(source, header)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
    )
    try:
        reader = pacsv.open_csv(
            source.path, read_options=read, parse_options=parse, convert_options=convert
        )
        row = 1
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for record_batch in reader:
            pending.append(record_batch)
            pending_rows += record_batch.num_rows
            if pending_rows >= source.batch_size:
                yield from _sliced(row, pending, header, source.batch_size)
                row += pending_rows
                pending, pending_rows = [], 0
        if pending_rows:
            yield from _sliced(row, pending, header, source.batch_size)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise _unreadable(source, exc) from exc


def _read_parquet(source: Source) -> Iterator[Batch]:
    try:
        parquet = pq.ParquetFile(source.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(source, exc) from exc
    names = parquet.schema_arrow.names
    _check_header(source, names)
    row = 1
    for record_batch in parquet.iter_batches(batch_size=source.batch_size):
        yield _batch(row, record_batch, names)
        row += record_batch.num_rows


def _unreadable(source: Source, exc: Exception) -> BadInput:
    text = str(exc).splitlines()[0][:300]
    hint_zh = hint_en = ""
    squeezed = text.lower().replace("-", "")
    if isinstance(exc, UnicodeDecodeError) or "utf8" in squeezed or "decode" in squeezed:
        hint_zh = "；如文件是 GBK 编码，请加 --encoding gbk"
        hint_en = "; if the file is GBK-encoded, add --encoding gbk"
    return BadInput(
        Problem(
            "file.unreadable",
            f"{source.path} 无法读取：{text}{hint_zh}",
            f"{source.path} cannot be read: {text}{hint_en}",
        )
    )


def require_file(path: Path) -> str:
    """The file's kind (csv or parquet); a missing or unknown file is bad input."""
    kind = file_kind(path)
    if not path.is_file():
        raise BadInput(Problem("file.not_found", f"找不到文件 {path}", f"file not found: {path}"))
    return kind


def read_batches(source: Source) -> Iterator[Batch]:
    """Yield the file's rows in batches; every column as stripped strings or None.

    Cells with a control character are named in ``source.malformed`` (the caller rejects
    the file on any of those, as on rows the parser could not split)."""
    batches = _read_csv(source) if require_file(source.path) == "csv" else _read_parquet(source)
    for batch in batches:
        if source.check_text:
            source.malformed += control_problems(batch)
        yield batch


def control_problems(batch: Batch) -> list[RowProblem]:
    """The cells of a batch holding a control character (NUL etc.), each named."""
    found: list[RowProblem] = []
    for name, cells in batch.columns.items():
        problem = bounds.text_column_problem(name)
        found += [
            RowProblem(batch.first_row + i, name, problem) for i in bounds.control_rows(cells)
        ]
    return found
