"""The pack's ``[risk_areas]`` section as typed rules (风险区划定、解封、管控规则).

Every number the capability applies is read here and nowhere else: the levels in use,
the granularity areas may be drawn at, lifting days per level (and for a medium area
reached by lifting a high one), the suggestion rules and the need tasks' deadlines.
A bad or missing value is an error naming the pack, the section and the key.

A level's ``[risk_areas.lifting.<level>]`` table counts only while the level is in
``levels``: a pack that extends another and drops a level (twenty-measures drops medium)
does not need to remove the table it inherits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fangkong.policy.sections import (
    one_of,
    parsed_once,
    reject_unknown,
    section_error,
    whole_number,
)
from fangkong.riskareas.errors import RiskAreaRulesError

LEVELS = ("high", "medium", "low")  # 高, 中, 低风险区 — most severe first
RANK = {"high": 2, "medium": 1, "low": 0}
LEVEL_NAMES = {"high": ("高风险区", "high risk"), "medium": ("中风险区", "medium risk"),
               "low": ("低风险区", "low risk")}  # fmt: skip
GRANULARITIES = ("building", "compound", "community")  # 楼栋, 小区/自然村, 社区/村
ORIGINS = ("designated", "downgraded")  # 划定, 由高风险区降级
# 就医 and 急危重症: the care register's kinds since migration 0028 (fangkong.care, [care]);
# a pack listing them under [risk_areas.needs.kinds] is refused, a request is sent there
MOVED_TO_CARE = ("medical", "emergency")
# every key of [risk_areas] and of its fixed tables, so an unknown one is rejected;
# leave_city_test_hours is shipped in protocol-9 for reference and read by nothing yet
_KEYS: dict[str, tuple[str, ...]] = {
    "": ("levels", "granularity", "lifting", "suggest", "needs", "seal_levels",
         "leave_city_test_hours"),
    "lifting": LEVELS,
    "suggest": ("residence_level", "venue_level", "window_days"),
    "needs": ("levels", "kinds"),
}  # fmt: skip


@dataclass(frozen=True)
class Lifting:
    """``level`` is lifted to ``to`` after ``days`` clean days (``days_downgraded`` when
    the level was reached by lifting a higher one)."""

    level: str
    to: str
    days: int
    days_downgraded: int

    def days_for(self, origin: str) -> int:
        return self.days_downgraded if origin == "downgraded" else self.days


@dataclass(frozen=True)
class NeedKind:
    name: str
    label_zh: str
    label_en: str
    deadline_hours: int


@dataclass(frozen=True)
class RiskAreaRules:
    levels: tuple[str, ...]
    granularity: tuple[str, ...]
    lifting: Mapping[str, Lifting]
    residence_level: str | None  # a case's residence suggests this level (None: nothing)
    venue_level: str | None  # a venue a case visited while infectious suggests this level
    window_days: int
    need_levels: tuple[str, ...]
    need_kinds: Mapping[str, NeedKind]
    source: str
    seal_levels: tuple[str, ...] = ()  # residents stay home (封控): the twin seals compounds

    @classmethod
    def from_pack(cls, pack: Any) -> RiskAreaRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> RiskAreaRules:
        """The ``[risk_areas]`` section of a loaded pack (``extends`` already merged)."""
        source = f"{pack.name} {pack.version}"
        table = pack.sections.get("risk_areas")
        if not isinstance(table, Mapping):
            raise _Check(source).error("", "缺少 [risk_areas] 节", "no [risk_areas] section")
        return cls.from_table(table, source)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str) -> RiskAreaRules:
        c = _Check(source)
        reject_unknown(table, _KEYS[""], "", c.error)
        for path, allowed in _KEYS.items():
            sub = table.get(path)
            if path and isinstance(sub, Mapping):
                reject_unknown(sub, allowed, path, c.error)
        lifting_keys = ("lift_to", "lift_after_days", "lift_after_days_when_downgraded")
        for level, body in (table.get("lifting") or {}).items():
            if isinstance(body, Mapping):
                reject_unknown(body, lifting_keys, f"lifting.{level}", c.error)
        levels = tuple(c.choices(table, "levels", LEVELS))
        if "high" not in levels or "low" not in levels:
            raise c.error("levels", "须含 high 与 low", "must hold high and low")
        levels = tuple(x for x in LEVELS if x in levels)  # severity order
        granularity = tuple(c.choices(table, "granularity", GRANULARITIES))
        lifting_table = c.table(table, "lifting", "lifting")
        lifting: dict[str, Lifting] = {}
        for level in levels[:-1]:  # every level but low is lifted by a rule
            path = f"lifting.{level}"
            body = c.table(lifting_table, level, path)
            to = c.choice(body, "lift_to", levels, path)
            if RANK[to] >= RANK[level]:
                raise c.error(f"{path}.lift_to", f"须低于 {level}", f"must be below {level}")
            days = c.count(body, "lift_after_days", path, minimum=1)
            down = days
            if "lift_after_days_when_downgraded" in body:
                down = c.count(body, "lift_after_days_when_downgraded", path, minimum=1)
            lifting[level] = Lifting(level, to, days, down)
        suggest = c.table(table, "suggest", "suggest")
        allowed = (*levels[:-1], "none")
        residence = c.choice(suggest, "residence_level", allowed, "suggest")
        venue = c.choice(suggest, "venue_level", allowed, "suggest")
        window = c.count(suggest, "window_days", "suggest", minimum=1)
        needs = c.table(table, "needs", "needs")
        need_levels = tuple(c.choices(needs, "levels", levels[:-1], "needs"))
        kinds_table = c.table(needs, "kinds", "needs.kinds")
        kinds: dict[str, NeedKind] = {}
        for name, body in kinds_table.items():
            path = f"needs.kinds.{name}"
            if name in MOVED_TO_CARE:
                raise c.error(path, "就医与急危重症需求由 [care] 节登记（医疗保障），不再列于此",
                              "medical and emergency needs belong to the [care] register, "
                              "not here")  # fmt: skip
            if not isinstance(body, Mapping):
                raise c.error(path, "应为表", "must be a table")
            reject_unknown(body, ("label_zh", "label_en", "deadline_hours"), path, c.error)
            kinds[name] = NeedKind(
                name,
                c.text(body, "label_zh", path),
                c.text(body, "label_en", path),
                c.count(body, "deadline_hours", path, minimum=1),
            )
        if not kinds:
            raise c.error("needs.kinds", "至少需要一种需求", "needs at least one kind")
        seal = tuple(c.choices(table, "seal_levels", levels[:-1]))
        return cls(
            levels, granularity, lifting,
            None if residence == "none" else residence,
            None if venue == "none" else venue,
            window, need_levels, kinds, source, seal,
        )  # fmt: skip

    def check_level(self, level: str) -> str:
        if level not in self.levels:
            raise _Check(self.source).error(
                "levels", f"本政策包没有 {level} 等级（可选：{'、'.join(self.levels)}）",
                f"this pack has no level {level!r} (one of: {', '.join(self.levels)})",
            )  # fmt: skip
        return level


class _Check:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, zh: str, en: str) -> RiskAreaRulesError:
        return section_error(
            RiskAreaRulesError, "riskarea.rules_invalid", self.source, "risk_areas", key, zh, en
        )

    def _get(self, table: Mapping[str, Any], key: str, path: str | None) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in table:
            raise self.error(full, "缺少该键", "missing key")
        return table[key]

    def table(self, table: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = table.get(key)
        if not isinstance(value, Mapping):
            raise self.error(path, "缺少该表", "missing table")
        return value

    def count(self, table: Mapping[str, Any], key: str, path: str, *, minimum: int = 0) -> int:
        return whole_number(self._get(table, key, path), f"{path}.{key}", self.error,
                            minimum=minimum)  # fmt: skip

    def text(self, table: Mapping[str, Any], key: str, path: str) -> str:
        value = self._get(table, key, path)
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{path}.{key}", "应为非空文字", "must be non-empty text")
        return value

    def choice(
        self, table: Mapping[str, Any], key: str, allowed: Sequence[str], path: str | None = None
    ) -> str:
        full = f"{path}.{key}" if path else key
        return one_of(self._get(table, key, path), full, self.error, allowed)

    def choices(
        self, table: Mapping[str, Any], key: str, allowed: Sequence[str], path: str | None = None
    ) -> list[str]:
        value = self._get(table, key, path)
        full = f"{path}.{key}" if path else key
        if not isinstance(value, list) or not all(v in allowed for v in value):
            raise self.error(
                full, f"应为以下值的列表：{'、'.join(allowed)}，实为 {value!r}",
                f"must be a list of: {', '.join(allowed)}; got {value!r}",
            )  # fmt: skip
        return [str(v) for v in value]
