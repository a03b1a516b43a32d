"""Identity and travel documents (证件) as (type, number, country).

Numbers are compared after removing spaces, full-width → ASCII (NFKC) and upper-casing.
The shapes accepted are the published ones:

- ``resident_id`` 居民身份证: GB 11643 (``check_resident_id``); country CHN, implied.
- ``passport`` 护照: 5–20 letters or digits; the issuing country is required.
- ``hk_macao_permit`` 港澳居民来往内地通行证 (回乡证): H (Hong Kong) or M (Macao) and
  8 digits (card of 2013 on), or 10 digits (older book: 8 digits + 2-digit issue count).
  Country HKG or MAC, implied by the letter.
- ``taiwan_permit`` 台湾居民来往大陆通行证 (台胞证): 8 digits (card of 2015 on) or 10
  digits (older: 8 digits + 2-digit issue count). Country TWN, implied.
- ``foreign_permanent_id`` 外国人永久居留身份证: 15 characters, the holder's ISO alpha-3
  nationality and 12 digits (2004 and 2017 cards; the letters imply the country); or 18
  characters, 9 and 16 digits and a MOD 11-2 check character as in GB 11643 (2023 card;
  country optional, as its numeric nationality code is not decoded here).
- ``other`` 其他证件: 1–40 characters; country optional.

A country may be given as ISO 3166-1 alpha-3 or alpha-2 in either case; the answer is
always alpha-3 upper-case. A given country that contradicts the one the document implies
is reported (``document.country_mismatch``), never silently replaced.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import pycountry

from fangkong.errors import Problem
from fangkong.identity._gb11643 import CHECK_CHARACTERS, WEIGHTS
from fangkong.identity.resident_id import ResidentIdCheck, check_resident_id

__all__ = [
    "DocumentCheck",
    "DocumentType",
    "check_document",
    "country_alpha2",
    "country_alpha3",
]


class DocumentType(StrEnum):
    RESIDENT_ID = "resident_id"  # 居民身份证
    PASSPORT = "passport"  # 护照
    HK_MACAO_PERMIT = "hk_macao_permit"  # 港澳居民来往内地通行证
    TAIWAN_PERMIT = "taiwan_permit"  # 台湾居民来往大陆通行证
    FOREIGN_PERMANENT_ID = "foreign_permanent_id"  # 外国人永久居留身份证
    OTHER = "other"  # 其他证件


@dataclass(frozen=True, slots=True)
class DocumentCheck:
    """The verdict on one document number."""

    doc_type: DocumentType | None  # None when the type was not recognised
    input: str
    normalized: str | None
    country: str | None  # ISO 3166-1 alpha-3
    valid: bool
    problems: tuple[Problem, ...]
    resident_id: ResidentIdCheck | None = None  # birth date, sex… for resident IDs


_PASSPORT = re.compile(r"[A-Z0-9]{5,20}")
_HK_MACAO = re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?")
_TAIWAN = re.compile(r"[0-9]{8}(?:[0-9]{2})?")
_FOREIGN_15 = re.compile(r"([A-Z]{3})[0-9]{12}")
_FOREIGN_18 = re.compile(r"9[0-9]{16}[0-9X]")
_OTHER = re.compile(r"\S{1,40}")

# (Chinese, English) name and accepted shape of each type, for messages.
_LABELS = {
    DocumentType.RESIDENT_ID: ("居民身份证", "resident ID"),
    DocumentType.PASSPORT: ("护照", "passport"),
    DocumentType.HK_MACAO_PERMIT: ("港澳居民来往内地通行证", "Hong Kong/Macao permit"),
    DocumentType.TAIWAN_PERMIT: ("台湾居民来往大陆通行证", "Taiwan permit"),
    DocumentType.FOREIGN_PERMANENT_ID: ("外国人永久居留身份证", "foreign permanent residence ID"),
    DocumentType.OTHER: ("证件", "document"),
}
_SHAPES = {
    DocumentType.PASSPORT: ("5–20位字母或数字", "5–20 letters or digits"),
    DocumentType.HK_MACAO_PERMIT: ("H或M加8位或10位数字", "H or M and 8 or 10 digits"),
    DocumentType.TAIWAN_PERMIT: ("8位或10位数字", "8 or 10 digits"),
    DocumentType.FOREIGN_PERMANENT_ID: (
        "3个字母加12位数字，或以9开头的18位",
        "3 letters and 12 digits, or 18 characters starting with 9",
    ),
    DocumentType.OTHER: ("1–40个字符", "1–40 characters"),
}
_PATTERNS = {
    DocumentType.PASSPORT: _PASSPORT,
    DocumentType.HK_MACAO_PERMIT: _HK_MACAO,
    DocumentType.TAIWAN_PERMIT: _TAIWAN,
    DocumentType.OTHER: _OTHER,
}


def country_alpha3(code: str) -> str | None:
    """ISO 3166-1 alpha-3 for an alpha-3 or alpha-2 code (any case); None if unknown."""
    country = _country(code)
    return None if country is None else str(country.alpha_3)


def country_alpha2(code: str) -> str | None:
    """ISO 3166-1 alpha-2 for an alpha-3 or alpha-2 code (any case); None if unknown."""
    country = _country(code)
    return None if country is None else str(country.alpha_2)


def check_document(
    doc_type: str, number: str, country: str | None, *, today: date
) -> DocumentCheck:
    """Check one document number of the given type, with the holder's country if known."""
    kind = _parse_type(doc_type)
    if kind is None:
        return DocumentCheck(None, number, None, None, False, (_type_unknown(doc_type),))
    if kind is DocumentType.RESIDENT_ID:
        return _check_resident_id(number, country, today)
    text = _clean(number)
    if not text:
        return DocumentCheck(kind, number, None, None, False, (_empty(),))
    problems: list[Problem] = []
    given = _given_country(country, problems)
    implied = _implied_country(kind, text)
    if implied is not None and given is not None and given != implied:
        problems.append(_country_mismatch(kind, implied, given))
    if kind is DocumentType.PASSPORT and not (country or "").strip():
        problems.append(_country_required())
    problems.extend(_number_problems(kind, text))
    return DocumentCheck(kind, number, text, implied or given, not problems, tuple(problems))


