"""The twin's PCR tests through the testing capability, day by day: the demo's labs.

The twin emits, per day, one row per sample (``DayEvents.test_results``): routine tests
of key occupations, fever-clinic tests, and the compounds the response tests whole
(区域核酸, pooled 10-in-1), each with its sample and result time, tube and Ct.
``TestingFeed`` plays the sampling teams and the labs with the service functions the CLI
and the API call (``collect``, ``ship``, ``receive``, ``post_results``, ``resolve``,
``flag_overdue``, ``create_campaign``, ``add_lab``):

1. **set-up** (once): a lab per county (``add_lab``), its capacity a 10-in-1 round of the
   county's residents a day.
2. **campaigns**: one per compound tested that day (the compounds of the day's regional
   samples, read from the samples, as a sampling team would see them), starting at its
   first sample: its region, population, plan and coverage are those of what was
   actually tested, and who was not sampled is who was in central isolation.
3. **samples** (``collect_many``, one transaction for the day): a tube per twin tube and
   compound (the twin pools the list of tested persons across a compound's edge; a
   sampling team would not, so such a tube is two tubes with the twin's result), collected
   when its last member was sampled, in the residence compound, for the campaign of that
   compound; routine tests ``scheduled``, the rest ``screening``. Barcodes are the twin's
   tube numbers, so running a day again changes nothing.
4. **custody**: tubes leave for their county's lab at the hour after collection and are
   received ``transport_hours`` later (the pack's campaign value).
5. **results**: one batch per lab (``post_results``), the twin's Ct for both genes
   (empty when the twin found nothing), tested at the twin's result time; then
   ``resolve``: positive pools order single-tube retests of every member, result facts
   (codes: the demo's bulk recompute at the end of the day). The twin does not model the
   retests, so those orders stay open.
6. **late results**: a share ``late_results`` of tubes (demo behaviour, not policy) is
   posted two days late: ``flag_overdue`` at each midnight flags them ``late`` the day
   after collection, so the overdue page shows the day before the last day's when the
   demo ends.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import Engine, func, select

from fangkong.healthcode.service import CodeContext
from fangkong.store.schema import persons
from fangkong.testing.campaigns import add_lab, create_campaign
from fangkong.testing.results import post_results
from fangkong.testing.rules import TestingRules
from fangkong.testing.service import Sample, collect_many, flag_overdue, receive, resolve, ship
from fangkong.testing.tables import campaigns, orders, results, tube_members, tubes
from fangkong.twin.events import DayEvents
from fangkong.twin.registry import Registry

BY = "twin:testing"
PURPOSE = {"routine": "scheduled", "region": "campaign"}  # the twin's reasons; else screening
TOTALS = ("sampled", "tubes", "results", "positive", "retests")
POINT = {"routine": "常规检测 routine", "fever_clinic": "发热门诊 fever clinic"}


@dataclass
class TestingDay:
    """What the sampling teams and labs did on one simulated day."""

    __test__ = False

    day: int
    campaigns: int = 0
    sampled: int = 0  # persons
    tubes: int = 0
    results: int = 0  # tubes with a result posted today
    positive: int = 0  # of them positive (pools and single tubes)
    retests: int = 0  # single-tube retest orders made
    late: int = 0  # flagged late at midnight
    seconds: float = 0.0

    def line(self) -> str:
        """The day line's segment (the demo prints one line a day)."""
        shown = (
            ("区域 campaigns", self.campaigns, 2),
            ("管 tubes", self.tubes, 5),
            ("阳性管 positive", self.positive, 3),
            ("复核 retests", self.retests, 4),
            ("超时 late", self.late, 2),
        )
        return " │ 核酸 labs " + " ".join(f"{k} {n:>{w},}" for k, n, w in shown)


@dataclass(frozen=True)
class _Held:
    """A result the lab posts two days late."""

    due: int  # the day it is posted
    lab: str
    barcode: str
    ct: float | None


