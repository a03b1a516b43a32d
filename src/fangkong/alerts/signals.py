"""Signals (多点触发): counts reported by fever clinics, pharmacies, labs, schools,
environment and cold-chain sampling and routine screening, by place and day.

Ingest is idempotent: a count is keyed by (reporting point, signal, region, day), so a
resent report changes nothing and a corrected one replaces the count. A file import
validates every row first and writes all or nothing (one transaction), naming the row
and column of each problem in Chinese and English.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from fangkong import bounds, clock
from fangkong.alerts.model import SIGNALS
from fangkong.alerts.tables import signal_counts
from fangkong.errors import FieldProblem, ImportRejected, InvalidFields, Problem, RowProblem
from fangkong.registry.model import ColumnSpec, FileFormat
from fangkong.registry.reader import Source, read_batches
from fangkong.registry.service import report_path_for, write_report
from fangkong.store.schema import regions
from fangkong.store.tx import Bind, write_transaction
from fangkong.store.upsert import upsert

MAX_COUNT = 10_000_000  # one point's count for one day: anything above is a typo
SIGNALS_FILE = FileFormat(
    "signals",
    "key",
    (
        ColumnSpec("source", True, "the reporting point: a venue code or a system's name",
                   "FC-140105-01"),
        ColumnSpec("signal", True, f"one of: {', '.join(SIGNALS)}", "fever_clinic"),
        ColumnSpec("region_code", True, "the region counted (any level, compound included)",
                   "140105001001"),
        ColumnSpec("date", True, "the local day counted, YYYY-MM-DD", "2022-03-18"),
        ColumnSpec("count", True, "a whole number ≥ 0", "12"),
        ColumnSpec("event_id", False, "the sender's id of the report (kept, not required)",
                   "fc-01-20220318"),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class SignalRow:
    source: str
    signal: str
    region_code: str
    day: date
    count: int
    event_id: str | None = None


@dataclass(frozen=True)
class IngestResult:
    rows: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(code, zh, en)


def invalid_fields(fields: Sequence[FieldProblem]) -> InvalidFields:
    """Bad fields of a request, the first one named in the message."""
    first = fields[0]
    more = len(fields) - 1
    return InvalidFields(
        _p("signals.invalid", f"{first.field}：{first.problem.message_zh}"
           + (f"（另有 {more} 处）" if more else ""),
           f"{first.field}: {first.problem.message_en}" + (f" (and {more} more)" if more else "")),
        fields,
    )  # fmt: skip


def signal_key(source: str, signal: str, region_code: str, day: date) -> str:
    text = f"{source}\x1f{signal}\x1f{region_code}\x1f{day.isoformat()}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _cell_problems(
    source: str | None, signal: str | None, region: str | None, day: str | None, count: str | None
) -> tuple[list[tuple[str, Problem]], SignalRow | None]:
    """Problems of one row's cells (column, problem), or the clean row."""
    out: list[tuple[str, Problem]] = []
    for column, value in (("source", source), ("signal", signal), ("region_code", region),
                          ("date", day), ("count", count)):  # fmt: skip
        if value is None or value == "":
            out.append((column, _p("value.missing", "缺少值", "missing value")))
    if source and len(source) > 64:
        out.append(("source", _p("value.too_long", "超过 64 个字符", "longer than 64 characters")))
    if signal and signal not in SIGNALS:
        out.append(("signal", _p("signal.unknown", f"未知的信号 {signal[:40]!r}",
                                 f"unknown signal {signal[:40]!r}")))  # fmt: skip
    parsed: date | None = None
    if day:
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            out.append(("date", _p("date.invalid", f"日期 {day[:20]!r} 应为 YYYY-MM-DD",
                                   f"date {day[:20]!r} must be YYYY-MM-DD")))  # fmt: skip
        if parsed is not None and (problem := bounds.date_problem(parsed, "event", "date")):
            out.append(("date", problem))
            parsed = None
    n: int | None = None
    if count:
        try:
            n = int(count)
        except ValueError:
            n = None
        if n is None or not 0 <= n <= MAX_COUNT:
            out.append(("count", _p(
                "count.invalid", f"计数 {count[:20]!r} 应为 0 至 {MAX_COUNT} 的整数",
                f"count {count[:20]!r} must be a whole number 0..{MAX_COUNT}")))  # fmt: skip
    if out or parsed is None or n is None or not (source and signal and region):
        return out, None
    return out, SignalRow(source, signal, region, parsed, n)


def _unknown_regions(conn: Connection, codes: Iterable[str]) -> set[str]:
    wanted = sorted(set(codes))
    found: set[str] = set()
    for i in range(0, len(wanted), 5_000):
        chunk = wanted[i : i + 5_000]
        found.update(
            conn.execute(select(regions.c.code).where(regions.c.code.in_(chunk))).scalars()
        )
    return set(wanted) - found


