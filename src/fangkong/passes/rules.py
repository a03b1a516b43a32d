"""The pack's ``[passes]`` section as typed rules (重点物资运输车辆通行证规则).

Every number and list the pass desk and the checkpoints apply is read here and nowhere
else (docs/logistics/passes.md maps each to the national rule it follows):

- ``cargo_classes``: the cargo classes a pass is issued for (重点物资: ``key_supplies``,
  ``medical`` …; of ``model.CARGO_CLASSES``);
- ``vehicle_kinds``: the vehicles that may hold one (of ``model.VEHICLE_KINDS``);
- ``max_validity_days``: the longest period of one pass;
- ``min_drivers`` / ``max_drivers``: drivers named on one pass;
- ``driver_test_hours``: a driver's negative sample must be at most this old when the
  pass is issued (48 h, recognised from any province: 互认);
- ``driver_code_colours``: the health-code colours a driver may show at issue;
- ``risk_area_drivers``: ``closed_loop`` — a driver from a medium/high-risk area may hold
  a pass, which is then issued point-to-point (闭环, no via points) — or ``refuse``;
- ``route_match``: how close a checkpoint must be to the route to be on it — ``province``,
  ``city`` or ``county`` of the origin, the destination or a via point;
- ``max_via``: via points on one route;
- ``clock_skew_minutes``: the grace at both ends of the period for a checkpoint's clock.

A bad, missing or unknown key is an error naming the pack, the section and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fangkong.passes.model import (
    CARGO_CLASSES,
    RISK_AREA_DRIVERS,
    ROUTE_LEVELS,
    ROUTE_PREFIX,
    VEHICLE_KINDS,
)
from fangkong.policy.sections import (
    SectionError,
    missing_reason,
    one_of,
    parsed_once,
    reject_unknown,
    section_error,
    text_list,
    whole_number,
)

SECTION = "passes"
_KEYS = ("cargo_classes", "vehicle_kinds", "max_validity_days", "min_drivers", "max_drivers",
         "driver_test_hours", "driver_code_colours", "risk_area_drivers", "route_match",
         "max_via", "clock_skew_minutes")  # fmt: skip
_COLOURS = ("green", "yellow", "red")


class PassRulesError(SectionError):
    """The pack's ``[passes]`` section is missing a key or holds a bad value."""


@dataclass(frozen=True)
class PassRules:
    cargo_classes: tuple[str, ...]
    vehicle_kinds: tuple[str, ...]
    max_validity_days: int
    min_drivers: int
    max_drivers: int
    driver_test_hours: int
    driver_code_colours: tuple[str, ...]
    risk_area_drivers: str  # closed_loop | refuse
    route_match: str  # province | city | county
    max_via: int
    clock_skew_minutes: int
    source: str = ""

    @property
    def route_prefix(self) -> int:
        """Leading digits a checkpoint's region shares with a route point to be on it."""
        return ROUTE_PREFIX[self.route_match]

    @classmethod
    def from_pack(cls, pack: Any) -> PassRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> PassRules:
        source = f"{pack.name} {pack.version}"
        table = pack.sections.get(SECTION)
        if not isinstance(table, Mapping):
            raise _error(source, "", "缺少 [passes] 节", "no [passes] section")
        return cls.from_table(table, source)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str) -> PassRules:
        def error(key: str, zh: str, en: str) -> PassRulesError:
            return _error(source, key, zh, en)

        reject_unknown(table, _KEYS, "", error)
        for key in _KEYS:
            if key not in table:
                raise error(key, *missing_reason(key))
        cargo = text_list(table["cargo_classes"], "cargo_classes", error, CARGO_CLASSES)
        kinds = text_list(table["vehicle_kinds"], "vehicle_kinds", error, VEHICLE_KINDS)
        colours = text_list(table["driver_code_colours"], "driver_code_colours", error, _COLOURS)
        for key, values in (("cargo_classes", cargo), ("vehicle_kinds", kinds),
                            ("driver_code_colours", colours)):  # fmt: skip
            if not values:
                raise error(key, "不能为空", "must not be empty")
        low = whole_number(table["min_drivers"], "min_drivers", error, minimum=1)
        high = whole_number(table["max_drivers"], "max_drivers", error, minimum=1)
        if high < low:
            raise error(
                "max_drivers",
                f"不能小于 min_drivers（{low}）",
                f"must not be below min_drivers ({low})",
            )
        return cls(
            cargo_classes=cargo,
            vehicle_kinds=kinds,
            max_validity_days=whole_number(
                table["max_validity_days"], "max_validity_days", error, minimum=1
            ),
            min_drivers=low,
            max_drivers=high,
            driver_test_hours=whole_number(
                table["driver_test_hours"], "driver_test_hours", error, minimum=1
            ),
            driver_code_colours=colours,
            risk_area_drivers=one_of(
                table["risk_area_drivers"], "risk_area_drivers", error, RISK_AREA_DRIVERS
            ),
            route_match=one_of(table["route_match"], "route_match", error, ROUTE_LEVELS),
            max_via=whole_number(table["max_via"], "max_via", error, minimum=0),
            clock_skew_minutes=whole_number(
                table["clock_skew_minutes"], "clock_skew_minutes", error, minimum=0
            ),
            source=source,
        )


def _error(source: str, key: str, zh: str, en: str) -> PassRulesError:
    return section_error(PassRulesError, "passes.rules_invalid", source, SECTION, key, zh, en)
