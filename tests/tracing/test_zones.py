"""Close contacts by zone (区域/桌号, issue 15): at a ``close_by_zone`` venue type only the
case's own table or room are close contacts, the rest of the hall general ones; a stay
without a zone falls back to the whole venue. Every engine and entry point agrees."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.errors import ImportRejected
from fangkong.tracing.checkins import CheckinSource
from fangkong.tracing.copresence import Cases
from fangkong.tracing.files import CHECKIN_SCHEMA, ZONED_CHECKIN_SCHEMA, read_checkins
from fangkong.tracing.lake import CheckinLake
from fangkong.tracing.rules import ContactRules, ContactRulesError
from fangkong.tracing.trace import trace
from fangkong.tracing.zones import zone_codes, zone_problem

from .samples import cases, checkins

RULES = ContactRules.shipped("protocol-9")
T = pa.timestamp("s", tz="UTC")


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 3, 18, hour, minute, tzinfo=UTC)


def _table(stays: list[tuple[str, str, str | None, datetime, datetime]]) -> pa.Table:
    """(person, venue type, zone, in, out) at one venue V."""
    return pa.table(
        [
            pa.array([f"e{i}" for i in range(len(stays))]),
            pa.array([s[0] for s in stays]),
            pa.array(["V"] * len(stays)),
            pa.array([s[1] for s in stays]),
            pa.array([s[3] for s in stays], T),
            pa.array([s[4] for s in stays], T),
            pa.array([s[2] for s in stays], pa.string()),
        ],
        schema=ZONED_CHECKIN_SCHEMA,
    )


def _kinds(table: pa.Table, rules: ContactRules = RULES) -> dict[str, str]:
    """Person id → close/general, for case person 1 (whole day)."""
    source = CheckinSource.from_table(table, rules)
    one = np.array([0], np.int64)
    found = source.query(Cases(source.codes([1]), one, one + 2**40))
    out = {str(source.person_ids[c]): "general" for c in found.general.contact.tolist()}
    out.update({str(source.person_ids[c]): "close" for c in found.close.contact.tolist()})
    return out


def test_the_pack_sets_close_by_zone_for_restaurants_only() -> None:
    for pack in ("protocol-9", "twenty-measures"):  # twenty-measures extends protocol-9
        rules = ContactRules.shipped(pack)
        assert rules.venue("restaurant").close_by_zone
        assert not rules.venue("market").close_by_zone
        assert not rules.venue("pharmacy").close_by_zone


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"close_by_zone": "yes"}, r"venue_types\.restaurant\.close_by_zone: must be true or"),
        ({"close_by_zone": True, "close_by_unit": True}, r"restaurant\.close_by_zone: cannot"),
    ],
)
def test_a_bad_close_by_zone_is_refused_naming_the_key(entry: dict[str, Any], message: str) -> None:
    table: dict[str, Any] = {
        "close_contact_lookback_days_before_onset": 4,
        "close_contact_lookback_days_before_sampling": 4,
        "trace_contacts_of_contacts": True,
        "contact_of_contact_groups": ["household"],
        "close_contact_groups": ["household"],
        "cluster_window_days": 14,
        "vehicles": {},
        "venue_types": {
            "default": {"min_overlap_minutes": 15, "default_dwell_minutes": 30},
            "restaurant": {"min_overlap_minutes": 15, "default_dwell_minutes": 60, **entry},
        },
    }
    with pytest.raises(ContactRulesError, match=message) as caught:
        ContactRules.from_table(table, "mine.toml")
    assert "close_by_zone" in caught.value.problem.message_zh


def test_same_table_is_close_another_table_general_unknown_table_whole_venue() -> None:
    kinds = _kinds(_table([
        ("1", "restaurant", "Z01", _at(12), _at(13)),  # the case, table Z01
        ("2", "restaurant", "Z01", _at(12, 10), _at(13)),  # same table, 50 min: close
        ("3", "restaurant", "Z02", _at(12), _at(13)),  # another table, same hour: general
        ("4", "restaurant", None, _at(12), _at(13)),  # no table code scanned: whole venue
        ("5", "restaurant", "Z01", _at(12, 50), _at(13, 30)),  # same table, 10 min: general
    ]))  # fmt: skip
    assert kinds == {"2": "close", "3": "general", "4": "close", "5": "general"}


def test_a_case_without_a_zone_falls_back_to_the_whole_venue() -> None:
    kinds = _kinds(_table([
        ("1", "restaurant", None, _at(12), _at(13)),
        ("2", "restaurant", "Z01", _at(12), _at(13)),
        ("3", "restaurant", "Z02", _at(12), _at(13)),
    ]))  # fmt: skip
    assert kinds == {"2": "close", "3": "close"}


def test_zones_do_not_matter_where_the_type_is_not_by_zone() -> None:
    for venue_type in ("pharmacy", "fever_clinic"):
        kinds = _kinds(_table([
            ("1", venue_type, "Z01", _at(12), _at(13)),
            ("2", venue_type, "Z02", _at(12), _at(13)),
        ]))  # fmt: skip
        assert kinds == {"2": "close"}
    kinds = _kinds(_table([
        ("1", "market", "Z01", _at(12), _at(13)),
        ("2", "market", "Z01", _at(12), _at(13)),  # close_by_unit: general however long
    ]))  # fmt: skip
    assert kinds == {"2": "general"}


def test_a_table_without_the_zone_column_traces_as_before() -> None:
    zoned = _table([
        ("1", "restaurant", "Z01", _at(12), _at(13)),
        ("2", "restaurant", "Z02", _at(12), _at(13)),
    ])  # fmt: skip
    plain = zoned.drop(["zone"]).cast(CHECKIN_SCHEMA)
    assert _kinds(zoned) == {"2": "general"}
    assert _kinds(plain) == {"2": "close"}


def _zoned_sample(seed: int = 3, **kw: Any) -> pa.Table:
    """samples.checkins with zones: restaurants' stays at one of 4 tables or none."""
    data = checkins(seed=seed, **kw)
    rng = np.random.default_rng(seed)
    zone = [None if rng.random() < 0.2 else f"Z{int(rng.integers(4)):02d}"
            for _ in range(data.num_rows)]  # fmt: skip
    return data.append_column("zone", pa.array(zone, pa.string()))


