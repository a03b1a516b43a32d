"""The twin's travellers through the closed loop, day by day: the demo's arrivals desk.

The twin emits, per day, the residents coming home through the province's stations and
highway checkpoints (``DayEvents.travellers``: who, mode, arrival point and time, a 7-day
travel history). ``ArrivalsFeed`` plays every side of the closed loop with the service
functions the CLI and the API call (``fangkong arrivals import|sample|plan|confirm|
acknowledge|check``):

1. **set-up** (once): a command team per county under one for the province, a receiving
   team per county, a checkpoint and a transfer team per arrival point with a bus, a van
   and a car; when the store has no quarantine facility, those of ``demo.facilities``, with
   its hotels open.
2. **manifests**: one per arrival point and mode a day, sent ahead of the first arrival
   (by the pack's ``handoff_ack_hours``). Rows are the travellers' registry identities
   (the twin's persons file), so ``import_manifest`` finds each one's registry person by
   the sealed document — no person is created — and the destination is their residence.
   The travel history is the twin's: the home province, then the origin with the level the
   national list gives it (declared only for places outside the registry; the registry's
   own risk areas decide for the home province). The receiving county acknowledges
   every hand-off halfway to its deadline.
3. **landing tests** (``sample`` → testing's ``collect``): at each point, in order of
   arrival, pools of the pack's ``pool_size`` per risk, a pool spanning at most half the
   ``registered`` deadline, sampled a quarter of it after its last arrival.
4. **transfers** (``plan``): at the end of each ``sampled``-deadline round of the day in
   which someone needing a transfer was sampled; boarding confirmed by ID scan at the
   trip's departure, hand-over by form at its estimated arrival, the first health check
   (``managed``) a quarter of the ``handed_over`` deadline later; release follows the
   quarantine placement's end (``check``), or is confirmed by form at its planned end when
   nobody ends placements.
5. **the job** (``check``) at 08:00 and at midnight of each simulated day.

People are late sometimes: a share ``late_landing`` of landing tests and ``late_handover``
of hand-overs (demo behaviour, not policy) are not done by their stage's deadline. The
midnight job alerts the team and its superior, the command raises a task for the overdue
stage (``closed_loop_overdue``, due two hours later), and the team does it after a
response time drawn from an exponential of mean ``response_hours`` (at the latest at
08:00, when the morning job runs): each late step is confirmed at the simulated time it is
done, and confirming it closes its task at that time (``arrivals.loop.enter_stage``) — on
time when the team answered within the task's deadline, late otherwise. The last day's
late ones are still overdue on the board when the demo ends.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
from rich.table import Table
from sqlalchemy import Engine, func, select

from fangkong.arrivals.board import board
from fangkong.arrivals.dispatch import landing_queue, plan, sample, save_team, save_vehicle
from fangkong.arrivals.loop import acknowledge, advance, check
from fangkong.arrivals.manifests import ManifestHeader, import_manifest
from fangkong.arrivals.rules import STAGES, ArrivalRules
from fangkong.arrivals.tables import alerts, handoffs, travellers
from fangkong.command.tables import command_tasks
from fangkong.demo.facilities import generate
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.facilities import save_facility
from fangkong.quarantine.regions import load_regions
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_facilities, quarantine_placements
from fangkong.store.schema import regions, venues
from fangkong.testing.rules import TestingRules
from fangkong.twin.events import DayEvents
from fangkong.twin.registry import Registry

MODES = {"air": "flight", "rail": "train", "highway": "highway"}  # the twin's → manifests'
VEHICLES = (("BUS", "bus", 20), ("VAN", "van", 6), ("CAR", "car", 3))  # per arrival point
BY = "twin:arrivals"
_IDENTITY = ("id_type", "id_number", "id_country", "name", "sex", "birth_date", "phone")


@dataclass
class ArrivalDay:
    """What the arrivals desk did on one simulated day."""

    day: int
    registered: int = 0
    sampled: int = 0
    tubes: int = 0
    trips: int = 0
    boarded: int = 0
    handed_over: int = 0
    released: int = 0
    acknowledged: int = 0
    alerts: int = 0  # raised by the day's jobs
    overdue: int = 0  # past their deadline at midnight
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f" │ 闭环 arrivals 登记 registered {self.registered:>3,} 采样 sampled "
            f"{self.sampled:>3,} 交接 handed over {self.handed_over:>2,} 超时 overdue "
            f"{self.overdue:>2,}"
        )


@dataclass(frozen=True)
class Late:
    """A confirmation the demo's staff make only the next morning."""

    day: int
    tid: int
    stage: str  # the stage confirmed late: sampled | handed_over
    point: str
    transfer: bool


