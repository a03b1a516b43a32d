"""Check-in files are validated row by row; the lake lands idempotently and compacts by day."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fangkong.errors import BadInput, ImportRejected
from fangkong.tracing.files import read_checkins
from fangkong.tracing.lake import CheckinLake, row_groups_admitting

from .samples import checkins

HEADER = ["event_id", "person_id", "venue_id", "venue_type", "time_in", "time_out"]


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


GOOD = [
    ["a1", "p1", "V1", "market", "2022-03-18T08:00:00+08:00", "2022-03-18T08:30:00+08:00"],
    ["a2", "p2", "V1", "market", "2022-03-18T00:10:00Z", ""],
    ["a1", "p1", "V1", "market", "2022-03-18T08:00:00+08:00", "2022-03-18T08:30:00+08:00"],
]


def test_a_good_file_reads_with_offsets_applied_and_repeats_dropped(tmp_path: Path) -> None:
    table = read_checkins(_csv(tmp_path / "in.csv", GOOD))
    assert table.num_rows == 2
    assert table.column("time_in").to_pylist()[0] == datetime(2022, 3, 18, 0, 0, tzinfo=UTC)
    assert table.column("time_out").to_pylist()[1] is None


def test_bad_rows_are_named_and_reported(tmp_path: Path) -> None:
    rows = [
        *GOOD,
        ["a3", "p3", "V1", "disco", "2022-03-18T08:00:00+08:00", ""],
        ["a4", "p3", "V1", "market", "2022-03-18T08:00:00", ""],
        ["a5", "", "V1", "market", "not a time", ""],
        ["a6", "p3", "V1", "market", "2022-03-18T08:00:00+08:00", "2022-03-18T07:00:00+08:00"],
        ["a1", "p9", "V1", "market", "2022-03-18T08:00:00+08:00", ""],
    ]
    path = _csv(tmp_path / "bad.csv", rows)
    with pytest.raises(ImportRejected) as caught:
        read_checkins(path)
    error = caught.value
    assert "bad.csv" in error.problem.message_en
    assert "Row 4" in error.problem.message_en
    assert "第 4 行" in error.problem.message_zh
    found = {(p.row, p.column, p.problem.code) for p in error.detail.problems}
    assert found == {
        (4, "venue_type", "value.not_allowed"),
        (5, "time_in", "time.no_offset"),
        (6, "person_id", "value.missing"),
        (6, "time_in", "time.invalid"),
        (7, "time_out", "time.out_before_in"),
        (8, "event_id", "row.duplicate"),
    }
    report = tmp_path / "bad.csv.errors.csv"
    assert report.exists()
    assert "time.no_offset" in report.read_text(encoding="utf-8-sig")


def test_header_and_type_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("event_id,person_id,venue,time_in\n", encoding="utf-8")
    with pytest.raises(BadInput, match="venue_id"):
        read_checkins(path)
    rows = [GOOD[0], ["b2", "p2", "V1", "school", "2022-03-18T00:10:00Z", ""]]
    with pytest.raises(ImportRejected) as caught:
        read_checkins(_csv(tmp_path / "t.csv", rows))
    assert {p.problem.code for p in caught.value.detail.problems} == {"venue.type_mismatch"}


def test_landing_is_idempotent_and_compaction_sorts_by_venue_and_time(tmp_path: Path) -> None:
    lake = CheckinLake(tmp_path / "lake")
    data = checkins(n=3000)
    first = lake.land(data.slice(0, 2000))
    again = lake.land(data.slice(1000, 2000))  # half already in the lake
    assert (first.landed, again.landed, again.already) == (2000, 1000, 1000)
    assert lake.land(data).landed == 0
    result = lake.compact(row_group_rows=100)
    assert result.rows == 3000
    assert result.batches_removed == 2
    assert lake.batch_files() == []
    assert lake.read().num_rows == 3000
    lake.land(data.slice(0, 10))  # nothing new: all held
    assert lake.batch_files() == []
    for path in lake.day_files():
        table = pq.read_table(path)
        keys = list(zip(table.column("venue_id").to_pylist(), table.column("time_in").to_pylist(),
                        strict=True))  # fmt: skip
        assert keys == sorted(keys)
        hits, groups = row_groups_admitting(path, "v007")
        assert groups >= 10
        assert hits <= 3


def test_venue_window_reads_only_that_venue_and_time(tmp_path: Path) -> None:
    lake = CheckinLake(tmp_path / "lake")
    data = checkins(n=2000)
    lake.land(data)
    lake.compact(row_group_rows=100)
    start = datetime(2022, 3, 18, 6, tzinfo=UTC)
    end = datetime(2022, 3, 18, 12, tzinfo=UTC)
    got = lake.venue_window("v003", start, end)
    assert got.num_rows > 0
    assert set(got.column("venue_id").to_pylist()) == {"v003"}
    assert all(start <= t < end for t in got.column("time_in").to_pylist())