def _parse_type(doc_type: str) -> DocumentType | None:
    try:
        return DocumentType(doc_type.strip().lower())
    except ValueError:
        return None


def _check_resident_id(number: str, country: str | None, today: date) -> DocumentCheck:
    detail = check_resident_id(number, today=today)
    problems = list(detail.problems)
    given = _given_country(country, problems)
    if given is not None and given != "CHN":
        problems.append(_country_mismatch(DocumentType.RESIDENT_ID, "CHN", given))
    return DocumentCheck(
        DocumentType.RESIDENT_ID,
        number,
        detail.normalized,
        "CHN",
        not problems,
        tuple(problems),
        detail,
    )


def _clean(number: str) -> str:
    text = number if number.isascii() else unicodedata.normalize("NFKC", number)
    return "".join(text.split()).upper()


def _country(code: str) -> Any:
    text = code.strip().upper()
    if len(text) == 3:
        return pycountry.countries.get(alpha_3=text)
    if len(text) == 2:
        return pycountry.countries.get(alpha_2=text)
    return None


def _given_country(country: str | None, problems: list[Problem]) -> str | None:
    """The caller's country as alpha-3; an unknown one is recorded as a problem."""
    if country is None or not country.strip():
        return None
    code = country_alpha3(country)
    if code is None:
        problems.append(_country_unknown(country.strip()))
    return code


def _implied_country(kind: DocumentType, text: str) -> str | None:
    if kind is DocumentType.TAIWAN_PERMIT:
        return "TWN"
    if kind is DocumentType.HK_MACAO_PERMIT and text[0] in "HM":
        return "HKG" if text[0] == "H" else "MAC"
    if kind is DocumentType.FOREIGN_PERMANENT_ID:
        letters = _FOREIGN_15.fullmatch(text)
        return country_alpha3(letters.group(1)) if letters else None
    return None


def _number_problems(kind: DocumentType, text: str) -> list[Problem]:
    pattern = _PATTERNS.get(kind)
    if pattern is not None:
        return [] if pattern.fullmatch(text) else [_number_format(kind)]
    return _foreign_permanent_problems(text)


def _foreign_permanent_problems(text: str) -> list[Problem]:
    """The two editions of the foreign permanent residence card (永居证)."""
    letters = _FOREIGN_15.fullmatch(text)
    if letters:
        code = letters.group(1)
        return [] if country_alpha3(code) == code else [_country_unknown(code)]
    if not _FOREIGN_18.fullmatch(text):
        return [_number_format(DocumentType.FOREIGN_PERMANENT_ID)]
    total = sum(int(c) * w for c, w in zip(text[:17], WEIGHTS, strict=True))
    expected = CHECK_CHARACTERS[total % 11]
    if text[17] == expected:
        return []
    return [
        Problem(
            "document.check_char",
            f"校验码应为 {expected}",
            f"check character should be {expected}",
        )
    ]


def _type_unknown(doc_type: str) -> Problem:
    choices = ", ".join(t.value for t in DocumentType)
    return Problem(
        "document.type_unknown",
        f"未知的证件类型 {doc_type!r}，可选：{choices}",
        f"unknown document type {doc_type!r}; choose one of: {choices}",
    )


def _empty() -> Problem:
    return Problem("document.empty", "证件号码为空", "document number is empty")


def _country_required() -> Problem:
    return Problem(
        "document.country_required",
        "护照须填写签发国家或地区",
        "a passport needs its issuing country",
    )


def _number_format(kind: DocumentType) -> Problem:
    (label_zh, label_en), (shape_zh, shape_en) = _LABELS[kind], _SHAPES[kind]
    return Problem(
        "document.number_format",
        f"{label_zh}号码应为{shape_zh}",
        f"{label_en} number must be {shape_en}",
    )


def _country_unknown(code: str) -> Problem:
    return Problem(
        "document.country_unknown",
        f"{code} 不是 ISO 3166-1 国家或地区代码",
        f"{code} is not an ISO 3166-1 country code",
    )


def _country_mismatch(kind: DocumentType, implied: str, given: str) -> Problem:
    label_zh, label_en = _LABELS[kind]
    return Problem(
        "document.country_mismatch",
        f"{label_zh}对应的国家或地区是 {implied}，而填写的是 {given}",
        f"a {label_en} belongs to {implied}, but {given} was given",
    )
