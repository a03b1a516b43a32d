"""The vocabularies of key-freight passes (重点物资运输车辆通行证) and the vehicle plate.

Pure: no database. The vehicle kinds, cargo classes and verdicts are the crossings' own
(``fangkong.logistics`` records ``pass_verdict`` with exactly these words), so a verdict
given here is stored there unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

VEHICLE_KINDS: Final = ("lorry", "van", "car", "bus")
CARGO_CLASSES: Final = ("key_supplies", "medical", "ordinary", "none")
CODE_COLOURS: Final = ("green", "yellow", "red", "none")
ROUTE_LEVELS: Final = ("province", "city", "county")
# an admin-division code (GB/T 2260) shares this many leading digits with the places in
# it: 32 (province) 3201 (city) 320102 (county)
ROUTE_PREFIX: Final = {"province": 2, "city": 4, "county": 6}
RISK_AREA_DRIVERS: Final = ("closed_loop", "refuse")

NONE: Final = "none"  # no pass shown
VALID: Final = "valid"
INVALID: Final = "invalid"  # not a pass token, forged, unknown serial, superseded, not yet valid
REVOKED: Final = "revoked"
EXPIRED: Final = "expired"
WRONG_VEHICLE: Final = "wrong_vehicle"
WRONG_ROUTE: Final = "wrong_route"
WRONG_DRIVER: Final = "wrong_driver"
VERDICTS: Final = (NONE, VALID, INVALID, REVOKED, EXPIRED, WRONG_VEHICLE, WRONG_ROUTE,
                   WRONG_DRIVER)  # fmt: skip

SERIAL_MAX: Final = 32
PLATE_MAX: Final = 16
REGION_CODE_MAX: Final = 12
REASON_MAX: Final = 500
CARRIER_MAX: Final = 100

# 苏A12345, 苏AD12345 (new energy), 使, 领 and 学 plates keep their last character
_PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{4,6}[\u4e00-\u9fffA-Z0-9]?$")
_DROP = str.maketrans("", "", " \t-·.")
_REGION = re.compile(r"^\d{6}(\d{3}){0,2}$")


def normal_plate(text: str) -> str:
    """A plate as stored and compared: full-width folded, upper case, no spaces, dots or
    hyphens (``苏a·12345`` and ``苏A12345`` are one vehicle)."""
    return unicodedata.normalize("NFKC", text).translate(_DROP).upper()


def plate_ok(plate: str) -> bool:
    """A normalised plate of a Chinese vehicle (GA 36): province character, letter, 5–6
    letters or digits (a new-energy plate has 6), optionally a closing character."""
    return len(plate) <= PLATE_MAX and _PLATE.match(plate) is not None


def region_code_ok(code: str) -> bool:
    """An admin-division code of 6, 9 or 12 digits (GB/T 2260 county, township, village)."""
    return _REGION.match(code) is not None
