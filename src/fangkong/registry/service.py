"""Bulk import and export of the registries: one use case each, called by CLI and API.

An import streams the file, validates every row and writes in ONE transaction: on any
invalid row it writes an error report next to the input and commits nothing (unless
``skip_invalid``); a crash or Ctrl-C rolls back. Re-importing a file changes nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, select

from fangkong import clock
from fangkong._gc import gc_paused
from fangkong.errors import ImportRejected, Problem, RowProblem
from fangkong.identity.masking import mask_id, mask_name, mask_phone
from fangkong.identity.sealing import Sealer
from fangkong.registry.model import FORMATS, LEVEL_ORDER, RegionLevel
from fangkong.registry.reader import Source, file_kind, read_batches, require_file
from fangkong.registry.validate.cells import Checked, Context
from fangkong.registry.validate.persons import check_persons
from fangkong.registry.validate.regions import check_regions
from fangkong.registry.validate.venues import check_venues
from fangkong.store import migrate
from fangkong.store.schema import households, persons, regions, venues
from fangkong.store.upsert import count_rows, upsert

ProgressFn = Callable[[int], None]
_IMPORT_CACHE_KIB = 512 * 1024

_PERSON_COMPARE = (
    "doc_type", "doc_country", "name", "sex", "birth_date", "phone_hash",
    "household_code", "residence_code", "venue_code", "unit_code", "occupation",
)  # fmt: skip
_REGION_COMPARE = ("parent_code", "level", "name", "population", "area_type", "geojson")
_VENUE_COMPARE = (
    "name", "type", "region_code", "capacity", "latitude", "longitude", "address",
)  # fmt: skip


@dataclass(frozen=True)
class ImportOptions:
    today: date
    skip_invalid: bool = False
    batch_size: int = 50_000
    encoding: str = "utf-8"
    phone_region: str = "CN"
    report_path: Path | None = None


@dataclass(frozen=True)
class ImportResult:
    kind: str
    path: Path
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    skipped: int
    report_path: Path | None


def report_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".errors.csv")


def write_report(path: Path, problems: Iterable[RowProblem]) -> None:
    """The error report: one line per problem, UTF-8 with BOM so spreadsheets show Chinese."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "column", "code", "message_zh", "message_en"])
        for p in sorted(problems, key=lambda p: (p.row, p.column)):
            writer.writerow([p.row, p.column, p.problem.code, p.problem.message_zh,
                             p.problem.message_en])  # fmt: skip


class _Run:
    """The state of one import while it streams."""

    def __init__(self, conn: Connection, kind: str, options: ImportOptions) -> None:
        self.conn = conn
        self.kind = kind
        self.options = options
        self.problems: list[RowProblem] = []
        self.bad_rows: set[int] = set()
        self.rows_read = 0
        self.inserted = 0
        self.updated = 0
        self.was_empty = False
        self.now = clock.now()

    @property
    def writing(self) -> bool:
        # once a row is bad and bad rows are not skipped, nothing will be committed:
        # keep validating for a complete report, but stop writing
        return self.options.skip_invalid or not self.problems

    def write(self, table: Any, rows: list[dict[str, Any]], **how: Any) -> None:
        if self.writing and rows:
            count = upsert(self.conn, table, rows, none_stored=self.was_empty, **how)
            self.inserted += count.inserted
            self.updated += count.updated

    def take(self, checked: Checked) -> list[dict[str, Any]]:
        self.problems.extend(checked.problems)
        self.bad_rows.update(p.row for p in checked.problems)
        rows = []
        for row in checked.rows:
            number = row.pop("_row")
            if number not in self.bad_rows:
                row["created_at"] = row["updated_at"] = self.now
                rows.append(row)
        return rows


def _codes(conn: Connection, column: Any) -> set[str]:
    return set(conn.execute(select(column)).scalars())


