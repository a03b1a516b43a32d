"""The pack's ``[care]`` section as typed rules (封控区群众就医保障).

Every number the register applies is read here: which areas' residents it serves, the
deadline of each kind of need (hours from registration), whether a patient from an area
of a given level must go to a buffer ward (缓冲病区), how a ward is chosen, the
green-channel transfer's speed assumptions and how fast an overdue need escalates. A bad,
missing or unknown key is an error naming the pack, the section and the key.

No key makes a transfer wait for a test result: 国家卫健委 2022 — 不得以核酸检测结果为由拒绝
急危重症和需要规律性诊疗患者; the planner never reads one (docs/logistics/care.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fangkong.care.errors import CareRulesError
from fangkong.policy.sections import (
    flag,
    missing_reason,
    one_of,
    parsed_once,
    positive_number,
    reject_unknown,
    section_error,
    text_list,
    whole_number,
)

# the kinds the register stores (care.tables.NEED_KINDS; repeated: rules are a pure core)
KINDS = ("dialysis", "chemotherapy", "pregnancy", "chronic_medication", "emergency", "other")
AREA_LEVELS = ("high", "medium")  # the levels under control (低风险区 is not)
WARD_CHOICES = ("nearest", "most_free_beds")
_KEYS: dict[str, tuple[str, ...]] = {
    "": ("levels", "buffer_levels", "ward_choice", "kinds", "transfer", "escalation"),
    "transfer": ("speed_kmh", "road_factor", "pickup_minutes", "handover_minutes"),
    "escalation": ("escalate_after_hours", "max_level"),
}
_KIND_KEYS = ("deadline_hours", "ward")


@dataclass(frozen=True)
class CareKind:
    """A kind of need: due ``deadline_hours`` after registration; ``ward``: whether its
    transfer goes to a ward (false: medicines brought home, no transfer planned)."""

    name: str
    deadline_hours: float
    ward: bool


@dataclass(frozen=True)
class TransferSpeed:
    """A green-channel run: road distance = straight line × ``road_factor`` at
    ``speed_kmh``; ``pickup_minutes`` at the patient's door, ``handover_minutes`` at the
    ward's."""

    speed_kmh: float
    road_factor: float
    pickup_minutes: float
    handover_minutes: float


@dataclass(frozen=True)
class CareEscalation:
    """An open need's task ``after_hours`` past its deadline moves one level up, at most
    ``max_level`` levels (the command's escalation, at the care register's pace)."""

    after_hours: int
    max_level: int


@dataclass(frozen=True)
class CareRules:
    levels: tuple[str, ...]  # residents of areas at these levels are served
    buffer_levels: tuple[str, ...]  # patients from these levels go to a buffer ward
    ward_choice: str
    kinds: Mapping[str, CareKind]
    transfer: TransferSpeed
    escalation: CareEscalation
    source: str

    @classmethod
    def from_pack(cls, pack: Any) -> CareRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> CareRules:
        source = f"{pack.name} {pack.version}"
        table = pack.sections.get("care")
        if not isinstance(table, Mapping):
            raise _error(source, "", "缺少 [care] 节", "no [care] section")
        return cls.from_table(table, source)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str) -> CareRules:
        def error(key: str, zh: str, en: str) -> CareRulesError:
            return _error(source, key, zh, en)

        reject_unknown(table, _KEYS[""], "", error)
        subs = {path: _table(table, path, error) for path in ("transfer", "escalation", "kinds")}
        for path in ("transfer", "escalation"):
            reject_unknown(subs[path], _KEYS[path], path, error)
        levels = text_list(_get(table, "levels", error), "levels", error, AREA_LEVELS)
        if not levels:
            raise error("levels", "至少需要一个等级", "needs at least one level")
        buffer = text_list(_get(table, "buffer_levels", error), "buffer_levels", error, levels)
        choice = one_of(_get(table, "ward_choice", error), "ward_choice", error, WARD_CHOICES)
        reject_unknown(subs["kinds"], KINDS, "kinds", error)
        kinds = {name: _kind(name, body, error) for name, body in subs["kinds"].items()}
        if not kinds:
            raise error("kinds", "至少需要一种需求", "needs at least one kind")
        t = subs["transfer"]
        speed = TransferSpeed(
            positive_number(_get(t, "speed_kmh", error, "transfer"), "transfer.speed_kmh", error),
            positive_number(_get(t, "road_factor", error, "transfer"), "transfer.road_factor",
                            error),
            _minutes(t, "pickup_minutes", error),
            _minutes(t, "handover_minutes", error),
        )  # fmt: skip
        if speed.road_factor < 1:
            raise error(
                "transfer.road_factor", "不应小于 1（道路不短于直线）",
                "must be at least 1 (a road is no shorter than the straight line)",
            )  # fmt: skip
        e = subs["escalation"]
        escalation = CareEscalation(
            whole_number(_get(e, "escalate_after_hours", error, "escalation"),
                         "escalation.escalate_after_hours", error, minimum=1),
            whole_number(_get(e, "max_level", error, "escalation"), "escalation.max_level",
                         error, minimum=0),
        )  # fmt: skip
        return cls(tuple(levels), tuple(buffer), choice, kinds, speed, escalation, source)


def _error(source: str, key: str, zh: str, en: str) -> CareRulesError:
    return section_error(CareRulesError, "care.rules_invalid", source, "care", key, zh, en)


def _get(table: Mapping[str, Any], key: str, error: Any, path: str = "") -> Any:
    full = f"{path}.{key}" if path else key
    if key not in table:
        raise error(full, *missing_reason(full))
    return table[key]


def _table(table: Mapping[str, Any], key: str, error: Any) -> Mapping[str, Any]:
    value = _get(table, key, error)
    if not isinstance(value, Mapping):
        raise error(key, "应为表", "must be a table")
    return value


def _minutes(table: Mapping[str, Any], key: str, error: Any) -> float:
    value = _get(table, key, error, "transfer")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 240:
        raise error(f"transfer.{key}", f"应为 0–240 的分钟数，实为 {value!r}",
                    f"must be 0 to 240 minutes, got {value!r}")  # fmt: skip
    return float(value)


def _kind(name: str, body: Any, error: Any) -> CareKind:
    path = f"kinds.{name}"
    if not isinstance(body, Mapping):
        raise error(path, "应为表", "must be a table")
    reject_unknown(body, _KIND_KEYS, path, error)
    hours = positive_number(_get(body, "deadline_hours", error, path), f"{path}.deadline_hours",
                            error)  # fmt: skip
    if hours > 24 * 30:
        raise error(f"{path}.deadline_hours", "不应超过 720 小时", "must be at most 720 hours")
    return CareKind(
        name, float(hours), flag(_get(body, "ward", error, path), f"{path}.ward", error)
    )
