"""The pack's ``[supply]`` section as typed rules (民生物资保供规则).

Every number the capability applies is read here and nowhere else:

- ``window_days``: how many days of sales the days of supply average (stock ÷ mean
  daily sales over the last ``window_days`` days reported);
- ``alert_level``: the region level whose days of supply are held to the floors — the
  responsible unit (the county's commerce department: 商务部门) owes the task;
- ``task_deadline_hours``: hours the unit has to restore stock once a floor is breached;
- ``delivery_lead_days``: deliveries to sealed areas are planned this many days ahead
  (1: tomorrow's), ``delivery_days``: the days one delivery covers (until the next),
  ``delivery_grace_hours``: hours into its day a delivery not yet confirmed becomes a
  breach (the residents are without the good: an alert and a task, like a stock floor);
- ``[supply.goods.<key>]`` for each good monitored: ``label_zh``/``label_en``, its unit
  (``unit_zh``/``unit_en``), ``per_person_day`` (daily need per person, in the unit: a
  delivery to a compound is its residents × this × ``delivery_days``) and ``floor_days``
  (the days of supply below which the unit is tasked).

A bad, missing or unknown key is an error naming the pack, the section and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fangkong.errors import Problem
from fangkong.policy.sections import (
    SectionError,
    missing_reason,
    number_in,
    one_of,
    parsed_once,
    positive_number,
    reject_unknown,
    section_error,
    whole_number,
)

LEVELS = ("province", "city", "county", "township")  # levels a floor may be held at
_KEYS = ("window_days", "alert_level", "task_deadline_hours", "delivery_lead_days",
         "delivery_days", "delivery_grace_hours", "goods")  # fmt: skip
_GOOD_KEYS = ("label_zh", "label_en", "unit_zh", "unit_en", "per_person_day", "floor_days")
MAX_GOODS = 40


class SupplyRulesError(SectionError):
    """The pack's ``[supply]`` section is missing a key or holds a bad value."""


@dataclass(frozen=True)
class Good:
    """A good monitored (粮、油、菜、肉、蛋、奶、药): its labels, unit and the two numbers."""

    key: str
    label_zh: str
    label_en: str
    unit_zh: str
    unit_en: str
    per_person_day: float  # units one person needs a day
    floor_days: float  # days of supply below which the unit is tasked

    def label(self, lang: str) -> str:
        return self.label_zh if lang.startswith("zh") else self.label_en

    def unit(self, lang: str) -> str:
        return self.unit_zh if lang.startswith("zh") else self.unit_en


@dataclass(frozen=True)
class SupplyRules:
    window_days: int
    alert_level: str
    task_deadline_hours: int
    delivery_lead_days: int
    delivery_days: int
    delivery_grace_hours: int
    goods: Mapping[str, Good]  # in the pack's order
    source: str

    @classmethod
    def from_pack(cls, pack: Any) -> SupplyRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> SupplyRules:
        source = f"{pack.name} {pack.version}"
        table = pack.sections.get("supply")
        if not isinstance(table, Mapping):
            raise _error(source, "", "缺少 [supply] 节", "no [supply] section")
        return cls.from_table(table, source)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str) -> SupplyRules:
        def error(key: str, zh: str, en: str) -> SupplyRulesError:
            return _error(source, key, zh, en)

        reject_unknown(table, _KEYS, "", error)
        for key in _KEYS:
            if key not in table:
                raise error(key, *missing_reason(key))
        goods_table = table["goods"]
        if not isinstance(goods_table, Mapping) or not goods_table:
            raise error("goods", "应为至少一种物资的表", "must be a table of at least one good")
        if len(goods_table) > MAX_GOODS:
            raise error("goods", f"至多 {MAX_GOODS} 种物资", f"at most {MAX_GOODS} goods")
        goods = {str(k): _good(str(k), v, error) for k, v in goods_table.items()}
        return cls(
            whole_number(table["window_days"], "window_days", error, minimum=1),
            one_of(table["alert_level"], "alert_level", error, LEVELS),
            whole_number(table["task_deadline_hours"], "task_deadline_hours", error, minimum=1),
            whole_number(table["delivery_lead_days"], "delivery_lead_days", error, minimum=0),
            whole_number(table["delivery_days"], "delivery_days", error, minimum=1),
            whole_number(table["delivery_grace_hours"], "delivery_grace_hours", error,
                         minimum=0),
            goods, source,
        )  # fmt: skip

    def good(self, key: str) -> Good:
        """The good ``key`` of the pack, or a bad input naming the goods there are."""
        found = self.goods.get(key)
        if found is None:
            names = ", ".join(self.goods)
            raise SupplyRulesError(Problem(
                "supply.good_unknown", f"未知的物资 {key[:24]!r}（可用：{names}）",
                f"unknown good {key[:24]!r} (one of: {names})"))  # fmt: skip
        return found


def _good(key: str, body: Any, error: Any) -> Good:
    path = f"goods.{key}"
    if not key.isidentifier() or len(key) > 24:
        raise error(path, "物资键应为字母、数字、下划线，至多 24 个字符",
                    "a good's key: letters, digits, underscores, at most 24")  # fmt: skip
    if not isinstance(body, Mapping):
        raise error(path, "应为表", "must be a table")
    reject_unknown(body, _GOOD_KEYS, path, error)
    for k in _GOOD_KEYS:
        if k not in body:
            raise error(f"{path}.{k}", *missing_reason(k))
    texts: list[str] = []
    for k in ("label_zh", "label_en", "unit_zh", "unit_en"):
        value = body[k]
        if not isinstance(value, str) or not value.strip() or len(value) > 40:
            raise error(f"{path}.{k}", "应为 1–40 个字符的文字",
                        f"must be text of 1 to 40 characters, got {value!r}")  # fmt: skip
        texts.append(value.strip())
    need = number_in(body["per_person_day"], f"{path}.per_person_day", error, 0.0, 100.0)
    floor = positive_number(body["floor_days"], f"{path}.floor_days", error)
    label_zh, label_en, unit_zh, unit_en = texts
    return Good(key, label_zh, label_en, unit_zh, unit_en, need, floor)


def _error(source: str, key: str, zh: str, en: str) -> SupplyRulesError:
    return section_error(SupplyRulesError, "supply.rules_invalid", source, "supply", key, zh, en)
