"""Resident ID numbers (居民身份证号码, GB 11643-1999).

An 18-character number is 6 digits of the region of registration (地址码), 8 digits of
birth date (出生日期码, YYYYMMDD), 3 digits of sequence (顺序码; the last of them odd for
men, even for women) and a check character (校验码, ISO 7064 MOD 11-2, ``X`` for 10).
Numbers issued before 1999 have 15 digits: a 2-digit year and no check character.

How a value is checked (each failure is its own reason code)::

    strip spaces; full-width → ASCII (NFKC); a final lower-case x → X
      │
      ├─ empty? ................................ id.empty        ┐ stop here: nothing below
      ├─ not 18 (or 15) characters? ............ id.length       │ would mean anything
      ├─ not digits with an optional final X? .. id.characters   ┘
      │
      ├─ 15 digits → insert "19" before the year, append the check character
      │
      ├─ first two digits not a province? ...... id.province_unknown
      ├─ birth date not in the calendar? ....... id.birth_date_invalid
      │    └─ after today / before 1900? ....... id.birth_date_future / id.birth_date_too_old
      └─ check character wrong? ................ id.check_char

Region codes of retired counties stay valid on old cards, so only the province is checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from fangkong._gc import gc_paused
from fangkong.errors import BadInput, Problem
from fangkong.identity._gb11643 import (
    CHECK_CHARACTERS,
    EARLIEST_BIRTH_DATE,
    PROVINCE_PREFIXES,
    WEIGHTS,
)

if TYPE_CHECKING:
    from fangkong.identity._id_screen import Screen

__all__ = [
    "CHECK_CHARACTERS",
    "EARLIEST_BIRTH_DATE",
    "PROVINCE_PREFIXES",
    "WEIGHTS",
    "ResidentIdCheck",
    "Sex",
    "check_character",
    "check_resident_id",
    "check_resident_ids",
    "upgrade_15_to_18",
]

_SHAPE = re.compile(r"[0-9]*X?")

Sex = Literal["M", "F"]


@dataclass(frozen=True, slots=True)
class ResidentIdCheck:
    """The verdict on one resident ID number and what it says about its holder."""

    input: str
    normalized: str | None  # 18 characters, upper-case X; None when no 18-char form exists
    valid: bool
    problems: tuple[Problem, ...]
    birth_date: date | None  # None when the digits are not a calendar date
    sex: Sex | None
    region_code: str | None  # 地址码, first 6 digits
    converted_from_15: bool


def check_character(first17: str) -> str:
    """The check character (校验码) for the first 17 digits of an 18-character ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("check_character needs exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def upgrade_15_to_18(value: str) -> str:
    """Convert a legacy 15-digit number (一代证) to 18 characters.

    The 2-digit year becomes ``19YY`` (15-digit numbers were issued to people born in the
    1900s) and the check character is appended. Raises ``BadInput`` (``id.length`` or
    ``id.characters``) unless ``value`` is exactly 15 ASCII digits.
    """
    text = value.strip()
    if len(text) != 15:
        raise BadInput(_length_problem(len(text)))
    if not (text.isascii() and text.isdigit()):
        raise BadInput(_characters_problem())
    first17 = text[:6] + "19" + text[6:]
    return first17 + check_character(first17)


def check_resident_id(value: str, *, today: date) -> ResidentIdCheck:
    """Check one resident ID number; ``today`` decides which birth dates are in the future."""
    text = _clean(value)
    shape = _shape_problems(text)
    if shape:
        return ResidentIdCheck(value, None, False, shape, None, None, None, False)
    legacy = len(text) == 15
    normalized = upgrade_15_to_18(text) if legacy else text
    birth = _parse_birth_date(normalized[6:14])
    problems = _content_problems(normalized, birth, today)
    sex: Sex = "M" if int(normalized[16]) % 2 else "F"
    return ResidentIdCheck(
        value, normalized, not problems, problems, birth, sex, normalized[:6], legacy
    )


SMALL_BATCH = 16  # up to this many numbers are checked one by one (a crossing's people)


def check_resident_ids(values: Sequence[str], *, today: date) -> list[ResidentIdCheck]:
    """Check many numbers at once; the same answers as ``check_resident_id``, much faster.

    A vectorised screen (numpy) finds the plainly valid 18-character numbers; everything
    else goes through ``check_resident_id`` so the reasons are exactly the same.
    """
    if len(values) <= SMALL_BATCH:  # the screen's numpy set-up costs more than it saves
        return [check_resident_id(v, today=today) for v in values]
    # numpy is imported on first bulk use, so `fangkong id check` starts quickly.
    from fangkong.identity._id_screen import screen

    screened = screen(values, today)
    with gc_paused():
        return _build_results(values, screened, today)


def _build_results(values: Sequence[str], screened: Screen, today: date) -> list[ResidentIdCheck]:
    dates: dict[int, date] = {}
    results: list[ResidentIdCheck] = []
    append = results.append
    for value, ok, ymd, odd in zip(
        values, screened.valid.tolist(), screened.ymd.tolist(), screened.odd.tolist(), strict=True
    ):
        # numpy cuts long strings and drops trailing NULs, so the length is rechecked here.
        if ok and len(value) == 18:
            birth = dates.get(ymd)
            if birth is None:
                birth = dates[ymd] = date(ymd // 10000, ymd // 100 % 100, ymd % 100)
            normalized = value if value[17] != "x" else value[:17] + "X"
            append(_valid_result(value, normalized, birth, "M" if odd else "F"))
        else:
            append(check_resident_id(value, today=today))
    return results


# The bulk path builds results through the slot descriptors: the generated frozen
# ``__init__`` goes through ``object.__setattr__`` by name for every field, which made
# object construction half the time of a million-row check. A test pins that both
# constructions agree field for field.
_new_result = object.__new__


def _slot_setter(name: str) -> Callable[[ResidentIdCheck, object], None]:
    setter: Callable[[ResidentIdCheck, object], None] = vars(ResidentIdCheck)[name].__set__
    return setter


_set_input = _slot_setter("input")
_set_normalized = _slot_setter("normalized")
_set_valid = _slot_setter("valid")
_set_problems = _slot_setter("problems")
_set_birth_date = _slot_setter("birth_date")
_set_sex = _slot_setter("sex")
_set_region_code = _slot_setter("region_code")
_set_converted = _slot_setter("converted_from_15")


def _valid_result(value: str, normalized: str, birth: date, sex: Sex) -> ResidentIdCheck:
    """``ResidentIdCheck(value, normalized, True, (), birth, sex, value[:6], False)``, faster."""
    result: ResidentIdCheck = _new_result(ResidentIdCheck)
    _set_input(result, value)
    _set_normalized(result, normalized)
    _set_valid(result, True)
    _set_problems(result, ())
    _set_birth_date(result, birth)
    _set_sex(result, sex)
    _set_region_code(result, value[:6])
    _set_converted(result, False)
    return result


def _clean(value: str) -> str:
    text = value.strip()
    if not text.isascii():
        # Full-width digits (１１０１…) are what Chinese input methods often produce.
        text = unicodedata.normalize("NFKC", text).strip()
    if text.endswith("x"):
        text = text[:-1] + "X"
    return text


def _shape_problems(text: str) -> tuple[Problem, ...]:
    if not text:
        return (Problem("id.empty", "身份证号码为空", "resident ID number is empty"),)
    problems: list[Problem] = []
    if len(text) not in (15, 18):
        problems.append(_length_problem(len(text)))
    # Legacy 15-digit numbers have no check character, so no X either.
    if not _SHAPE.fullmatch(text) or (len(text) == 15 and text.endswith("X")):
        problems.append(_characters_problem())
    return tuple(problems)


def _parse_birth_date(yyyymmdd: str) -> date | None:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return None


def _content_problems(normalized: str, birth: date | None, today: date) -> tuple[Problem, ...]:
    problems: list[Problem] = []
    province = normalized[:2]
    if province not in PROVINCE_PREFIXES:
        problems.append(
            Problem(
                "id.province_unknown",
                f"前两位 {province} 不是已知的省级行政区代码",
                f"first two digits {province} are not a known province code",
            )
        )
    problems.extend(_birth_problems(normalized[6:14], birth, today))
    expected = check_character(normalized[:17])
    if normalized[17] != expected:
        problems.append(
            Problem(
                "id.check_char",
                f"校验码应为 {expected}",
                f"check character should be {expected}",
            )
        )
    return tuple(problems)


def _birth_problems(yyyymmdd: str, birth: date | None, today: date) -> list[Problem]:
    if birth is None:
        return [
            Problem(
                "id.birth_date_invalid",
                f"出生日期 {yyyymmdd} 不存在",
                f"birth date {yyyymmdd} does not exist",
            )
        ]
    if birth > today:
        return [
            Problem(
                "id.birth_date_future",
                f"出生日期 {birth.isoformat()} 晚于今天 {today.isoformat()}",
                f"birth date {birth.isoformat()} is after today {today.isoformat()}",
            )
        ]
    if birth < EARLIEST_BIRTH_DATE:
        return [
            Problem(
                "id.birth_date_too_old",
                f"出生日期 {birth.isoformat()} 早于1900年",
                f"birth date {birth.isoformat()} is before 1900",
            )
        ]
    return []


def _length_problem(length: int) -> Problem:
    return Problem(
        "id.length",
        f"身份证号码应为18位（旧号码为15位），实为{length}位",
        f"resident ID number must have 18 characters (15 for old numbers), got {length}",
    )


def _characters_problem() -> Problem:
    return Problem(
        "id.characters",
        "身份证号码只能包含数字，18位号码的最后一位可以是X",
        "resident ID number may contain only digits, and X as the last of 18 characters",
    )
