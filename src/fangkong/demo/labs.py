"""The demo's sampling teams and labs (采样队与实验室): the platform samples whom it orders,
the twin says what each sample shows.

Every sample goes through the testing capability's own service functions (``collect_many``,
``ship``, ``receive``, ``post_results``, ``resolve``, ``flag_overdue``), as a sampling site
and a lab information system would use them. What is sampled, each simulated day:

- **the twin's own samples**: fever-clinic patients (and key occupations when the twin's
  built-in routine is on) — one tube each, with the twin's Ct;
- **campaign rounds** due that day (``testing.campaigns.plan_area_campaigns`` made them when
  a risk area was designated): the residents of the area not in centralised quarantine, in
  household order, ``pool_size`` to a tube, sampled through the sampling hours;
- **test orders** open that day (``testing_orders``: scheduled tests of people under
  management, key groups, discharge tests, single-tube retests of positive pools): one
  single tube each, sampled within the order's window;
- **landing tests** the arrivals desk collected (``purpose = landing``): resulted here.

The platform's samples are read by the twin's lab model (``Twin.assay``: each member's Ct
on the day of sampling; a pool's Ct is its lowest member's plus the dilution). Results come
back ``transport_hours + run_hours`` after sampling (the pack's campaign values); the twin's
own samples at the twin's result time. The day is worked through in result windows of
``BATCH_HOURS``: each window's results are posted per lab and resolved at once, so a
positive pool's members are ordered a single-tube retest when its result arrives, sampled
``RETEST_AFTER_HOURS`` later and resulted within the day when time allows — otherwise the
next simulated day, at their own times. Only an individual positive registers a case
(``resolve`` with the pack's contact rules).

A share ``late_results`` of campaign tubes (demo behaviour, not policy) is posted two days
late, so the late-results page has something to show.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import Engine, func, select

from fangkong.demo.adapter import TwinAdapter
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.schema import persons
from fangkong.testing.campaigns import add_lab, campaigns_starting
from fangkong.testing.custody import receive, ship
from fangkong.testing.flags import flag_overdue
from fangkong.testing.resolve import resolve
from fangkong.testing.results import post_results
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, collect_many
from fangkong.testing.tables import campaigns, orders, results, tube_members, tubes
from fangkong.tracing.rules import ContactRules
from fangkong.twin.events import DayEvents
from fangkong.twin.registry import Registry
from fangkong.twin.sim import Twin

BY = "demo:testing"
BATCH_HOURS = 4  # results are posted and resolved in windows of this length
RETEST_AFTER_HOURS = 2.0  # a retest team samples this long after the order
TRIP_HOURS = 2  # couriers take the tubes to the county lab every two hours
SAMPLING_HOURS = (8.0, 18.0)  # local hours a scheduled test or a campaign round is sampled in
PURPOSE = {"routine": "scheduled", "region": "campaign"}  # the twin's reasons; else screening
POINT = {"routine": "常规检测 routine", "fever_clinic": "发热门诊 fever clinic"}
TOTALS = ("sampled", "tubes", "results", "positive", "retests")


@dataclass
class LabDay:
    """What the sampling teams and labs did on one simulated day."""

    day: int
    campaigns: int = 0  # campaign rounds sampled
    sampled: int = 0  # persons
    tubes: int = 0
    orders: int = 0  # ordered tests sampled
    results: int = 0  # tubes with a result posted
    positive: int = 0  # of them positive (pools and single tubes)
    retests: int = 0  # single-tube retest orders made
    cases: int = 0  # persons registered as cases by an individual positive
    late: int = 0  # flagged late at midnight
    seconds: float = 0.0

    def line(self) -> str:
        shown = (
            ("区域 rounds", self.campaigns, 2),
            ("管 tubes", self.tubes, 5),
            ("阳性管 positive", self.positive, 3),
            ("复核 retests", self.retests, 3),
            ("确诊 cases", self.cases, 3),
        )
        return " │ 核酸 labs " + " ".join(f"{k} {n:>{w},}" for k, n, w in shown)


@dataclass(frozen=True)
class _Tube:
    barcode: str
    persons: tuple[int, ...]  # database person ids
    place: str  # residence compound (the sample's region)
    purpose: str
    point: str
    collected: datetime
    ct: float | None  # None: nothing detected
    result_at: datetime
    campaign: int | None = None


@dataclass(order=True, frozen=True)
class _Result:
    at: datetime
    barcode: str = field(compare=True)
    lab: str = field(compare=False, default="")
    ct: float | None = field(compare=False, default=None)


@dataclass
class LabDesk:
    __test__ = False

    engine: Engine
    ctx: CodeContext
    registry: Registry
    adapter: TwinAdapter
    twin: Twin
    start: date
    tz: ZoneInfo
    late_results: float = 0.02
    seed: int = 1
    days: list[LabDay] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rules = TestingRules.from_pack(self.ctx.pack)
        self.contacts = ContactRules.from_pack(self.ctx.pack)
        self.rng = np.random.default_rng(self.seed)
        c = self.rules.campaign
        self.turnaround = timedelta(hours=c.transport_hours + c.run_hours)
        r = self.registry.regions
        parent = dict(zip(r["code"].to_pylist(), r["parent_code"].to_pylist(), strict=True))
        level = dict(zip(r["code"].to_pylist(), r["level"].to_pylist(), strict=True))
        self._names = dict(zip(r["code"].to_pylist(), r["name"].to_pylist(), strict=True))

        def county_of(code: str) -> str | None:
            node: str | None = code
            while node and level.get(node) != "county":
                node = parent.get(node)
            return node or None

        residence = [str(x) for x in self.registry.persons["residence_code"].to_pylist()]
        places = sorted(set(residence))
        counties = {p: county_of(p) for p in places}
        known = sorted({c for c in counties.values() if c is not None})
        self._lab_of = {p: f"LAB-{counties[p] or known[0]}" for p in places}
        population = Counter(counties[p] for p in residence)
        for county in known:
            name = f"{self._names.get(county, county)}核酸检测实验室 county lab"
            capacity = max(100, math.ceil(population[county] / c.pool_size))
            add_lab(self.engine, f"LAB-{county}", name, county, capacity)
        self._place_of_pid = {
            int(pid): residence[i] for i, pid in enumerate(self.adapter.ids.tolist()) if pid
        }
        self._held: list[_Result] = []
        self._sampled_orders: set[int] = set()
        self._n = 0

    # ---- time --------------------------------------------------------------------------

    def _midnight(self, day: int) -> datetime:
        local = datetime.combine(self.start + timedelta(days=day), time(0), self.tz)
        return local.astimezone(UTC)

    def _barcode(self, prefix: str, day: int) -> str:
        self._n += 1
        return f"{prefix}{day:03d}-{self._n:07d}"

    # ---- the day -----------------------------------------------------------------------

    def day(self, events: DayEvents) -> LabDay:
        """Sample, test and resolve everything of simulated day ``events.day``."""
        tic = perf_counter()
        d = LabDay(events.day)
        start, end = self._midnight(events.day), self._midnight(events.day + 1)
        today = self._twin_tubes(events)
        today += self._campaign_tubes(d, events.day, start, end)
        today += self._order_tubes(d, events.day, start, end, start)
        self._collect(d, today)
        queue = [_Result(t.result_at, t.barcode, self._lab_of[t.place], t.ct) for t in today]
        late = self.rng.random(len(queue)) < self.late_results
        for k, r in enumerate(queue):
            if late[k] and r.barcode.startswith("CMP"):
                queue[k] = _Result(r.at + timedelta(days=2), r.barcode, r.lab, r.ct)
        queue += self._landing(events.day, start, end)
        for r in queue:
            heapq.heappush(self._held, r)
        self._work(d, events.day, start, end)
        d.late = flag_overdue(self.engine, self.rules, at=end).late
        d.seconds = perf_counter() - tic
        self.days.append(d)
        return d

    def _work(self, d: LabDay, day: int, start: datetime, end: datetime) -> None:
        """Post and resolve the results window by window up to ``end``; the retests each
        window orders are sampled and queued (their results in a later window, or a later
        day at their own time)."""
        step = timedelta(hours=BATCH_HOURS)
        window = start
        while window < end:
            window = min(window + step, end)
            due: list[_Result] = []
            while self._held and self._held[0].at <= window:
                due.append(heapq.heappop(self._held))
            if not due:
                continue
            self._post(d, day, due, window)
            retests = self._order_tubes(d, day, window, end, window)
            self._collect(d, retests)
            for t in retests:
                heapq.heappush(self._held, _Result(t.result_at, t.barcode,
                                                   self._lab_of[t.place], t.ct))  # fmt: skip

    # ---- samples -----------------------------------------------------------------------

    def _twin_tubes(self, events: DayEvents) -> list[_Tube]:
        """The twin's own samples of the day (fever clinics; routine when on): single tubes
        with the twin's own Ct."""
        t = events.test_results
        if t.num_rows == 0:
            return []
        out = []
        rows = t.select(["person", "sample_time", "result_time", "reason", "tube", "pool_size",
                         "positive", "ct"]).to_pylist()  # fmt: skip
        by_tube: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_tube[int(r["tube"])].append(r)
        for tube_no, members in sorted(by_tube.items()):
            pids = [int(self.adapter.ids[m["person"]]) for m in members]
            pids = sorted({p for p in pids if p > 0})
            if not pids:
                continue
            first = members[0]
            reason = str(first["reason"])
            ct = first["ct"] if first["positive"] else None
            number = tube_no - events.day * 10_000_000
            out.append(
                _Tube(
                    f"TW{events.day:03d}-{number:07d}",
                    tuple(pids),
                    self._place_of_pid[pids[0]],
                    PURPOSE.get(reason, "screening"),
                    POINT.get(reason, "单采 individual"),
                    max(m["sample_time"] for m in members),
                    None if ct is None else float(ct),
                    max(m["result_time"] for m in members),
                )
            )
        return out

    def _assay(self, pids: list[int], day: int) -> dict[int, float]:
        rows = self.adapter.rows(pids)
        cts = self.twin.assay(rows, day)
        return {int(self.adapter.ids[r]): float(c) for r, c in zip(rows.tolist(), cts.tolist(),
                                                                    strict=True)}  # fmt: skip

    def _tube_ct(self, members: list[int], cts: dict[int, float]) -> float | None:
        found = [cts.get(p, math.inf) for p in members]
        value = float(self.twin.pool_ct(np.array(found, np.float64)))
        return None if math.isinf(value) else value

    def _hours(self, day: int, k: int) -> list[datetime]:
        lo, hi = SAMPLING_HOURS
        at = lo + (hi - lo) * self.rng.random(k)
        base = datetime.combine(self.start + timedelta(days=day), time(0), self.tz)
        return [(base + timedelta(hours=float(h))).astimezone(UTC) for h in at]

    def _campaign_tubes(self, d: LabDay, day: int, start: datetime, end: datetime) -> list[_Tube]:
        """Each campaign round due today: its residents not in centralised quarantine,
        by household, pooled per compound."""
        out: list[_Tube] = []
        q = quarantine_placements.c
        for c in campaigns_starting(self.engine, start, end):
            from fangkong.auth.jurisdiction import subtree

            with self.engine.connect() as conn:
                inside = select(q.person_id).where(q.active.is_(True), q.kind == "centralised")
                people = conn.execute(
                    select(persons.c.id, persons.c.residence_code)
                    .where(persons.c.residence_code.in_(subtree(c.region_code)),
                           persons.c.id.not_in(inside))
                    .order_by(persons.c.residence_code, persons.c.household_code, persons.c.id)
                ).all()  # fmt: skip
            pids = [int(p) for p, _ in people if self.adapter.row(int(p)) is not None]
            if not pids:
                continue
            d.campaigns += 1
            cts = self._assay(pids, day)
            groups: dict[str, list[int]] = defaultdict(list)
            for p, place in people:
                if int(p) in cts:
                    groups[str(place)].append(int(p))
            for place, members in sorted(groups.items()):
                pools = [members[i : i + c.pool_size] for i in range(0, len(members), c.pool_size)]
                for pool, when in zip(pools, sorted(self._hours(day, len(pools))), strict=True):
                    when = max(when, c.starts_at)
                    out.append(
                        _Tube(self._barcode("CMP", day), tuple(pool), place, "campaign",
                              f"{self._names.get(place, place)}采样点 site"[:80], when,
                              self._tube_ct(pool, cts), when + self.turnaround, int(c.id))
                    )  # fmt: skip
        return out

    def _order_tubes(
        self, d: LabDay, day: int, start: datetime, end: datetime, now: datetime
    ) -> list[_Tube]:
        """A single tube for each open order the teams can sample in [start, end): retests
        ``RETEST_AFTER_HOURS`` after the order, other orders in the sampling hours of the
        day (never before the order was made, never after it is due)."""
        o = orders.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(o.id, o.person_id, o.reason, o.due_from, o.due_by, o.created_at)
                .where(o.status == "open", o.due_from < end, o.due_by > start,
                       o.created_at <= now)
                .order_by(o.id)
            ).all()  # fmt: skip
        rows = [r for r in rows if r.id not in self._sampled_orders]
        if not rows:
            return []
        hours = self._hours(day, len(rows))
        wanted: dict[int, list[tuple[datetime, datetime, datetime, int, str]]] = defaultdict(list)
        for r, h in zip(rows, hours, strict=True):
            ready = max(r.due_from, r.created_at, start)
            if r.reason == "retest":
                when = ready + timedelta(hours=RETEST_AFTER_HOURS)
            else:  # in the sampling hours, and inside the order's window
                when = max(h, ready + timedelta(minutes=30))
                if when >= r.due_by:
                    when = ready + (r.due_by - ready) / 2
            if when >= end or when >= r.due_by or self.adapter.row(int(r.person_id)) is None:
                continue
            wanted[int(r.person_id)].append((when, r.due_from, r.due_by, int(r.id), str(r.reason)))
        # one sample serves every order whose window holds its time; another window, another
        taken: list[tuple[int, datetime, str]] = []
        for pid, mine in sorted(wanted.items()):
            mine.sort()
            while mine:
                when = mine[0][0]
                served = [o for o in mine if o[1] <= when < o[2]]
                self._sampled_orders.update(o[3] for o in served)
                reasons = {o[4] for o in served}
                taken.append((pid, when, "retest" if "retest" in reasons else "scheduled"))
                mine = [o for o in mine if o not in served]
        if not taken:
            return []
        taken.sort()
        cts = self.twin.assay(self.adapter.rows([p for p, _, _ in taken]), day)
        out = []
        for (pid, when, purpose), ct in zip(taken, cts.tolist(), strict=True):
            out.append(
                _Tube(self._barcode("ORD", day), (pid,), self._place_of_pid[pid], purpose,
                      "单管 single tube", when, None if math.isinf(ct) else float(ct),
                      when + self.turnaround)
            )  # fmt: skip
        d.orders += len(out)
        return out

    def _landing(self, day: int, start: datetime, end: datetime) -> list[_Result]:
        """Landing tests the arrivals desk collected today: the twin's lab reads them."""
        t, m = tubes.c, tube_members.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.barcode, t.collected_at, t.lab_code, m.person_id)
                .join(tube_members, m.tube_id == t.id)
                .where(t.purpose == "landing", t.collected_at >= start, t.collected_at < end,
                       ~sa.exists().where(results.c.tube_id == t.id))
                .order_by(t.barcode)
            ).all()  # fmt: skip
        members: dict[str, list[int]] = defaultdict(list)
        when: dict[str, tuple[datetime, str | None]] = {}
        for barcode, collected, lab, pid in rows:
            members[str(barcode)].append(int(pid))
            when[str(barcode)] = (collected, lab)
        if not members:
            return []
        cts = self._assay(sorted({p for v in members.values() for p in v}), day)
        out, shipped = [], []
        for barcode, pids in sorted(members.items()):
            collected, lab = when[barcode]
            place = self._place_of_pid.get(pids[0])
            lab = lab or (self._lab_of[place] if place else next(iter(self._lab_of.values())))
            shipped.append((barcode, lab, collected))
            out.append(_Result(collected + self.turnaround, barcode, lab,
                               self._tube_ct(pids, cts)))  # fmt: skip
        self._ship(shipped)
        return out

    def external(self, items: list[tuple[str, str, datetime, float | None]]) -> None:
        """Tubes another desk collected (barcode, county, taken, the Ct the twin's lab
        reads; None: nothing detected): to the county's lab, resulted after the turnaround
        with the day's others (the checkpoints' sample-and-go tubes)."""
        shipped = []
        labs = sorted(set(self._lab_of.values()))
        for barcode, county, collected, ct in items:
            lab = f"LAB-{county}" if f"LAB-{county}" in labs else labs[0]
            shipped.append((barcode, lab, collected))
            heapq.heappush(self._held, _Result(collected + self.turnaround, barcode, lab, ct))
        if shipped:
            self._ship(shipped)

    # ---- custody and results -------------------------------------------------------------

    def _collect(self, d: LabDay, today: list[_Tube]) -> None:
        if not today:
            return
        d.tubes += len(today)
        d.sampled += sum(len(t.persons) for t in today)
        samples = [
            Sample(t.barcode, list(t.persons), t.point, t.place, f"TEAM-{t.place}", t.collected,
                   t.purpose, t.campaign)
            for t in today
        ]  # fmt: skip
        collect_many(self.engine, self.rules, samples, by=BY,
                     at=max(s.collected_at for s in samples))  # fmt: skip
        self._ship([(t.barcode, self._lab_of[t.place], t.collected) for t in today])

    def _ship(self, items: list[tuple[str, str, datetime]]) -> None:
        """Custody of (barcode, lab, collected): a courier run to each county lab every
        ``TRIP_HOURS``, leaving at the end of the block; received after the transport."""
        trips: dict[tuple[str, datetime], list[str]] = defaultdict(list)
        for barcode, lab, collected in items:
            local = collected.astimezone(self.tz)
            block = local.replace(hour=local.hour - local.hour % TRIP_HOURS, minute=0, second=0,
                                  microsecond=0) + timedelta(hours=TRIP_HOURS)  # fmt: skip
            trips[(lab, block.astimezone(UTC))].append(barcode)
        transport = timedelta(hours=self.rules.campaign.transport_hours)
        for (lab, at), barcodes in sorted(trips.items()):
            ship(self.engine, barcodes, lab, at=at)
            receive(self.engine, barcodes, lab, by=f"{lab} 签收 desk", at=at + transport)

    def _post(self, d: LabDay, day: int, due: list[_Result], at: datetime) -> None:
        if not due:
            return
        by_lab: dict[str, list[_Result]] = defaultdict(list)
        for r in due:
            by_lab[r.lab].append(r)
        for lab, rows in sorted(by_lab.items()):
            ct = pa.array([r.ct for r in rows], pa.float64())
            when = pa.array([r.at for r in rows], pa.timestamp("s", tz="UTC"))
            table = pa.table({"barcode": [r.barcode for r in rows],
                              "run": [f"RUN-{day:03d}"] * len(rows),
                              "ct_orf1ab": ct, "ct_n": ct, "tested_at": when})  # fmt: skip
            post_results(self.engine, self.rules, table, lab_code=lab, posted_by=f"{lab} LIS",
                         source=f"{lab} day {day}", at=at)  # fmt: skip
            d.results += len(rows)
            d.positive += sum(r.ct is not None and r.ct < self.rules.positive_ct_below
                              for r in rows)  # fmt: skip
        got = resolve(self.engine, self.rules, tz=self.tz, by=BY, at=at,
                      contact_rules=self.contacts)  # fmt: skip
        d.retests += got.retests_ordered
        d.cases += len(got.cases)

    # ---- the end ---------------------------------------------------------------------------

    def summary(self, at: datetime) -> list[str]:
        """The run's totals: campaigns and their coverage, tubes, results, retests, tubes
        flagged late or lost."""
        t, m, c = tubes.c, tube_members.c, campaigns.c
        no_result = ~sa.exists().where(results.c.tube_id == t.id)
        with self.engine.connect() as conn:
            residents: dict[str, int] = dict(
                conn.execute(
                    select(persons.c.residence_code, func.count()).group_by(
                        persons.c.residence_code
                    )
                ).all()
            )
            sampled = conn.execute(
                select(c.region_code, func.count(sa.distinct(m.person_id)))
                .select_from(campaigns.join(tubes, t.campaign_id == c.id))
                .join(tube_members, m.tube_id == t.id)
                .group_by(c.id, c.region_code)
            ).all()
            n_campaigns = conn.execute(select(func.count()).select_from(campaigns)).scalar_one()
            overdue: Counter[str] = Counter()
            for flag, n in conn.execute(
                select(t.flag, func.count()).where(t.flag.is_not(None), no_result).group_by(t.flag)
            ):
                overdue[flag] += n
            open_retests, past_due = conn.execute(
                select(func.count(), func.count().filter(orders.c.due_by < at))
                .select_from(orders)
                .where(orders.c.reason == "retest", orders.c.status == "open")
            ).one()
        shares = sorted(n / residents[r] for r, n in sampled if residents.get(r))
        middle = f"{shares[len(shares) // 2]:.1%}" if shares else "–"
        days = self.days
        total = {k: sum(getattr(x, k) for x in days) for k in TOTALS}
        return [
            f"核酸检测 testing: 区域核酸 campaign rounds {n_campaigns:,} (覆盖率中位数 median "
            f"coverage {middle}); 采样 sampled {total['sampled']:,} 人 persons in "
            f"{total['tubes']:,} 管 tubes; 结果 results {total['results']:,}, 阳性管 positive "
            f"{total['positive']:,}; 复核单采 retest orders {total['retests']:,} (未采 open "
            f"{open_retests:,}, 已过期 past due {past_due:,}); 仍无结果 still without a result: "
            f"超时 late {overdue['late']:,}, 遗失 lost {overdue['lost']:,}; "
            f"用时 time {sum(x.seconds for x in days):.1f} s",
        ]
