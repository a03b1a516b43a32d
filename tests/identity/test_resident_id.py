"""Resident ID numbers (GB 11643): the rules, the acceptance examples, the properties."""

from __future__ import annotations

import gc
from dataclasses import FrozenInstanceError, fields
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fangkong.errors import BadInput
from fangkong.identity.resident_id import (
    ResidentIdCheck,
    _valid_result,
    check_character,
    check_resident_id,
    check_resident_ids,
    upgrade_15_to_18,
)
from tests.identity.strategies import TODAY, legacy_ids, valid_ids


def codes(value: str, today: date = TODAY) -> list[str]:
    return [p.code for p in check_resident_id(value, today=today).problems]


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


def test_known_valid_number() -> None:
    result = check_resident_id("11010519491231002X", today=TODAY)
    assert result.valid
    assert result.problems == ()
    assert result.normalized == "11010519491231002X"
    assert result.birth_date == date(1949, 12, 31)
    assert result.sex == "F"
    assert result.region_code == "110105"
    assert not result.converted_from_15


def test_wrong_check_character_names_the_right_one() -> None:
    result = check_resident_id("110105194912310021", today=TODAY)
    assert not result.valid
    assert [p.code for p in result.problems] == ["id.check_char"]
    assert result.problems[0].message_zh == "校验码应为 X"
    assert result.problems[0].message_en == "check character should be X"


def test_impossible_date_alone() -> None:
    value = with_check("11010519990231002")
    result = check_resident_id(value, today=TODAY)
    assert [p.code for p in result.problems] == ["id.birth_date_invalid"]
    assert result.problems[0].message_zh == "出生日期 19990231 不存在"
    assert result.problems[0].message_en == "birth date 19990231 does not exist"
    assert result.birth_date is None


def test_future_and_too_old_dates() -> None:
    assert codes(with_check("11010520250602001")) == ["id.birth_date_future"]
    assert codes(with_check("11010520250601001")) == []  # born today is fine
    assert codes(with_check("11010518991231001")) == ["id.birth_date_too_old"]
    assert codes(with_check("11010519000101001")) == []


def test_unknown_province() -> None:
    assert codes(with_check("99010519491231002")) == ["id.province_unknown"]


@pytest.mark.parametrize("prefix", ["11", "15", "23", "37", "46", "54", "65", "71", "81", "82"])
def test_every_listed_province_range_is_accepted(prefix: str) -> None:
    assert codes(with_check(prefix + "010519491231002")) == []


@pytest.mark.parametrize("prefix", ["00", "10", "16", "20", "24", "38", "47", "55", "66", "72"])
def test_gaps_between_provinces_are_rejected(prefix: str) -> None:
    assert codes(with_check(prefix + "010519491231002")) == ["id.province_unknown"]


def test_legacy_15_digit_number_is_converted() -> None:
    assert upgrade_15_to_18("110105491231002") == "11010519491231002X"
    result = check_resident_id("110105491231002", today=TODAY)
    assert result.valid
    assert result.converted_from_15
    assert result.normalized == "11010519491231002X"
    assert result.birth_date == date(1949, 12, 31)


def test_upgrade_refuses_anything_but_15_digits() -> None:
    with pytest.raises(BadInput) as length:
        upgrade_15_to_18("11010549123100")
    assert length.value.code == "id.length"
    with pytest.raises(BadInput) as characters:
        upgrade_15_to_18("11010549123100X")
    assert characters.value.code == "id.characters"


def test_spaces_lower_case_x_and_full_width_digits() -> None:
    for value in [" 11010519491231002x\t", "１１０１０５１９４９１２３１００２Ｘ"]:
        result = check_resident_id(value, today=TODAY)
        assert result.valid, value
        assert result.normalized == "11010519491231002X"
        assert result.input == value


def test_shape_problems_stop_further_checks() -> None:
    # Wrong length: no check-character, date or province complaints derived from it.
    assert codes("1101051949123100") == ["id.length"]
    assert codes("99010519990231002") == ["id.length"]
    assert codes("1101051949123100AB") == ["id.characters"]
    assert codes("11010519491231002X9") == ["id.length", "id.characters"]
    assert codes("11010549123100X") == ["id.characters"]  # old numbers have no X
    assert codes("x1010519491231002") == ["id.length", "id.characters"]
    assert codes("   ") == ["id.empty"]
    assert codes("٣" * 18) == ["id.characters"]  # Arabic-Indic digits are not ID digits


