"""The pack's ``[roads]`` section as typed rules (道路通行监测规则).

Every number road status applies is read here and nowhere else (a pure core):

- ``queue_limit_vehicles``: vehicles waiting at one checkpoint above which it is congested
  and an alert (a task to the checkpoint's county) is raised;
- ``wait_limit_minutes``: the wait above which the same happens;
- ``wait_percentile``: the percentile of the crossings' measured ``waited_minutes`` read as
  the checkpoint's wait (nearest rank; the median is shown beside it);
- ``report_stale_minutes``: a checkpoint's own report older than this no longer gives the
  vehicles waiting nor the wait (its open/closed status stands until the next report);
- ``throughput_window_minutes``: the crossings counted for throughput and the wait, scaled
  to vehicles per hour;
- ``closure_authority_levels``: who may order a closure (严禁擅自关闭高速公路收费站、服务区):
  a closure naming an authority of another level, or none, is unauthorised;
- ``[roads.task_hours]``: the hours the responsible unit has for each condition's task
  (``queue``, ``wait``, ``closure_unauthorised``); the task itself is ``command``'s kind
  ``road_alert`` (``[command.tasks.road_alert]``: ``deadline_hours = "source"``, these).

A bad, missing or unknown key is an error naming the pack, the section and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fangkong.command.rules import CommandRules
from fangkong.policy.sections import (
    SectionError,
    number_in,
    parsed_once,
    positive_number,
    reject_unknown,
    section_error,
    text_list,
    whole_number,
)

# who orders a closure, from the top (国务院联防联控机制 … a county's own headquarters)
AUTHORITY_LEVELS = ("national", "province", "city", "county", "township")
# the conditions that raise an alert, each owed as a task by the checkpoint's county
CONDITIONS = ("queue", "wait", "closure_unauthorised")
_KEYS = (
    "queue_limit_vehicles",
    "wait_limit_minutes",
    "wait_percentile",
    "report_stale_minutes",
    "throughput_window_minutes",
    "closure_authority_levels",
    "task_hours",
)


class RoadRulesError(SectionError):
    """The pack's ``[roads]`` section is missing a key or holds a bad value."""


@dataclass(frozen=True)
class RoadRules:
    queue_limit_vehicles: int
    wait_limit_minutes: int
    wait_percentile: float  # 1–100, nearest rank
    report_stale_minutes: int
    throughput_window_minutes: int
    closure_authority_levels: tuple[str, ...]
    task_hours: Mapping[str, float]  # condition → hours the unit has
    source: str = ""
    # the loaded pack (from_pack; None from a table alone): its [command] rules give the
    # road_alert task's ``automatic`` flag, read when a task is raised — not when this
    # section is checked, so a bad [command] is reported once, by its own parser
    pack: Any = field(default=None, compare=False, repr=False)

    @property
    def command(self) -> CommandRules | None:
        return None if self.pack is None else CommandRules.from_pack(self.pack)

    @classmethod
    def from_pack(cls, pack: Any) -> RoadRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> RoadRules:
        source = f"{pack.name} {pack.version}"
        table = pack.sections.get("roads")
        if not isinstance(table, Mapping):
            raise _error(source, "", "缺少 [roads] 节", "no [roads] section")
        return replace(cls.from_table(table, source), pack=pack)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str = "") -> RoadRules:
        def error(key: str, zh: str, en: str) -> RoadRulesError:
            return _error(source, key, zh, en)

        reject_unknown(table, _KEYS, "", error)
        for key in _KEYS:
            if key not in table:
                raise error(key, f"缺少 {key}", f"{key} is missing")
        hours = table["task_hours"]
        if not isinstance(hours, Mapping):
            raise error("task_hours", "应为表（每种情形的小时数）", "must be a table of hours")
        reject_unknown(hours, CONDITIONS, "task_hours", error)
        for c in CONDITIONS:
            if c not in hours:
                raise error(f"task_hours.{c}", f"缺少 task_hours.{c}", f"task_hours.{c} is missing")
        levels = text_list(table["closure_authority_levels"], "closure_authority_levels", error,
                           AUTHORITY_LEVELS)  # fmt: skip
        if not levels:
            raise error("closure_authority_levels", "至少应有一级有权决定关闭",
                        "at least one level must be able to order a closure")  # fmt: skip
        return cls(
            queue_limit_vehicles=whole_number(table["queue_limit_vehicles"],
                                              "queue_limit_vehicles", error, minimum=1),
            wait_limit_minutes=whole_number(table["wait_limit_minutes"], "wait_limit_minutes",
                                            error, minimum=1),
            wait_percentile=number_in(table["wait_percentile"], "wait_percentile", error, 1, 100),
            report_stale_minutes=whole_number(table["report_stale_minutes"],
                                              "report_stale_minutes", error, minimum=1),
            throughput_window_minutes=whole_number(table["throughput_window_minutes"],
                                                   "throughput_window_minutes", error, minimum=5),
            closure_authority_levels=levels,
            task_hours={c: positive_number(hours[c], f"task_hours.{c}", error)
                        for c in CONDITIONS},
            source=source,
        )  # fmt: skip


def _error(source: str, key: str, zh: str, en: str) -> RoadRulesError:
    return section_error(RoadRulesError, "policy.roads", source, "roads", key, zh, en)