def import_file(
    engine: Engine,
    kind: str,
    path: Path,
    options: ImportOptions,
    *,
    sealer: Sealer | None = None,
    on_progress: ProgressFn | None = None,
) -> ImportResult:
    """Import a regions, venues or persons file (CSV or Parquet); see docs/formats.md."""
    fmt = FORMATS[kind]
    source = Source(path, fmt, options.encoding, options.batch_size, check_text=False)
    require_file(path)
    migrate.require_current(engine)
    if kind == "persons" and sealer is None:
        raise ValueError("importing persons needs a Sealer")
    table = {"regions": regions, "venues": venues, "persons": persons}[kind]
    with (
        engine.connect().execution_options(write=True) as conn,
        _import_cache(conn),
        conn.begin() as tx,
    ):
        run = _Run(conn, kind, options)
        run.was_empty = count_rows(conn, table) == 0
        ctx = Context(
            today=options.today,
            region_codes=_codes(conn, regions.c.code),
            venue_codes=_codes(conn, venues.c.code) if kind == "persons" else set(),
            sealer=sealer,
            phone_region=options.phone_region,
        )
        batches = read_batches(source)
        if kind == "regions":
            _import_regions(run, ctx, batches, on_progress)
        elif kind == "venues":
            _import_venues(run, ctx, batches, on_progress)
        else:
            assert sealer is not None  # noqa: S101 - checked above
            _import_persons(run, ctx, batches, on_progress)
        run.problems.extend(source.malformed)
        run.bad_rows.update(p.row for p in source.malformed)
        report = options.report_path or report_path_for(path)
        if run.problems:
            write_report(report, run.problems)
            if not options.skip_invalid:
                tx.rollback()
                raise _rejected(path, report, run)
        elif report.exists() and options.report_path is None:
            report.unlink()  # a stale report from an earlier failed attempt
    skipped = len(run.bad_rows)
    return ImportResult(
        kind=kind, path=path, rows_read=run.rows_read, inserted=run.inserted,
        updated=run.updated, unchanged=run.rows_read - skipped - run.inserted - run.updated,
        skipped=skipped,
        report_path=report if run.problems else None,
    )  # fmt: skip


@contextmanager
def _import_cache(conn: Connection) -> Iterator[None]:
    # Random keys (sealed-ID hashes) land all over the indexes: a larger page cache for
    # the importing connection keeps them in memory (SQLite's default is 2 MB).
    if conn.dialect.name != "sqlite":
        yield
        return
    # on the driver's connection: a statement through SQLAlchemy would begin a transaction
    raw: Any = conn.connection.driver_connection
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={int(before)}")


def _rejected(path: Path, report: Path, run: _Run) -> ImportRejected:
    n = len(run.bad_rows)
    first = min(run.problems, key=lambda p: p.row)
    return ImportRejected(
        Problem(
            "import.rejected",
            f"{path}：{n} 行有误，未导入任何数据。错误报告：{report}（首个：第 {first.row} 行 "
            f"{first.column}：{first.problem.message_zh}）",
            f"{path}: {n} invalid rows; nothing was imported. Error report: {report} "
            f"(first: row {first.row} {first.column}: {first.problem.message_en})",
        ),
        path=str(path),
        report_path=str(report),
        problems=run.problems,
        rows_read=run.rows_read,
    )


def _import_regions(
    run: _Run, ctx: Context, batches: Iterator[Any], on_progress: ProgressFn | None
) -> None:
    # A region's parent may come later in the file: read all rows (regions are few),
    # check parents against the file and the store, then write top-down.
    rows: list[dict[str, Any]] = []
    for batch in batches:
        checked = check_regions(batch, ctx)
        run.rows_read += batch.length
        run.problems.extend(checked.problems)
        run.bad_rows.update(p.row for p in checked.problems)
        rows.extend(checked.rows)
        if on_progress:
            on_progress(run.rows_read)
    in_file = {r["code"]: r["_row"] for r in rows}
    good: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: (LEVEL_ORDER[RegionLevel(r["level"])], r["_row"])):
        parent = row["parent_code"]
        if parent is not None and parent not in ctx.region_codes:
            parent_row = in_file.get(parent)
            if parent_row is None or parent_row in run.bad_rows:
                problem = _missing_parent(parent, parent_row)
                run.problems.append(RowProblem(row["_row"], "parent_code", problem))
                run.bad_rows.add(row["_row"])
                continue
        good.append(row)
    run.write(regions, run.take(Checked(rows=good)), key="code", compare=_REGION_COMPARE)


def _missing_parent(parent: str, parent_row: int | None) -> Problem:
    if parent_row is None:
        return Problem(
            "region.parent_unknown",
            f"上级区划 {parent} 不存在：请在本文件或先前的导入中提供",
            f"parent region {parent} does not exist: add it to this file or import it first",
        )
    return Problem(
        "region.parent_invalid",
        f"上级区划 {parent}（第 {parent_row} 行）有误",
        f"parent region {parent} (row {parent_row}) is invalid",
    )


