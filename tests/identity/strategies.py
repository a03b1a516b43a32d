"""Hypothesis strategies for identity values, built from their parts."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from fangkong.identity._gb11643 import PROVINCE_PREFIXES
from fangkong.identity.resident_id import check_character

TODAY = date(2025, 6, 1)

provinces = st.sampled_from(sorted(PROVINCE_PREFIXES))


@st.composite
def valid_ids(draw: st.DrawFn, *, earliest: date = date(1900, 1, 1), latest: date = TODAY) -> str:
    """An 18-character resident ID number that must validate on ``TODAY``."""
    region = draw(provinces) + draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    birth = draw(st.dates(min_value=earliest, max_value=latest))
    sequence = draw(st.integers(min_value=0, max_value=999))
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


@st.composite
def legacy_ids(draw: st.DrawFn) -> str:
    """A valid 15-digit number (born 1900–1999, as all holders of those cards were)."""
    full = draw(valid_ids(latest=date(1999, 12, 31)))
    return full[:6] + full[8:17]
