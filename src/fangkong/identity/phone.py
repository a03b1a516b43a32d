"""Phone numbers (电话号码): mobile and fixed lines, checked with ``phonenumbers``.

A landline is a valid contact number, so every number type ``phonenumbers`` accepts is
accepted. The common case — 11 digits starting with 1, region CN — takes a fast path
built from phonenumbers' own CN metadata (the same patterns ``is_valid_number`` uses),
so it gives phonenumbers' answer without parsing; a property test pins the agreement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat

from fangkong._gc import gc_paused
from fangkong.errors import Problem

__all__ = ["PhoneCheck", "check_phone", "check_phones"]


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    """The verdict on one phone number."""

    input: str
    valid: bool
    e164: str | None  # +8613812341234; None when invalid
    problems: tuple[Problem, ...]


class _FastPath:
    """phonenumbers' validity rule for 11-digit national numbers of one region, compiled once.

    ``is_valid_number`` accepts a national number when it matches the region's general
    pattern and any one number-type pattern whose possible lengths include its length.
    Numbers that ``parse`` would rewrite first — those starting with the international
    prefix, the national prefix / carrier code, or the country code — are left to
    phonenumbers itself.
    """

    def __init__(self, region: str, length: int = 11) -> None:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            raise ValueError(f"no phonenumbers metadata for {region}")
        self.prefix = f"+{metadata.country_code}"
        self.shape = re.compile(f"1[0-9]{{{length - 1}}}")
        rewrites = [metadata.international_prefix, metadata.national_prefix_for_parsing]
        self.rewritten = re.compile("|".join(f"(?:{p})" for p in rewrites if p))
        self.country_code = str(metadata.country_code)
        self.valid = self._validity_pattern(metadata, length)

    @staticmethod
    def _validity_pattern(metadata: PhoneMetadata, length: int) -> re.Pattern[str] | None:
        general = metadata.general_desc
        if general is None or not _allows(general, length):
            return None
        types = [
            metadata.premium_rate,
            metadata.toll_free,
            metadata.shared_cost,
            metadata.voip,
            metadata.personal_number,
            metadata.pager,
            metadata.uan,
            metadata.voicemail,
            metadata.fixed_line,
            metadata.mobile,
        ]
        patterns = [
            d.national_number_pattern for d in types if d is not None and _allows(d, length)
        ]
        any_type = "|".join(f"(?:{p})" for p in patterns if p)
        if not any_type:
            return None
        # The lookahead is the general pattern, the alternation any one type pattern.
        return re.compile(f"(?=(?:{general.national_number_pattern})\\Z)(?:{any_type})")

    def answer(self, text: str) -> bool | None:
        """True/False when the fast path knows phonenumbers' answer; None to ask it."""
        if (
            self.valid is None
            or not self.shape.fullmatch(text)
            or self.rewritten.match(text)
            or text.startswith(self.country_code)
        ):
            return None
        return self.valid.fullmatch(text) is not None


def _allows(desc: phonenumbers.PhoneNumberDesc, length: int) -> bool:
    """Whether a descriptor can match a number of this length (empty: no length limit)."""
    if not desc.national_number_pattern:
        return False
    return not desc.possible_length or length in desc.possible_length


_CN = _FastPath("CN")


def check_phone(value: str, *, region: str = "CN") -> PhoneCheck:
    """Check one phone number; numbers without ``+`` are read as numbers of ``region``."""
    text = value.strip()
    if region == "CN":
        fast = _CN.answer(text)
        if fast is not None:
            if fast:
                return PhoneCheck(value, True, _CN.prefix + text, ())
            return PhoneCheck(value, False, None, (_invalid_problem(text, None),))
    return _check_slow(value, text, region)


def check_phones(values: Sequence[str], *, region: str = "CN") -> list[PhoneCheck]:
    """Check many numbers: the same answers as ``check_phone``, without GC pauses."""
    with gc_paused():
        return [check_phone(v, region=region) for v in values]


def _check_slow(value: str, text: str, region: str) -> PhoneCheck:
    if not text:
        return PhoneCheck(
            value, False, None, (Problem("phone.empty", "电话号码为空", "phone number is empty"),)
        )
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return PhoneCheck(value, False, None, (_unparseable_problem(text, exc),))
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        return PhoneCheck(value, False, None, (_invalid_problem(text, reason),))
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return PhoneCheck(value, True, e164, ())


def _unparseable_problem(text: str, exc: NumberParseException) -> Problem:
    if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return Problem(
            "phone.country_code",
            f"{text} 的国家/地区代码无法识别（国际号码请以 + 开头）",
            f"{text}: unknown country calling code (start international numbers with +)",
        )
    return Problem(
        "phone.unparseable",
        f"{text} 不是电话号码",
        f"{text} is not a phone number",
    )


_REASONS: dict[int | None, tuple[str, str]] = {
    phonenumbers.ValidationResult.TOO_SHORT: ("位数太少", "too few digits"),
    phonenumbers.ValidationResult.TOO_LONG: ("位数太多", "too many digits"),
    phonenumbers.ValidationResult.INVALID_LENGTH: ("位数不对", "wrong number of digits"),
}


def _invalid_problem(text: str, reason: int | None) -> Problem:
    why_zh, why_en = _REASONS.get(reason, ("不是在用的号段", "no such number range in use"))
    return Problem(
        "phone.invalid",
        f"{text} 不是有效的电话号码：{why_zh}",
        f"{text} is not a valid phone number: {why_en}",
    )
