"""Phone numbers: phonenumbers decides; the CN fast path must agree with it exactly."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.identity.phone import _CN, _check_slow, check_phone, check_phones


def phonenumbers_answer(text: str, region: str = "CN") -> tuple[bool, str | None]:
    """What phonenumbers itself says: (valid, E.164 when valid)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False, None
    if not phonenumbers.is_valid_number(number):
        return False, None
    return True, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_mobile_number() -> None:
    result = check_phone("13812341234")
    assert result.valid
    assert result.e164 == "+8613812341234"
    assert result.problems == ()


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("+8613812341234", "+8613812341234"),
        ("138 1234 1234", "+8613812341234"),
        ("010-12345678", "+861012345678"),  # a landline is a valid contact number
        ("+1 202 555 0123", "+12025550123"),
    ],
)
def test_other_valid_shapes(value: str, e164: str) -> None:
    result = check_phone(value)
    assert result.valid
    assert result.e164 == e164


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "phone.empty"),
        ("abc", "phone.unparseable"),
        ("12345", "phone.invalid"),
        ("10012345678", "phone.invalid"),
        ("11012345678", "phone.invalid"),
        ("+999 1234 5678", "phone.country_code"),
    ],
)
def test_invalid_numbers(value: str, code: str) -> None:
    result = check_phone(value)
    assert not result.valid
    assert result.e164 is None
    assert [p.code for p in result.problems] == [code]
    assert all(p.message_zh and p.message_en for p in result.problems)


def test_other_region() -> None:
    assert check_phone("020 7946 0018", region="GB").e164 == "+442079460018"
    assert not check_phone("13812341234", region="US").valid


def test_fast_path_is_taken_for_common_mobiles() -> None:
    assert _CN.answer("13812341234") is True
    assert _CN.answer("10012345678") is False
    # Carrier-selection prefixes (11x, 12x, 179) are rewritten by parse: left to phonenumbers.
    assert _CN.answer("17912345678") is None
    assert _CN.answer("11012345678") is None


eleven_digits_from_1 = st.from_regex(r"1[0-9]{10}", fullmatch=True)
other_shapes = st.one_of(
    st.from_regex(r"[0-9]{1,13}", fullmatch=True),
    st.from_regex(r"\+86 ?1[0-9]{10}", fullmatch=True),
    st.from_regex(r"0[0-9]{2,3}-?[0-9]{7,8}", fullmatch=True),
    st.from_regex(r"1[0-9]{10}", fullmatch=True).map(lambda v: f" {v} "),
    st.text(alphabet="0123456789+- ()", max_size=16),
)


@settings(max_examples=1000, deadline=None)
@given(eleven_digits_from_1)
def test_fast_path_agrees_with_phonenumbers(text: str) -> None:
    result = check_phone(text)
    assert (result.valid, result.e164) == phonenumbers_answer(text)
    assert result == _check_slow(text, text, "CN")


@settings(max_examples=500, deadline=None)
@given(other_shapes)
def test_every_shape_agrees_with_phonenumbers(text: str) -> None:
    result = check_phone(text)
    assert (result.valid, result.e164) == phonenumbers_answer(text.strip())


@settings(deadline=None)
@given(st.lists(st.one_of(eleven_digits_from_1, other_shapes), max_size=30))
def test_bulk_gives_the_single_answers(values: list[str]) -> None:
    assert check_phones(values) == [check_phone(v) for v in values]


@pytest.mark.parametrize("tail", ["0000000", "1234567", "9999999"])
def test_fast_path_agrees_on_every_four_digit_prefix(tail: str) -> None:
    for prefix in range(1000, 2000):
        text = f"{prefix}{tail}"
        assert check_phone(text) == _check_slow(text, text, "CN"), text
