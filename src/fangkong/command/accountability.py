"""Accountability (守土有责): the county ranking and the 查漏补短 list, from ``timeliness``.

**Score** of a county: the mean of the shares *on time* of its components — tasks (on
time / decided: on time, late, open overdue) and each timeliness measure (on
time / decided: on time, late, overdue) — each component with at least one decided event
weighing the same (so a thousand contacts do not drown five case reports). A county with
no decided event has no score and ranks last. Ties: fewer missed (late + overdue) first,
then the code. docs/command.md states the same.

**Gaps** (查漏补短): the ten worst things now, by hours in excess — each open task past its
deadline, whenever the deadline fell (excess: hours since it; owner: its unit of origin
and role, and the unit that owes it now), and each county's measure with events late or
overdue in the period (excess: the worst delay beyond the target; owner: the county and
the measure's role).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from fangkong.auth.rights import ROLES
from fangkong.command.model import KIND, MEASURE, MEASURES
from fangkong.command.timeliness import (
    RegionTimeliness,
    Timeliness,
    event_outcome,
    hours,
    overdue_tasks,
)
from fangkong.store.schema import regions

GAPS = 10
# the role that answers for each measure in a county (its owner in the gap list)
MEASURE_ROLE: Mapping[str, str] = {
    "case_reported": "epidemiologist",
    "case_verified": "epidemiologist",
    "on_site": "epidemiologist",
    "core_facts": "contact_tracer",
    "report": "epidemiologist",
    "contacts_controlled": "quarantine_manager",
    "area_testing": "lab",
}


@dataclass(frozen=True)
class Rank:
    rank: int
    county: RegionTimeliness
    score: float | None  # 0..1
    components: int  # components with a decided event
    missed: int  # late + overdue, tasks and measures


@dataclass(frozen=True)
class Gap:
    kind: str  # "task" | "measure"
    what: str  # a task kind or a measure key
    region_code: str  # the owner: unit of origin, or the county
    region_name: str
    role: str | None
    excess_hours: float
    count: int  # tasks: 1; measures: events late or overdue
    task_id: int | None = None
    now_region_code: str | None = None  # a task's unit now (after escalation)


def score(c: RegionTimeliness) -> tuple[float | None, int]:
    shares = [c.tasks.share] + [c.measures[m.key].share for m in MEASURES]
    known = [s for s in shares if s is not None]
    return (sum(known) / len(known) if known else None), len(known)


def _missed(c: RegionTimeliness) -> int:
    return c.tasks.missed + sum(s.late + s.overdue for s in c.measures.values())


def ranking(t: Timeliness) -> list[Rank]:
    scored = [(c, *score(c), _missed(c)) for c in t.counties]
    scored.sort(key=lambda x: (x[1] is None, -(x[1] or 0.0), x[3], x[0].code))
    return [Rank(i + 1, c, s, n, m) for i, (c, s, n, m) in enumerate(scored)]


# what the ranking may be sorted by: its rows are counted per county (a province has a few
# dozen), not stored, so they are sorted here; empty values last either way
RANK_SORTS: dict[str, Callable[[Rank], Any]] = {
    "rank": lambda r: r.rank, "county": lambda r: r.county.name,
    "score": lambda r: r.score, "on_time": lambda r: r.county.tasks.on_time,
    "late": lambda r: r.county.tasks.late, "overdue": lambda r: r.county.tasks.open_overdue,
    "delay": lambda r: r.county.tasks.median_delay_hours,
}  # fmt: skip


def sort_ranks(ranks: Sequence[Rank], key: str | None, descending: bool) -> list[Rank]:
    """The ranking by a key of :data:`RANK_SORTS` (ties keep the rank order)."""
    if key not in RANK_SORTS:
        return list(ranks)
    value = RANK_SORTS[key]
    known = sorted((r for r in ranks if value(r) is not None), key=value, reverse=descending)
    return known + [r for r in ranks if value(r) is None]


def gaps(conn: Connection, t: Timeliness, limit: int = GAPS) -> list[Gap]:
    """The ``limit`` worst gaps now (largest excess first)."""
    names = {c.code: c.name for c in t.counties}
    out: list[Gap] = []
    for task in overdue_tasks(conn, [c.code for c in t.counties], t.now):
        if t.now > task.deadline_at:
            out.append(Gap("task", task.kind, task.origin, "", task.role,
                           round(hours(task.deadline_at, t.now), 2), 1, task.id,
                           task.region_code))  # fmt: skip
    for key, events in t.events.items():
        target = t.targets[key]
        worst: dict[str, tuple[float, int]] = {}
        for e in events:
            outcome, h = event_outcome(e, target, t.now)
            if outcome in ("late", "overdue"):
                w, n = worst.get(e.unit, (0.0, 0))
                worst[e.unit] = (max(w, h - target), n + 1)
        for unit, (excess, n) in worst.items():
            out.append(Gap("measure", key, unit, names.get(unit, unit), MEASURE_ROLE[key],
                           round(excess, 2), n))  # fmt: skip
    out.sort(key=lambda g: (-g.excess_hours, g.kind, g.what, g.region_code, g.task_id or 0))
    out = out[:limit]
    missing = {g.region_code for g in out if not g.region_name} | {
        g.now_region_code for g in out if g.now_region_code
    }
    found = _names(conn, {c for c in missing if c})
    return [
        Gap(g.kind, g.what, g.region_code, g.region_name or found.get(g.region_code, g.region_code),
            g.role, g.excess_hours, g.count, g.task_id, g.now_region_code)
        for g in out
    ]  # fmt: skip


def _names(conn: Connection, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = conn.execute(select(regions.c.code, regions.c.name).where(regions.c.code.in_(codes)))
    return {str(c): str(n) for c, n in rows}


# ---- labels and CSV --------------------------------------------------------------------


def role_label(role: str | None, lang: str) -> str:
    if role is None:
        return "本单位" if lang.startswith("zh") else "the unit"
    zh, en, _ = ROLES.get(role, (role, role, ()))
    return zh if lang.startswith("zh") else en


def what_label(g: Gap, lang: str) -> str:
    term = KIND.get(g.what) if g.kind == "task" else MEASURE.get(g.what)
    return term.label(lang) if term is not None else g.what


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def to_csv(t: Timeliness, ranks: Sequence[Rank], gap_list: Sequence[Gap], lang: str = "zh") -> str:
    """The ranking and the gap list as one CSV for the meeting (labels in ``lang``)."""
    zh = lang.startswith("zh")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["时段" if zh else "period", t.period.first.isoformat(), t.period.last.isoformat()])
    head = ["排名", "县区代码", "县区", "得分%", "逾期/超时", "任务按时", "任务超时完成",
            "任务逾期未完成", "任务延误中位数(小时)"] if zh else [
        "rank", "county code", "county", "score %", "missed", "tasks on time", "tasks late",
        "tasks open overdue", "task median delay (h)"]  # fmt: skip
    for m in MEASURES:
        label = m.label(lang)
        head += [f"{label} {'按时' if zh else 'on time'}", f"{label} {'事件' if zh else 'events'}",
                 f"{label} {'中位数(小时)' if zh else 'median (h)'}"]  # fmt: skip
    w.writerow(head)
    for r in ranks:
        c = r.county
        row = [r.rank, c.code, c.name, _pct(r.score), r.missed, c.tasks.on_time, c.tasks.late,
               c.tasks.open_overdue, _num(c.tasks.median_delay_hours)]  # fmt: skip
        for m in MEASURES:
            s = c.measures[m.key]
            row += [s.on_time, s.events, _num(s.median_hours)]
        w.writerow(row)
    w.writerow([])
    w.writerow(["查漏补短" if zh else "gaps"])
    w.writerow(["序号", "类别", "事项", "责任单位代码", "责任单位", "责任岗位", "超出(小时)",
                "件数", "任务号", "现办理单位"] if zh else [
        "#", "type", "what", "owner code", "owner", "role", "excess (h)", "count", "task",
        "owed now by"])  # fmt: skip
    for i, g in enumerate(gap_list, 1):
        kind = ("任务" if g.kind == "task" else "时效") if zh else g.kind
        w.writerow([i, kind, what_label(g, lang), g.region_code, g.region_name,
                    role_label(g.role, lang), _num(g.excess_hours), g.count, g.task_id or "",
                    g.now_region_code or ""])  # fmt: skip
    return buf.getvalue()
