"""The command centre's vocabularies (指挥调度词汇), every value with a zh and an en label.

People read every value the board, the briefing and the task lists show, so nothing is
printed raw: a page looks the key up here. Pure data; importing it costs nothing.

- ``TASK_KINDS`` — what a task was raised from (its ``source_type`` names the table);
- ``TASK_STATUSES`` — the stored status; *missed* (逾期) is derived, never stored:
  a task closed after its deadline, or still open (open/acknowledged/in_progress)
  past its deadline (``is_missed``);
- ``FIGURES`` — the board's figure keys, as kept in ``command_figures``;
- ``MEASURES`` — the timeliness measures of the protocol (四早, "2+4+24").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Term:
    """A value people read: its stored ``key`` and its Chinese and English labels."""

    key: str
    zh: str
    en: str

    def label(self, lang: str) -> str:
        return self.zh if lang.startswith("zh") else self.en


@dataclass(frozen=True)
class TaskKind(Term):
    """A kind of task; ``source_type`` is what its ``source_id`` points at (None: manual)."""

    source_type: str | None = None


TASK_KINDS: tuple[TaskKind, ...] = (
    TaskKind("alert", "预警处置", "alert to handle", "alert"),
    TaskKind("closed_loop_overdue", "闭环环节超时", "arrivals stage overdue", "arrival"),
    TaskKind("awaiting_placement", "密接待安置", "contacts awaiting placement", "region_day"),
    TaskKind("area_need", "封控区居民需求", "sealed area's need", "risk_area_need"),
    TaskKind("late_tubes", "样本送检超时", "late tubes", "region_day"),
    TaskKind("lifting_due", "风险区到期解封", "risk area due for lifting", "risk_area"),
    TaskKind("capacity_shortage", "隔离资源预测短缺", "forecast capacity shortage", "region_day"),
    TaskKind("manual", "指挥部交办", "set by a commander", None),
)  # fmt: skip
# issue 20: a region's days of supply of a necessity below the pack's floor (supply)
TASK_KINDS += (TaskKind("supply_floor", "民生物资低于保供底线", "necessities below the floor",
                        "supply_alert"),)  # fmt: skip
KIND = {k.key: k for k in TASK_KINDS}
# source types: the row a task is raised from (region_day: "<region code>/<ISO date>")
SOURCE_TYPES: tuple[str, ...] = ("alert", "arrival", "region_day", "risk_area_need", "risk_area")
SOURCE_TYPES += ("supply_alert",)  # issue 20: supply_alerts.id

TASK_STATUSES: tuple[Term, ...] = (
    Term("open", "待办", "open"),
    Term("acknowledged", "已签收", "acknowledged"),
    Term("in_progress", "处理中", "in progress"),
    Term("done", "已完成", "done"),
    Term("cancelled", "已取消", "cancelled"),
)
STATUS = {s.key: s for s in TASK_STATUSES}
OPEN_STATUSES = ("open", "acknowledged", "in_progress")  # still owed by the unit
CLOSED_STATUSES = ("done", "cancelled")
# the moves a unit may make; cancelled is the commander's (task.assign), not the unit's
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("acknowledged", "in_progress", "done", "cancelled"),
    "acknowledged": ("in_progress", "done", "cancelled"),
    "in_progress": ("done", "cancelled"),
    "done": (),
    "cancelled": (),
}
MISSED = Term("missed", "逾期", "missed")  # derived: see is_missed
ON_TIME = Term("on_time", "按时", "on time")
LATE = Term("late", "超时完成", "done late")


def is_missed(
    status: str, deadline_at: datetime, closed_at: datetime | None, now: datetime
) -> bool:
    """Missed (逾期): done after the deadline, or still open past it. A cancelled task
    is never missed (the commander withdrew it)."""
    if status == "cancelled":
        return False
    if status == "done":
        return closed_at is not None and closed_at > deadline_at
    return now > deadline_at


@dataclass(frozen=True)
class Figure(Term):
    """A figure of the board; ``group`` is the tile it belongs to, ``unit`` how it reads
    (count, percent, days, beds)."""

    group: str = ""
    unit: str = "count"


def _f(key: str, zh: str, en: str, group: str, unit: str = "count") -> Figure:
    return Figure(key, zh, en, group, unit)


FIGURE_GROUPS: tuple[Term, ...] = (
    Term("cases", "确诊病例", "confirmed cases"),
    Term("contacts", "密切接触者", "close contacts"),
    Term("quarantine", "隔离资源", "quarantine capacity"),
    Term("risk_areas", "风险区", "risk areas"),
    Term("testing", "核酸检测", "testing"),
    Term("arrivals", "来返人员闭环", "arrivals closed loop"),
    Term("codes", "健康码", "health codes"),
    Term("work", "预警与任务", "alerts and tasks"),
)

FIGURES: tuple[Figure, ...] = (
    _f("cases.new", "新增确诊", "new confirmed", "cases"),
    _f("cases.cumulative", "累计确诊", "cumulative confirmed", "cases"),
    _f("cases.found_controlled", "管控中发现", "found under control", "cases"),
    _f("cases.found_community", "社会面发现", "found in the community", "cases"),
    _f("contacts.identified", "密接已判定", "contacts identified", "contacts"),
    _f("contacts.placed", "密接已集中隔离", "contacts placed", "contacts"),
    _f("contacts.home_orders", "密接居家隔离", "contacts under home orders", "contacts"),
    _f("contacts.awaiting", "密接待安置", "contacts awaiting placement", "contacts"),
    _f("contacts.overdue", "密接超24小时未管控", "contacts overdue (24 h)", "contacts"),
    # occupancy and capacity per facility kind: hotel, standby, fangcang (…_<kind>)
    _f("quarantine.occupied_hotel", "隔离酒店在住", "hotel rooms occupied", "quarantine",
       "beds"),
    _f("quarantine.capacity_hotel", "隔离酒店容量", "hotel rooms", "quarantine", "beds"),
    _f("quarantine.occupied_standby", "备用场所在住", "standby sites occupied", "quarantine",
       "beds"),
    _f("quarantine.capacity_standby", "备用场所容量", "standby site capacity", "quarantine",
       "beds"),
    _f("quarantine.occupied_fangcang", "方舱在住", "fangcang beds occupied", "quarantine",
       "beds"),
    _f("quarantine.capacity_fangcang", "方舱容量", "fangcang beds", "quarantine", "beds"),
    _f("quarantine.days_left", "资源可支撑天数", "days of capacity left", "quarantine",
       "days"),
    _f("risk_areas.high", "高风险区", "high-risk areas", "risk_areas"),
    _f("risk_areas.medium", "中风险区", "medium-risk areas", "risk_areas"),
    _f("risk_areas.low", "低风险区", "low-risk areas", "risk_areas"),
    # the nearest lifting of an area at the level, in days (absent: no area the pack lifts)
    _f("risk_areas.high_days_to_lift", "高风险区最近解封（天）",
       "days to the next high-risk lifting", "risk_areas", "days"),
    _f("risk_areas.medium_days_to_lift", "中风险区最近解封（天）",
       "days to the next medium-risk lifting", "risk_areas", "days"),
    # coverage is kept per region as computed there: a share does not add up, its parts do
    _f("testing.campaign_persons", "区域核酸应检人数", "persons to test", "testing"),
    _f("testing.campaign_tested", "区域核酸已检人数", "persons tested", "testing"),
    _f("testing.coverage", "区域核酸覆盖率", "campaign coverage", "testing", "percent"),
    _f("testing.late_tubes", "超时样本管数", "late tubes", "testing"),
    _f("arrivals.registered", "已登记", "travellers registered", "arrivals"),
    _f("arrivals.sampled", "已落地检测", "sampled on landing", "arrivals"),
    _f("arrivals.boarded", "已登车转运", "boarded for transfer", "arrivals"),
    _f("arrivals.handed_over", "已交接", "handed over", "arrivals"),
    _f("arrivals.managed", "管控中", "under management", "arrivals"),
    _f("arrivals.overdue", "闭环超时", "overdue in the loop", "arrivals"),
    _f("codes.green", "绿码", "green codes", "codes"),
    _f("codes.yellow", "黄码", "yellow codes", "codes"),
    _f("codes.red", "红码", "red codes", "codes"),
    _f("work.alerts_open", "未结预警", "open alerts", "work"),
    _f("work.tasks_open", "未完成任务", "open tasks", "work"),
    _f("work.tasks_due_today", "今日到期任务", "tasks due today", "work"),
    _f("work.tasks_overdue", "逾期任务", "overdue tasks", "work"),
)  # fmt: skip
FIGURE = {f.key: f for f in FIGURES}


def beyond(value: float | None, bound: float | None) -> bool:
    """Whether a figure's ``value`` lies past its ``bound`` (None: unbounded); such a value
    is read "> bound" (days of capacity left past the pack's ``days_left_horizon``)."""
    return value is not None and bound is not None and value > bound


# hotel: open hotels; standby: facilities on standby or activating (备用转启用), any kind;
# fangcang: open fangcang (方舱) — quarantine.rules FACILITY_KINDS and FACILITY_STATUSES
CAPACITY_KINDS = ("hotel", "standby", "fangcang")


@dataclass(frozen=True)
class Measure(Term):
    """A timeliness measure (及时性): from ``start`` to ``end``, both stored events."""

    start: str = ""
    end: str = ""


MEASURES: tuple[Measure, ...] = (
    Measure("case_reported", "阳性后2小时内网络直报", "case reported ≤ 2 h after the positive",
            "positive result", "case reported"),
    Measure("case_verified", "报告后2小时内审核", "verified ≤ 2 h after the report",
            "case reported", "case verified"),
    Measure("on_site", "2小时内到达现场", "investigation team on site ≤ 2 h",
            "case reported", "team on site"),
    Measure("core_facts", "4小时内查清核心信息", "core facts ≤ 4 h",
            "case reported", "core facts recorded"),
    Measure("report", "24小时内完成流调报告", "investigation report ≤ 24 h",
            "case reported", "report written"),
    Measure("contacts_controlled", "24小时内密接管控到位", "contacts under control ≤ 24 h",
            "case reported", "contact placed or under a home order"),
    Measure("area_testing", "24小时内完成区域核酸", "area mass testing finished ≤ 24 h",
            "campaign started", "campaign finished"),
)  # fmt: skip
MEASURE = {m.key: m for m in MEASURES}
