"""Signal ingest: idempotent (a resent report changes nothing, a corrected one replaces
the count), files all-or-nothing with each bad row and column named. Both backends."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from fangkong.alerts.signals import import_signals, record_signals
from fangkong.alerts.tables import signal_counts
from fangkong.errors import ImportRejected, InvalidFields
from tests.alerts.conftest import COMPOUND_A, COMPOUND_B


def _stored(engine: Engine) -> list[tuple[str, str, str, date, int]]:
    c = signal_counts.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.source, c.signal, c.region_code, c.day, c.count)
                            .order_by(c.source, c.signal, c.region_code, c.day)).all()  # fmt: skip
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_record_is_idempotent_and_corrects(province: Engine) -> None:
    rows = [
        {"signal": "fever_clinic", "region_code": COMPOUND_A, "date": "2026-11-02", "count": 3},
        {"signal": "pharmacy_cold", "region_code": COMPOUND_B, "date": date(2026, 11, 2),
         "count": "12", "event_id": "e1"},
    ]  # fmt: skip
    first = record_signals(province, rows, source="FC-1")
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    again = record_signals(province, rows, source="FC-1")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    fixed = record_signals(province, [{**rows[0], "count": 4}], source="FC-1")
    assert (fixed.inserted, fixed.updated) == (0, 1)
    other = record_signals(province, [rows[0]], source="FC-2")  # another reporting point
    assert other.inserted == 1
    assert _stored(province) == [
        ("FC-1", "fever_clinic", COMPOUND_A, date(2026, 11, 2), 4),
        ("FC-1", "pharmacy_cold", COMPOUND_B, date(2026, 11, 2), 12),
        ("FC-2", "fever_clinic", COMPOUND_A, date(2026, 11, 2), 3),
    ]


def test_record_rejects_bad_rows_whole(province: Engine) -> None:
    rows = [
        {"signal": "fever_clinic", "region_code": COMPOUND_A, "date": "2026-11-02", "count": 1},
        {"signal": "gossip", "region_code": "999999", "date": "2026-13-01", "count": -1},
    ]
    with pytest.raises(InvalidFields) as info:
        record_signals(province, rows, source="FC-1")
    named = {f.field for f in info.value.fields}
    assert named == {"signals[1].signal", "signals[1].date", "signals[1].count"}
    with pytest.raises(InvalidFields) as info:
        record_signals(province, [{**rows[0], "region_code": "999999"}], source="FC-1")
    assert info.value.fields[0].field == "signals[0].region_code"
    assert "999999" in info.value.problem.message_zh
    assert _stored(province) == []


def test_import_file(province: Engine, tmp_path: Path) -> None:
    good = tmp_path / "signals.csv"
    good.write_text(
        "source,signal,region_code,date,count,event_id\n"
        f"PH-1,pharmacy_antipyretic,{COMPOUND_A},2026-11-02,5,a\n"
        f"PH-1,pharmacy_antipyretic,{COMPOUND_A},2026-11-03,0,\n"
        f"LAB,lab_positive,{COMPOUND_B},2026-11-03,1,b\n",
        encoding="utf-8",
    )
    r = import_signals(province, good)
    assert (r.rows, r.inserted) == (3, 3)
    assert import_signals(province, good).unchanged == 3

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "source,signal,region_code,date,count\n"
        f"PH-2,pharmacy_cough,{COMPOUND_A},2026-11-02,5\n"
        f"PH-2,pharmacy_cough,{COMPOUND_A},03/11/2026,5\n"
        f"PH-2,pharmacy_cough,140199999999,2026-11-04,x\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as info:
        import_signals(province, bad)
    problems = {(p.row, p.column) for p in info.value.detail.problems}
    assert problems == {(2, "date"), (3, "count")}
    report = Path(info.value.detail.report_path or "")
    assert report.exists()
    assert "row,column,code" in report.read_text(encoding="utf-8-sig")
    with province.connect() as conn:  # nothing of the bad file was written
        n = conn.execute(select(func.count()).select_from(signal_counts)
                         .where(signal_counts.c.source == "PH-2")).scalar_one()  # fmt: skip
    assert n == 0


def test_import_names_unknown_region(province: Engine, tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_text("source,signal,region_code,date,count\nX,fever_clinic,140199999999,2026-11-02,1\n")
    with pytest.raises(ImportRejected) as info:
        import_signals(province, f)
    (p,) = info.value.detail.problems
    assert (p.row, p.column, p.problem.code) == (1, "region_code", "region.unknown")


def test_import_missing_column(province: Engine, tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_text("source,signal,date,count\nX,fever_clinic,2026-11-02,1\n")
    with pytest.raises(Exception) as info:  # noqa: PT011 - the reader's header error
        import_signals(province, f)
    assert "region_code" in str(info.value)
