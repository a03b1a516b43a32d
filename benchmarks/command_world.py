"""A province with an outbreak in progress, for the command centre's benchmarks (issue 18).

    .venv/bin/python benchmarks/command_world.py [--people 1000000] [--seed 1] --db FILE

Builds a SQLite database of ``--people`` persons and an outbreak at the proportions below
(per 1,000,000 persons, scaled linearly with N), standing on ``TODAY`` (business time
pinned with ``fangkong.clock.frozen`` at ``NOW``). Not the province loop (hours at 1M):
the rows are generated directly, set-based, each table written by one owner:

Who writes what:

- regions, venues, persons, households: the registry import
  (``fangkong.demo.province.import_registry``, the CSV path of ``fangkong import``);
- quarantine_facilities and rooms: ``quarantine.facilities.import_facilities`` of
  ``demo.facilities.generate`` (open hotels at ``HOTEL_COVERAGE`` × the pack's norm);
- quarantine_placements, bookings, rooms' state: ``quarantine.placement.place`` (the bulk
  placement), one batch;
- testing_labs, testing_campaigns: ``testing.campaigns.add_lab`` / ``create_campaign``;
- testing_tubes' ``flag``: ``testing.flags.flag_overdue``;
- health_codes: ``healthcode.recompute.recompute_all`` (everyone green by its SQL path),
  then cases red and contacts yellow by one UPDATE here (no per-person facts: the
  evaluator's path is not what is measured);
- tracing_cases, _contacts, _exposures; testing_batches, _tubes, _tube_members, _results;
  risk_areas; arrivals_manifests, _travellers; alerts; command_tasks, _task_changes: here,
  by ``executemany`` of generated rows into the capability's own tables — those
  capabilities write one row (or one person) per service call.

``build(path, people, seed)`` is importable (``benchmarks/board.py`` uses it); the CLI
prints the proportions and the seconds of each step. ``to_postgres(path, url)`` (and
``--postgres URL``) copies a built world into a PostgreSQL database: the schema by the
migrations, then every table's rows as read through the tables' own types, by ``COPY``
(the world is generated once, on SQLite, and the same rows are measured on both).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2022, 4, 8)  # the world's "today": the 14th day of the outbreak
NOW = datetime(2022, 4, 8, 17, 0, tzinfo=TZ)  # business time the world stands at
DAYS = 14  # days of the outbreak so far (the board's curve)
OUTBREAK_COUNTIES = 2  # the most populous counties hold every case and contact

# proportions per 1,000,000 persons (scaled linearly with N, at least 1 each)
CASES = 2_000  # confirmed cases over DAYS days, growing ~20 % a day
GROWTH = 1.2
CONTACTS_PER_CASE = 20  # close contacts identified per case
CONTROLLED_SHARE = 0.25  # cases from day 3 on found among earlier contacts (under control)
# what was decided for the contacts (the rest of each share: see CONTACT_PLAN)
CONTACT_PLAN = {  # share of contacts: (status, placement kind or None)
    "centralised": (0.55, "quarantined", "centralised"),
    "home": (0.20, "quarantined", "home_quarantine"),
    "awaiting": (0.10, "notified", None),  # identified/notified, no placement yet
    "monitoring": (0.10, "monitoring", None),
    "released": (0.05, "released", None),
}
HOTEL_COVERAGE = 12.0  # open hotels hold this × the pack's norm (20 rooms per 10,000)
CONTACT_TEST_DAYS = (1, 3, 5, 7)  # single tubes on these days of a placement
CAMPAIGN_COVERAGE = 0.8  # residents of the outbreak counties sampled today (pools of 10)
CAMPAIGN_POOL = 10
LATE_SHARE = 0.03  # campaign tubes collected this morning and not received yet
LOST_SHARE = 0.01  # quarantine tubes no lab received (flagged lost after 12 h)
BACKLOG_SHARE = 0.02  # quarantine tubes received without a result (late after 24 h)
RISK_AREAS = {"high": 2, "medium": 4, "low": 6}  # per outbreak county (not scaled)
ARRIVALS = 3_000  # travellers on the manifests of the last 3 days
MANIFEST_SIZE = 150
ARRIVAL_STAGES = {
    "registered": 0.05,
    "sampled": 0.10,
    "boarded": 0.10,
    "handed_over": 0.10,
    "managed": 0.50,
    "released": 0.15,
}
ARRIVAL_OVERDUE = 0.3  # of travellers still in the loop: past their stage's due time
ALERTS = 30
MANUAL_TASKS = 1_000  # tasks set by hand to townships and communities
TASK_OVERDUE = 0.3  # of open tasks: past the deadline

_TS = "%Y-%m-%d %H:%M:%S.%f"


def ts(at: datetime) -> str:
    """A timestamp as SQLAlchemy stores a UTC datetime in SQLite."""
    return at.astimezone(UTC).strftime(_TS)


def day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=TZ)


def scaled(per_million: int, people: int) -> int:
    return max(1, round(per_million * people / 1_000_000))


@dataclass
class World:
    """What was built: the path, the sizes of each table, the seconds of each step."""

    path: Path
    people: int
    counties: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


class _Steps:
    def __init__(self, world: World) -> None:
        self.world = world

    def __call__(self, name: str) -> _Step:
        return _Step(self.world, name)


class _Step:
    def __init__(self, world: World, name: str) -> None:
        self.world, self.name = world, name

    def __enter__(self) -> None:
        self.t = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        took = time.perf_counter() - self.t
        self.world.seconds[self.name] = took
        print(f"  {self.name}: {took:.1f} s", flush=True)


def build(path: Path, people: int = 1_000_000, seed: int = 1) -> World:
    """Build the world in a fresh SQLite file at ``path`` (replaced if it exists)."""
    from fangkong import clock

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    world = World(path, people, [])
    step = _Steps(world)
    rng = np.random.default_rng(seed)
    with clock.frozen(NOW):
        engine = _registry(path, people, seed, step)
        _facilities(engine, path.parent, seed, step)
        with step("outbreak rows"):
            out = _Outbreak(engine, rng, people)
            world.counties = out.counties
        with step("placements (quarantine.placement.place)"):
            out.place(engine)
        with step("labs and campaigns (testing services)"):
            campaigns = _campaigns(engine, out.counties)
        con = sqlite3.connect(path, isolation_level=None)
        try:
            con.execute("PRAGMA foreign_keys=ON")
            with step("cases, contacts, tubes, areas, arrivals, alerts, tasks (executemany)"):
                con.execute("BEGIN")
                out.write(con, campaigns, rng)
                con.execute("COMMIT")
        finally:
            con.close()
        with step("late tubes (testing.flags.flag_overdue)"):
            _flags(engine)
        with step("health codes (recompute_all + red/yellow)"):
            _codes(engine, path)
        with step("ANALYZE"):
            con = sqlite3.connect(path, isolation_level=None)
            con.execute("ANALYZE")
            world.rows = _counts(con)
            con.close()
        engine.dispose()
    return world


def _registry(path: Path, people: int, seed: int, step: _Steps):  # type: ignore[no-untyped-def]
    from fangkong.demo.province import import_registry
    from fangkong.identity.sealing import Sealer
    from fangkong.store import migrate
    from fangkong.store.engine import make_engine
    from fangkong.twin.registry import AS_OF, generate_registry

    engine = make_engine(f"sqlite:///{path}")
    with step("migrate"):
        migrate.upgrade(engine)
    with step("registry: generate + import (demo.province.import_registry)"):
        registry = generate_registry(people, seed=seed)
        import_registry(
            engine, registry, path.parent, Sealer(bytes(32)), today=AS_OF, phone_region="CN"
        )
    return engine


def _facilities(engine, folder: Path, seed: int, step: _Steps) -> None:  # type: ignore[no-untyped-def]
    from fangkong.demo.facilities import generate, write_facilities
    from fangkong.policy import load_pack
    from fangkong.quarantine.facilities import import_facilities
    from fangkong.quarantine.rules import QuarantineRules

    with step("facilities (demo.facilities + quarantine import)"):
        rules = QuarantineRules.from_pack(load_pack("protocol-9"))
        facilities, _sites = generate(engine, rules, seed=seed, coverage=HOTEL_COVERAGE)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            csv = Path(tmp) / "facilities.csv"
            write_facilities(csv, facilities)
            import_facilities(engine, csv, by="bench")


def _campaigns(engine, counties: list[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from fangkong.policy import load_pack
    from fangkong.testing.campaigns import add_lab, create_campaign
    from fangkong.testing.rules import TestingRules

    rules = TestingRules.from_pack(load_pack("protocol-9"))
    with engine.connect() as conn:
        cities = [r[0] for r in conn.execute(text("SELECT code FROM regions WHERE level='city'"))]
    for city in cities:
        add_lab(engine, f"LAB{city}", f"{city} 核酸检测实验室", city, 200_000)
    start = day_start(TODAY) + timedelta(hours=6)
    return {
        c: create_campaign(
            engine,
            rules,
            f"全员核酸 {c} {TODAY}",
            c,
            starts_at=start,
            pool_size=CAMPAIGN_POOL,
            by="bench",
            at=start,
        )
        for c in counties
    }


def _flags(engine) -> None:  # type: ignore[no-untyped-def]
    from fangkong.policy import load_pack
    from fangkong.testing.flags import flag_overdue
    from fangkong.testing.rules import TestingRules

    flag_overdue(engine, TestingRules.from_pack(load_pack("protocol-9")), at=NOW.astimezone(UTC))


def _codes(engine, path: Path) -> None:  # type: ignore[no-untyped-def]
    from fangkong.healthcode.context import CodeContext
    from fangkong.healthcode.qr import QrKeys
    from fangkong.healthcode.recompute import recompute_all
    from fangkong.identity.sealing import Sealer
    from fangkong.policy import load_pack

    ctx = CodeContext(pack=load_pack("protocol-9"), sealer=Sealer(bytes(32)), qr=QrKeys.generate())
    recompute_all(engine, ctx, NOW.astimezone(UTC))
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN")
    con.execute(
        "UPDATE health_codes SET colour='yellow' WHERE person_id IN "
        "(SELECT person_id FROM tracing_contacts WHERE status NOT IN ('released'))"
    )
    con.execute(
        "UPDATE health_codes SET colour='red' WHERE person_id IN "
        "(SELECT person_id FROM tracing_cases)"
    )
    con.execute("COMMIT")
    con.close()


def _counts(con: sqlite3.Connection) -> dict[str, int]:
    tables = (
        "persons",
        "regions",
        "quarantine_facilities",
        "quarantine_rooms",
        "quarantine_placements",
        "tracing_cases",
        "tracing_contacts",
        "tracing_exposures",
        "testing_campaigns",
        "testing_tubes",
        "testing_tube_members",
        "testing_results",
        "risk_areas",
        "arrivals_travellers",
        "alerts",
        "command_tasks",
        "health_codes",
    )
    return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}  # noqa: S608


def alert_evidence(day: date) -> str:
    """An alert's evidence as the fever-cluster trigger stores it (``alerts.detection``):
    the counts of its 3 days to ``day``, no threshold line, no alarm."""
    days = [day - timedelta(days=2 - i) for i in range(3)]
    return json.dumps(
        {"periods": [d.isoformat() for d in days], "counts": [1, 0, 3],
         "thresholds": [None] * 3, "alarms": [False] * 3,
         "params": {"min_count": 3, "days": 3, "level": "compound"}, "population": None,
         "label_zh": "同一小区 3 天内 3 人及以上到发热门诊就诊",
         "label_en": "3 or more fever-clinic visits from one compound within 3 days"}
    )  # fmt: skip


class _Outbreak:
    """The outbreak's people, chosen once; placed through the service, written after."""

    def __init__(self, engine, rng: np.random.Generator, people: int) -> None:  # type: ignore[no-untyped-def]
        from sqlalchemy import text

        with engine.connect() as conn:
            parent = dict(conn.execute(text("SELECT code, parent_code FROM regions")).all())
            level = dict(conn.execute(text("SELECT code, level FROM regions")).all())
            rows = conn.execute(text("SELECT id, residence_code FROM persons")).all()
        self.parent, self.level = parent, level
        county_of: dict[str, str] = {}
        for code in level:
            c: str | None = code
            while c is not None and level.get(c) != "county":
                c = parent.get(c)
            if c is not None:
                county_of[code] = c
        self.county_of = county_of
        self.person_ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.person_county = np.array([county_of.get(r[1] or "", "") for r in rows])
        self.person_place = np.array([r[1] or "" for r in rows])
        sizes = Counter(self.person_county.tolist())
        sizes.pop("", None)
        self.counties = [c for c, _ in sizes.most_common(OUTBREAK_COUNTIES)]
        self.rng = rng
        self._choose(people)

    def _choose(self, people: int) -> None:
        rng = self.rng
        n_cases = scaled(CASES, people)
        weights = GROWTH ** np.arange(DAYS)
        per_day = np.floor(weights / weights.sum() * n_cases).astype(int)
        per_day[-1] += n_cases - per_day.sum()
        self.case_day = np.repeat(np.arange(DAYS), per_day)  # day index 0..DAYS-1
        pool = np.flatnonzero(np.isin(self.person_county, self.counties))
        n_contacts = min(n_cases * CONTACTS_PER_CASE, len(pool) - n_cases)
        chosen = rng.choice(pool, size=n_cases + n_contacts, replace=False)
        self.case_idx = chosen[:n_cases].copy()
        self.contact_idx = chosen[n_cases:]
        # each contact belongs to one case (the case behind the last exposure)
        self.contact_case = np.sort(rng.integers(0, n_cases, size=n_contacts))
        start = day_start(TODAY - timedelta(days=DAYS - 1))
        minutes = rng.integers(7 * 60, 22 * 60, size=n_cases)
        # today's cases were all registered before NOW
        last = self.case_day == DAYS - 1
        minutes[last] = rng.integers(7 * 60, NOW.hour * 60 - 60, size=int(last.sum()))
        self.case_at = [
            start + timedelta(days=int(d), minutes=int(m))
            for d, m in zip(self.case_day, minutes, strict=True)
        ]
        now = NOW
        self.contact_at = [
            min(self.case_at[c] + timedelta(hours=float(h)), now - timedelta(minutes=5))
            for c, h in zip(self.contact_case, rng.uniform(2, 20, size=n_contacts), strict=True)
        ]
        # the plan of each contact
        names = list(CONTACT_PLAN)
        shares = np.array([CONTACT_PLAN[k][0] for k in names])
        self.plan = rng.choice(len(names), size=n_contacts, p=shares / shares.sum())
        self.status = np.array([CONTACT_PLAN[names[p]][1] for p in self.plan], dtype=object)
        self.kind = [CONTACT_PLAN[names[p]][2] for p in self.plan]
        # awaiting: recent ones "identified", older "notified"
        for i in np.flatnonzero(self.status == "notified"):
            if (now - self.contact_at[i]) < timedelta(hours=6):
                self.status[i] = "identified"
        # cases found under control: earlier contacts placed centrally became cases
        self.controlled: list[int] = []
        used: set[int] = set()
        for j in np.flatnonzero(self.case_day >= 3):
            if rng.random() >= CONTROLLED_SHARE:
                continue
            earlier = np.flatnonzero(self.case_day[self.contact_case] <= self.case_day[j] - 2)
            if len(earlier) == 0:
                continue
            k = int(rng.choice(earlier))
            if k in used or self.contact_at[k] >= self.case_at[j] - timedelta(hours=12):
                continue
            used.add(k)
            self.case_idx[j] = self.contact_idx[k]
            self.status[k] = "became_case"
            self.kind[k] = "centralised"
            self.controlled.append(int(j))
        self.placements: dict[int, int] = {}  # contact index → placement id

    def place(self, engine) -> None:  # type: ignore[no-untyped-def]
        from fangkong.policy import load_pack
        from fangkong.quarantine.placement import place
        from fangkong.quarantine.rules import QuarantineRules
        from fangkong.quarantine.terms import PlacementRequest

        pack = load_pack("protocol-9")
        rules = QuarantineRules.from_pack(pack)
        wanted = [i for i, k in enumerate(self.kind) if k is not None]
        by_day: dict[date, list[int]] = {}
        for i in wanted:
            by_day.setdefault(self.contact_at[i].astimezone(TZ).date(), []).append(i)
        out = []
        for day in sorted(by_day):  # one batch a day, made that evening (or now, today)
            at = min(day_start(day) + timedelta(hours=23), NOW)
            batch = by_day[day]
            requests = [
                PlacementRequest(
                    person_id=int(self.person_ids[self.contact_idx[i]]),
                    risk_group="close_contact",
                    kind=self.kind[i],
                    starts_at=min(self.contact_at[i] + timedelta(hours=4), at).astimezone(UTC),
                    ref=f"bench-contact-{i}",
                )
                for i in batch
            ]
            done = place(
                engine,
                requests,
                rules,
                by="bench",
                at=at.astimezone(UTC),
                tz=TZ,
                pack_ref=pack.ref,
                record_codes=False,
            )
            out.extend(done)
            for i, a in zip(batch, done, strict=True):
                if a.placement_id is not None:
                    self.placements[i] = a.placement_id
                elif self.status[i] == "quarantined":  # no room: still awaiting placement
                    self.status[i] = "notified"
        self.outcomes = Counter(a.outcome for a in out)

    def write(
        self, con: sqlite3.Connection, campaigns: dict[str, int], rng: np.random.Generator
    ) -> None:
        self._cases(con)
        self._contacts(con)
        self._tests(con, campaigns, rng)
        self._risk_areas(con, rng)
        self._arrivals(con, rng)
        self._alerts(con, rng)
        self._tasks(con, rng)

    # -- tracing ------------------------------------------------------------------
    def _cases(self, con: sqlite3.Connection) -> None:
        rows = []
        for j, at in enumerate(self.case_at):
            pid = int(self.person_ids[self.case_idx[j]])
            rows.append(
                (
                    j + 1,
                    pid,
                    at.date().isoformat(),
                    ts(at - timedelta(days=2)),
                    ts(at),
                    "protocol-9",
                    ts(at),
                    "bench",
                    ts(at + timedelta(hours=3)),
                )
            )
        con.executemany(
            "INSERT INTO tracing_cases (id, person_id, sample_date, infectious_from, isolated_at,"
            " rules_source, registered_at, registered_by, traced_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def _contacts(self, con: sqlite3.Connection) -> None:
        contacts, exposures = [], []
        settings = ("household", "venue", "workplace", "class")
        for i, at in enumerate(self.contact_at):
            pid = int(self.person_ids[self.contact_idx[i]])
            c = int(self.contact_case[i])
            first = self.case_at[c] - timedelta(days=2)
            last = self.case_at[c] - timedelta(hours=6)
            status_at = (
                at if self.status[i] in ("identified", "notified") else at + timedelta(hours=4)
            )
            contacts.append(
                (
                    i + 1,
                    pid,
                    "close",
                    str(self.status[i]),
                    ts(first),
                    ts(last),
                    ts(at),
                    ts(status_at),
                    "bench",
                )
            )
            exposures.append(
                (
                    i + 1,
                    f"bench-{c + 1}-{i + 1}",
                    c + 1,
                    i + 1,
                    "close",
                    settings[i % 4],
                    ts(last - timedelta(hours=1)),
                    ts(last),
                    3600,
                    ts(at),
                )
            )
        con.executemany(
            "INSERT INTO tracing_contacts (id, person_id, kind, status, first_exposure_at,"
            " last_exposure_at, identified_at, status_at, status_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            contacts,
        )
        con.executemany(
            "INSERT INTO tracing_exposures (id, key, case_id, contact_id, kind, setting,"
            " overlap_start, overlap_end, overlap_seconds, found_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            exposures,
        )

    # -- testing ------------------------------------------------------------------
    def _tests(
        self, con: sqlite3.Connection, campaigns: dict[str, int], rng: np.random.Generator
    ) -> None:
        labs = {r[1]: r[0] for r in con.execute("SELECT code, region_code FROM testing_labs")}
        city = {c: self.parent[c] for c in self.counties}
        batch_of: dict[tuple[str, date], int] = {}

        def batch(lab: str, d: date) -> int:
            if (lab, d) not in batch_of:
                cur = con.execute(
                    "INSERT INTO testing_batches (lab_code, posted_at, posted_by, rows, inserted)"
                    " VALUES (?, ?, 'bench', 0, 0)",
                    (lab, ts(day_start(d) + timedelta(hours=23))),
                )
                batch_of[(lab, d)] = int(cur.lastrowid or 0)
            return batch_of[(lab, d)]

        tubes: list[tuple[object, ...]] = []
        members: list[tuple[int, int]] = []
        results: list[tuple[object, ...]] = []
        now = NOW

        def tube(
            pids: list[int],
            purpose: str,
            county: str,
            at: datetime,
            outcome: str | None,
            received: bool,
            campaign: int | None = None,
        ) -> None:
            tid = len(tubes) + 1
            lab = labs.get(city.get(county, ""), next(iter(labs.values())))
            got = at + timedelta(hours=3) if received and at + timedelta(hours=3) < now else None
            tubes.append(
                (
                    tid,
                    f"BT{tid:09d}",
                    len(pids),
                    purpose,
                    f"P{county}",
                    county,
                    "bench",
                    ts(at),
                    campaign,
                    lab,
                    ts(got) if got else None,
                    "bench" if got else None,
                )
            )
            members.extend((tid, p) for p in pids)
            if outcome is not None and got is not None and got + timedelta(hours=4) < now:
                tested = got + timedelta(hours=4)
                results.append(
                    (
                        tid,
                        "run1",
                        batch(lab, tested.astimezone(TZ).date()),
                        28.0 if outcome == "positive" else None,
                        1,
                        outcome,
                        ts(tested),
                    )
                )

        for j, at in enumerate(self.case_at):  # the positive behind each case
            pid = int(self.person_ids[self.case_idx[j]])
            county = self.person_county[self.case_idx[j]]
            collected = at - timedelta(hours=9)
            tube(
                [pid],
                "scheduled" if j in self.controlled else "screening",
                county,
                collected,
                "positive",
                True,
            )
            # make the result land 1.5 h before the case was registered
            tid = len(tubes)
            results[-1] = (
                tid,
                "run1",
                results[-1][2],
                28.0,
                1,
                "positive",
                ts(at - timedelta(hours=1, minutes=30)),
            )
            t = list(tubes[-1])
            t[10] = ts(at - timedelta(hours=6))
            tubes[-1] = tuple(t)
        for i in self.placements:  # quarantine tests of placed contacts
            start = self.contact_at[i] + timedelta(hours=4)
            pid = int(self.person_ids[self.contact_idx[i]])
            county = self.person_county[self.contact_idx[i]]
            for d in CONTACT_TEST_DAYS:
                at = start + timedelta(days=d - 1, hours=1)
                if at >= now:
                    break
                r = rng.random()  # 1 % never reach a lab (lost), 2 % wait for a result
                tube(
                    [pid],
                    "scheduled",
                    county,
                    at,
                    None if r < LOST_SHARE + BACKLOG_SHARE else "negative",
                    r >= LOST_SHARE,
                )
        for county, cid in campaigns.items():  # today's mass testing, pools of 10
            idx = np.flatnonzero(self.person_county == county)
            idx = idx[np.argsort(self.person_place[idx], kind="stable")]
            sampled = idx[rng.random(len(idx)) < CAMPAIGN_COVERAGE]
            hours = np.sort(
                rng.uniform(0, 10, size=(len(sampled) + CAMPAIGN_POOL - 1) // CAMPAIGN_POOL)
            )
            for k, h in enumerate(hours):
                pids = [
                    int(p)
                    for p in self.person_ids[sampled[k * CAMPAIGN_POOL : (k + 1) * CAMPAIGN_POOL]]
                ]
                at = day_start(TODAY) + timedelta(hours=6 + float(h))
                lost = h < 4 and rng.random() < LATE_SHARE
                tube(pids, "campaign", county, at, "negative", not lost, cid)
        con.executemany(
            "INSERT INTO testing_tubes (id, barcode, pool_size, purpose, point, region_code,"
            " collector, collected_at, campaign_id, lab_code, received_at, received_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            tubes,
        )
        con.executemany(
            "INSERT INTO testing_tube_members (tube_id, person_id) VALUES (?, ?)", members
        )
        con.executemany(
            "INSERT INTO testing_results (tube_id, run, batch_id, ct_orf1ab, lab_valid, outcome,"
            " tested_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            results,
        )

    # -- risk areas -----------------------------------------------------------------
    def _risk_areas(self, con: sqlite3.Connection, rng: np.random.Generator) -> None:
        rows = []
        case_places = Counter(self.person_place[self.case_idx].tolist())
        for county in self.counties:
            places = [p for p, _ in case_places.most_common() if self.county_of.get(p) == county]
            k = 0
            for lvl, n in RISK_AREAS.items():
                for _ in range(n):
                    if k >= len(places):
                        break
                    code = places[k]
                    k += 1
                    since = NOW - timedelta(days=int(rng.integers(0, 10)), hours=5)
                    rows.append(
                        (
                            code,
                            code,
                            "compound",
                            f"{code} 小区",
                            lvl,
                            "designated",
                            ts(since),
                            "bench: cases in the compound",
                            ts(since),
                            "bench",
                            "protocol-9",
                            "bench",
                        )
                    )
        con.executemany(
            "INSERT INTO risk_areas (code, region_code, granularity, name, level, origin, since,"
            " reason, designated_at, designated_by, pack_name, pack_version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self.risk_area_ids = [r[0] for r in con.execute("SELECT id FROM risk_areas")]
        con.execute(
            "INSERT INTO risk_area_changes (area_id, at, recorded_at, to_level, origin,"
            " changed_by, reason, pack_name, pack_version) SELECT id, since, designated_at,"
            " level, origin, designated_by, reason, pack_name, pack_version FROM risk_areas"
        )

    # -- arrivals -----------------------------------------------------------------
    def _arrivals(self, con: sqlite3.Connection, rng: np.random.Generator) -> None:
        n = scaled(ARRIVALS, self.people_count())
        points = [
            r[0]
            for r in con.execute(
                "SELECT code FROM venues WHERE type IN ('transit_hub', 'checkpoint') ORDER BY code"
            )
        ]
        busy = set(self.case_idx.tolist()) | set(self.contact_idx.tolist())
        free = np.array(
            [
                i
                for i in rng.choice(len(self.person_ids), size=n * 2, replace=False)
                if i not in busy and self.person_county[i]
            ][:n]
        )
        stages = list(ARRIVAL_STAGES)
        p = np.array(list(ARRIVAL_STAGES.values()))
        stage = rng.choice(len(stages), size=len(free), p=p / p.sum())
        manifests = []
        for m in range((len(free) + MANIFEST_SIZE - 1) // MANIFEST_SIZE):
            at = NOW - timedelta(hours=float(rng.uniform(1, 72)))
            manifests.append(
                (
                    m + 1,
                    f"BENCH-{m + 1:05d}",
                    "flight" if m % 2 else "train",
                    "BENCH",
                    points[m % len(points)],
                    ts(at),
                    "bench",
                )
            )
        con.executemany(
            "INSERT INTO arrivals_manifests (id, ref, mode, carrier, point_code, received_at,"
            " received_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            manifests,
        )
        rows = []
        self.overdue_travellers: list[tuple[int, str, str, datetime]] = []
        for t, (i, s) in enumerate(zip(free, stage, strict=True)):
            m = t // MANIFEST_SIZE
            arrived = datetime.strptime(manifests[m][5], _TS).replace(tzinfo=UTC)
            name = stages[s]
            in_loop = name not in ("managed", "released")
            since = arrived + timedelta(hours=float(rng.uniform(0, 2)) * (s + 1))
            since = min(since, NOW - timedelta(minutes=10))
            due = None
            if in_loop:
                late = rng.random() < ARRIVAL_OVERDUE
                due = since + timedelta(hours=2) if late else NOW + timedelta(hours=2)
                due = min(due, NOW - timedelta(minutes=5)) if late else due
            county = str(self.person_county[i])
            if due is not None and due < NOW:
                self.overdue_travellers.append((t + 1, name, county, due))
            rows.append(
                (
                    t + 1,
                    m + 1,
                    int(self.person_ids[i]),
                    os.urandom(32),
                    os.urandom(32),
                    os.urandom(40),
                    manifests[m][4],
                    ts(arrived),
                    county,
                    "[]",
                    "medium",
                    "home_quarantine",
                    "bench",
                    "中风险地区来返",
                    "from a medium-risk area",
                    1,
                    1,
                    name,
                    ts(since),
                    ts(due) if due else None,
                    county,
                    "protocol-9@bench",
                    ts(arrived),
                )
            )
        con.executemany(
            "INSERT INTO arrivals_travellers (id, manifest_id, person_id, doc_hash, content_hash,"
            " address_sealed, point_code, arrived_at, destination_region, history, risk,"
            " management, rule_id, reason_zh, reason_en, landing_test, transfer, stage,"
            " stage_since, due_at, responsible_region, pack_ref, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def people_count(self) -> int:
        return len(self.person_ids)

    # -- alerts ---------------------------------------------------------------------
    def _alerts(self, con: sqlite3.Connection, rng: np.random.Generator) -> None:
        n = scaled(ALERTS, self.people_count())
        statuses = ("raised", "raised", "verified", "investigated", "closed")
        rows = []
        for a in range(n):
            county = self.counties[a % len(self.counties)]
            raised = NOW - timedelta(hours=float(rng.uniform(1, 24 * 10)))
            status = statuses[a % len(statuses)]
            d = raised.astimezone(TZ).date().isoformat()
            rows.append(
                (
                    a + 1,
                    f"bench-{a + 1}",
                    "trigger",
                    "fever_cluster",
                    "fever_clinic",
                    "trigger",
                    county,
                    "county",
                    "day",
                    "high" if a % 3 == 0 else "medium",
                    status,
                    d,
                    d,
                    12.0,
                    3.0,
                    8.0,
                    1,
                    alert_evidence(raised.astimezone(TZ).date()),
                    "protocol-9",
                    ts(raised),
                    ts(raised + timedelta(hours=2)),
                    ts(raised + timedelta(hours=24)),
                    ts(raised + timedelta(hours=1)) if status != "raised" else None,
                    ts(raised + timedelta(hours=20))
                    if status in ("investigated", "closed")
                    else None,
                    ts(raised + timedelta(hours=30)) if status == "closed" else None,
                    0,
                    ts(raised),
                )
            )
        con.executemany(
            "INSERT INTO alerts (id, key, kind, rule, signals, method, region_code, level,"
            " frequency, severity, status, first_period, last_period, observed, expected,"
            " threshold, repeats, evidence, rules_source, raised_at, verify_due, investigate_due,"
            " verified_at, investigated_at, closed_at, escalations, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?)",
            rows,
        )
        self.alert_rows = rows

    # -- tasks ----------------------------------------------------------------------
    def _tasks(self, con: sqlite3.Connection, rng: np.random.Generator) -> None:
        tasks: list[tuple[object, ...]] = []

        def task(
            kind: str,
            stype: str | None,
            sid: str | None,
            region: str,
            role: str | None,
            raised: datetime,
            deadline: datetime,
            status: str,
            params: dict[str, object],
        ) -> None:
            closed = None
            if status in ("done", "cancelled"):
                closed = min(
                    deadline + timedelta(hours=float(rng.uniform(-3, 2))),
                    NOW - timedelta(minutes=1),
                )
                closed = max(closed, raised + timedelta(minutes=5))
            tasks.append(
                (
                    len(tasks) + 1,
                    kind,
                    stype,
                    sid,
                    region,
                    region,
                    role,
                    json.dumps(params),
                    status,
                    ts(raised),
                    "job:raise" if stype else "bench",
                    ts(deadline),
                    0,
                    ts(closed) if closed else None,
                    ("job:raise" if closed else None),
                    "bench" if status == "done" else None,
                )
            )

        for a in self.alert_rows:
            status = {
                "raised": "open",
                "verified": "in_progress",
                "investigated": "in_progress",
                "closed": "done",
            }[a[10]]
            raised = datetime.strptime(a[19], _TS).replace(tzinfo=UTC)
            due = datetime.strptime(a[20 if a[10] == "raised" else 21], _TS).replace(tzinfo=UTC)
            task(
                "alert",
                "alert",
                str(a[0]),
                a[6],
                "epidemiologist",
                raised,
                due,
                status,
                {"rule": a[3]},
            )
        for tid, stage, county, due in self.overdue_travellers:
            task(
                "closed_loop_overdue",
                "arrival",
                f"{tid}/{stage}",
                county,
                "transfer_team",
                due,
                due + timedelta(hours=2),
                "open",
                {"stage": stage},
            )
        for county in self.counties:  # one episode a day while the condition lasted
            for d in range(DAYS):
                day = TODAY - timedelta(days=DAYS - 1 - d)
                raised = day_start(day) + timedelta(hours=8)
                last = d == DAYS - 1
                for kind, role, hours in (
                    ("awaiting_placement", "quarantine_manager", 6),
                    ("late_tubes", "lab", 4),
                ):
                    task(
                        kind,
                        "region_day",
                        f"{county}/{day}",
                        county,
                        role,
                        raised,
                        raised + timedelta(hours=hours),
                        "open" if last else "done",
                        {"count": int(rng.integers(1, 200))},
                    )
        for area in self.risk_area_ids[::3]:
            raised = NOW - timedelta(hours=float(rng.uniform(1, 48)))
            county = self.counties[area % len(self.counties)]
            task(
                "lifting_due",
                "risk_area",
                f"{area}/{TODAY}",
                county,
                "epidemiologist",
                raised,
                raised + timedelta(hours=24),
                "open",
                {},
            )
        units = [
            c
            for c, lv in self.level.items()
            if lv in ("township", "community") and self.county_of.get(c) in self.counties
        ]
        statuses = ("open", "acknowledged", "in_progress", "done", "done", "cancelled")
        for m in range(scaled(MANUAL_TASKS, self.people_count())):
            raised = NOW - timedelta(hours=float(rng.uniform(1, 24 * DAYS)))
            status = statuses[m % len(statuses)]
            late = status in ("open", "acknowledged", "in_progress") and rng.random() < TASK_OVERDUE
            deadline = (
                NOW - timedelta(hours=float(rng.uniform(1, 48)))
                if late
                else max(raised, NOW) + timedelta(hours=float(rng.uniform(1, 72)))
            )
            if status in ("done", "cancelled"):
                deadline = raised + timedelta(hours=24)
            task(
                "manual",
                None,
                None,
                units[m % len(units)],
                None,
                raised,
                deadline,
                status,
                {"title": f"bench {m}"},
            )
        con.executemany(
            "INSERT INTO command_tasks (id, kind, source_type, source_id, region_code,"
            " origin_region_code, role, params, status, raised_at, raised_by, deadline_at,"
            " escalation_level, closed_at, closed_by, evidence)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            tasks,
        )
        changes = [(t[0], t[9], t[10], None, "open", "raised") for t in tasks]
        changes += [(t[0], t[13], t[14], "open", t[8], "closed") for t in tasks if t[13]]
        con.executemany(
            "INSERT INTO command_task_changes (task_id, at, changed_by, from_status, to_status,"
            " note) VALUES (?, ?, ?, ?, ?, ?)",
            changes,
        )


def load(path: Path) -> World:
    """An existing world: its size, outbreak counties and rows (for ``describe``)."""
    con = sqlite3.connect(path)
    try:
        rows = _counts(con)
        counties = [
            r[0]
            for r in con.execute(
                "SELECT substr(p.residence_code, 1, 6) FROM tracing_cases c"
                " JOIN persons p ON p.id = c.person_id GROUP BY 1 ORDER BY count(*) DESC"
            )
        ]
    finally:
        con.close()
    return World(path, rows["persons"], counties, rows)


SPLITS = {
    "contacts by status": "SELECT status, count(*) FROM tracing_contacts GROUP BY 1",
    "active placements by kind": "SELECT kind, count(*) FROM quarantine_placements"
    " WHERE active GROUP BY 1",
    "tubes by flag": "SELECT coalesce(flag, 'none'), count(*) FROM testing_tubes GROUP BY 1",
    "risk areas by level": "SELECT level, count(*) FROM risk_areas GROUP BY 1",
    "travellers by stage": "SELECT stage, count(*) FROM arrivals_travellers GROUP BY 1",
    "alerts by status": "SELECT status, count(*) FROM alerts GROUP BY 1",
    "tasks by status": "SELECT status, count(*) FROM command_tasks GROUP BY 1",
    "open tasks past the deadline": "SELECT 'overdue', count(*) FROM command_tasks"
    " WHERE status IN ('open', 'acknowledged', 'in_progress') AND deadline_at < :now",
    "codes by colour": "SELECT colour, count(*) FROM health_codes GROUP BY 1",
}


def describe(world: World) -> str:
    """The proportions as built (Markdown): rows per table, then the splits."""
    lines = [
        f"World of {world.people:,} persons on {TODAY} (outbreak counties: "
        f"{', '.join(world.counties)})",
        "",
        "| table | rows |",
        "|---|---:|",
    ]
    lines += [f"| {t} | {n:,} |" for t, n in world.rows.items()]
    lines.append("")
    con = sqlite3.connect(world.path)
    try:
        for name, sql in SPLITS.items():
            rows = con.execute(sql, {"now": ts(NOW)}).fetchall()
            lines.append(f"- {name}: " + ", ".join(f"{k} {n:,}" for k, n in rows))
    finally:
        con.close()
    return "\n".join(lines)


def fresh_database(url: str, name: str = "fk_command_world") -> str:
    """A database ``name`` made anew on the server of ``url`` (dropped first when there);
    its URL."""
    import sqlalchemy as sa

    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def to_postgres(path: Path, url: str, chunk: int = 50_000) -> tuple[str, dict[str, int]]:
    """Copy the world in the SQLite file ``path`` into a new database on the PostgreSQL
    server of ``url`` (``fresh_database``; its URL is returned with the rows per table):
    the schema brought to head by the migrations, the seeded rows removed, then each table's
    rows (parents first) read with the tables' own column types and written by ``COPY``;
    identity sequences moved past the copied ids."""
    import sqlalchemy as sa
    from psycopg.types.json import Jsonb

    from fangkong.migrations.catalog import metadata
    from fangkong.store import migrate
    from fangkong.store.engine import make_engine

    url = fresh_database(url)
    source, target = make_engine(f"sqlite:///{path}"), make_engine(url)
    migrate.upgrade(target)
    tables = [t for t in metadata.sorted_tables if t.name != "alembic_version"]
    copied: dict[str, int] = {}
    with target.begin() as conn:  # the rows the migrations seed (roles, rights) come again
        for table in reversed(tables):
            if table.name not in ("audit_log", "audit_head"):  # append-only, empty here
                conn.execute(table.delete())
    raw = target.raw_connection()
    try:
        cur = raw.driver_connection.cursor()  # type: ignore[union-attr]
        for table in tables:
            if table.name == "audit_head":  # one row the migration seeds: moved to the world's
                with source.connect() as src, target.begin() as conn:
                    for row in src.execute(sa.select(table)).mappings():
                        conn.execute(table.update().values(**row))
                copied[table.name] = 1
                continue
            cols = list(table.columns)
            json_at = [i for i, c in enumerate(cols) if isinstance(c.type, sa.JSON)]
            n = 0
            names = ", ".join(f'"{c.name}"' for c in cols)
            with (
                source.connect() as src,
                cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as cp,
            ):
                result = src.execution_options(yield_per=chunk).execute(sa.select(*cols))
                for row in result:
                    values = list(row)
                    for i in json_at:
                        if values[i] is not None:
                            values[i] = Jsonb(values[i])
                    cp.write_row(values)
                    n += 1
            copied[table.name] = n
            pk = list(table.primary_key.columns)
            if n and len(pk) == 1 and isinstance(pk[0].type, sa.Integer):
                col = pk[0].name
                seq = cur.execute(
                    "SELECT pg_get_serial_sequence(%s, %s)", (table.name, col)
                ).fetchone()
                if seq and seq[0]:
                    cur.execute(
                        f'SELECT setval(%s, (SELECT max("{col}") FROM "{table.name}"))',  # noqa: S608
                        (seq[0],),
                    )
        raw.commit()
    finally:
        raw.close()
    with target.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    source.dispose()
    target.dispose()
    return url, copied


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", type=Path, required=True, help="the SQLite file to write")
    ap.add_argument("--postgres", default=None, help="also copy the world into this PostgreSQL URL")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    db = args.db.resolve()
    world = load(db) if db.exists() else build(db, args.people, args.seed)
    print(f"built in {time.perf_counter() - t:.1f} s")
    print(describe(world))
    if args.postgres:
        t = time.perf_counter()
        _, rows = to_postgres(db, args.postgres)
        print(
            f"copied {sum(rows.values()):,} rows into PostgreSQL in {time.perf_counter() - t:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
