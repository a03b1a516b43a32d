"""Bulk import: validation with error reports, atomicity, idempotence, on both backends."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from fangkong.errors import BadInput, ImportRejected
from fangkong.identity.sealing import Sealer
from fangkong.registry.model import FORMATS
from fangkong.registry.service import ImportOptions, ImportResult, import_file
from fangkong.store.schema import households, persons, regions, venues
from tests.conftest import TODAY
from tests.registry import samples

OPTIONS = ImportOptions(today=TODAY, batch_size=2)  # tiny batches exercise the streaming


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _load_all(engine: Engine, tmp_path: Path, sealer: Sealer) -> ImportResult:
    for kind, rows in (("regions", samples.REGIONS), ("venues", samples.VENUES)):
        import_file(engine, kind, samples.write_csv(tmp_path / f"{kind}.csv", kind, rows), OPTIONS)
    path = samples.write_csv(tmp_path / "persons.csv", "persons", samples.PERSONS)
    return import_file(engine, "persons", path, OPTIONS, sealer=sealer)


def _report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_a_clean_registry_imports_and_reimports_unchanged(
    engine: Engine, tmp_path: Path, sealer: Sealer
) -> None:
    first = _load_all(engine, tmp_path, sealer)
    assert (first.rows_read, first.inserted, first.updated, first.skipped) == (4, 4, 0, 0)
    assert _count(engine, regions) == 7
    assert _count(engine, venues) == 3
    assert _count(engine, households) == 1
    with engine.connect() as conn:
        stamps = conn.execute(
            select(persons.c.id, persons.c.updated_at, persons.c.phone_sealed)
        ).all()
        child = conn.execute(select(persons).where(persons.c.name == "王小明")).mappings().one()
    assert child["sex"] == "M"
    assert child["birth_date"].isoformat() == "2015-03-03"

    again = _load_all(engine, tmp_path, sealer)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    with engine.connect() as conn:
        assert (
            conn.execute(select(persons.c.id, persons.c.updated_at, persons.c.phone_sealed)).all()
            == stamps
        )


def test_a_changed_row_is_updated_in_place(engine: Engine, tmp_path: Path, sealer: Sealer) -> None:
    _load_all(engine, tmp_path, sealer)
    rows = [list(r) for r in samples.PERSONS]
    rows[0][3] = "王大伟"
    rows[1][6] = "13900001111"
    path = samples.write_csv(tmp_path / "persons2.csv", "persons", rows)
    result = import_file(engine, "persons", path, OPTIONS, sealer=sealer)
    assert (result.inserted, result.updated, result.unchanged) == (0, 2, 2)
    with engine.connect() as conn:
        names = set(conn.execute(select(persons.c.name)).scalars())
        sealed = conn.execute(
            select(persons.c.phone_sealed).where(persons.c.name == "李娜")
        ).scalar_one()
    assert "王大伟" in names
    assert "王伟" not in names
    assert sealer.unseal("phone", sealed) == "+8613900001111"


def test_bad_rows_write_a_report_and_nothing_else(
    engine: Engine, tmp_path: Path, sealer: Sealer
) -> None:
    _load_all(engine, tmp_path, sealer)
    bad = [list(r) for r in samples.PERSONS]
    bad[0][1] = bad[0][1][:-1] + ("0" if bad[0][1][-1] != "0" else "1")  # wrong check char
    bad[1][5] = "1983-02-02"  # birth date contradicts the ID
    bad[1][10] = "T01"  # a team, but no workplace
    bad[2][9] = "NO-SUCH-VENUE"
    bad.append(["resident_id", samples.resident_id("140105", "19900101", "003"), "", "赵六", "",
                "", "12345", "", "", "V1401050001", "team 1!", "astronaut"])  # fmt: skip
    bad.append(list(samples.PERSONS[3]))  # the same passport twice
    new_name = [list(samples.PERSONS[3])]
    new_name[0][3] = "Jane Doe"
    path = samples.write_csv(tmp_path / "bad.csv", "persons", bad)
    before = _count(engine, persons)
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "persons", path, OPTIONS, sealer=sealer)
    assert caught.value.exit_code == 2
    assert caught.value.detail.report_path == str(tmp_path / "bad.csv.errors.csv")
    report = {(r["row"], r["column"], r["code"]) for r in _report(tmp_path / "bad.csv.errors.csv")}
    assert ("1", "id_number", "id.check_char") in report
    assert ("2", "birth_date", "birth_date.mismatch") in report
    assert ("3", "venue_code", "reference.unknown") in report
    assert ("5", "phone", "phone.invalid") in report or (
        "5",
        "phone",
        "phone.unparseable",
    ) in report
    assert ("5", "occupation", "value.not_allowed") in report
    assert ("2", "unit_code", "unit.without_venue") in report
    assert ("5", "unit_code", "unit.code_shape") in report
    assert ("6", "id_number", "row.duplicate") in report
    assert all(
        r["message_zh"] and r["message_en"] for r in _report(tmp_path / "bad.csv.errors.csv")
    )
    assert _count(engine, persons) == before
    with engine.connect() as conn:
        assert "王伟" in set(conn.execute(select(persons.c.name)).scalars())


def test_skip_invalid_keeps_the_good_rows(engine: Engine, tmp_path: Path, sealer: Sealer) -> None:
    _load_all(engine, tmp_path, sealer)
    rows = [
        ["resident_id", samples.resident_id("140105", "19900101", "003"), "", "赵六", "", "", "",
         "", "", "", "", ""],
        ["resident_id", "140105199001010000", "", "钱七", "", "", "", "", "", "", "", ""],
    ]  # fmt: skip
    path = samples.write_csv(tmp_path / "mixed.csv", "persons", rows)
    result = import_file(
        engine, "persons", path, replace(OPTIONS, skip_invalid=True), sealer=sealer
    )
    assert (result.inserted, result.skipped) == (1, 1)
    assert result.report_path == tmp_path / "mixed.csv.errors.csv"
    assert [r["row"] for r in _report(result.report_path)] == ["2"]


def test_regions_may_name_parents_later_in_the_file(engine: Engine, tmp_path: Path) -> None:
    path = samples.write_csv(tmp_path / "regions.csv", "regions", list(reversed(samples.REGIONS)))
    result = import_file(engine, "regions", path, OPTIONS)
    assert result.inserted == 7
    with engine.connect() as conn:
        parent = conn.execute(
            select(regions.c.parent_code).where(regions.c.code == "140105001001001")
        ).scalar_one()
    assert parent == "140105001001"


def test_region_codes_and_parents_are_checked(engine: Engine, tmp_path: Path) -> None:
    rows = [list(r) for r in samples.REGIONS]
    rows[2][0] = "990105"  # unknown province prefix -> its children lose their parent
    rows.append(["140106", "140100", "township", "迎泽区", "", "", ""])  # level contradicts code
    rows.append(["140107", "140200", "county", "杏花岭区", "", "", ""])  # wrong parent
    rows.append(["140108", "140100", "county", "尖草坪区", "-5", "suburb", "{not json"])
    path = samples.write_csv(tmp_path / "regions.csv", "regions", rows)
    with pytest.raises(ImportRejected):
        import_file(engine, "regions", path, OPTIONS)
    report = {
        (r["row"], r["column"], r["code"]) for r in _report(tmp_path / "regions.csv.errors.csv")
    }
    assert ("3", "code", "region.province_unknown") in report
    assert ("4", "parent_code", "region.parent_unknown") in report
    assert ("8", "level", "region.level_mismatch") in report
    assert ("9", "parent_code", "region.parent_mismatch") in report
    assert ("10", "population", "value.not_count") in report
    assert ("10", "area_type", "value.not_allowed") in report
    assert ("10", "geojson", "geojson.invalid") in report
    assert _count(engine, regions) == 0


def test_venues_need_their_region(engine: Engine, tmp_path: Path) -> None:
    rows = [list(r) for r in samples.VENUES]
    path = samples.write_csv(tmp_path / "venues.csv", "venues", rows)
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "venues", path, OPTIONS)
    assert {p.problem.code for p in caught.value.detail.problems} == {"reference.unknown"}
    samples.write_csv(tmp_path / "regions.csv", "regions", samples.REGIONS)
    import_file(engine, "regions", tmp_path / "regions.csv", OPTIONS)
    rows[1][5] = "95"
    rows[2][2] = "spaceport"
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "venues", samples.write_csv(path, "venues", rows), OPTIONS)
    codes = {(p.row, p.column, p.problem.code) for p in caught.value.detail.problems}
    assert (
        codes
        == {
            (2, "latitude", "coordinate.invalid"),
            (2, "longitude", "coordinate.half"),
            (3, "type", "value.not_allowed"),
        }
        or (2, "latitude", "coordinate.invalid") in codes
    )


def test_a_bad_header_is_refused_before_any_row(engine: Engine, tmp_path: Path) -> None:
    header = [c for c in FORMATS["regions"].names if c != "name"] + ["colour"]
    path = samples.write_csv(tmp_path / "regions.csv", "regions", [], header=header)
    with pytest.raises(BadInput) as caught:
        import_file(engine, "regions", path, OPTIONS)
    assert caught.value.code == "file.header"
    assert "name" in caught.value.problem.message_en
    assert "colour" in caught.value.problem.message_zh


def test_a_row_with_too_many_fields_is_named(engine: Engine, tmp_path: Path) -> None:
    path = samples.write_csv(tmp_path / "regions.csv", "regions", samples.REGIONS)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("140109,140100,county,万柏林区,1,urban,,surplus\n")
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, "regions", path, OPTIONS)
    assert [(p.row, p.problem.code) for p in caught.value.detail.problems] == [
        (8, "row.field_count")
    ]


def test_gbk_files_need_their_encoding_named(engine: Engine, tmp_path: Path) -> None:
    path = samples.write_csv(tmp_path / "regions.csv", "regions", samples.REGIONS, encoding="gbk")
    with pytest.raises(BadInput) as caught:
        import_file(engine, "regions", path, OPTIONS)
    assert caught.value.code == "file.unreadable"
    assert "--encoding gbk" in caught.value.problem.message_en
    result = import_file(engine, "regions", path, replace(OPTIONS, encoding="gbk"))
    assert result.inserted == 7


def test_parquet_imports_like_csv(engine: Engine, tmp_path: Path) -> None:
    names = FORMATS["regions"].names
    table = pa.table({n: [r[i] or None for r in samples.REGIONS] for i, n in enumerate(names)})
    table = table.set_column(4, "population", pa.array([int(r[4]) for r in samples.REGIONS]))
    pq.write_table(table, tmp_path / "regions.parquet")
    result = import_file(engine, "regions", tmp_path / "regions.parquet", OPTIONS)
    assert result.inserted == 7
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(regions.c.population))).scalar_one() == 18000


def test_unknown_file_types_and_missing_files_are_named(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="xlsx"):
        import_file(engine, "regions", tmp_path / "regions.xlsx", OPTIONS)
    with pytest.raises(BadInput) as caught:
        import_file(engine, "regions", tmp_path / "nowhere.csv", OPTIONS)
    assert caught.value.code == "file.not_found"


def test_ctrl_c_part_way_leaves_the_database_as_it_was(
    engine: Engine, tmp_path: Path, sealer: Sealer
) -> None:
    for kind, rows in (("regions", samples.REGIONS), ("venues", samples.VENUES)):
        import_file(engine, kind, samples.write_csv(tmp_path / f"{kind}.csv", kind, rows), OPTIONS)
    path = samples.write_csv(tmp_path / "persons.csv", "persons", samples.PERSONS)
    calls = []

    def interrupt(rows_done: int) -> None:
        calls.append(rows_done)
        if len(calls) == 2:  # the first batch has been written by now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(engine, "persons", path, OPTIONS, sealer=sealer, on_progress=interrupt)
    assert calls == [2, 4]
    assert _count(engine, persons) == 0
    assert _count(engine, households) == 0


def test_the_database_holds_no_plain_id_or_phone(
    backend: str, engine: Engine, tmp_path: Path, sealer: Sealer
) -> None:
    if backend != "sqlite":
        pytest.skip("reads the SQLite file itself")
    _load_all(engine, tmp_path, sealer)
    engine.dispose()
    database = Path(str(engine.url.database))
    wal = database.with_name(database.name + "-wal")
    blob = database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    for secret in (samples.ID_A, samples.ID_B, "13812341234", "E12345678", samples.ID_A[:14]):
        assert secret.encode() not in blob
    assert "王伟".encode() in blob  # names are stored plain (and masked on display)
