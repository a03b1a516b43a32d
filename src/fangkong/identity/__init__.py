"""Identity: resident ID numbers (GB 11643), phones, travel documents; sealing and masking.

The public names are re-exported here; ``tests/identity/test_public_api.py`` pins the list.
The ``fangkong id`` commands live in ``fangkong.identity.cli`` (not imported here, so the
library does not pull in the CLI).
"""

from fangkong.identity.documents import (
    DocumentCheck,
    DocumentType,
    check_document,
    country_alpha2,
    country_alpha3,
)
from fangkong.identity.masking import mask_id, mask_name, mask_phone
from fangkong.identity.phone import PhoneCheck, check_phone, check_phones
from fangkong.identity.resident_id import (
    ResidentIdCheck,
    check_character,
    check_resident_id,
    check_resident_ids,
    upgrade_15_to_18,
)
from fangkong.identity.sealing import Sealer, SealError, load_or_create_key

__all__ = [
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
