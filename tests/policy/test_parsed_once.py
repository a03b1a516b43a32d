"""Each section's rules are parsed once per loaded pack and handed out from it."""

from __future__ import annotations

import pytest

from fangkong.policy import load_pack
from fangkong.policy.sections import parsers


def _parsers() -> list[tuple[str, object]]:
    return [(sections[0], parse) for sections, parse in parsers()]


@pytest.mark.parametrize(("section", "parse"), _parsers(), ids=lambda v: str(v)[:20])
def test_from_pack_hands_out_the_one_parsed_object(section: str, parse: object) -> None:
    pack = load_pack()
    assert callable(parse)
    first = parse(pack)
    assert parse(pack) is first
    assert type(first) in pack.parsed_sections  # the loader's check already parsed it
    assert parse(load_pack()) is not first  # another loaded pack parses its own
    assert parse(load_pack()) == first
