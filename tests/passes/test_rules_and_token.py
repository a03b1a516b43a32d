"""The pure parts: the ``[passes]`` section, plates, the route rule, the token."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.passes.model import normal_plate, plate_ok, region_code_ok
from fangkong.passes.rules import PassRules, PassRulesError
from fangkong.passes.token import (
    MAX_CHARS,
    MIN_CHARS,
    BadToken,
    PassKeys,
    issue_token,
    qr_svg,
    read_token,
)
from fangkong.passes.verdict import on_route
from fangkong.policy import load_pack

TABLE: dict[str, Any] = {
    "cargo_classes": ["key_supplies", "medical"], "vehicle_kinds": ["lorry"],
    "max_validity_days": 30, "min_drivers": 1, "max_drivers": 3, "driver_test_hours": 48,
    "driver_code_colours": ["green"], "risk_area_drivers": "closed_loop",
    "route_match": "city", "max_via": 8, "clock_skew_minutes": 10,
}  # fmt: skip


def test_the_shipped_packs_hold_the_national_rules() -> None:
    for name in ("protocol-9", "twenty-measures"):
        rules = PassRules.from_pack(load_pack(name))
        assert rules.driver_test_hours == 48
        assert rules.risk_area_drivers == "closed_loop"
        assert {"key_supplies", "medical"} <= set(rules.cargo_classes)
        assert rules.route_prefix == 4


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("cargo_classes", ["coal"], "key_supplies"),
        ("cargo_classes", [], "must not be empty"),
        ("max_validity_days", 0, "at least 1"),
        ("max_drivers", 0, "at least 1"),
        ("route_match", "street", "province"),
        ("risk_area_drivers", "allow", "closed_loop"),
        ("driver_test_hours", 48.5, "whole number"),
        ("surprise", 1, "unknown key"),
    ],
)
def test_a_bad_key_is_named(key: str, value: Any, words: str) -> None:
    with pytest.raises(PassRulesError) as err:
        PassRules.from_table({**TABLE, key: value}, "test 1")
    assert f"[passes] {key}" in err.value.problem.message_en
    assert words in err.value.problem.message_en
    assert err.value.problem.message_zh != err.value.problem.message_en


def test_fewer_drivers_allowed_than_required_is_refused() -> None:
    with pytest.raises(PassRulesError, match="min_drivers"):
        PassRules.from_table({**TABLE, "min_drivers": 3, "max_drivers": 2}, "test 1")


def test_a_missing_key_is_named() -> None:
    table = dict(TABLE)
    del table["max_via"]
    with pytest.raises(PassRulesError, match="max_via is missing"):
        PassRules.from_table(table, "test 1")


@pytest.mark.parametrize(
    ("typed", "plate", "ok"),
    [
        ("晋A12345", "晋A12345", True),
        (" 晋a·12345 ", "晋A12345", True),
        ("苏AD-12345", "苏AD12345", True),  # new energy
        ("京Ａ１２３４５", "京A12345", True),  # full-width
        ("粤B1234学", "粤B1234学", True),
        ("A12345", "A12345", False),
        ("晋A1234567890", "晋A1234567890", False),
        ("", "", False),
    ],
)
def test_plates(typed: str, plate: str, ok: bool) -> None:
    assert normal_plate(typed) == plate
    assert plate_ok(normal_plate(typed)) is ok


def test_region_codes() -> None:
    assert region_code_ok("320100")
    assert region_code_ok("140105001")
    assert not region_code_ok("32010")
    assert not region_code_ok("3201OO")


def test_on_route_by_level() -> None:
    route = ("320102", "130100", "140105")
    assert on_route("140105001", route, 6)
    assert on_route("140106", route, 4)
    assert not on_route("140106", route, 6)
    assert on_route("140200", route, 2)
    assert not on_route("140200", route, 4)
    assert not on_route("14", route, 4)  # too short to say


@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ-", min_size=1, max_size=31),
       st.integers(1, 0xFFFF))  # fmt: skip
def test_tokens_round_trip_and_fit_their_bounds(tail: str, revision: int) -> None:
    keys = _KEYS
    serial = "A" + tail
    token = issue_token(keys, serial, revision)
    assert MIN_CHARS <= len(token) <= MAX_CHARS
    assert read_token(keys, token).serial == serial
    assert read_token(keys, token).revision == revision


_KEYS = PassKeys.generate()


def test_a_token_that_is_not_one_is_told_apart() -> None:
    token = issue_token(_KEYS, "S-1", 3)
    with pytest.raises(BadToken) as err:
        read_token(PassKeys.generate(), token)
    assert err.value.why == "forged"
    for text in ("", "x" * MIN_CHARS, "不" * 100, token + "AAAA"):
        with pytest.raises(BadToken):
            read_token(_KEYS, text)
    with pytest.raises(ValueError, match="serial"):
        issue_token(_KEYS, "bad serial", 1)


def test_the_qr_is_inline_svg() -> None:
    svg = qr_svg(issue_token(_KEYS, "S-1", 1))
    assert svg.startswith("<svg")
    assert 'class="qr"' in svg
