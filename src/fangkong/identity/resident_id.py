"""Resident ID numbers (居民身份证号码, GB 11643-1999)."""

from __future__ import annotations

# ISO 7064 MOD 11-2 weights for the first 17 characters, and the check character table.
WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


def check_character(first17: str) -> str:
    """The check character (校验码) for the first 17 digits of an 18-character ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("check_character needs exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]