def _write(conn: Connection, rows: Sequence[SignalRow], at: datetime) -> IngestResult:
    by_key: dict[str, dict[str, Any]] = {}
    for r in rows:  # the last report of a key in one batch wins
        key = signal_key(r.source, r.signal, r.region_code, r.day)
        by_key[key] = {"key": key, "source": r.source, "signal": r.signal,
                       "region_code": r.region_code, "day": r.day, "count": r.count,
                       "event_id": r.event_id, "received_at": at}  # fmt: skip
    done = upsert(conn, signal_counts, list(by_key.values()), key="key", compare=("count",),
                  keep_unless_changed={"event_id": "count", "received_at": "count"})  # fmt: skip
    return IngestResult(len(rows), done.inserted, done.updated)


def record_signals(
    bind: Bind, rows: Sequence[Mapping[str, Any]], *, source: str, at: datetime | None = None
) -> IngestResult:
    """Counts sent over HTTP by one reporting point (``source``): all or none. ``rows``
    hold ``signal``, ``region_code``, ``date`` (ISO text or a date), ``count`` and
    optionally ``event_id``; a bad row raises ``InvalidFields`` naming it (``rows[3].count``)."""
    problems: list[FieldProblem] = []
    clean: list[SignalRow] = []
    for i, r in enumerate(rows):
        day = r.get("date")
        found, row = _cell_problems(source, _text(r.get("signal")), _text(r.get("region_code")),
                                    day.isoformat() if isinstance(day, date) else _text(day),
                                    _text(r.get("count")))  # fmt: skip
        problems += [FieldProblem(f"signals[{i}].{c}", p) for c, p in found]
        if row is not None:
            clean.append(SignalRow(row.source, row.signal, row.region_code, row.day, row.count,
                                   _text(r.get("event_id"))))  # fmt: skip
    with write_transaction(bind) as conn:
        unknown = _unknown_regions(conn, (r.region_code for r in clean))
        problems += [FieldProblem(f"signals[{i}].region_code", _no_region(r.region_code))
                     for i, r in enumerate(clean) if r.region_code in unknown]  # fmt: skip
        if problems:
            raise invalid_fields(problems)
        return _write(conn, clean, at or clock.now())


def record_signals_rows(bind: Bind, rows: Sequence[SignalRow], *, at: datetime | None = None
                        ) -> IngestResult:  # fmt: skip
    """Rows built by a feed (the twin): checked for a known signal, a count ≥ 0 and a
    region in the registry; one transaction."""
    bad = [r for r in rows if r.signal not in SIGNALS or r.count < 0]
    if bad:
        raise invalid_fields(
            [
                FieldProblem(
                    "signal",
                    _p("signal.unknown", f"无效的信号 {bad[0]}", f"invalid signal row {bad[0]}"),
                )
            ]
        )
    with write_transaction(bind) as conn:
        unknown = _unknown_regions(conn, (r.region_code for r in rows))
        if unknown:
            raise invalid_fields([FieldProblem("region_code", _no_region(min(unknown)))])
        return _write(conn, rows, at or clock.now())


def _text(value: object) -> str | None:
    return None if value is None else str(value).strip()


def _no_region(code: str) -> Problem:
    return _p("region.unknown", f"区划代码 {code[:20]} 不在登记中",
              f"region code {code[:20]} is not in the registry")  # fmt: skip


def import_signals(bind: Bind, path: Path, *, report: Path | None = None) -> IngestResult:
    """A signals file (CSV or Parquet, columns in ``SIGNALS_FILE``): every row checked,
    then all written in one transaction, or nothing and a report ``FILE.errors.csv``."""
    source = Source(path, SIGNALS_FILE)
    problems: list[RowProblem] = []
    clean: list[tuple[int, SignalRow]] = []
    n = 0
    for batch in read_batches(source):
        cols = batch.columns
        event_ids = cols.get("event_id", [None] * batch.length)
        for i in range(batch.length):
            row_no = batch.first_row + i
            found, row = _cell_problems(cols["source"][i], cols["signal"][i],
                                        cols["region_code"][i], cols["date"][i],
                                        cols["count"][i])  # fmt: skip
            problems += [RowProblem(row_no, c, p) for c, p in found]
            if row is not None:
                event = event_ids[i] or None
                clean.append((row_no, SignalRow(row.source, row.signal, row.region_code,
                                                row.day, row.count, event)))  # fmt: skip
        n += batch.length
    problems += source.malformed
    with write_transaction(bind) as conn:
        unknown = _unknown_regions(conn, (r.region_code for _, r in clean))
        problems += [RowProblem(k, "region_code", _no_region(r.region_code))
                     for k, r in clean if r.region_code in unknown]  # fmt: skip
        if problems:
            raise _rejected(path, report or report_path_for(path), problems, n)
        return _write(conn, [r for _, r in clean], clock.now())


def _rejected(path: Path, report: Path, problems: list[RowProblem], n: int) -> ImportRejected:
    problems.sort(key=lambda p: (p.row, p.column))
    write_report(report, problems)
    first = problems[0]
    return ImportRejected(
        _p("import.rejected",
           f"{path}：{len(problems)} 处错误，未写入任何数据。第 {first.row} 行 {first.column} 列："
           f"{first.problem.message_zh}。详见 {report}",
           f"{path}: {len(problems)} problems, nothing written. Row {first.row}, column "
           f"{first.column}: {first.problem.message_en}. See {report}"),
        path=str(path), report_path=str(report), problems=problems, rows_read=n,
    )  # fmt: skip
