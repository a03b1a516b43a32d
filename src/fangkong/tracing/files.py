"""Check-in and case files (CSV or Parquet): read, validate, normalise — nothing is trusted.

Bad rows are collected (row, column, code, message in Chinese and English) and the whole
file is refused with an ``ImportRejected`` naming the file, the first bad row and field,
and the error report written next to it — the rules of docs/formats.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fangkong import bounds
from fangkong.errors import BadInput, ImportRejected, Problem, RowProblem
from fangkong.registry.model import VenueType
from fangkong.registry.reader import require_file
from fangkong.registry.service import report_path_for, write_report
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.zones import zone_problem

Arrow = Any
pc: Any = _pc  # the pyarrow-stubs overloads reject valid calls on mixed arrays

TIME = pa.timestamp("s", tz="UTC")
CHECKIN_COLUMNS = (
    "event_id", "person_id", "venue_id", "venue_type", "time_in", "time_out", "zone",
)  # fmt: skip
CHECKIN_REQUIRED = CHECKIN_COLUMNS[:5]
_CHECKIN_FIELDS: list[Any] = [pa.field(c, pa.string()) for c in CHECKIN_COLUMNS[:4]] + [
    pa.field("time_in", TIME),
    pa.field("time_out", TIME),
]
CASE_COLUMNS = (
    "person_id", "infectious_from", "infectious_until", "onset_date", "sample_date",
    "isolated_at",
)  # fmt: skip
_CASE_FIELDS: list[Any] = [
    pa.field("person_id", pa.string()),
    pa.field("infectious_from", TIME),
    pa.field("infectious_until", TIME),
]
CHECKIN_SCHEMA = pa.schema(_CHECKIN_FIELDS)  # without zone: tables built before zones
# what files, the lake and scans give: the zone (区域/桌号) of the check-in, null if none
ZONED_CHECKIN_SCHEMA = CHECKIN_SCHEMA.append(pa.field("zone", pa.string()))
CASE_SCHEMA = pa.schema(_CASE_FIELDS)
MAX_ID_LENGTH = 64
VENUE_TYPES = tuple(t.value for t in VenueType)


def _problem(code: str, zh: str, en: str) -> Problem:
    return Problem(code, zh, en)


def _header_error(path: Path, names: Sequence[str], allowed: Sequence[str],
                  required: Sequence[str]) -> None:  # fmt: skip
    missing = [c for c in required if c not in names]
    unknown = [c for c in names if c not in allowed]
    dupes = sorted({c for c in names if list(names).count(c) > 1})
    if not (missing or unknown or dupes):
        return
    zh = "；".join(
        part for part in (
            "缺少列 " + ", ".join(missing) if missing else "",
            "未知列 " + ", ".join(unknown) if unknown else "",
            "重复列 " + ", ".join(dupes) if dupes else "",
        ) if part
    )  # fmt: skip
    en = "; ".join(
        part for part in (
            "missing columns " + ", ".join(missing) if missing else "",
            "unknown columns " + ", ".join(unknown) if unknown else "",
            "repeated columns " + ", ".join(dupes) if dupes else "",
        ) if part
    )  # fmt: skip
    raise BadInput(
        _problem(
            "file.header",
            f"{path} 表头有误：{zh}。应有的列：{', '.join(allowed)}",
            f"{path} header: {en}. Expected columns: {', '.join(allowed)}",
        )
    )


def _unreadable(path: Path, exc: Exception) -> BadInput:
    text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    return BadInput(_problem("file.unreadable", f"{path} 无法读取：{text}",
                             f"{path} cannot be read: {text}"))  # fmt: skip


def read_raw(
    path: Path, allowed: Sequence[str], required: Sequence[str]
) -> tuple[pa.Table, list[RowProblem]]:
    """The file as a table (CSV: every column text), and rows CSV could not split."""
    kind = require_file(path)
    malformed: list[RowProblem] = []
    try:
        if kind == "parquet":
            names = pq.ParquetFile(path).schema_arrow.names
            _header_error(path, names, allowed, required)
            return pq.read_table(path), malformed
        header = pacsv.open_csv(path).schema.names
        _header_error(path, header, allowed, required)

        def on_invalid(row: pacsv.InvalidRow) -> Literal["skip"]:
            malformed.append(RowProblem(
                max((row.number or 1) - 1, 0), "*",
                _problem("row.field_count",
                         f"应有 {row.expected_columns} 列，实有 {row.actual_columns} 列",
                         f"expected {row.expected_columns} fields, found {row.actual_columns}"),
            ))  # fmt: skip
            return "skip"

        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in header}, strings_can_be_null=True
            ),
        )
        return table, malformed
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from exc


def _text(table: pa.Table, name: str) -> Arrow:
    """A column as stripped text, blank → missing."""
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    col = table.column(name).combine_chunks()
    if not pa.types.is_string(col.type):
        col = col.cast(pa.string())
    col = pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)


class _Rows:
    """Problems of one file, by row."""

    def __init__(self, n: int) -> None:
        self.problems: list[RowProblem] = []
        self.bad = np.zeros(n, bool)

    def add(self, rows: Any, column: str, problem: Problem) -> None:
        for r in np.asarray(rows, np.int64).tolist():
            self.problems.append(RowProblem(r + 1, column, problem))
            self.bad[r] = True

    def missing(self, values: Arrow, column: str) -> None:
        self.add(np.flatnonzero(pc.is_null(values).to_numpy(zero_copy_only=False)), column,
                 _problem("value.missing", "缺少必填值", "required value missing"))  # fmt: skip

    def too_long(self, values: Arrow, column: str) -> None:
        lengths = pc.fill_null(pc.utf8_length(values), 0).to_numpy(zero_copy_only=False)
        self.add(np.flatnonzero(lengths > MAX_ID_LENGTH), column, _problem(
            "value.too_long", f"长于 {MAX_ID_LENGTH} 个字符",
            f"longer than {MAX_ID_LENGTH} characters"))  # fmt: skip

    def control(self, values: Arrow, column: str) -> None:
        """Cells with a control character (NUL etc.): vectorised over the column."""
        self.add(bounds.control_rows_arrow(values), column, bounds.text_column_problem(column))

    def window(self, values: Arrow, column: str, kind: bounds.Kind) -> None:
        """Times outside the window of ``kind`` (fangkong.bounds): two column comparisons."""
        for r, problem in bounds.window_rows_arrow(values, kind, column):
            self.add([r], column, problem)


def _parse_one(text: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(text)
    except ValueError:
        return None


def parse_times(table: pa.Table, name: str, rows: _Rows) -> Arrow:
    """ISO 8601 times with an offset → timestamp[s, UTC] (fractions of a second dropped)."""
    if name in table.column_names:
        col = table.column(name).combine_chunks()
        if pa.types.is_timestamp(col.type):
            if col.type.tz is None:
                raise BadInput(_problem(
                    "time.no_offset", f"列 {name} 的时间没有时区", f"column {name} has no time zone"
                ))  # fmt: skip
            return pc.cast(col, TIME, safe=False)
    text = _text(table, name)
    try:
        return pc.cast(text, TIME)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[int | None] = []
    for i, cell in enumerate(text.to_pylist()):
        if cell is None:
            values.append(None)
            continue
        parsed = _parse_one(cell, datetime.fromisoformat)
        if parsed is None:
            rows.add([i], name, _problem(
                "time.invalid", f"无法识别的时间 {cell[:40]!r}，应为 ISO 8601，如 "
                "2022-03-18T08:30:00+08:00",
                f"not a time: {cell[:40]!r}; use ISO 8601, "
                "e.g. 2022-03-18T08:30:00+08:00"))  # fmt: skip
            values.append(None)
        elif parsed.tzinfo is None:
            rows.add([i], name, _problem(
                "time.no_offset", f"时间 {cell[:40]!r} 缺少时区偏移（如 +08:00）",
                f"time {cell[:40]!r} has no UTC offset (e.g. +08:00)"))  # fmt: skip
            values.append(None)
        else:
            values.append(int(np.floor(parsed.timestamp())))
    return pa.array(values, pa.int64()).cast(TIME)


def _reject(path: Path, rows: _Rows, report: Path | None, n: int) -> ImportRejected:
    report = report or report_path_for(path)
    write_report(report, rows.problems)
    first = min(rows.problems, key=lambda p: (p.row, p.column))
    return ImportRejected(
        _problem(
            "import.rejected",
            f"{path}：{len(rows.problems)} 处错误，未写入任何数据。第 {first.row} 行 "
            f"{first.column} 列：{first.problem.message_zh}。详见 {report}",
            f"{path}: {len(rows.problems)} problems, nothing written. Row {first.row}, "
            f"column {first.column}: {first.problem.message_en}. See {report}",
        ),
        path=str(path), report_path=str(report), problems=rows.problems, rows_read=n,
    )  # fmt: skip


def read_checkins(path: Path, *, report: Path | None = None) -> pa.Table:
    """A validated check-ins file (columns in docs/formats.md), as ZONED_CHECKIN_SCHEMA
    (``zone`` optional: 1–16 printable characters, blank for none).

    An event id repeated with identical values is kept once; with different values it
    is an error.
    """
    raw, malformed = read_raw(path, CHECKIN_COLUMNS, CHECKIN_REQUIRED)
    rows = _Rows(raw.num_rows)
    rows.problems.extend(malformed)
    cols = {c: _text(raw, c) for c in CHECKIN_COLUMNS[:4]}
    for name in CHECKIN_COLUMNS[:4]:
        rows.missing(cols[name], name)
        rows.too_long(cols[name], name)
        rows.control(cols[name], name)
    vtype = cols["venue_type"]
    allowed = pc.fill_null(pc.is_in(vtype, value_set=pa.array(VENUE_TYPES)), True)
    rows.add(np.flatnonzero(~allowed.to_numpy(zero_copy_only=False)), "venue_type", _problem(
        "value.not_allowed", f"场所类型应为 {', '.join(VENUE_TYPES)} 之一",
        f"venue type must be one of {', '.join(VENUE_TYPES)}"))  # fmt: skip
    rows.missing(_text(raw, "time_in"), "time_in")
    t_in = parse_times(raw, "time_in", rows)
    t_out = parse_times(raw, "time_out", rows)
    rows.window(t_in, "time_in", "device")
    rows.window(t_out, "time_out", "device")
    before = pc.fill_null(pc.less(t_out, t_in), False).to_numpy(zero_copy_only=False)
    rows.add(np.flatnonzero(before), "time_out", _problem(
        "time.out_before_in", "离开时间早于进入时间", "time out is before time in"))  # fmt: skip
    zone = _zones(raw, rows)
    table = pa.table([*cols.values(), t_in, t_out, zone], schema=ZONED_CHECKIN_SCHEMA)
    table = _unique_events(table, rows)
    _one_type_per_venue(table, rows)
    if rows.problems:
        raise _reject(path, rows, report, raw.num_rows)
    return table


def _zones(raw: pa.Table, rows: _Rows) -> Arrow:
    """The optional ``zone`` column (blank: none), each value checked by ``zone_problem``."""
    zone = _text(raw, "zone")
    for i, value in enumerate(zone.to_pylist()):
        problem = zone_problem(value) if value is not None else None
        if problem is not None:
            rows.add([i], "zone", problem)
    return zone


def with_zone(table: pa.Table) -> pa.Table:
    """Check-ins as ZONED_CHECKIN_SCHEMA: a table without ``zone`` gets it, all null."""
    if "zone" not in table.column_names:
        table = table.append_column("zone", pa.nulls(table.num_rows, pa.string()))
    return table.select(ZONED_CHECKIN_SCHEMA.names).cast(ZONED_CHECKIN_SCHEMA)


def _unique_events(table: pa.Table, rows: _Rows) -> pa.Table:
    n = table.num_rows
    ids = np.asarray(table.column("event_id").to_pylist(), dtype=object)
    if n == 0 or any(i is None for i in ids):
        return table  # missing ids are already reported
    _, first, inverse = np.unique(ids.astype(str), return_index=True, return_inverse=True)
    leader = first[inverse]
    repeat = np.flatnonzero(leader != np.arange(n))
    if len(repeat) == 0:
        return table
    same = np.ones(len(repeat), bool)
    for name in table.column_names:
        a = table.column(name).take(repeat)
        b = table.column(name).take(leader[repeat])
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        equal = pc.or_(pc.fill_null(pc.equal(a, b), False), both_null)
        same &= equal.to_numpy(zero_copy_only=False)
    rows.add(repeat[~same], "event_id", _problem(
        "row.duplicate", "该事件编号已出现在前面的行，且内容不同",
        "this event id appeared in an earlier row with different values"))  # fmt: skip
    keep = np.ones(n, bool)
    keep[repeat] = False
    return table.filter(pa.array(keep))


def _one_type_per_venue(table: pa.Table, rows: _Rows) -> None:
    """A venue has one type: rows that contradict the venue's first row are refused."""
    venue: list[Any] = table.column("venue_id").to_pylist()
    vtype: list[Any] = table.column("venue_type").to_pylist()
    usable = [v is not None and t in VENUE_TYPES for v, t in zip(venue, vtype, strict=True)]
    first: dict[str, str] = {}
    bad = []
    for i, (v, t, ok) in enumerate(zip(venue, vtype, usable, strict=True)):
        if ok and first.setdefault(v, t) != t:
            bad.append(i)
    rows.add(bad, "venue_type", _problem(
        "venue.type_mismatch", "同一场所编号在前面的行中是另一种场所类型",
        "the same venue id has another venue type in an earlier row"))  # fmt: skip


