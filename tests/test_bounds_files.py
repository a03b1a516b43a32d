"""Every importer refuses a date outside its window (years 1 and 9999), an integer over
its column and a control character, naming the row and field in Chinese and English
(issue 16); the file imports of signals and regions write nothing (both backends)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from sqlalchemy import Engine, func, select

from fangkong.alerts.signals import import_signals, signal_counts
from fangkong.arrivals.manifest_rows import parse_history
from fangkong.errors import BadInput, ImportRejected, InvalidFields
from fangkong.policy.loader import load_pack
from fangkong.quarantine.survey import SiteInput, check_site
from fangkong.registry.reader import Batch
from fangkong.registry.validate.cells import Context
from fangkong.registry.validate.regions import check_regions
from fangkong.testing.results import validate
from fangkong.testing.rules import TestingRules
from fangkong.tracing.files import read_cases, read_checkins
from fangkong.tracing.rules import ContactRules
from tests.conftest import TODAY

SHANGHAI = ZoneInfo("Asia/Shanghai")
CASES = ContactRules.shipped("protocol-9")


def _codes(exc: pytest.ExceptionInfo[ImportRejected]) -> set[tuple[int, str, str]]:
    return {(p.row, p.column, p.problem.code) for p in exc.value.detail.problems}


@pytest.mark.parametrize(
    ("onset", "code"),
    [("9999-12-31", "value.date_too_late"), ("0001-01-01", "value.date_too_early")],
)
def test_cases_file_refuses_an_onset_out_of_its_window(tmp_path: Path, onset: str,
                                                       code: str) -> None:  # fmt: skip
    path = tmp_path / "cases.csv"
    path.write_text(f"person_id,onset_date\n1,{TODAY}\n2,{onset}\n")
    with pytest.raises(ImportRejected) as exc:
        read_cases(path, CASES, SHANGHAI)
    assert _codes(exc) == {(2, "onset_date", code)}
    (problem,) = exc.value.detail.problems
    assert problem.problem.message_zh.startswith("onset_date：已发生的日期不能")
    assert str(path) in exc.value.problem.message_en


def test_checkins_file_refuses_a_nul_byte_and_a_9999_time(tmp_path: Path) -> None:
    path = tmp_path / "checkins.csv"
    path.write_text(
        "event_id,person_id,venue_id,venue_type,time_in,time_out\n"
        f"e1,p\x001,v1,restaurant,{TODAY}T08:00:00+08:00,\n"
        "e2,p2,v1,restaurant,9999-12-31T08:00:00+08:00,\n"
    )
    with pytest.raises(ImportRejected) as exc:
        read_checkins(path)
    assert _codes(exc) == {(1, "person_id", "value.text_control"),
                           (2, "time_in", "value.date_too_late")}  # fmt: skip


def test_lab_results_refuse_a_tested_at_in_9999_or_year_1_and_a_nul_run() -> None:
    rules = TestingRules.from_pack(load_pack("protocol-9"))
    table = pa.table({
        "barcode": ["T1", "T2", "T3"], "run": ["r\x00", "r", "r"],
        "tested_at": [f"{TODAY}T08:00:00+08:00", "9999-12-31T08:00:00+08:00",
                      "0001-01-02T08:00:00+08:00"],
    })  # fmt: skip
    with pytest.raises(InvalidFields) as exc:
        validate(table, rules)
    assert {(f.field, f.problem.code) for f in exc.value.fields} >= {
        ("row 1: run", "value.text_control"), ("row 2: tested_at", "value.date_too_late"),
        ("row 3: tested_at", "value.date_too_early")}  # fmt: skip


def test_regions_refuse_an_over_range_population_and_a_nul_name() -> None:
    batch = Batch(1, {"code": ["140000", "140100"], "level": ["province", "city"],
                      "name": ["山西\x00", "太原"], "parent_code": [None, "140000"],
                      "population": ["1", str(2**63)]}, 2)  # fmt: skip
    checked = check_regions(batch, Context(today=TODAY))
    assert {(p.row, p.column, p.problem.code) for p in checked.problems} == {
        (1, "name", "value.text_control"), (2, "population", "value.out_of_range")}  # fmt: skip


def test_a_manifest_history_in_9999_or_year_1_is_refused_without_a_crash() -> None:
    for when in ("9999-12-31", "0001-01-01"):
        stays, problems = parse_history(f"440300@{when}", SHANGHAI)
        assert stays == []
        assert [p.code for p in problems] == ["arrivals.history_dates"]


def test_a_survey_site_refuses_toilets_over_the_column() -> None:
    site = SiteInput("S1", "馆", "gym", "140105", 100.0, 2**40, "grid_backup", "highway", 1.0)
    with pytest.raises(BadInput, match="toilets"):
        check_site(site)


@pytest.mark.parametrize(
    ("bad", "column", "code"),
    [("9999-12-31,3", "date", "value.date_too_late"),
     ("0001-01-01,3", "date", "value.date_too_early"),
     (f"{TODAY},{2**63}", "count", "count.invalid"),
     ("NUL", "source", "value.text_control")],
)  # fmt: skip
def test_signals_file_refuses_and_writes_nothing(engine: Engine, tmp_path: Path, bad: str,
                                                 column: str, code: str) -> None:  # fmt: skip
    path = tmp_path / "signals.csv"
    row = (
        f"fc-1,fever_clinic,140105,{bad}"
        if bad != "NUL"
        else f"fc\x00,fever_clinic,140105,{TODAY},1"
    )
    path.write_text(
        f"source,signal,region_code,date,count\nfc-1,fever_clinic,140105,{TODAY},2\n{row}\n"
    )
    with pytest.raises(ImportRejected) as exc:
        import_signals(engine, path)
    assert (2, column, code) in _codes(exc)
    assert str(path) in exc.value.problem.message_zh
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(signal_counts)).scalar_one() == 0