def test_memory_and_duckdb_agree_with_zones() -> None:
    data = _zoned_sample()
    memory = trace(data, cases(), RULES, engine="memory")
    duck = trace(data, cases(), RULES, engine="duckdb")
    assert memory.close.equals(duck.close)
    assert memory.general.equals(duck.general)
    whole = trace(data.drop(["zone"]), cases(), RULES, engine="memory")
    moved = whole.close.num_rows - memory.close.num_rows
    assert moved > 0  # tables narrowed some restaurant contacts to general
    assert memory.general.num_rows == whole.general.num_rows + moved


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_spark_agrees_with_zones(spark: Any) -> None:
    del spark
    data = _zoned_sample(seed=5, n=600, persons=60, venues=6)
    memory = trace(data, cases(), RULES, engine="memory")
    on_spark = trace(data, cases(), RULES, engine="spark")
    assert memory.close.equals(on_spark.close)
    assert memory.general.equals(on_spark.general)


def test_duckdb_reads_a_lake_of_files_with_and_without_zones(tmp_path: Path) -> None:
    data = _zoned_sample()
    lake = CheckinLake(tmp_path / "lake")
    half = data.num_rows // 2
    lake.land(data.slice(0, half).drop(["zone"]))  # landed before zones
    lake.land(data.slice(half))
    held = lake.read()
    assert held.schema == ZONED_CHECKIN_SCHEMA
    assert held.column("zone").null_count >= half
    expected = pa.concat_tables([data.slice(0, half).drop(["zone"]), data.slice(half)],
                                promote_options="default")  # fmt: skip
    memory = trace(expected, cases(), RULES, engine="memory")
    duck = trace(held, cases(), RULES, engine="duckdb", lake_files=lake.files())
    assert memory.close.equals(duck.close)
    assert memory.general.equals(duck.general)
    lake.compact()
    assert lake.read().sort_by("event_id").equals(held.sort_by("event_id"))


def test_zone_values_are_checked() -> None:
    assert zone_problem("Z07") is None
    assert zone_problem("包间3") is None
    for bad in ("", "Z" * 17, "Z\n1", "Z\x001"):
        problem = zone_problem(bad)
        assert problem is not None
        assert "16" in problem.message_zh
        assert "16" in problem.message_en
    codes = zone_codes(pa.array(["A", None, "B", "A"]))
    assert codes[0] == codes[3] != codes[2]
    assert codes[1] < 0


def test_a_file_with_zones_is_read_and_a_bad_zone_refuses_the_file(tmp_path: Path) -> None:
    head = "event_id,person_id,venue_id,venue_type,time_in,time_out,zone\n"
    good = tmp_path / "good.csv"
    good.write_text(
        head + "e1,p1,V1,restaurant,2022-03-18T12:00:00+08:00,,Z07\n"
        "e2,p2,V1,restaurant,2022-03-18T12:00:00+08:00,, \n",
        encoding="utf-8",
    )
    table = read_checkins(good)
    assert table.column("zone").to_pylist() == ["Z07", None]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        head + "e1,p1,V1,restaurant,2022-03-18T12:00:00+08:00,,Z07\n"
        f"e2,p2,V1,restaurant,2022-03-18T12:00:00+08:00,,{'T' * 17}\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as caught:
        read_checkins(bad, report=tmp_path / "report.csv")
    message = caught.value.problem.message_en
    assert "bad.csv" in message
    assert "Row 2, column zone" in message
    assert "16" in message
    assert "第 2 行 zone 列" in caught.value.problem.message_zh
    home = tmp_path / "home"
    result = CliRunner().invoke(app, ["checkins", "import", str(bad)],
                                env={"FANGKONG_HOME": str(home)})  # fmt: skip
    assert result.exit_code == 2
    assert CheckinLake.at_home(home).files() == []  # nothing written
