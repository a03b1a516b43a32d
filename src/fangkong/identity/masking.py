"""Masking (脱敏) of ID numbers, phones and names for screens, lists and exports.

Choices (each one masks at least half of what identifies a person):

- ID numbers keep the region (first 6) and the last 4 — what staff read aloud to tell
  two people apart — and hide the birth date: ``110105********002X``. Shorter values
  (passports, permits) keep the first 2 and the last 2, values of 4 or fewer keep none.
- Phones keep the carrier prefix (first 3) and the last 4 of the national number, as
  on Chinese courier labels: ``138****1234``; an E.164 value keeps its country code:
  ``+86138****1234``.
- Chinese names keep the first and the last character (``张*丰``, ``欧**娜``); two
  characters keep the first (``张*``), one keeps none. Names in Latin letters (or any
  name with spaces, hyphens or the middle dot of transliterated names, ·) keep the first
  letter of each part: ``John Smith`` → ``J*** S****``.

Every masked character becomes one ``*``, so lengths are kept and columns line up.
"""

from __future__ import annotations

import re

import phonenumbers

__all__ = ["mask_id", "mask_name", "mask_phone"]

_NAME_PARTS = re.compile(r"([\s\-'·.]+)")


def mask_id(value: str) -> str:
    """``11010519491231002X`` → ``110105********002X``."""
    text = value.strip()
    if len(text) >= 11:
        return _keep(text, 6, 4)
    if len(text) > 4:
        return _keep(text, 2, 2)
    return "*" * len(text)


def mask_phone(value: str) -> str:
    """``13812341234`` → ``138****1234``; ``+8613812341234`` → ``+86138****1234``."""
    text = value.strip()
    if text.startswith("+"):
        country, national = _split_country_code(text)
        return country + _mask_national(national)
    return _mask_national(text)


def mask_name(value: str) -> str:
    """``张三丰`` → ``张*丰``; ``John Smith`` → ``J*** S****``."""
    text = value.strip()
    if _NAME_PARTS.search(text) or text.isascii():
        return "".join(
            part if _NAME_PARTS.fullmatch(part) else _keep(part, 1, 0)
            for part in _NAME_PARTS.split(text)
            if part
        )
    if len(text) <= 1:
        return "*" * len(text)
    if len(text) == 2:
        return text[0] + "*"
    return _keep(text, 1, 1)


def _keep(text: str, head: int, tail: int) -> str:
    hidden = len(text) - head - tail
    if hidden <= 0:
        return text[:head] + "*" * max(len(text) - head, 0)
    return text[:head] + "*" * hidden + text[len(text) - tail :]


def _mask_national(digits: str) -> str:
    if len(digits) >= 9:
        return _keep(digits, 3, 4)
    if len(digits) > 4:
        return _keep(digits, 0, 2)
    return "*" * len(digits)


def _split_country_code(text: str) -> tuple[str, str]:
    """``+8613812341234`` → (``+86``, ``13812341234``), by phonenumbers' country codes."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return "+", text[1:]
    country = f"+{number.country_code}"
    rest = "".join(c for c in text if c.isdigit())[len(country) - 1 :]
    return country, rest