def test_independent_content_problems_are_all_reported() -> None:
    assert codes("990105199902310020") == [
        "id.province_unknown",
        "id.birth_date_invalid",
        "id.check_char",
    ]


def test_sex_from_the_17th_digit() -> None:
    assert check_resident_id(with_check("11010519491231001"), today=TODAY).sex == "M"
    assert check_resident_id(with_check("11010519491231000"), today=TODAY).sex == "F"


def test_every_message_is_bilingual() -> None:
    values = ["", "abc", "990105199902310020", with_check("11010520300101001")]
    for value in values:
        for problem in check_resident_id(value, today=TODAY).problems:
            assert problem.code.startswith("id.")
            assert problem.code == problem.code.lower()
            assert problem.message_zh
            assert problem.message_en
            assert problem.message_zh != problem.message_en


@given(valid_ids())
def test_generated_ids_validate_and_round_trip(value: str) -> None:
    result = check_resident_id(value, today=TODAY)
    assert result.valid, result.problems
    assert result.normalized == value
    assert result.birth_date is not None
    assert f"{result.birth_date:%Y%m%d}" == value[6:14]
    assert result.sex == ("M" if int(value[16]) % 2 else "F")
    assert check_resident_id(value.lower(), today=TODAY).normalized == value


@given(valid_ids(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_character_change_is_caught(value: str, position: int, new: str) -> None:
    assume(value[position] != new)
    mutated = value[:position] + new + value[position + 1 :]
    assert not check_resident_id(mutated, today=TODAY).valid


@given(legacy_ids())
def test_legacy_numbers_convert_and_validate(value: str) -> None:
    result = check_resident_id(value, today=TODAY)
    assert result.valid, result.problems
    assert result.converted_from_15
    assert result.normalized == upgrade_15_to_18(value)
    assert result.normalized is not None
    assert result.normalized[:6] + result.normalized[8:17] == value


# Shapes the bulk path must send through the full check: every kind of failure.
awkward = st.one_of(
    st.text(max_size=25),
    st.text(alphabet="0123456789Xx \t\x00", max_size=20),
    valid_ids().map(lambda v: v[:17] + "x" if v.endswith("X") else v),
    valid_ids().map(lambda v: f" {v} "),
    valid_ids().map(lambda v: v + "\x00"),
    valid_ids().map(lambda v: v + "1234"),
    legacy_ids(),
    st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True),
)


@settings(deadline=None)
@given(st.lists(st.one_of(valid_ids(), awkward), max_size=40))
def test_bulk_gives_exactly_the_single_answers(values: list[str]) -> None:
    expected = [check_resident_id(v, today=TODAY) for v in values]
    assert check_resident_ids(values, today=TODAY) == expected


def test_bulk_handles_empty_and_non_ascii_batches() -> None:
    assert check_resident_ids([], today=TODAY) == []
    values = ["11010519491231002X", "张三", "１１０１０５１９４９１２３１００２Ｘ"]
    assert check_resident_ids(values, today=TODAY) == [
        check_resident_id(v, today=TODAY) for v in values
    ]


def test_bulk_restores_the_garbage_collector() -> None:
    assert gc.isenabled()
    check_resident_ids(["11010519491231002X"], today=TODAY)
    assert gc.isenabled()
    gc.disable()
    try:
        check_resident_ids(["11010519491231002X"], today=TODAY)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_check_character_contract() -> None:
    assert check_character("11010519491231002") == "X"
    with pytest.raises(ValueError, match="17 ASCII digits"):
        check_character("1101051949123100")


def test_fast_constructor_matches_the_dataclass() -> None:
    # A new field must be added to _valid_result too; this list makes that visible.
    assert [f.name for f in fields(ResidentIdCheck)] == [
        "input",
        "normalized",
        "valid",
        "problems",
        "birth_date",
        "sex",
        "region_code",
        "converted_from_15",
    ]
    birth = date(1949, 12, 31)
    fast = _valid_result("11010519491231002x", "11010519491231002X", birth, "F")
    slow = ResidentIdCheck(
        "11010519491231002x", "11010519491231002X", True, (), birth, "F", "110105", False
    )
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    with pytest.raises(FrozenInstanceError):
        fast.valid = False  # type: ignore[misc]