def read_cases(
    path: Path, rules: ContactRules, tz: ZoneInfo, *, report: Path | None = None
) -> pa.Table:
    """A validated cases file → person_id, infectious_from, infectious_until (null: open).

    A row gives either ``infectious_from`` (and optionally ``infectious_until``) or an
    ``onset_date`` or ``sample_date`` (local dates) with ``isolated_at`` (optional); the
    window then starts the pack's number of days before, at local midnight.
    """
    raw, malformed = read_raw(path, CASE_COLUMNS, ("person_id",))
    rows = _Rows(raw.num_rows)
    rows.problems.extend(malformed)
    person = _text(raw, "person_id")
    rows.missing(person, "person_id")
    rows.too_long(person, "person_id")
    rows.control(person, "person_id")
    explicit_from = parse_times(raw, "infectious_from", rows)
    explicit_until = parse_times(raw, "infectious_until", rows)
    isolated = parse_times(raw, "isolated_at", rows)
    rows.window(explicit_from, "infectious_from", "event")
    rows.window(explicit_until, "infectious_until", "planned")
    rows.window(isolated, "isolated_at", "event")
    onset = _dates(raw, "onset_date", rows)
    sampled = _dates(raw, "sample_date", rows)
    starts: list[int | None] = []
    ends: list[int | None] = []
    f_list, u_list, i_list = (a.cast(pa.int64()).to_pylist()
                              for a in (explicit_from, explicit_until, isolated))  # fmt: skip
    for r in range(raw.num_rows):
        start, end = _window(r, f_list[r], u_list[r], i_list[r], onset[r], sampled[r], rules, tz,
                             rows)  # fmt: skip
        starts.append(start)
        ends.append(end)
    seen: dict[str, int] = {}
    for r, pid in enumerate(person.to_pylist()):
        if pid is not None and pid in seen:
            rows.add([r], "person_id", _problem(
                "row.duplicate", f"该人员已在第 {seen[pid] + 1} 行列出",
                f"this person is already listed in row {seen[pid] + 1}"))  # fmt: skip
        elif pid is not None:
            seen[pid] = r
    if rows.problems:
        raise _reject(path, rows, report, raw.num_rows)
    return pa.table(
        [person, pa.array(starts, pa.int64()).cast(TIME), pa.array(ends, pa.int64()).cast(TIME)],
        schema=CASE_SCHEMA,
    )


