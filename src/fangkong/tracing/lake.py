"""The check-in event lake: append-only Parquet under ``{home}/lake/checkins/``.

::

    landing/batch-<µs>-<id>.parquet      batches as they arrive (scans, imported files)
    compacted/day=YYYY-MM-DD/part-0.parquet
                                         one file per UTC day of time_in, sorted by
                                         (venue_id, time_in), row groups of ROW_GROUP_ROWS
                                         with min/max statistics

Landing is idempotent by event id: an event already in the lake is not landed again
(first write wins, as for a re-sent scan). Compaction merges the landed rows of each
day into that day's file (written aside, then renamed over the old one) and then
deletes the landed batches; a crash between the two leaves rows in both places, which
readers drop as duplicates and the next compaction removes. One writer at a time (a
lock file). Because each day file is sorted by venue, a venue-time lookup opens only
the row groups whose statistics admit that venue and time.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from fangkong import clock
from fangkong.files import private_dir, private_file, private_opener
from fangkong.tracing.files import TIME, with_zone
from fangkong.tracing.files import ZONED_CHECKIN_SCHEMA as CHECKIN_SCHEMA

Arrow = Any
pc: Any = _pc  # the pyarrow-stubs overloads reject valid calls on mixed arrays

ROW_GROUP_ROWS = 65_536


@dataclass(frozen=True)
class LandResult:
    rows: int  # rows offered
    landed: int  # new events written
    already: int  # events the lake already held
    path: Path | None


@dataclass(frozen=True)
class CompactResult:
    days: int
    rows: int
    batches_removed: int


def unique_by_event(table: pa.Table) -> pa.Table:
    """The first row of each event id (in table order)."""
    if table.num_rows == 0:
        return table
    ids = table.column("event_id").to_numpy(zero_copy_only=False).astype(str)
    first = np.unique(ids, return_index=True)[1]
    if len(first) == table.num_rows:
        return table
    return table.take(np.sort(first))


class CheckinLake:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.landing = root / "landing"
        self.compacted = root / "compacted"

    @classmethod
    def at_home(cls, home: Path) -> CheckinLake:
        return cls(home / "lake" / "checkins")

    @contextmanager
    def _writer(self) -> Iterator[None]:
        private_dir(self.root)
        with open(self.root / ".lock", "a", opener=private_opener) as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def batch_files(self) -> list[Path]:
        return sorted(self.landing.glob("*.parquet")) if self.landing.exists() else []

    def day_files(self) -> list[Path]:
        return (
            sorted(self.compacted.glob("day=*/part-0.parquet")) if self.compacted.exists() else []
        )

    def files(self) -> list[Path]:
        """Every Parquet file of the lake (compacted first, then landed batches)."""
        return self.day_files() + self.batch_files()

    def _event_ids(self) -> Arrow:
        parts = [pq.read_table(f, columns=["event_id"]).column(0) for f in self.files()]
        if not parts:
            return pa.array([], pa.string())
        return pa.chunked_array(parts, pa.string()).combine_chunks()

    def land(self, table: pa.Table) -> LandResult:
        """Append a validated batch (ZONED_CHECKIN_SCHEMA; a batch without ``zone`` lands
        with none); events already held are skipped."""
        table = unique_by_event(with_zone(table))
        with self._writer():
            held = pc.is_in(table.column("event_id"), value_set=self._event_ids())
            new = table.filter(pc.invert(held))
            path = None
            if new.num_rows:
                private_dir(self.landing)
                stamp = f"{clock.wall():%Y%m%d%H%M%S%f}"  # sorts as landed; the id keeps it unique
                path = self.landing / f"batch-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
                _write_atomic(new, path, sort=False)
        return LandResult(table.num_rows, new.num_rows, table.num_rows - new.num_rows, path)

    def compact(self, row_group_rows: int = ROW_GROUP_ROWS) -> CompactResult:
        """Merge landed batches into per-day files sorted by (venue_id, time_in)."""
        with self._writer():
            batches = self.batch_files()
            if not batches:
                return CompactResult(0, 0, 0)
            landed = pa.concat_tables([with_zone(pq.read_table(f)) for f in batches])
            day = pc.strftime(landed.column("time_in"), format="%Y-%m-%d")
            landed = landed.append_column("_day", day)
            rows = 0
            days = pc.unique(day).to_pylist()
            for name in days:
                part = landed.filter(pc.equal(landed.column("_day"), name)).drop(["_day"])
                target = self.compacted / f"day={name}" / "part-0.parquet"
                if target.exists():
                    part = pa.concat_tables([with_zone(pq.read_table(target)), part])
                part = unique_by_event(part)
                private_dir(target.parent)
                _write_atomic(part, target, sort=True, row_group_rows=row_group_rows)
                rows += part.num_rows
            for f in batches:
                f.unlink()
        return CompactResult(len(days), rows, len(batches))

    def read(self) -> pa.Table:
        """Every check-in in the lake, one row per event id."""
        files = self.files()
        if not files:
            return CHECKIN_SCHEMA.empty_table()
        return unique_by_event(pa.concat_tables([with_zone(pq.read_table(f)) for f in files]))

    def venue_window(self, venue_id: str, start: datetime, end: datetime) -> pa.Table:
        """Stays at a venue with time_in in [start, end) — row groups pruned by statistics."""
        files = self.files()
        if not files:
            return CHECKIN_SCHEMA.empty_table()
        dataset = ds.dataset([str(f) for f in files], schema=CHECKIN_SCHEMA, format="parquet")
        expr = (
            (ds.field("venue_id") == venue_id)
            & (ds.field("time_in") >= pa.scalar(start, TIME))
            & (ds.field("time_in") < pa.scalar(end, TIME))
        )
        return unique_by_event(dataset.to_table(filter=expr))


def _write_atomic(table: pa.Table, path: Path, *, sort: bool, row_group_rows: int = 0) -> None:
    if sort:
        table = table.sort_by([("venue_id", "ascending"), ("time_in", "ascending")])
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    private_file(tmp)  # Arrow truncates it and keeps the mode
    pq.write_table(
        table, tmp, row_group_size=row_group_rows or None, compression="zstd",
        write_statistics=True,
    )  # fmt: skip
    os.replace(tmp, path)


def row_groups_admitting(path: Path, venue_id: str) -> tuple[int, int]:
    """(row groups whose venue_id statistics admit ``venue_id``, all row groups)."""
    meta = pq.ParquetFile(path).metadata
    column = meta.schema.to_arrow_schema().get_field_index("venue_id")
    hits = 0
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(column).statistics
        if stats is None or not stats.has_min_max or str(stats.min) <= venue_id <= str(stats.max):
            hits += 1
    return hits, meta.num_row_groups
