"""The pack's ``[logistics]`` section as typed rules (货运物流保通保畅, the checkpoint's check).

Every number and choice the check at a road checkpoint applies is read here and nowhere
else: the travel-history window, how long a negative test counts (48 h, accepted across
provinces: 互认), whether a person without a valid test is sampled and let go (即采即走)
or turned back, what each health-code colour means at the checkpoint, which risk levels
put a person into the point-to-point closed loop (闭环管理), which cargo classes claim
priority with a valid key-freight pass, the most people a crossing may carry and the
longest queue a device may report. A bad or missing value is an error naming the pack,
the section, the key and the problem in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fangkong.logistics.model import CARGO_CLASSES, CODE_COLOURS, DIRECTIONS
from fangkong.policy.sections import (
    SectionError,
    number_in,
    one_of,
    parsed_once,
    reject_unknown,
    section_error,
    text_list,
    whole_number,
)

# what a health-code colour means at the checkpoint: on to the test check, into the
# closed loop, or turned back (劝返)
COLOUR_ACTIONS = ("check", "closed_loop", "turned_back")
NO_TEST_ACTIONS = ("sampled_released", "turned_back")
AREA_LEVELS = ("high", "medium", "low")
SAMPLE_PURPOSES = ("screening", "landing")  # testing's purposes a checkpoint sample may take
_KEYS = (
    "history_days",
    "test_valid_hours",
    "no_valid_test",
    "sample_purpose",
    "closed_loop_levels",
    "closed_loop_directions",
    "priority_cargo",
    "max_people",
    "max_waited_minutes",
    "colours",
)


class LogisticsRulesError(SectionError):
    """logistics.rules_invalid: the ``[logistics]`` section lacks a key or holds a bad value."""


@dataclass(frozen=True)
class LogisticsRules:
    source: str
    history_days: int  # the travel history the check reads (days before the crossing)
    test_valid_hours: float  # a negative test counts this long after sampling (互认)
    no_valid_test: str  # sampled_released (即采即走) | turned_back
    sample_purpose: str  # the testing purpose of a checkpoint sample
    closed_loop_levels: tuple[str, ...]  # risk levels whose people travel in the closed loop
    closed_loop_directions: tuple[str, ...]  # the vehicles' directions the hand-over applies to
    priority_cargo: tuple[str, ...]  # cargo classes that claim priority with a valid pass
    max_people: int  # people per crossing (the device API's bound)
    max_waited_minutes: int  # the longest queue a device may report
    colours: Mapping[str, str]  # code colour → COLOUR_ACTIONS

    @property
    def sample_and_go(self) -> bool:
        return self.no_valid_test == "sampled_released"

    @classmethod
    def from_pack(cls, pack: Any) -> LogisticsRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> LogisticsRules:
        source = f"{pack.path or pack.name} {pack.name}@{pack.version}"
        table = pack.sections.get("logistics")
        if not isinstance(table, Mapping):
            raise _error(source, "", "缺少 [logistics] 节", "the [logistics] section is missing")
        return cls.from_table(table, source)

    @classmethod
    def shipped(cls, name: str) -> LogisticsRules:
        from fangkong.policy import load_pack

        return cls.from_pack(load_pack(name))

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str) -> LogisticsRules:
        def error(key: str, zh: str, en: str) -> LogisticsRulesError:
            return _error(source, key, zh, en)

        def get(key: str) -> Any:
            if key not in table:
                raise error(key, "缺少此项", "is missing")
            return table[key]

        reject_unknown(table, _KEYS, "", error)
        colours = get("colours")
        if not isinstance(colours, Mapping):
            raise error("colours", "应为表", "must be a table")
        reject_unknown(colours, CODE_COLOURS, "colours", error)
        actions = {
            c: one_of(
                colours[c] if c in colours else _missing(error, f"colours.{c}"),
                f"colours.{c}",
                error,
                COLOUR_ACTIONS,
            )
            for c in CODE_COLOURS
        }
        if actions["green"] != "check":
            raise error(
                "colours.green",
                "绿码须进入核酸查验（check）",
                "a green code goes on to the test check (check)",
            )
        levels = text_list(get("closed_loop_levels"), "closed_loop_levels", error, AREA_LEVELS)
        hours = number_in(get("test_valid_hours"), "test_valid_hours", error, 1.0, 24.0 * 14)
        return cls(
            source=source,
            history_days=_days(get("history_days"), error),
            test_valid_hours=hours,
            no_valid_test=one_of(get("no_valid_test"), "no_valid_test", error, NO_TEST_ACTIONS),
            sample_purpose=one_of(get("sample_purpose"), "sample_purpose", error, SAMPLE_PURPOSES),
            closed_loop_levels=levels,
            closed_loop_directions=text_list(
                get("closed_loop_directions"), "closed_loop_directions", error, DIRECTIONS
            ),
            priority_cargo=text_list(get("priority_cargo"), "priority_cargo", error, CARGO_CLASSES),
            max_people=_bounded(get("max_people"), "max_people", error, 1, 60),
            max_waited_minutes=_bounded(
                get("max_waited_minutes"), "max_waited_minutes", error, 1, 7 * 24 * 60
            ),
            colours=actions,
        )


def _error(source: str, key: str, zh: str, en: str) -> LogisticsRulesError:
    return section_error(
        LogisticsRulesError, "logistics.rules_invalid", source, "logistics", key, zh, en
    )


def _missing(error: Any, key: str) -> Any:
    raise error(key, "缺少此项", "is missing")


def _days(value: Any, error: Any) -> int:
    return _bounded(value, "history_days", error, 1, 60)


def _bounded(value: Any, key: str, error: Any, low: int, high: int) -> int:
    n = whole_number(value, key, error, minimum=low)
    if n > high:
        raise error(key, f"应不大于 {high}，实为 {n}", f"must be at most {high}, got {n}")
    return n
