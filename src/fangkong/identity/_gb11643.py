"""Constants of GB 11643-1999 (公民身份号码), shared by the single and the bulk check."""

from __future__ import annotations

from datetime import date

# ISO 7064 MOD 11-2 weights for the first 17 characters, and the check character table.
WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"

# Province-level prefixes (省级行政区代码). 83 is not a province but is the prefix of the
# residence permits of Taiwan residents (台湾居民居住证, 830000…), which carry resident
# ID numbers just as 81/82 do for Hong Kong and Macao residents (港澳居民居住证).
PROVINCE_PREFIXES: frozenset[str] = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)

# Anyone alive with a card was born after this; earlier dates are typing errors.
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
