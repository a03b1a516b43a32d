"""Contact rules: the shipped tables load, differ as PROTOCOL.md says, and bad ones are named."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fangkong.errors import BadInput
from fangkong.policy import load_pack
from fangkong.tracing.rules import ContactRules, ContactRulesError


def _table(name: str) -> dict[str, Any]:
    contacts: dict[str, Any] = dict(load_pack(name).sections["contacts"])
    return contacts


def test_shipped_packs_load_and_differ_as_the_protocol_says() -> None:
    p9, twenty = ContactRules.shipped("protocol-9"), ContactRules.shipped("twenty-measures")
    assert p9.days_before_onset == 4
    assert p9.days_before_sampling == 4
    assert p9.trace_contacts_of_contacts
    assert set(p9.contact_of_contact_groups) == {"household", "workplace"}
    assert not twenty.trace_contacts_of_contacts
    assert p9.venue("no_such_type") == p9.venue_types["default"]
    assert p9.vehicles["taxi"].seat_rows is None
    assert p9.vehicles["flight"].seat_rows == 3


def test_schools_and_workplaces_make_close_contacts_by_class_and_team() -> None:
    p9 = ContactRules.shipped("protocol-9")
    assert p9.venue("school").close_by_unit
    assert p9.venue("workplace").close_by_unit
    assert not p9.venue("restaurant").close_by_unit
    assert not p9.venue("no_such_type").close_by_unit  # the default entry
    table = _table("protocol-9")
    table["venue_types"]["school"].pop("close_by_unit")
    assert not ContactRules.from_table(table, "mine.toml").venue("school").close_by_unit


def test_infectious_window_from_onset_or_sampling() -> None:
    rules = ContactRules.shipped("protocol-9")
    tz = ZoneInfo("Asia/Shanghai")
    isolated = datetime(2022, 3, 20, 9, tzinfo=tz)
    start, end = rules.infectious_window(
        onset=date(2022, 3, 18), sampled=None, isolated_at=isolated, tz=tz
    )
    assert start == datetime(2022, 3, 14, tzinfo=tz)
    assert end == isolated
    start, _ = rules.infectious_window(onset=None, sampled=date(2022, 3, 18), isolated_at=None,
                                       tz=tz)  # fmt: skip
    assert start == datetime(2022, 3, 14, tzinfo=tz)


def test_every_number_comes_from_the_table() -> None:
    table = _table("protocol-9")
    table["close_contact_lookback_days_before_onset"] = 2
    table["venue_types"]["market"]["min_overlap_minutes"] = 7
    rules = ContactRules.from_table(table, "mine.toml")
    assert rules.days_before_onset == 2
    assert rules.venue("market").min_overlap_seconds == 7 * 60
    assert rules.with_min_overlap(60).venue("school").min_overlap_seconds == 60


@pytest.mark.parametrize(
    ("change", "key", "code"),
    [
        (lambda t: t.pop("cluster_window_days"), "cluster_window_days", "contacts.key_missing"),
        (lambda t: t.update(trace_contacts_of_contacts="yes"), "trace_contacts_of_contacts",
         "contacts.value_invalid"),
        (lambda t: t.update(close_contact_groups=["choir"]), "close_contact_groups",
         "contacts.value_invalid"),
        (lambda t: t["venue_types"]["market"].update(min_overlap_minutes=-1),
         "venue_types.market.min_overlap_minutes", "contacts.value_invalid"),
        (lambda t: t["venue_types"].pop("default"), "venue_types.default",
         "contacts.key_missing"),
        (lambda t: t["vehicles"]["taxi"].update(seat_rows=2), "vehicles.taxi",
         "contacts.value_invalid"),
        (lambda t: t.update(days_before=4), "days_before", "policy.unknown_key"),
        (lambda t: t["venue_types"]["school"].update(close_by_unit="yes"),
         "venue_types.school.close_by_unit", "contacts.value_invalid"),
    ],
)  # fmt: skip
def test_bad_tables_name_source_and_key(change: Any, key: str, code: str) -> None:
    table = _table("protocol-9")
    change(table)
    with pytest.raises(ContactRulesError) as caught:
        ContactRules.from_table(table, "region.toml")
    assert caught.value.code == code
    for text in (caught.value.problem.message_zh, caught.value.problem.message_en):
        assert "region.toml" in text
        assert key in text


def test_rules_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[contacts\n", encoding="utf-8")
    with pytest.raises(ContactRulesError, match=r"bad\.toml"):
        ContactRules.from_toml(bad)
    empty = tmp_path / "empty.toml"
    empty.write_text("[pack]\n", encoding="utf-8")
    with pytest.raises(ContactRulesError, match=r"empty.toml \[contacts\]"):
        ContactRules.from_toml(empty)
    with pytest.raises(BadInput, match="protocol-10"):
        ContactRules.shipped("protocol-10")


def test_co_presence_in_a_public_place_is_a_general_contact() -> None:
    """Sharing a market for an hour is a general contact, a restaurant table a close one
    (the pack's close_by_unit); --min-overlap turns co-presence on everywhere."""
    import numpy as np
    import pyarrow as pa

    from fangkong.tracing.checkins import CheckinSource
    from fangkong.tracing.copresence import Cases
    from fangkong.tracing.files import CHECKIN_SCHEMA

    def met(rules: ContactRules, venue_type: str) -> tuple[int, int]:
        t = [datetime(2022, 3, 18, 10, tzinfo=ZoneInfo("UTC")),
             datetime(2022, 3, 18, 11, tzinfo=ZoneInfo("UTC"))]  # fmt: skip
        table = pa.table([pa.array(["e1", "e2"]), pa.array(["1", "2"]), pa.array(["V", "V"]),
                          pa.array([venue_type] * 2), pa.array(t[:1] * 2, CHECKIN_SCHEMA[4].type),
                          pa.array(t[1:] * 2, CHECKIN_SCHEMA[5].type)],
                         schema=CHECKIN_SCHEMA)  # fmt: skip
        source = CheckinSource.from_table(table, rules)
        one = np.array([0], np.int64)
        found = source.index.query(Cases(source.codes([1]), one, one + 2**40),
                                   source.min_overlap_by_venue)  # fmt: skip
        return len(found.close), len(found.general)

    p9 = ContactRules.shipped("protocol-9")
    assert met(p9, "market") == (0, 1)
    assert met(p9, "school") == (0, 1)
    assert met(p9, "restaurant") == (1, 0)
    assert met(p9.with_min_overlap(15 * 60), "market") == (1, 0)
