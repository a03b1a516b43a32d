"""Quarantine in ``fangkong demo``: facilities for the twin's province, then the
platform's own jobs each day (the province loop will call the same jobs).

    build   facilities and candidate sites from the generator (``generate``: per county
            the pack's norm of open rooms and standby hotels beyond it, fangcang and
            designated hospitals per city), saved through ``save_facility`` / ``save_site``
    day     ``run_releases`` (the schedule's tests from single-tube results; periods
            over released when their final negative is there — nothing is faked: without
            results a placement waits for its test), ``run_discharges`` (cases meeting the
            pack's criterion), ``run_intake`` (everyone due placed along the surge ladder)
    summary rooms used and readiness per county (``capacity_by_region``)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from time import perf_counter

from sqlalchemy import Engine, select

from fangkong.demo.facilities import generate
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.discharge import run_discharges
from fangkong.quarantine.facilities import save_facility
from fangkong.quarantine.intake import run_intake
from fangkong.quarantine.readiness import capacity_by_region
from fangkong.quarantine.releases import run_releases
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.survey import save_site
from fangkong.quarantine.tables import quarantine_placements

BY = "demo:quarantine"


@dataclass(frozen=True)
class QuarantineDay:
    placed: int  # in rooms
    no_room: int  # due for a room and without one (awaiting or overdue)
    activated: int  # standby facilities and fangcang called today
    released: int
    converted: int
    occupied: int  # rooms held now
    home: int = 0  # home orders (contacts of contacts, home fallback)
    overdue: int = 0
    waiting_test: int = 0  # past the period's end without the test the pack needs
    discharged: int = 0


class QuarantineFeed:
    def __init__(self, engine: Engine, ctx: CodeContext, rules: QuarantineRules) -> None:
        self.engine, self.ctx, self.rules = engine, ctx, rules
        self.facilities = 0
        self.rooms = 0
        self.seconds = 0.0  # spent in the jobs

    @classmethod
    def build(cls, engine: Engine, ctx: CodeContext, seed: int = 1) -> QuarantineFeed:
        feed = cls(engine, ctx, QuarantineRules.from_pack(ctx.pack))
        facilities, sites = generate(engine, feed.rules, seed=seed)
        for f in facilities:
            feed.rooms += save_facility(engine, f, by=BY)[2]
        for s in sites:
            save_site(engine, s, by=BY)
        feed.facilities = len(facilities)
        return feed

    def day(self, at: datetime) -> QuarantineDay:
        """The day's jobs at ``at``: releases, discharges, intake."""
        tic = perf_counter()
        released = run_releases(self.engine, self.ctx, self.rules, at=at, by=BY)
        discharged = run_discharges(self.engine, self.ctx, self.rules, at=at, by=BY)
        intake = run_intake(self.engine, self.ctx, self.rules, at=at, by=BY,
                            every=timedelta(days=1))  # fmt: skip
        self.seconds += perf_counter() - tic
        q = quarantine_placements.c
        with self.engine.connect() as conn:
            held = select(q.booking_id).where(q.active.is_(True), q.booking_id.is_not(None))
            occupied = len(conn.execute(held.distinct()).all())
        return QuarantineDay(
            placed=intake.placed_total,
            no_room=intake.awaiting + intake.overdue + intake.cases_waiting,
            activated=intake.standby_activated + intake.fangcang_activated,
            released=released.released,
            converted=released.converted,
            occupied=occupied,
            home=intake.home_orders,
            overdue=intake.overdue,
            waiting_test=released.waiting_test,
            discharged=discharged.discharged,
        )

    def summary(self, at: datetime) -> list[str]:
        """Readiness per county against the pack's norm, as the readiness page shows it."""
        rows = capacity_by_region(self.engine, self.rules, at=at)
        norm = self.rules.readiness.rooms_per_10000
        lines = [
            f"\n[bold]集中隔离 quarantine[/bold]: {self.facilities} 场所 facilities, "
            f"{self.rooms:,} 间 rooms; 规范 norm {norm:g} 间/万人 rooms per 10,000 "
            f"(网页 page /quarantine); 安置作业用时 jobs {self.seconds:.1f} s"
        ]
        for r in rows:
            per = "—" if r.per_10000 is None else f"{r.per_10000:.1f}"
            left = "—" if r.days_left is None else f"{r.days_left:.1f}"
            lines.append(
                f"  {r.region_code} {r.name}: 房间 rooms {r.rooms:,} / 规范 norm "
                f"{r.norm_rooms:,.0f} ({per} 每万人 per 10,000, "
                f"{'达标 meets' if r.meets_norm else '不足 short'})"
                f" │ 在住 occupied {r.occupied:,} 空闲 available {r.available:,}"
                f" 启用中 activating {r.activating:,} 备用 standby {r.standby:,}"
                f" 方舱 fangcang {r.fangcang:,} │ 待安置 awaiting {r.awaiting:,}"
                f" 超时 overdue {r.overdue:,} │ 可用天数 days left {left}"
            )
        return lines