@dataclass
class ArrivalsFeed:
    engine: Engine
    codes: CodeContext
    registry: Registry
    start: date
    tz: ZoneInfo
    late_landing: float = 0.02
    late_handover: float = 0.1
    response_hours: float = 1.5  # mean hours from the midnight alert to the late step done
    seed: int = 1
    hotel_coverage: float = 1.0  # quarantine rooms made, × the pack's norm (if none exist)
    days: list[ArrivalDay] = field(default_factory=list)
    matched: int = 0  # travellers found in the registry
    created: int = 0  # persons the manifests had to create (0: the twin's are residents)
    by_risk: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        pack = self.codes.pack
        self.rules = ArrivalRules.from_pack(pack)
        self.testing = TestingRules.from_pack(pack)
        self.quarantine = QuarantineRules.from_pack(pack)
        self.rng = np.random.default_rng(self.seed)
        p = self.registry.persons
        self._who = {c: p[c].to_pylist() for c in (*_IDENTITY, "residence_code", "household_code")}
        self._place_names = dict(
            zip(
                self.registry.regions["code"].to_pylist(),
                self.registry.regions["name"].to_pylist(),
                strict=True,
            )
        )
        self._late: list[Late] = []
        self.late: list[Late] = []  # every late confirmation of the run
        self._points = self._set_up()

    # ---- the day -----------------------------------------------------------------------

    def _local(self, day: int, hours: float) -> datetime:
        midnight = datetime.combine(self.start + timedelta(days=day), time(0), self.tz)
        return (midnight + timedelta(hours=hours)).astimezone(UTC)

    def day(self, events: DayEvents) -> ArrivalDay:
        tic = perf_counter()
        d = ArrivalDay(events.day)
        self._catch_up(d, self._local(events.day, 0), self._local(events.day, 8))
        arrived = self._manifests(d, events.day, events.travellers)
        # and the points where the checkpoint desk handed people to the closed loop
        arrived |= self._registered_points()
        for point in sorted(arrived):
            self._landing_and_transfer(d, events.day, point)
        end = self._local(events.day + 1, 0)
        self._release(d, end)
        got = check(self.engine, self.rules, at=end, by=BY)
        d.alerts += got.raised + got.handoff_alerts
        d.overdue = len(got.overdue)
        d.seconds = perf_counter() - tic
        self.days.append(d)
        return d

    def _manifests(self, d: ArrivalDay, day: int, table: pa.Table) -> set[str]:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for r in table.to_pylist():
            if r["arrival_venue_code"] in self._points:
                groups[(r["arrival_venue_code"], r["mode"])].append(r)
        ack = timedelta(hours=self.rules.handoff_ack_hours)
        when = self.start + timedelta(days=day)
        for (point, mode), members in sorted(groups.items()):
            members.sort(key=lambda r: (r["arrival_time"], r["person"]))
            sent = members[0]["arrival_time"] - ack  # the list comes ahead of the travellers
            got = import_manifest(
                self.engine,
                ManifestHeader(
                    f"TWIN-{when:%Y%m%d}-{point}-{MODES[mode]}",
                    MODES[mode],
                    f"{MODES[mode]}-{point}",
                    point,
                ),
                [self._row(r) for r in members],
                self.rules,
                sealer=self.codes.sealer,
                by=BY,
                via="api",
                source=f"twin day {day} {point} {mode}",
                tz=self.tz,
                at=sent,
            )
            d.registered += got.registered
            self.matched += got.registered - got.persons_created
            self.created += got.persons_created
            self.by_risk.update(got.by_risk)
            with self.engine.connect() as conn:
                pending = (
                    conn.execute(
                        select(handoffs.c.traveller_id).where(
                            handoffs.c.traveller_id.in_(got.traveller_ids),
                            handoffs.c.acknowledged_at.is_(None),
                        )
                    )
                    .scalars()
                    .all()
                )
            for tid in sorted(pending):  # the receiving county takes them over
                d.acknowledged += acknowledge(self.engine, int(tid), by=BY, at=sent + ack / 2)
        return {point for point, _ in groups}

    def _row(self, r: dict[str, Any]) -> dict[str, Any]:
        i = int(r["person"])
        row: dict[str, Any] = {c: self._who[c][i] or None for c in _IDENTITY}
        home = self._who["residence_code"][i]
        row.update(
            arrived_at=r["arrival_time"].isoformat(),
            destination_region=home,
            destination_address=f"{self._place_names.get(home, home)} "
            f"{self._who['household_code'][i]}",
            travel_history=self._history(r["history"]),
        )
        return row

    def _history(self, days: Sequence[dict[str, Any]]) -> str:
        """The twin's day-by-day history as stays ``PLACE@FROM/TO[=LEVEL]``."""
        stays: list[list[Any]] = []
        for x in days:
            if stays and stays[-1][0] == x["region_code"]:
                stays[-1][2] = x["date"]
            else:
                stays.append([x["region_code"], x["date"], x["date"], x["risk_level"]])
        return ";".join(
            f"{place}@{a.isoformat()}/{b.isoformat()}"
            + ("" if place in self._place_names else f"={level}")
            for place, a, b, level in stays
        )

    # ---- landing tests and transfers -----------------------------------------------------

    def _landing_and_transfer(self, d: ArrivalDay, day: int, point: str) -> None:
        span = timedelta(hours=self.rules.deadlines["registered"] / 2)
        rounds = timedelta(hours=self.rules.deadlines["sampled"])
        pools: list[list[Any]] = []
        for q in landing_queue(self.engine, self.rules, point):
            if self.rng.random() < self.late_landing:
                self._delay(Late(day, q.traveller_id, "sampled", point, self._transfer(q.risk)))
                continue
            last = pools[-1] if pools else None
            if (
                last is None
                or len(last) >= q.pool_size
                or last[0].pool_size != q.pool_size
                or q.arrived_at - last[0].arrived_at > span
            ):
                pools.append([q])
            else:
                last.append(q)
        midnight = self._local(day, 0)
        planned_until: datetime | None = None
        for k, pool in enumerate(pools):
            at = max(q.arrived_at for q in pool) + span / 2
            round_end = midnight + rounds * -(-(at - midnight) // rounds)
            if planned_until is not None and round_end > planned_until:
                self._carry(d, point, planned_until)
                planned_until = None
            self._sample(d, point, [q.traveller_id for q in pool], at, day, k)
            if any(self._transfer(q.risk) for q in pool):
                planned_until = round_end
        if planned_until is not None:
            self._carry(d, point, planned_until)

    def _transfer(self, risk: str) -> bool:
        return self.rules.rule_for(risk).transfer

    def _sample(
        self, d: ArrivalDay, point: str, ids: list[int], at: datetime, day: int, k: int
    ) -> None:
        when = self.start + timedelta(days=day)
        sample(
            self.engine,
            self.rules,
            self.testing,
            ids,
            f"ARR-{when:%Y%m%d}-{point}-{k:04d}",
            collector=f"CHK-{point}",
            by=BY,
            via="form",
            at=at,
        )
        d.sampled += len(ids)
        d.tubes += 1

    def _carry(self, d: ArrivalDay, point: str, at: datetime) -> None:
        """Plan the travellers ready at ``point``, board them, hand them over."""
        got = plan(self.engine, self.rules, self.quarantine, point, by=BY, at=at)
        first_check = timedelta(hours=self.rules.deadlines["handed_over"] / 4)
        for trip in got.trips:
            d.trips += 1
            for tid in trip.traveller_ids:
                self._confirm(tid, "boarded", trip.departs_at, "scan")
                d.boarded += 1
                if self.rng.random() < self.late_handover:
                    self._delay(Late(d.day, tid, "handed_over", point, True))
                    continue
                self._confirm(tid, "handed_over", trip.eta, "form")
                self._confirm(tid, "managed", trip.eta + first_check, "form")
                d.handed_over += 1

    def _delay(self, late: Late) -> None:
        self._late.append(late)
        self.late.append(late)

    def _confirm(self, tid: int, stage: str, at: datetime, via: str) -> None:
        advance(self.engine, self.rules, tid, stage, by=BY, via=via, at=at)

    def _catch_up(self, d: ArrivalDay, alerted: datetime, morning: datetime) -> None:
        """Yesterday's late steps, each done when its team answers the midnight alert
        (``alerted`` + a drawn response time, by ``morning`` at the latest) and confirmed
        at that time; then the 08:00 job, and the transfers of those sampled late."""
        late, self._late = self._late, []
        first_check = timedelta(hours=self.rules.deadlines["handed_over"] / 4)
        carry: set[str] = set()
        for k, x in enumerate(late):
            hours = float(self.rng.exponential(self.response_hours))
            at = min(alerted + timedelta(hours=hours), morning)
            if x.stage == "sampled":
                self._sample(d, x.point, [x.tid], at, d.day, 9000 + k)
                if x.transfer:
                    carry.add(x.point)
            else:
                self._confirm(x.tid, "handed_over", at, "form")
                self._confirm(x.tid, "managed", at + first_check, "form")
                d.handed_over += 1
        got = check(self.engine, self.rules, at=morning, by=BY)
        d.alerts += got.raised + got.handoff_alerts
        for point in sorted(carry | self._waiting()):
            self._carry(d, point, morning + first_check)

    def _registered_points(self) -> set[str]:
        """Points holding travellers registered and not yet sampled (handed over today)."""
        t = travellers.c
        with self.engine.connect() as conn:
            found = conn.execute(
                select(t.point_code).where(t.stage == "registered").distinct()
            ).scalars()
            return {str(p) for p in found if p in self._points}

    def _waiting(self) -> set[str]:
        """Points with travellers sampled but not on a trip (no room or no vehicle before)."""
        t = travellers.c
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(t.point_code)
                    .where(t.stage == "sampled", t.transfer.is_(True), t.trip_id.is_(None))
                    .distinct()
                ).scalars()
            )

    def _release(self, d: ArrivalDay, end: datetime) -> None:
        """The receiving side releases by form those whose placement period has ended but
        is still open (when quarantine ends placements — the demo's quarantine desk —
        ``check`` follows it instead: the next phase, or released)."""
        t, q = travellers.c, quarantine_placements.c
        with self.engine.connect() as conn:
            due = conn.execute(
                select(t.id, q.planned_end)
                .join(quarantine_placements, q.id == t.placement_id)
                .where(t.stage == "managed", q.planned_end <= end, q.active.is_(True))
                .order_by(t.id)
            ).all()
        for tid, planned_end in due:
            advance(
                self.engine,
                self.rules,
                int(tid),
                "released",
                by=BY,
                via="form",
                at=planned_end,
                note="隔离/监测期满 / the period ended",
            )
            d.released += 1

    # ---- set-up ----------------------------------------------------------------------------

    def _set_up(self) -> list[str]:
        with self.engine.connect() as conn:
            points = conn.execute(
                select(venues).where(venues.c.type.in_(self.rules.point_venue_types))
            ).all()
            tree = {
                r.code: (r.parent_code, r.level)
                for r in conn.execute(
                    select(regions.c.code, regions.c.parent_code, regions.c.level)
                )
            }
            hotels = conn.execute(
                select(func.count()).select_from(quarantine_facilities)
            ).scalar_one()
            index = load_regions(conn)

        def county_of(code: str) -> str:
            node: str | None = code
            while node is not None and node in tree and tree[node][1] != "county":
                node = tree[node][0]
            return node or code

        provinces = sorted(c for c, (_, level) in tree.items() if level == "province")
        top = f"CMD-{provinces[0]}" if provinces else None
        if provinces:
            save_team(self.engine, str(top), "省指挥部 province command", "command", provinces[0])
        for county in sorted(c for c, (_, level) in tree.items() if level == "county"):
            save_team(self.engine, f"CMD-{county}", f"{self._place_names.get(county, county)}"
                      "指挥部 command", "command", county, superior_code=top)  # fmt: skip
            save_team(self.engine, f"RCV-{county}", f"{self._place_names.get(county, county)}"
                      "接收专班 receiving", "receiving", county,
                      superior_code=f"CMD-{county}")  # fmt: skip
        for v in points:
            county = county_of(v.region_code)
            boss = f"CMD-{county}" if tree.get(county, (None, ""))[1] == "county" else top
            save_team(self.engine, f"CHK-{v.code}", f"{v.name}专班 checkpoint", "checkpoint",
                      county, venue_code=v.code, superior_code=boss)  # fmt: skip
            save_team(self.engine, f"TR-{v.code}", f"{v.name}转运队 transfer", "transfer",
                      county, superior_code=boss)  # fmt: skip
            lat, lon = (
                (v.latitude, v.longitude) if v.latitude is not None else index.point(v.region_code)
            )
            for suffix, kind, seats in VEHICLES:
                if kind in self.rules.transfer.speeds_kmh:
                    save_vehicle(self.engine, self.rules, f"{v.code}-{suffix}", kind, seats,
                                 f"TR-{v.code}", float(lat), float(lon))  # fmt: skip
        if not hotels:  # centralised quarantine needs rooms: the generator's hotels, open
            made, _ = generate(
                self.engine, self.quarantine, seed=self.seed, coverage=self.hotel_coverage
            )
            for f in made:
                opened = dataclasses.replace(f, status="open") if f.kind == "hotel" else f
                save_facility(self.engine, opened, by=BY)
        return [str(v.code) for v in points]

    # ---- the end ---------------------------------------------------------------------------

    def summary(self, at: datetime) -> list[Table | str]:
        """The board per arrival point as the demo ends, and the run's totals."""
        with self.engine.connect() as conn:
            points = board(conn, at=at)
            raised = conn.execute(select(func.count()).select_from(alerts)).scalar_one()
            escalated = conn.execute(  # the closed loop escalates through its tasks
                select(func.count()).select_from(command_tasks).where(
                    command_tasks.c.kind == "closed_loop_overdue",
                    command_tasks.c.escalation_level > 0)
            ).scalar_one()  # fmt: skip
        table = Table("卡口 point", *STAGES, "超时 overdue", "待接收 hand-offs",
                      title="入境闭环看板 Arrivals board at the end")  # fmt: skip
        for b in points:
            table.add_row(f"{b.name} ({b.point})", *(f"{b.stages[s]:,}" for s in STAGES),
                          f"{len(b.overdue):,}", f"{b.pending_handoffs:,}")  # fmt: skip
        risks = ", ".join(f"{k} {v:,}" for k, v in sorted(self.by_risk.items()))
        total = sum(x.registered for x in self.days)
        line = (
            f"入境闭环 arrivals: 旅客 travellers {total:,} ({risks}); 匹配登记人员 matched "
            f"registry persons {self.matched:,}, 新建 created {self.created:,}; 采样管 tubes "
            f"{sum(x.tubes for x in self.days):,}; 转运 trips {sum(x.trips for x in self.days):,}"
            f"; 交接 handed over {sum(x.handed_over for x in self.days):,}; 预警 alerts "
            f"{raised:,} (任务上报 tasks escalated {escalated:,}); 仍超时 still overdue "
            f"{sum(len(b.overdue) for b in points):,}; 用时 time "
            f"{sum(x.seconds for x in self.days):.1f} s"
        )
        return [table, line]
