"""The province loop (省级闭环): one simulated day at a time, the platform's own decisions
drive the twin and the platform's own jobs take what the day showed.

::

    00:00  clock ← the day's midnight
           adapter.orders(00:00): placements, sealed compounds, code gates   (the platform)
              │
              ▼
           twin.step(day)  ─▶ check-ins (refused at gates), clinics, pharmacies, travellers,
              │               its own samples (fever clinics), truth kept apart
              ▼
    24:00  logistics  the day's crossings hour by hour (passes checked, sample and go, the
                      closed loop), the checkpoints' reports, road status and its alerts
           arrivals   manifests, landing samples, transfers, the closed-loop job
           labs       campaign rounds, ordered tests, retests: sampled, resulted, resolved
                      (an individual positive registers a case; a pool orders retests)
           tracing    the new cases traced; close contacts and their contacts → codes;
                      each county's field teams record the steps of each case's
                      investigation (verified, on site, core facts, report) at the
                      simulated time each is done (``investigation.FieldDesk``)
           areas      suggested areas designated, due ones lifted; their campaigns planned
           testing    test orders for the people under management and key groups
           quarantine placements (surge), releases, discharges
           supply     markets' reports, days of supply and floors, deliveries planned for
                      the sealed areas and confirmed by the compounds' receipts
           care       the sealed compounds' urgent medical needs registered, transfers
                      planned and completed, overdue ones escalated
           warning    signals from the day, detection (alerts raised); each county's
                      officer on duty verifies, investigates and closes or dismisses
                      the alerts at the simulated time each is done (``AlertDesk``)
           command    tasks raised from what needs doing, closed when done, escalated
                      (the one escalation: alerts and the closed loop escalate here)
           codes      every code recomputed at 24:00
           command    the board's figures of the day (command_figures); with
                      ``briefings`` the day's briefings of the province and its cities
           clock ← the next midnight
              │
              └─▶ the next day's orders

Only the adapter and the desks in this package touch the twin; they use the platform's
service functions, the same the CLI and the API call.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sqlalchemy import Engine, func, select

from fangkong import clock
from fangkong.alerts.rules import AlertRules
from fangkong.command.briefing import write_daily
from fangkong.command.figures import FigureRules, run_figures
from fangkong.command.model import OPEN_STATUSES
from fangkong.command.raising import RaisingRules, forecast_run_out, raise_tasks
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_task_changes, command_tasks
from fangkong.command.tasks import escalate_overdue
from fangkong.demo.adapter import TwinAdapter
from fangkong.demo.alert_desk import AlertDesk
from fangkong.demo.areas import DayAreas, RiskAreaFeed
from fangkong.demo.arrivals import ArrivalDay, ArrivalsFeed
from fangkong.demo.care_desk import CareDay, CareDesk
from fangkong.demo.checkpoints import CheckpointDay, CheckpointDesk
from fangkong.demo.investigation import FieldDesk
from fangkong.demo.labs import LabDay, LabDesk
from fangkong.demo.quarantine import QuarantineDay, QuarantineFeed
from fangkong.demo.report import DayFigures, codes_by_colour
from fangkong.demo.supply_desk import SupplyDay, SupplyDesk
from fangkong.demo.tracing import DayCounts, TracingFeed
from fangkong.demo.warning import AlertFeed
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.recompute import recompute_all
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.testing.campaigns import plan_area_campaigns
from fangkong.testing.rules import TestingRules
from fangkong.testing.schedules import flag_missed, schedule_orders
from fangkong.testing.tables import tube_members, tubes
from fangkong.tracing.control import case_origins
from fangkong.tracing.tables import tracing_cases
from fangkong.twin.events import TRUTH_SCHEMA, DayEvents, EventWriter
from fangkong.twin.orders import Interventions
from fangkong.twin.registry import Registry
from fangkong.twin.scenario import Scenario
from fangkong.twin.sim import Twin

BY = "demo:loop"
T = TypeVar("T")
CAPABILITIES = ("twin", "arrivals", "testing", "tracing", "risk_areas", "quarantine",
                "warning", "command", "codes", "report", "logistics", "supply",
                "care")  # fmt: skip
SCREENING = ("campaign", "scheduled")


@dataclass
class LoopDay:
    """Everything the desks did on one simulated day, and the day's figures."""

    figures: DayFigures
    labs: LabDay
    traced: DayCounts
    areas: DayAreas
    rooms: QuarantineDay
    arrivals: ArrivalDay
    barred: int = 0
    steps: int = 0  # steps of investigations recorded (verified, on site, facts, report)
    checkpoints: CheckpointDay | None = None  # the freight desks (issue 20)
    supply: SupplyDay | None = None
    care: CareDay | None = None


