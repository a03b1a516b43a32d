"""The twin's urgent medical needs in sealed compounds through the care register: the
medical-needs desk.

The twin reports, through the day, the urgent medical needs of residents of its sealed
compounds (``medical_needs``: dialysis, chemotherapy, antenatal checks, chronic
medication, emergencies, each with the clinical deadline the twin knows); whether each was
met in time is its truth (``truth_needs``). ``CareDesk`` plays the area's grid workers
and the green-channel dispatcher with ``fangkong.care.service``:

1. **set-up**: a designated ward (buffer ward, 缓冲病区) at each registry hospital
   (``save_ward``), taking every kind the pack sends to a ward;
2. **each need**, at the time it is reported: ``register_need`` (a command task with
   it); ``RESPONSE_MINUTES`` later ``plan_transfer`` (a free closed-loop vehicle and a
   ward; retried every ``RETRY_MINUTES`` while none is free, late if it must be),
   ``start_transfer`` at departure and ``complete_transfer`` at arrival; a kind without a
   ward (medicines) is completed at the door ``RESPONSE_MINUTES`` × 2 after the report;
3. **at midnight**: ``escalate_overdue`` (the care register's own pace);
4. **the twin**: each completed transfer meets the twin's need at its arrival time
   (``Interventions.transfers``), so the truth says whether the platform met it in time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from fangkong.care.errors import NeedInvalid, NoTransfer
from fangkong.care.rules import CareRules
from fangkong.care.service import (
    complete_transfer,
    escalate_overdue,
    plan_transfer,
    register_need,
    start_transfer,
)
from fangkong.care.wards import WardIn, save_ward
from fangkong.demo.adapter import TwinAdapter
from fangkong.healthcode.context import CodeContext
from fangkong.twin.events import DayEvents
from fangkong.twin.registry import Registry

BY = "twin:care"
RESPONSE_MINUTES = 15.0  # the grid worker's report → the dispatcher plans
RETRY_MINUTES = 30.0  # no vehicle or bed free: tried again this much later
RETRIES = 8
WARD_BEDS = 200

# a refused try's problem code, in words (the summary is read by people); a need is tried
# again, the last try planned late on purpose
_REFUSAL = {
    "care.no_ward": "无空床 tries with no free bed",
    "care.no_vehicle": "无可用车辆 tries with no free vehicle",
    "care.too_late": "赶不及时限 tries too late",
}


@dataclass
class CareDay:
    """What the medical-needs desk did on one simulated day."""

    day: int
    registered: int = 0
    refused: int = 0  # the register refused (the person lives in no area it serves)
    planned: int = 0
    late_plans: int = 0
    completed: int = 0
    no_transfer: int = 0  # still open: no vehicle or bed within the retries
    escalated: int = 0
    met_in_time: int = 0  # truth, resolved today
    met_late: int = 0
    missed: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f" │ 就医 care 需求 needs {self.registered:>2,} 转运 transfers {self.completed:>2,}"
            f" 逾期上报 escalated {self.escalated:>2,} 真值按时 in time {self.met_in_time:>2,}"
            f" 迟 late {self.met_late:>2,} 漏 missed {self.missed:>2,}"
        )


@dataclass
class CareDesk:
    engine: Engine
    codes: CodeContext
    adapter: TwinAdapter
    registry: Registry
    start: date
    tz: ZoneInfo
    days: list[CareDay] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.rules = CareRules.from_pack(self.codes.pack)
        self._orders: list[tuple[int, int]] = []
        self._set_up()

    def _set_up(self) -> None:
        at = datetime.combine(self.start, time(0), self.tz).astimezone(UTC)
        kinds = tuple(k for k, v in self.rules.kinds.items() if v.ward)
        v = self.registry.venues
        for code, name, vtype, region, lat, lon in zip(
            v["code"].to_pylist(), v["name"].to_pylist(), v["type"].to_pylist(),
            v["region_code"].to_pylist(), v["latitude"].to_pylist(), v["longitude"].to_pylist(),
            strict=True,
        ):  # fmt: skip
            if vtype != "hospital" or not lat or not lon:
                continue
            save_ward(self.engine, WardIn(
                code=f"W-{code}", hospital=name, name="缓冲病区 buffer ward", region_code=region,
                latitude=float(lat), longitude=float(lon), kinds=kinds, beds=WARD_BEDS,
                beds_free=WARD_BEDS, buffer=True, venue_code=code), by=BY, at=at)  # fmt: skip

    # ---- the twin's orders -------------------------------------------------------------

    def orders(self) -> list[tuple[int, int]]:
        """The twin's needs met: (need, epoch seconds of the hand-over)."""
        out, self._orders = self._orders, []
        return out

    # ---- the day -----------------------------------------------------------------------

    def day(self, events: DayEvents) -> CareDay:
        tic = perf_counter()
        d = CareDay(events.day)
        for need in sorted(events.medical_needs.to_pylist(), key=lambda r: r["reported_at"]):
            self._need(d, need)
        end = datetime.combine(self.start + timedelta(days=events.day + 1), time(0), self.tz)
        sweep = escalate_overdue(self.engine, end.astimezone(UTC), self.rules, by=BY)
        d.escalated = len(sweep.escalated)
        outcomes = Counter(str(o) for o in events.truth_needs["outcome"].to_pylist()) if (
            events.truth_needs.num_rows) else Counter[str]()  # fmt: skip
        d.met_in_time, d.met_late, d.missed = (outcomes[k] for k in
                                               ("met_in_time", "met_late", "missed"))  # fmt: skip
        d.seconds = perf_counter() - tic
        self.days.append(d)
        return d

    def _need(self, d: CareDay, need: dict[str, Any]) -> None:
        pid = int(self.adapter.ids[int(need["person"])])
        kind = str(need["kind"])
        if not pid or kind not in self.rules.kinds:
            d.refused += 1
            return
        at = need["reported_at"]
        try:
            need_id = register_need(self.engine, self.rules, person_id=pid, kind=kind,
                                    detail=f"twin need {need['need']}", by=BY, at=at)  # fmt: skip
        except NeedInvalid as exc:
            d.refused += 1
            self.refusals[exc.problem.code] += 1
            return
        d.registered += 1
        when = at + timedelta(minutes=RESPONSE_MINUTES)
        if not self.rules.kinds[kind].ward:
            done = when + timedelta(minutes=RESPONSE_MINUTES)
            complete_transfer(self.engine, self.rules, need_id, outcome="treated_at_home",
                              note="送药上门 medicines at the door", by=BY, at=done)  # fmt: skip
            self._met(d, int(need["need"]), done)
            return
        for k in range(RETRIES):
            try:
                plan = plan_transfer(self.engine, self.rules, need_id, by=BY, at=when,
                                     allow_late=k == RETRIES - 1)  # fmt: skip
            except NoTransfer as exc:
                self.refusals[exc.problem.code] += 1
                when += timedelta(minutes=RETRY_MINUTES)
                continue
            d.planned += 1
            d.late_plans += plan.late
            start_transfer(self.engine, need_id, by=BY, at=plan.departs_at)
            complete_transfer(self.engine, self.rules, need_id, outcome="admitted", by=BY,
                              at=plan.arrives_at)  # fmt: skip
            self._met(d, int(need["need"]), plan.arrives_at)
            return
        d.no_transfer += 1

    def _met(self, d: CareDay, need: int, at: datetime) -> None:
        d.completed += 1
        self._orders.append((need, int(at.timestamp())))

    # ---- the end -----------------------------------------------------------------------

    def summary(self) -> list[str]:
        t = Counter[str]()
        for d in self.days:
            for k in (
                "registered",
                "refused",
                "planned",
                "late_plans",
                "completed",
                "no_transfer",
                "escalated",
                "met_in_time",
                "met_late",
                "missed",
            ):
                t[k] += getattr(d, k)  # fmt: skip
        why = ", ".join(f"{_REFUSAL.get(k, k)} {v:,}" for k, v in sorted(self.refusals.items()))
        why = why or "–"
        return [
            f"就医保障 care: 急需就医登记 needs registered {t['registered']:,} (未受理 refused "
            f"{t['refused']:,}); 绿色通道转运 transfers planned {t['planned']:,} (迟于时限 late "
            f"{t['late_plans']:,}), 办结 completed {t['completed']:,}, 无车无床 none free "
            f"{t['no_transfer']:,}; 逾期上报 escalated {t['escalated']:,}; 原因 reasons {why}",
            f"真值核对 truth: 按时满足 met in time {t['met_in_time']:,}, 迟 met late "
            f"{t['met_late']:,}, 未满足 missed {t['missed']:,}; 用时 time "
            f"{sum(d.seconds for d in self.days):.1f} s",
        ]
