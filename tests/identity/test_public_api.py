"""The public names of ``fangkong.identity``: changing this list is a deliberate act."""

from __future__ import annotations

import fangkong.identity as identity


def test_public_names_are_pinned() -> None:
    assert sorted(identity.__all__) == [
        "DocumentCheck",
        "DocumentType",
        "PhoneCheck",
        "ResidentIdCheck",
        "SealError",
        "Sealer",
        "check_character",
        "check_document",
        "check_phone",
        "check_phones",
        "check_resident_id",
        "check_resident_ids",
        "country_alpha2",
        "country_alpha3",
        "load_or_create_key",
        "mask_id",
        "mask_name",
        "mask_phone",
        "upgrade_15_to_18",
    ]
    for name in identity.__all__:
        assert getattr(identity, name) is not None
