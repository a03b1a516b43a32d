"""Checkpoints' reports from a CSV file (UTF-8, a header row; docs/logistics/roads.md):

    checkpoint,ref,at,vehicles_waiting,wait_minutes,lanes_open,status,authority_level,authority,reason

``at`` is ISO 8601 with an offset; ``wait_minutes``, ``authority_level``, ``authority`` and
``reason`` may be empty. A cell that cannot be read is refused naming its row and column
(zh/en) before anything is stored.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from fangkong.errors import BadInput, Problem
from fangkong.roads.status import ReportIn

COLUMNS = ("checkpoint", "ref", "at", "vehicles_waiting", "wait_minutes", "lanes_open",
           "status", "authority_level", "authority", "reason")  # fmt: skip
MAX_ROWS = 100_000


def _bad(row: int, column: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem("roads.file_cell", f"第 {row} 行 {column}：{zh}",
                            f"row {row}, {column}: {en}"))  # fmt: skip


def _int(text: str, row: int, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _bad(
            row, column, f"应为整数，实为 {text!r}", f"not a whole number: {text!r}"
        ) from None


def read_reports(text: str) -> list[ReportIn]:
    """The file's rows as reports (checked by ``record_report`` when stored)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS[:7] if c not in (reader.fieldnames or ())]
    if missing:
        raise BadInput(Problem("roads.file_header", f"缺少列：{'、'.join(missing)}",
                               f"missing columns: {', '.join(missing)}"))  # fmt: skip
    out: list[ReportIn] = []
    for i, cells in enumerate(reader, start=2):
        if len(out) >= MAX_ROWS:
            raise _bad(i, "", f"最多 {MAX_ROWS} 行", f"at most {MAX_ROWS} rows")
        get = {k: (v or "").strip() for k, v in cells.items() if k}
        try:
            at = datetime.fromisoformat(get["at"])
        except ValueError:
            raise _bad(i, "at", "应为带时区的 ISO 8601 时间", "not an ISO 8601 time") from None
        if at.tzinfo is None:
            raise _bad(i, "at", "须带时区（如 +08:00）", "needs an offset (e.g. +08:00)")
        wait = get.get("wait_minutes", "")
        out.append(ReportIn(
            checkpoint_code=get["checkpoint"], ref=get["ref"], at=at,
            vehicles_waiting=_int(get["vehicles_waiting"], i, "vehicles_waiting"),
            wait_minutes=_int(wait, i, "wait_minutes") if wait else None,
            lanes_open=_int(get["lanes_open"], i, "lanes_open"), status=get["status"],
            authority_level=get.get("authority_level") or None,
            authority=get.get("authority") or None, reason=get.get("reason") or None,
        ))  # fmt: skip
    return out