def _import_venues(
    run: _Run, ctx: Context, batches: Iterator[Any], on_progress: ProgressFn | None
) -> None:
    for batch in batches:
        run.write(venues, run.take(check_venues(batch, ctx)), key="code", compare=_VENUE_COMPARE)
        run.rows_read += batch.length
        if on_progress:
            on_progress(run.rows_read)


def _import_persons(
    run: _Run,
    ctx: Context,
    batches: Iterator[Any],
    on_progress: ProgressFn | None,
) -> None:
    def write(rows: list[dict[str, Any]]) -> None:
        if run.writing and rows:
            # households span batches: look them up, never assume them absent
            stamp = {"created_at": run.now, "updated_at": run.now}
            homes = [
                {"code": r["household_code"], "residence_code": r["residence_code"], **stamp}
                for r in {r["household_code"]: r for r in rows if r["household_code"]}.values()
            ]
            upsert(run.conn, households, homes, key="code", compare=["residence_code"])
            run.write(
                persons, rows, key="doc_hash", compare=_PERSON_COMPARE,
                keep_unless_changed={"phone_sealed": "phone_hash"},
            )  # fmt: skip

    for batch in batches:
        with gc_paused():  # a million small row objects, no cycles: see fangkong._gc
            rows = run.take(check_persons(batch, ctx))
            write(rows)
        run.rows_read += batch.length
        if on_progress:
            on_progress(run.rows_read)


# ---- export -----------------------------------------------------------------------------


def _doc_parts(sealer: Sealer, blob: bytes) -> tuple[str, str, str]:
    doc_type, country, number = sealer.unseal("document", blob).split("|", 2)
    return doc_type, country, number


def _export_rows(
    conn: Connection, kind: str, sealer: Sealer | None, masked: bool
) -> Iterator[dict[str, str | None]]:
    def s(v: Any) -> str | None:
        return None if v is None else str(v)

    if kind == "regions":
        query = select(regions).order_by(regions.c.code)
        for r in conn.execute(query).mappings():
            yield {c: s(r[c]) for c in FORMATS["regions"].names}
    elif kind == "venues":
        for r in conn.execute(select(venues).order_by(venues.c.code)).mappings():
            yield {c: s(r[c]) for c in FORMATS["venues"].names}
    else:
        assert sealer is not None  # noqa: S101 - export_file checks
        result = conn.execution_options(yield_per=10_000).execute(
            select(persons).order_by(persons.c.id)
        )
        for r in result.mappings():
            doc_type, country, number = _doc_parts(sealer, r["doc_sealed"])
            phone = sealer.unseal("phone", r["phone_sealed"]) if r["phone_sealed"] else None
            name = r["name"]
            if masked:
                number = mask_id(number) if doc_type == "resident_id" else number[:2] + "****"
                phone = mask_phone(phone) if phone else None
                name = mask_name(name)
            yield {
                "id_type": doc_type, "id_number": number, "id_country": country,
                "name": name, "sex": r["sex"], "birth_date": r["birth_date"].isoformat(),
                "phone": phone, "household_code": r["household_code"],
                "residence_code": r["residence_code"], "venue_code": r["venue_code"],
                "unit_code": r["unit_code"], "occupation": r["occupation"],
            }  # fmt: skip


def _chunks(rows: Iterator[dict[str, str | None]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def export_file(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    sealer: Sealer | None = None,
    masked: bool = False,
) -> int:
    """Write a registry in its import format (CSV or Parquet by extension); rows written.

    The file is written beside its final name and renamed into place when complete.
    """
    fmt = FORMATS[kind]
    out_kind = file_kind(path)
    if kind == "persons" and sealer is None:
        raise ValueError("exporting persons needs a Sealer")
    schema = pa.schema([(name, pa.string()) for name in fmt.names])
    partial = path.with_name(path.name + ".partial")
    written = 0
    writer: Any
    with engine.connect() as conn:
        if out_kind == "csv":
            writer = pacsv.CSVWriter(partial, schema)
        else:
            writer = pq.ParquetWriter(partial, schema, compression="zstd")
        try:
            for chunk in _chunks(_export_rows(conn, kind, sealer, masked), 50_000):
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                written += len(chunk)
        except BaseException:
            writer.close()
            partial.unlink(missing_ok=True)
            raise
        writer.close()
    partial.replace(path)
    return written
