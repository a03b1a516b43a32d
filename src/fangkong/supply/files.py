"""The report file (`fangkong supply import FILE`): outlets' stock and sales as CSV or
Parquet, every row checked, then all written in one transaction or nothing — a bad row
named by file, row and column in Chinese and English, with ``FILE.errors.csv`` beside it."""

from __future__ import annotations

import re
from pathlib import Path

from fangkong.auth.guard import Call
from fangkong.errors import ImportRejected, InvalidFields, Problem, RowProblem
from fangkong.registry.model import ColumnSpec, FileFormat
from fangkong.registry.reader import Source, read_batches
from fangkong.registry.service import report_path_for, write_report
from fangkong.supply.access import submit_reports
from fangkong.supply.service import ReportResult, SupplyPolicy

REPORTS_FILE = FileFormat(
    "supply_reports",
    "outlet_code",
    (
        ColumnSpec("outlet_code", True, "the outlet's code (fangkong supply outlet list)", "M1"),
        ColumnSpec("date", True, "the local day reported, YYYY-MM-DD", "2022-04-10"),
        ColumnSpec("good", True, "a good of the pack's [supply.goods]", "grain"),
        ColumnSpec("stock", True, "stock at the end of the day, in the good's unit", "1200"),
        ColumnSpec("sales", True, "the day's sales, in the good's unit", "85.5"),
    ),
)  # fmt: skip
MAX_ROWS = 200_000  # a province's outlets × goods for a few days: more is no daily report
_FIELD = re.compile(r"^reports\[(\d+)\]\.(\w+)$")


def import_reports(call: Call, policy: SupplyPolicy, path: Path, *,
                   report: Path | None = None) -> ReportResult:  # fmt: skip
    """Store the file's reports (all or none): ``ImportRejected`` naming the first bad
    row and column, the whole list in the error report."""
    source = Source(path, REPORTS_FILE)
    rows: list[dict[str, str | None]] = []
    numbers: list[int] = []
    for batch in read_batches(source):
        for i in range(batch.length):
            rows.append({c: batch.columns[c][i] for c in REPORTS_FILE.names})
            numbers.append(batch.first_row + i)
        if len(rows) > MAX_ROWS:
            problem = Problem("supply.file_too_long", f"超过 {MAX_ROWS} 行",
                              f"more than {MAX_ROWS} rows")  # fmt: skip
            raise _rejected(path, report, [RowProblem(numbers[-1], "", problem)], len(rows))
    if source.malformed:
        raise _rejected(path, report, list(source.malformed), len(rows))
    try:
        return submit_reports(call, policy, rows, via="file")
    except InvalidFields as exc:
        problems = []
        for f in exc.fields:
            m = _FIELD.match(f.field)
            row, column = (numbers[int(m[1])], m[2]) if m else (0, f.field)
            problems.append(RowProblem(row, column, f.problem))
        raise _rejected(path, report, problems, len(rows)) from None


def _rejected(path: Path, report: Path | None, problems: list[RowProblem], n: int
              ) -> ImportRejected:  # fmt: skip
    report = report or report_path_for(path)
    problems.sort(key=lambda p: (p.row, p.column))
    write_report(report, problems)
    first, n_bad = problems[0], len(problems)
    zh = (f"{path}：{n_bad} 处错误，未写入任何数据。第 {first.row} 行 {first.column} 列："
          f"{first.problem.message_zh}。详见 {report}")  # fmt: skip
    en = (f"{path}: {n_bad} problems, nothing written. Row {first.row}, column "
          f"{first.column}: {first.problem.message_en}. See {report}")  # fmt: skip
    return ImportRejected(
        Problem("import.rejected", zh, en),
        path=str(path), report_path=str(report), problems=problems, rows_read=n,
    )  # fmt: skip