def _dates(raw: pa.Table, name: str, rows: _Rows) -> list[date | None]:
    """Local dates of an event (onset, sample): outside their window they are refused
    (fangkong.bounds) and read as missing, so no window is computed from year 1 or 9999."""
    out: list[date | None] = []
    for i, cell in enumerate(_text(raw, name).to_pylist()):
        value = _parse_one(cell, date.fromisoformat) if cell is not None else None
        if cell is not None and value is None:
            rows.add([i], name, _problem(
                "date.invalid", f"无法识别的日期 {cell[:40]!r}，应为 YYYY-MM-DD",
                f"not a date: {cell[:40]!r}; use YYYY-MM-DD"))  # fmt: skip
        elif value is not None and (problem := bounds.date_problem(value, "event", name)):
            rows.add([i], name, problem)
            value = None
        out.append(value)
    return out


def _window(
    r: int, start: int | None, until: int | None, isolated: int | None,
    onset: date | None, sampled: date | None, rules: ContactRules, tz: ZoneInfo, rows: _Rows,
) -> tuple[int | None, int | None]:  # fmt: skip
    by_dates = onset is not None or sampled is not None
    if start is not None and by_dates:
        rows.add([r], "infectious_from", _problem(
            "window.ambiguous", "请只给出 infectious_from 或发病/采样日期之一",
            "give either infectious_from or an onset/sample date, not both"))  # fmt: skip
        return None, None
    if start is None and not by_dates:
        if not rows.bad[r]:
            rows.add([r], "infectious_from", _problem(
                "window.missing", "缺少 infectious_from，或 onset_date/sample_date",
                "missing infectious_from, or onset_date/sample_date"))  # fmt: skip
        return None, None
    if start is None:
        first, _ = rules.infectious_window(onset=onset, sampled=sampled, isolated_at=None, tz=tz)
        start, until = int(first.timestamp()), isolated
    if until is not None and until <= start:
        rows.add([r], "infectious_until" if not by_dates else "isolated_at", _problem(
            "window.empty", "传染期结束时间不晚于开始时间",
            "the infectious window ends before it starts"))  # fmt: skip
    return start, until