@dataclass
class TestingFeed:
    __test__ = False

    engine: Engine
    codes: CodeContext
    registry: Registry
    ids: npt.NDArray[np.int64]  # registry person id of each twin person (0: absent)
    start: date
    tz: ZoneInfo
    late_results: float = 0.02
    seed: int = 1
    days: list[TestingDay] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rules = TestingRules.from_pack(self.codes.pack)
        self.rng = np.random.default_rng(self.seed)
        r = self.registry.regions
        parent = dict(zip(r["code"].to_pylist(), r["parent_code"].to_pylist(), strict=True))
        level = dict(zip(r["code"].to_pylist(), r["level"].to_pylist(), strict=True))
        self._names = dict(zip(r["code"].to_pylist(), r["name"].to_pylist(), strict=True))
        residence = [str(c) for c in self.registry.persons["residence_code"].to_pylist()]
        self._places = sorted(set(residence))
        index = {c: i for i, c in enumerate(self._places)}
        self._place_of = np.array([index[c] for c in residence], dtype=np.int64)

        def county_of(code: str) -> str | None:
            node: str | None = code
            while node and level.get(node) != "county":
                node = parent.get(node)
            return node or None

        counties = [county_of(c) for c in self._places]
        labs = sorted({c for c in counties if c is not None})
        self._lab_of = [f"LAB-{c or labs[0]}" for c in counties]
        population = np.bincount(self._place_of, minlength=len(self._places))
        k = self.rules.campaign.pool_size
        for county in labs:
            residents = sum(
                int(n) for c, n in zip(counties, population, strict=True) if c == county
            )
            name = f"{self._names.get(county, county)}核酸检测实验室 county lab"
            add_lab(self.engine, f"LAB-{county}", name, county, max(100, math.ceil(residents / k)))
        self._held: list[_Held] = []

    def _midnight(self, day: int) -> datetime:
        local = datetime.combine(self.start + timedelta(days=day), time(0), self.tz)
        return local.astimezone(UTC)

    # ---- the day -----------------------------------------------------------------------

    def day(self, events: DayEvents) -> TestingDay:
        tic = perf_counter()
        d = TestingDay(events.day)
        tubes_today = self._tubes(events)
        campaign_of = self._campaigns(d, events.day, tubes_today)
        samples = [
            Sample(
                t["barcode"],
                t["persons"],
                self._point(t),
                self._places[t["place"]],
                f"TEAM-{self._places[t['place']]}",
                t["collected"],
                PURPOSE.get(t["reason"], "screening"),
                campaign_of.get(t["place"]) if t["reason"] == "region" else None,
            )
            for t in tubes_today
        ]
        if samples:
            collect_many(self.engine, self.rules, samples, by=BY,
                         at=max(s.collected_at for s in samples))  # fmt: skip
        d.tubes = len(samples)
        d.sampled = sum(len(s.person_ids) for s in samples)
        self._custody(tubes_today)
        late = self.rng.random(len(tubes_today)) < self.late_results
        now: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for t, held in zip(tubes_today, late.tolist(), strict=True):
            if held:
                self._held.append(_Held(events.day + 2, t["lab"], t["barcode"], t["ct"]))
            else:
                now[t["lab"]].append({"barcode": t["barcode"], "ct": t["ct"], "at": t["result"]})
        self._post(d, events.day, now)
        end = self._midnight(events.day + 1)
        d.late = flag_overdue(self.engine, self.rules, at=end).late
        due = [h for h in self._held if h.due == events.day]
        self._held = [h for h in self._held if h.due != events.day]
        posted: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for h in due:
            posted[h.lab].append({"barcode": h.barcode, "ct": h.ct, "at": end})
        self._post(d, events.day, posted)
        d.seconds = perf_counter() - tic
        self.days.append(d)
        return d

    def _tubes(self, events: DayEvents) -> list[dict[str, Any]]:
        """The day's tubes: the twin's tubes, split at compound edges; registry ids."""
        t = events.test_results
        if t.num_rows == 0:
            return []
        person = t["person"].to_numpy().astype(np.int64)
        pid = self.ids[person]
        keep = pid > 0
        if not keep.all():
            t, person, pid = t.filter(pa.array(keep)), person[keep], pid[keep]
        place = self._place_of[person]
        tube = t["tube"].to_numpy()
        order = np.lexsort((pid, place, tube))
        key = np.stack([tube[order], place[order]], axis=1)
        starts = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]).any(axis=1)])
        ends = np.r_[starts[1:], len(order)]
        sampled = t["sample_time"].to_pylist()
        reported = t["result_time"].to_pylist()
        reasons = t["reason"].to_pylist()
        positive = t["positive"].to_pylist()
        cts = t["ct"].to_pylist()
        out = []
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            rows = order[a:b].tolist()
            first = rows[0]
            number = int(tube[first]) - events.day * 10_000_000
            ct = min((cts[i] for i in rows if cts[i] is not None), default=None)
            out.append(
                {
                    "barcode": f"TW{events.day:03d}-{number:07d}-{int(place[first]):04d}",
                    "persons": [int(pid[i]) for i in rows],
                    "place": int(place[first]),
                    "lab": self._lab_of[int(place[first])],
                    "reason": reasons[first],
                    "collected": max(sampled[i] for i in rows),
                    "result": max(reported[i] for i in rows),
                    "ct": float(ct) if ct is not None and positive[first] else None,
                }
            )
        return out

    def _point(self, t: dict[str, Any]) -> str:
        if t["reason"] == "region":
            code = self._places[t["place"]]
            return f"{self._names.get(code, code)}采样点 site"[:80]
        return POINT.get(t["reason"], "单采 individual")

    def _campaigns(self, d: TestingDay, day: int, today: list[dict[str, Any]]) -> dict[int, int]:
        """A campaign per compound tested whole today (existing ones are found again)."""
        first: dict[int, datetime] = {}
        size: dict[int, int] = {}
        for t in today:
            if t["reason"] == "region":
                p = t["place"]
                first[p] = min(first.get(p, t["collected"]), t["collected"])
                size[p] = max(size.get(p, 0), len(t["persons"]))
        out: dict[int, int] = {}
        when = self.start + timedelta(days=day)
        for p in sorted(first):
            code = self._places[p]
            name = f"{when:%m-%d} {self._names.get(code, code)} 区域核酸 mass testing"[:100]
            with self.engine.connect() as conn:
                found = conn.execute(
                    select(campaigns.c.id).where(
                        campaigns.c.name == name, campaigns.c.region_code == code
                    )
                ).scalar()
            if found is None:
                k = size[p] if size[p] in self.rules.pool_sizes else None
                found = create_campaign(self.engine, self.rules, name, code, starts_at=first[p],
                                        pool_size=k, by=BY, at=first[p])  # fmt: skip
                d.campaigns += 1
            out[p] = int(found)
        return out

    def _custody(self, today: list[dict[str, Any]]) -> None:
        """To the county lab at the hour after collection, received after the transport."""
        trips: dict[tuple[str, datetime], list[str]] = defaultdict(list)
        for t in today:
            c: datetime = t["collected"]
            hour = c.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            trips[(t["lab"], hour)].append(t["barcode"])
        transport = timedelta(hours=self.rules.campaign.transport_hours)
        for (lab, at), barcodes in sorted(trips.items()):
            ship(self.engine, barcodes, lab, at=at)
            receive(self.engine, barcodes, lab, by=f"{lab} 签收 desk", at=at + transport)

    def _post(self, d: TestingDay, day: int, by_lab: dict[str, list[dict[str, Any]]]) -> None:
        if not by_lab:
            return
        last = None
        for lab, rows in sorted(by_lab.items()):
            ct = pa.array([r["ct"] for r in rows], pa.float64())
            when = pa.array([r["at"] for r in rows], pa.timestamp("s", tz="UTC"))
            table = pa.table({"barcode": [r["barcode"] for r in rows],
                              "run": [f"RUN-{day:03d}"] * len(rows),
                              "ct_orf1ab": ct, "ct_n": ct, "tested_at": when})  # fmt: skip
            at = max(r["at"] for r in rows)
            post_results(self.engine, self.rules, table, lab_code=lab, posted_by=f"{lab} LIS",
                         source=f"{lab} day {day}", at=at)  # fmt: skip
            d.results += len(rows)
            d.positive += sum(r["ct"] is not None for r in rows)
            last = at if last is None else max(last, at)
        got = resolve(self.engine, self.rules, tz=self.tz, by=BY, at=last)
        d.retests += got.retests_ordered

    # ---- the end ---------------------------------------------------------------------------

    def summary(self, at: datetime) -> list[str]:
        """The run's totals: campaigns and their coverage, tubes, results, retests (open, and
        past due at ``at``), tubes flagged late or lost."""
        t, m, c = tubes.c, tube_members.c, campaigns.c
        no_result = ~sa.exists().where(results.c.tube_id == t.id)
        with self.engine.connect() as conn:
            # the feed's campaigns are compounds: residents are who lives there (one query,
            # not ``progress`` per campaign)
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
            for flag, purpose, n in conn.execute(
                select(t.flag, t.purpose, func.count())
                .where(t.flag.is_not(None), no_result)
                .group_by(t.flag, t.purpose)
            ):
                overdue[flag] += n
                overdue["landing"] += n if purpose == "landing" else 0
            flagged = conn.execute(
                select(func.count()).select_from(tubes).where(t.flag.is_not(None))
            ).scalar_one()
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
            f"核酸检测 testing: 区域核酸 campaigns {n_campaigns:,} (覆盖率中位数 median coverage "
            f"{middle}); 采样 sampled {total['sampled']:,} 人 persons in {total['tubes']:,} 管 "
            f"tubes; 结果 results {total['results']:,}, 阳性管 positive {total['positive']:,}; "
            f"复核单采 retest orders {total['retests']:,} (未采 open {open_retests:,}, "
            f"已过期 past due {past_due:,})",
            f"核酸检测 testing: 超时标记 flagged late/lost {flagged:,}; 仍无结果 still without a "
            f"result: 超时 late {overdue['late']:,}, 遗失 lost {overdue['lost']:,} (其中入境落地 "
            f"landing tests {overdue['landing']:,}, 演示中无实验室接收 no lab receives them in "
            "the demo); "
            f"用时 time {sum(x.seconds for x in days):.1f} s",
        ]
