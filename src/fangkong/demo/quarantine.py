"""Quarantine in ``fangkong demo``: facilities for the twin's province, its traced close
contacts placed day by day, releases as periods end, readiness at the end.

    build   facilities and candidate sites from the generator (``generate``: per county
            the pack's norm of rooms, a quarter on standby, fangcang and designated
            hospitals per city), saved through ``save_facility`` / ``save_site``
    day     the close contacts tracing found since yesterday → ``place`` (rooms, the
            pack's 7+3 for protocol-9); when rooms run short, the standby hotels are
            opened (备用转启用) and the people without a room are placed again (those
            still without one are counted: the twin's response quarantines them at home);
            room placements whose period is over: a person tracing registered as a case
            since is converted (a positive test), the others get the final negative test of
            the schedule and are released (the next phase, home monitoring, starts; it
            holds no room and is left to run out)
    summary rooms used and readiness per county against the norm (``capacity_by_region``)

Tests of quarantined people are not simulated by the twin: the final negative test is
recorded here as a site would record it, so that releases follow the pack's rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import perf_counter

from sqlalchemy import Engine, select

from fangkong.healthcode.service import CodeContext
from fangkong.quarantine.facilities import save_facility, set_status
from fangkong.quarantine.followup import record_test, release
from fangkong.quarantine.generate import generate
from fangkong.quarantine.placement import Assignment, PlacementRequest, place, test_dates
from fangkong.quarantine.readiness import capacity_by_region
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.survey import save_site
from fangkong.quarantine.tables import quarantine_facilities, quarantine_placements
from fangkong.tracing.tables import tracing_cases, tracing_contacts

BY = "demo:quarantine"
GROUP = "close_contact"


@dataclass(frozen=True)
class QuarantineDay:
    placed: int  # in rooms
    no_room: int  # left at home: the response's own quarantine covers them
    activated: int  # standby facilities opened today
    released: int
    converted: int
    occupied: int  # rooms held now


class QuarantineFeed:
    def __init__(self, engine: Engine, ctx: CodeContext, rules: QuarantineRules) -> None:
        self.engine, self.ctx, self.rules = engine, ctx, rules
        self.facilities = 0
        self.rooms = 0
        self.seconds = 0.0  # spent placing and releasing
        self.since: datetime | None = None  # contacts identified before were handled

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
        """Place the close contacts traced since the last day; end the periods due."""
        c = tracing_contacts.c
        with self.engine.connect() as conn:
            query = select(c.person_id).where(c.kind == "close", c.identified_at < at)
            if self.since is not None:
                query = query.where(c.identified_at >= self.since)
            found = list(conn.execute(query.order_by(c.person_id)).scalars())
        self.since = at
        requests = [
            PlacementRequest(int(p), GROUP, starts_at=at, ref=f"demo-{p}-{at:%Y%m%d}")
            for p in found
        ]
        tic = perf_counter()
        done = self._place(requests, at)
        activated = 0
        if any(a.outcome == "no_room" for a in done):
            activated = self._open_standby()
            if activated:
                waiting = {a.person_id for a in done if a.outcome == "no_room"}
                again = self._place([r for r in requests if r.person_id in waiting], at)
                done = [a for a in done if a.outcome != "no_room"] + again
        released, converted = self._end_due(at)
        self.seconds += perf_counter() - tic
        q = quarantine_placements.c
        with self.engine.connect() as conn:
            held = select(q.booking_id).where(q.active.is_(True), q.booking_id.is_not(None))
            occupied = len(conn.execute(held.distinct()).all())
        return QuarantineDay(
            placed=sum(a.outcome == "placed" for a in done),
            no_room=sum(a.outcome == "no_room" for a in done),
            activated=activated,
            released=released,
            converted=converted,
            occupied=occupied,
        )

    def _place(self, requests: list[PlacementRequest], at: datetime) -> list[Assignment]:
        if not requests:
            return []
        return place(self.engine, requests, self.rules, by=BY, at=at, tz=self.ctx.tz,
                     pack_ref=self.ctx.pack.ref)  # fmt: skip

    def _open_standby(self) -> int:
        """Open the standby facilities the default groups may use (hotels, pack)."""
        f = quarantine_facilities.c
        kinds = list(self.rules.placement.kinds_for("default"))
        with self.engine.connect() as conn:
            codes = list(
                conn.execute(
                    select(f.code).where(f.status == "standby", f.kind.in_(kinds)).order_by(f.code)
                ).scalars()
            )
        for code in codes:
            set_status(self.engine, code, "open", by=BY)
        return len(codes)

    def _end_due(self, at: datetime) -> tuple[int, int]:
        q = quarantine_placements.c
        with self.engine.connect() as conn:
            due = conn.execute(
                select(q.id, q.person_id, q.starts_at, q.test_days)
                .where(q.active.is_(True), q.planned_end <= at, q.kind == "centralised")
                .order_by(q.id)
            ).all()
            cases = set(
                conn.execute(
                    select(tracing_cases.c.person_id).where(
                        tracing_cases.c.person_id.in_([int(r.person_id) for r in due])
                    )
                ).scalars()
            )
        released = converted = 0
        for r in due:
            last = max(json.loads(r.test_days), default=1)
            sampled_day = test_dates(r.starts_at, [last], self.ctx.tz)[0]
            sampled = datetime.combine(sampled_day, datetime.min.time(), self.ctx.tz)
            sampled = min(sampled + timedelta(hours=9), at)
            positive = int(r.person_id) in cases
            result = "positive" if positive else "negative"
            record_test(self.engine, int(r.id), day_number=last, sampled_at=sampled,
                        result=result, by=BY, tz=self.ctx.tz)  # fmt: skip
            if positive:
                converted += 1
                continue
            release(self.engine, int(r.id), self.rules, by=BY, at=at, tz=self.ctx.tz,
                    pack_ref=self.ctx.pack.ref)  # fmt: skip
            released += 1
        return released, converted

    def summary(self, at: datetime) -> list[str]:
        """Readiness per county against the pack's norm, as the readiness page shows it."""
        rows = capacity_by_region(self.engine, self.rules, at=at)
        norm = self.rules.readiness.rooms_per_10000
        lines = [
            f"\n[bold]集中隔离 quarantine[/bold]: {self.facilities} 场所 facilities, "
            f"{self.rooms:,} 间 rooms; 规范 norm {norm:g} 间/万人 rooms per 10,000 "
            f"(网页 page /quarantine); 安置与解除用时 placing and releasing {self.seconds:.1f} s"
        ]
        for r in rows:
            per = "—" if r.per_10000 is None else f"{r.per_10000:.1f}"
            left = "—" if r.days_left is None else f"{r.days_left:.1f}"
            lines.append(
                f"  {r.region_code} {r.name}: 房间 rooms {r.rooms:,} / 规范 norm "
                f"{r.norm_rooms:,.0f} ({per} 每万人 per 10,000, "
                f"{'达标 meets' if r.meets_norm else '不足 short'})"
                f" │ 在住 occupied {r.occupied:,} 空闲 available {r.available:,}"
                f" 备用 standby {r.standby:,} │ 可用天数 days left {left}"
            )
        return lines
