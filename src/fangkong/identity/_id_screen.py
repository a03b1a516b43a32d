"""Vectorised screen for bulk resident ID checks (numpy).

It answers one question per value — "is this a plainly valid 18-character number?" —
without building any message. ``check_resident_ids`` sends every value the screen does
not pass through ``check_resident_id``, so reasons come from one place only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from fangkong.identity._gb11643 import (
    CHECK_CHARACTERS,
    EARLIEST_BIRTH_DATE,
    PROVINCE_PREFIXES,
    WEIGHTS,
)

_CHECK_CODES = np.array([ord(c) for c in CHECK_CHARACTERS], dtype=np.uint8)
_PROVINCE_OK = np.zeros(100, dtype=bool)
_PROVINCE_OK[[int(p) for p in PROVINCE_PREFIXES]] = True
# Days per month; index 0 unused so that month numbers index it directly.
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
_EARLIEST = EARLIEST_BIRTH_DATE.year * 10000 + EARLIEST_BIRTH_DATE.month * 100 + 1

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
Columns = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Screen:
    valid: BoolArray  # plainly valid 18-character number (the caller rechecks len())
    ymd: IntArray  # birth date as YYYYMMDD, meaningful where valid
    odd: BoolArray  # 17th digit odd (male), meaningful where valid


def screen(values: Sequence[str], today: date) -> Screen:
    """Screen ``values``; anything not plainly valid is left to the full check."""
    if len(values) == 0:
        nothing = np.zeros(0, dtype=bool)
        return Screen(nothing, np.zeros(0, dtype=np.int64), nothing)
    # One row per character position: column-wise arithmetic runs on contiguous memory.
    cols = np.ascontiguousarray(_as_bytes(values).T)
    digits = cols[:17].astype(np.int32) - 48
    digits_ok = ((digits >= 0) & (digits <= 9)).all(axis=0)
    check_ok = _check_matches(digits, cols[17])
    ymd = _birth_ymd(digits)
    today_ymd = today.year * 10000 + today.month * 100 + today.day
    date_ok = _is_calendar_date(digits) & (ymd >= _EARLIEST) & (ymd <= today_ymd)
    province_ok = _PROVINCE_OK[np.clip(digits[0] * 10 + digits[1], 0, 99)]
    valid = digits_ok & check_ok & date_ok & province_ok
    return Screen(valid, ymd, (digits[16] & 1) == 1)


def _as_bytes(values: Sequence[str]) -> npt.NDArray[np.uint8]:
    """An (n, 18) array of ASCII codes; longer values are cut, non-ASCII becomes 0."""
    n = len(values)
    try:
        return np.array(values, dtype="S18").view(np.uint8).reshape(n, 18)
    except UnicodeEncodeError:
        wide = np.array(values, dtype="U18").view(np.uint32).reshape(n, 18)
        return np.where(wide < 128, wide, 0).astype(np.uint8)


def _check_matches(digits: Columns, last: npt.NDArray[np.uint8]) -> BoolArray:
    total = np.zeros(digits.shape[1], dtype=np.int32)
    for weight, column in zip(WEIGHTS, digits, strict=True):
        total += weight * column
    upper = np.where(last == ord("x"), np.uint8(ord("X")), last)
    return np.asarray(upper == _CHECK_CODES[total % 11], dtype=bool)


def _number(digits: Columns, start: int, stop: int) -> Columns:
    """The decimal number written in character positions ``start:stop``."""
    number = np.zeros(digits.shape[1], dtype=np.int32)
    for column in digits[start:stop]:
        number = number * 10 + column
    return number


def _birth_ymd(digits: Columns) -> IntArray:
    return _number(digits, 6, 14).astype(np.int64)


def _is_calendar_date(digits: Columns) -> BoolArray:
    year, month, day = _number(digits, 6, 10), _number(digits, 10, 12), _number(digits, 12, 14)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    days = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    return np.asarray(month_ok & (day >= 1) & (day <= days), dtype=bool)
