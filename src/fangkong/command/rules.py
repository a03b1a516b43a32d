"""The pack's ``[command]`` section as typed rules (指挥调度规则).

Every number the command centre applies is read here and nowhere else:

- ``[command]``: ``briefing_time`` (the daily briefing's local time, "HH:MM"),
  ``curve_days`` (the board's curve length), ``wall_refresh_seconds`` (the command
  room's wall mode) and ``days_left_horizon`` (days of capacity left are shown up to it,
  beyond it as "> N": the quarantine forecast's horizon);
- ``[command.tasks.<kind>]`` for every task kind of ``model.TASK_KINDS``:
  ``deadline_hours`` (hours from raising; ``"source"`` for the kinds whose source row
  keeps its own deadline set by its own section — an alert's ``verify_due`` /
  ``investigate_due`` from ``[alerts]``, a need's ``due_at`` from ``[risk_areas.needs]``
  — so one deadline never has two numbers) and ``automatic`` (raised by the raising
  job; ``manual`` tasks never are);
- ``[command.escalation]``: ``escalate_after_hours`` overdue before a task moves one
  level up the regions, again after as many hours at each level, at most ``max_level``
  levels above the unit;
- ``[command.timeliness]``: the target in hours of every measure of ``model.MEASURES``.

A bad, missing or unknown key is an error naming the pack, the section and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from fangkong.command.model import KIND, MEASURE
from fangkong.policy.sections import (
    SectionError,
    flag,
    parsed_once,
    positive_number,
    reject_unknown,
    section_error,
    whole_number,
)

# kinds whose source row keeps its own deadline (set by the source's own pack section)
SOURCE_DEADLINE_KINDS: tuple[str, ...] = ("alert", "area_need")
SOURCE_DEADLINE_KINDS += ("supply_floor",)  # issue 20: [supply] task_deadline_hours
_KEYS: dict[str, tuple[str, ...]] = {
    "": ("briefing_time", "curve_days", "wall_refresh_seconds", "days_left_horizon", "tasks",
         "escalation", "timeliness"),
    "tasks": tuple(KIND),
    "escalation": ("escalate_after_hours", "max_level"),
    "timeliness": tuple(MEASURE),
}  # fmt: skip
_KIND_KEYS = ("deadline_hours", "automatic")


class CommandRulesError(SectionError):
    """The pack's ``[command]`` section is missing a key or holds a bad value."""


@dataclass(frozen=True)
class TaskRule:
    """How tasks of ``kind`` are raised: ``deadline_hours`` after raising (None: the
    source row's own deadline), and whether the raising job raises them."""

    kind: str
    deadline_hours: int | None
    automatic: bool


@dataclass(frozen=True)
class Escalation:
    """An open task ``after_hours`` past its deadline moves one level up, and again each
    ``after_hours`` at the new level, until ``max_level`` levels above the unit."""

    after_hours: int
    max_level: int


@dataclass(frozen=True)
class CommandRules:
    briefing_time: time  # local time of the daily briefing (Settings.tz)
    curve_days: int
    wall_refresh_seconds: int
    tasks: Mapping[str, TaskRule]
    escalation: Escalation
    timeliness: Mapping[str, float]  # measure key -> target hours
    source: str
    # days of capacity left are read up to this many days, beyond it as "> N" (a week's
    # intake extrapolated further says nothing the forecast's horizon does not)
    days_left_horizon: int

    @classmethod
    def from_pack(cls, pack: Any) -> CommandRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> CommandRules:
        source = f"{pack.name} {pack.version}"
        table = pack.sections.get("command")
        if not isinstance(table, Mapping):
            raise _error(source, "", "缺少 [command] 节", "no [command] section")
        return cls.from_table(table, source)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str) -> CommandRules:
        def error(key: str, zh: str, en: str) -> CommandRulesError:
            return _error(source, key, zh, en)

        reject_unknown(table, _KEYS[""], "", error)
        subs = {path: _table(table, path, error) for path in _KEYS if path}
        for path, sub in subs.items():
            reject_unknown(sub, _KEYS[path], path, error)
        tasks = {kind: _task(subs["tasks"], kind, error) for kind in KIND}
        esc = subs["escalation"]
        escalation = Escalation(
            whole_number(_get(esc, "escalate_after_hours", "escalation", error),
                         "escalation.escalate_after_hours", error, minimum=1),
            whole_number(_get(esc, "max_level", "escalation", error),
                         "escalation.max_level", error, minimum=0),
        )  # fmt: skip
        timeliness = {
            m: positive_number(
                _get(subs["timeliness"], m, "timeliness", error), f"timeliness.{m}", error
            )
            for m in MEASURE
        }
        curve = whole_number(_get(table, "curve_days", "", error), "curve_days", error, minimum=1)
        refresh = whole_number(
            _get(table, "wall_refresh_seconds", "", error), "wall_refresh_seconds", error,
            minimum=5,
        )  # fmt: skip
        horizon = whole_number(_get(table, "days_left_horizon", "", error), "days_left_horizon",
                               error, minimum=1)  # fmt: skip
        return cls(
            _clock_time(_get(table, "briefing_time", "", error), error),
            curve, refresh, tasks, escalation, timeliness, source, horizon,
        )  # fmt: skip


def _error(source: str, key: str, zh: str, en: str) -> CommandRulesError:
    return section_error(CommandRulesError, "command.rules_invalid", source, "command", key, zh, en)


def _get(table: Mapping[str, Any], key: str, path: str, error: Any) -> Any:
    if key not in table:
        raise error(f"{path}.{key}" if path else key, "缺少该键", "missing key")
    return table[key]


def _table(table: Mapping[str, Any], key: str, error: Any) -> Mapping[str, Any]:
    value = table.get(key)
    if not isinstance(value, Mapping):
        raise error(key, "缺少该表", "missing table")
    return value


def _task(tasks: Mapping[str, Any], kind: str, error: Any) -> TaskRule:
    path = f"tasks.{kind}"
    body = _get(tasks, kind, "tasks", error)
    if not isinstance(body, Mapping):
        raise error(path, "应为表", "must be a table")
    reject_unknown(body, _KIND_KEYS, path, error)
    hours_value = _get(body, "deadline_hours", path, error)
    hours: int | None
    if hours_value == "source":
        if kind not in SOURCE_DEADLINE_KINDS:
            raise error(
                f"{path}.deadline_hours", "此类任务的来源没有期限，应为小时数",
                "this kind's source keeps no deadline: give hours",
            )  # fmt: skip
        hours = None
    else:
        hours = whole_number(hours_value, f"{path}.deadline_hours", error, minimum=1)
    automatic = flag(_get(body, "automatic", path, error), f"{path}.automatic", error)
    if kind == "manual" and automatic:
        raise error(f"{path}.automatic", "交办任务只能由指挥员下达",
                    "manual tasks are set by a commander, never raised automatically")  # fmt: skip
    return TaskRule(kind, hours, automatic)


def _clock_time(value: Any, error: Any) -> time:
    """A local time of day written "HH:MM"."""
    found = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value) if isinstance(value, str) else None
    if found:
        return time(int(found[1]), int(found[2]))
    raise error(
        "briefing_time", f"应为“时:分”形式的时间（如 \"07:00\"），实为 {value!r}",
        f"must be a time of day \"HH:MM\" (e.g. \"07:00\"), got {value!r}",
    )  # fmt: skip