@dataclass
class ProvinceLoop:
    """The platform and the twin, day by day (see the module docstring)."""

    engine: Engine
    ctx: CodeContext
    registry: Registry
    scenario: Scenario
    seed: int
    folder: Path  # the run's events (Parquet by day) and truth go here
    history_days: int = 28  # quiet days of signals before the outbreak (detectors' baseline)
    days: list[LoopDay] = field(default_factory=list)
    # False: the twin's event tables are not written to ``folder`` (``fangkong evaluate``
    # needs only the truth, which the loop keeps in memory either way: ``truth()``)
    write_events: bool = True
    on_events: Callable[[DayEvents], None] | None = None  # sees each day's events (evaluate)
    # True: each day's briefings (the province and its cities) are written as the command
    # would the next morning (``fangkong demo``; tests and ``evaluate`` leave them out)
    briefings: bool = False

    def __post_init__(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.tz = ZoneInfo(self.scenario.run.timezone)
        self.start = self.scenario.run.start_date
        with clock.frozen(self.midnight(0)):  # set up on the province's first day
            self._set_up()

    def _set_up(self) -> None:
        # the twin's own routine tests are off: the platform orders key groups' tests
        self.twin = Twin.from_registry(self.registry, self.scenario, seed=self.seed,
                                       routine_tests=False)  # fmt: skip
        self.adapter = TwinAdapter(self.engine, self.ctx, self.twin, self.registry)
        ids = self.adapter.ids
        # the quarantine desk makes the province's facilities and sites before the arrivals
        # desk looks for rooms to send travellers to; the checkpoint desk gives every twin
        # checkpoint a venue before the arrivals desk makes its teams at the points
        self.rooms = QuarantineFeed.build(self.engine, self.ctx, self.seed)
        self.checkpoints = CheckpointDesk(self.engine, self.ctx, self.twin, self.registry,
                                          self.start, self.tz, self.folder.parent)  # fmt: skip
        self.arrivals = ArrivalsFeed(self.engine, self.ctx, self.registry, self.start, self.tz)
        self.supply = SupplyDesk(self.engine, self.ctx, self.twin, self.registry, self.start,
                                 self.tz)  # fmt: skip
        self.care = CareDesk(self.engine, self.ctx, self.adapter, self.registry, self.start,
                             self.tz)  # fmt: skip
        self.testing_rules = TestingRules.from_pack(self.ctx.pack)
        self.seal_levels = RiskAreaRules.from_pack(self.ctx.pack).seal_levels
        self.figure_rules = FigureRules.from_pack(self.ctx.pack, self.tz)
        self.command_rules = CommandRules.from_pack(self.ctx.pack)
        self.labs = LabDesk(self.engine, self.ctx, self.registry, self.adapter, self.twin,
                            self.start, self.tz, seed=self.seed)  # fmt: skip
        self.tracing = TracingFeed(self.engine, self.ctx, self.twin, self.registry, ids=ids,
                                   recompute=False)  # fmt: skip
        self.investigators = FieldDesk(self.engine)
        self.duty = AlertDesk(self.engine)  # answers the alerts (verify, investigate)
        self.areas = RiskAreaFeed(self.engine, self.ctx)
        self.warning = AlertFeed.build(self.engine, AlertRules.from_pack(self.ctx.pack),
                                       self.registry, self.scenario)  # fmt: skip
        if self.history_days:
            self.warning.history(self.registry, self.scenario, self.seed, self.history_days,
                                 detect=False)  # fmt: skip
        self.seconds: dict[str, float] = dict.fromkeys(CAPABILITIES, 0.0)
        self._writer = EventWriter(self.folder) if self.write_events else None
        self._truth: list[pa.Table] = []  # each day's new infections (the twin's truth)
        self._counted: set[int] = set()  # cases already counted on an earlier day
        # tasks, closed tasks and escalations in the store before the first day (none in a
        # new province): each day's counts are the growth of these
        self._task_totals = (0, 0, 0)
        # everyone in the registry has a code from the start (green unless facts say else)
        recompute_all(self.engine, self.ctx, self.midnight(0), trigger="day")

    def midnight(self, day: int) -> datetime:
        local = datetime.combine(self.start + timedelta(days=day), time(0), self.tz)
        return local.astimezone(UTC)

    def _timed(self, name: str, fn: Callable[[], T]) -> T:
        tic = perf_counter()
        try:
            return fn()
        finally:
            self.seconds[name] += perf_counter() - tic

    # ---- the day -----------------------------------------------------------------------

    def step(self) -> LoopDay:
        """Run the next simulated day (see the module docstring)."""
        day = len(self.days)
        before = dict(self.seconds)
        t0, t1 = self.midnight(day), self.midnight(day + 1)
        clock.set_replay(self.engine, t0, by=BY)
        with clock.frozen(t0):  # the system's clock is the replay's, whatever the setting
            orders = self._timed("twin", lambda: self.adapter.orders(t0, day))
            orders.interventions = self._logistics_orders(orders.interventions)
            events = self._timed("twin", lambda: self.twin.step(day, orders.interventions))
            self._truth.append(events.truth)
            if self._writer is not None:
                writer = self._writer
                self._timed("twin", lambda: writer.write(events))
            if self.on_events is not None:
                self.on_events(events)
        with clock.frozen(t1):
            done = self._platform_day(day, events, orders, t0, t1)
        clock.set_replay(self.engine, t1, by=BY)
        done.figures.seconds = {k: self.seconds[k] - before[k] for k in CAPABILITIES}
        self.days.append(done)
        return done

    def _logistics_orders(self, iv: Interventions) -> Interventions:
        """The freight desks' decisions for the twin: drivers under the closed loop,
        deliveries to sealed compounds, green-channel transfers."""
        manage, release = self.checkpoints.orders()
        return replace(iv, manage_drivers=manage, release_drivers=release,
                       deliveries=self.supply.orders(), transfers=self.care.orders())  # fmt: skip

    def _platform_day(
        self, day: int, events: DayEvents, orders: Any, t0: datetime, t1: datetime
    ) -> LoopDay:
        """The platform's jobs at the end of the day (the module docstring's 24:00)."""
        managed = np.zeros(len(self.adapter.ids), np.bool_)
        managed[sorted(self.adapter.told.isolated | self.adapter.told.home)] = True
        crossed = self._timed("logistics", lambda: self.checkpoints.day(events))
        arrived = self._timed("arrivals", lambda: self.arrivals.day(events))
        self.labs.external(self.checkpoints.results())
        labs = self._timed("testing", lambda: self.labs.day(events))
        traced = self._timed("tracing", lambda: self.tracing.feed(events, t1))
        steps = self._timed("tracing", lambda: self.investigators.day(t1))
        areas = self._timed("risk_areas", lambda: self.areas.day(t1))
        self._timed("testing", lambda: self._plan_tests(t1))
        rooms = self._timed("quarantine", lambda: self.rooms.day(t1))
        supplied = self._timed("supply", lambda: self.supply.day(events))
        cared = self._timed("care", lambda: self.care.day(events))
        new_cases = self._timed("report", lambda: self._new_cases(t0, t1))
        self._timed("warning", lambda: self.warning.day(events, managed, new_cases))
        self._timed("warning", lambda: self.duty.day(t1))
        tasks = self._timed("command", lambda: self._tasks(t1))
        self._timed("codes", lambda: recompute_all(self.engine, self.ctx, t1, trigger="day"))
        # the board's figures of the day, as it stood at 24:00 (command centre)
        self._timed(
            "command",
            lambda: run_figures(
                self.engine, self.figure_rules, day=self.start + timedelta(days=day), at=t1
            ),
        )
        if self.briefings:
            self._timed(
                "command",
                lambda: write_daily(self.engine, self.command_rules,
                                    day=self.start + timedelta(days=day), at=t1, tz=self.tz),
            )  # fmt: skip
        figures = self._timed("report", lambda: self._figures(events, orders, t1))
        figures.tasks = tasks
        return LoopDay(figures, labs, traced, areas, rooms, arrived, orders.barred, steps,
                       crossed, supplied, cared)  # fmt: skip

    def _tasks(self, at: datetime) -> dict[str, int]:
        """Tasks raised from the day's sources (a forecast shortage included), closed when
        their source is resolved, escalated when overdue; the day's counts — of every
        task of the day, those the freight, supply and care desks raised, closed and
        escalated through the day included (read from the tables, not from this job)."""
        rules = RaisingRules.from_context(self.ctx)
        t, ch = command_tasks.c, command_task_changes.c
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            run_out = forecast_run_out(conn, self.ctx.pack, self.tz, at=at)
            raise_tasks(conn, rules, at=at, run_out=run_out)
            escalate_overdue(conn, rules.command, at=at)
            total, still, closed = conn.execute(select(
                func.count(),
                func.count().filter(t.status.in_(OPEN_STATUSES)),
                func.count().filter(t.status.not_in(OPEN_STATUSES)),
            ).select_from(command_tasks)).one()  # fmt: skip
            escalations = conn.execute(select(func.count()).select_from(command_task_changes)
                                       .where(ch.to_region.is_not(None))).scalar_one()  # fmt: skip
        before = self._task_totals
        self._task_totals = (int(total), int(closed), int(escalations))
        return {"raised": int(total) - before[0], "closed": int(closed) - before[1],
                "escalated": int(escalations) - before[2], "open": int(still)}  # fmt: skip

    def _plan_tests(self, at: datetime) -> None:
        """Campaign rounds for newly designated areas; orders for the people under
        management and key groups (the pack's schedules); missed orders flagged."""
        plan_area_campaigns(self.engine, self.testing_rules, by=BY, at=at)
        schedule_orders(self.engine, self.testing_rules, tz=self.tz, by=BY, at=at)
        flag_missed(self.engine, at=at)

    def _new_cases(
        self, t0: datetime, t1: datetime
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Twin rows of the cases registered today, and of those found by screening."""
        c, t, m = tracing_cases.c, tubes.c, tube_members.c
        with self.engine.connect() as conn:
            pids = [int(p) for p in conn.execute(
                select(c.person_id).where(c.registered_at > t0, c.registered_at <= t1)
            ).scalars()]  # fmt: skip
            screened = {int(p) for p in conn.execute(
                select(m.person_id).join(tubes, t.id == m.tube_id)
                .where(m.person_id.in_(pids), t.purpose.in_(SCREENING), t.pool_size == 1,
                       t.collected_at <= t1)
            ).scalars()} if pids else set()  # fmt: skip
        return self.adapter.rows(pids), self.adapter.rows(sorted(screened))

    def _figures(self, events: DayEvents, orders: Any, at: datetime) -> DayFigures:
        f = DayFigures(
            day=events.day,
            date=self.start + timedelta(days=events.day),
            infections=events.truth.num_rows,
            checkins=events.checkins.num_rows,
            refused_scans=events.refused_scans.num_rows,
            isolated=orders.isolated,
            home=orders.home,
            sealed_residents=orders.sealed_residents,
        )
        with self.engine.connect() as conn:
            registered = conn.execute(select(func.count()).select_from(tracing_cases)).scalar_one()
        # the origins (samples, placements, sealed spans) are read only on a day with new cases
        origins = (
            case_origins(self.engine, self.seal_levels) if registered > len(self._counted) else []
        )
        for o in origins:
            if o.person_id in self._counted or o.registered_at > at:
                continue
            self._counted.add(o.person_id)
            f.confirmed += 1
            f.under_control += o.under_control
        f.community = f.confirmed - f.under_control
        f.codes = codes_by_colour(self.engine)
        return f

    def run(self, days: int, on_day: Callable[[LoopDay], None] | None = None) -> list[LoopDay]:
        """Run ``days`` more days, then finish writing the twin's events."""
        try:
            for _ in range(days):
                done = self.step()
                if on_day is not None:
                    on_day(done)
        finally:
            self.close()
        return self.days

    def close(self) -> None:
        """Wait for the twin's events of the last day to be written (after ``step``s)."""
        if self._writer is not None:
            self._writer.close()

    def truth(self) -> pa.Table:
        """Every infection of the run so far (the columns of ``score.read_truth``)."""
        return truth_table(self._truth)


def truth_table(days: list[pa.Table]) -> pa.Table:
    """Days of ``DayEvents.truth`` as one table with the columns ``read_truth`` gives."""
    columns = ["infectee", "infector", "day", "setting", "venue_code", "onset_day",
               "asymptomatic"]  # fmt: skip
    if not days:
        return TRUTH_SCHEMA.empty_table().select(columns)
    return pa.concat_tables([t.select(columns) for t in days])
