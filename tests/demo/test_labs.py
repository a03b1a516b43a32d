"""The twin's PCR tests through the testing capability (the demo's labs), both backends.

Five twin days on the small province; from day 2 the whole province is tested every day
(as the reference response orders for the compounds of positives), so campaigns, pools
and positive pools come up. Every sample is in a tube of at most the pack's pool size
at its county's lab; every positive tube's members have a retest order; the persons the
labs report positive are exactly the twin's positives of the tubes with a result; the
tubes held back are the ones still without a result and flagged late after a day. Also
``collect_many``, the batch entry point the feed uses, against ``collect``'s rules.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import Engine, func, select

from fangkong.demo.ids import person_ids
from fangkong.demo.labs import TestingFeed
from fangkong.errors import NotFound
from fangkong.healthcode.qr import QrKeys
from fangkong.healthcode.service import CodeContext
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.testing.campaigns import progress
from fangkong.testing.service import (
    Sample,
    SampleInvalid,
    TubeConflict,
    collect,
    collect_many,
)
from fangkong.testing.tables import campaigns, orders, results, tube_members, tubes
from fangkong.twin.events import DayEvents
from fangkong.twin.registry import generate_registry
from fangkong.twin.scenario import default_scenario
from fangkong.twin.sim import Interventions, Twin
from tests.conftest import TEST_SEAL_KEY
from tests.testing.world import RULES, T0, World, make_world

DAYS = 5
CJK = re.compile(r"[\u4e00-\u9fff]")


def run_feed(engine: Engine) -> tuple[TestingFeed, list[DayEvents]]:
    registry = generate_registry(300, seed=1)  # the province the fixtures imported
    scenario = default_scenario()
    codes = CodeContext(
        pack=load_pack("protocol-9"), sealer=Sealer(TEST_SEAL_KEY), qr=QrKeys.generate()
    )
    ids = person_ids(engine, codes.sealer, registry)
    feed = TestingFeed(engine, codes, registry, ids, scenario.run.start_date,
                       ZoneInfo(scenario.run.timezone), late_results=0.1)  # fmt: skip
    compounds = sorted(set(registry.persons["residence_code"].to_pylist()))
    twin = Twin.from_registry(registry, scenario, seed=1)
    days = []
    for day in range(DAYS):
        events = twin.step(day, Interventions(test_regions=compounds if day >= 2 else ()))
        got = feed.day(events)
        assert got.sampled == int((ids[events.test_results["person"].to_numpy()] > 0).sum())
        days.append(events)
    return feed, days


def test_twin_tests_through_the_labs(province: Engine) -> None:
    feed, days = run_feed(province)
    ids = feed.ids
    end = datetime.combine(feed.start + timedelta(days=DAYS), datetime.min.time(), feed.tz)
    with province.connect() as conn:
        drives = list(conn.execute(select(campaigns.c.id, campaigns.c.region_code)).all())
        tube_rows = conn.execute(select(tubes)).all()
        members = conn.execute(select(tube_members.c.tube_id, tube_members.c.person_id)).all()
        result_rows = conn.execute(select(results.c.tube_id, results.c.id, results.c.outcome)).all()
        retests = set(
            conn.execute(
                select(orders.c.result_id, orders.c.person_id).where(orders.c.reason == "retest")
            ).all()
        )

    # a campaign per compound and day of regional testing, each with sampled persons
    compounds = sorted(set(feed.registry.persons["residence_code"].to_pylist()))
    assert sorted(r for _, r in drives) == sorted(compounds * (DAYS - 2))
    assert sum(d.campaigns for d in feed.days) == len(drives)
    for cid, _ in drives:
        p = progress(province, cid, at=end)
        assert p.sampled > 0
        assert 0 < p.coverage <= 1
        assert p.tubes > 0
        assert p.received + p.tested == p.tubes
        assert p.plan  # the labs existed when it started: the plan is stored

    # tubes: at most the pack's pool size, members as many as the pool, at the county lab
    by_tube: dict[int, list[int]] = {}
    for tid, pid in members:
        by_tube.setdefault(int(tid), []).append(int(pid))
    assert len(tube_rows) == sum(d.tubes for d in feed.days)
    for t in tube_rows:
        assert 1 <= t.pool_size <= max(RULES.pool_sizes) == 20
        assert t.pool_size <= 10  # the twin's 10-in-1
        assert len(by_tube[t.id]) == t.pool_size
        assert t.lab_code == f"LAB-{t.region_code[:6]}"
        assert t.collected_at < t.shipped_at < t.received_at
        assert (t.campaign_id is not None) == (t.purpose == "campaign")
    sampled = [int(x) for e in days for x in ids[e.test_results["person"].to_numpy()] if x > 0]
    assert sorted(sampled) == sorted(pid for m in by_tube.values() for pid in m)

    # every member of a positive tube has a single-tube retest order for that result
    positive_results = [(tid, rid) for tid, rid, o in result_rows if o == "positive"]
    assert positive_results, "the twin's province had positives by day 2"
    for tid, rid in positive_results:
        for pid in by_tube[int(tid)]:
            assert (rid, pid) in retests

    # the labs' positives are the twin's positives of the tubes with a result
    tested = {int(tid) for tid, _, _ in result_rows}
    barcode_of = {t.id: t.barcode for t in tube_rows}
    held = {h.barcode for h in feed._held}
    assert {barcode_of[t.id] for t in tube_rows if t.id not in tested} == held
    reported = {pid for tid, _, o in result_rows if o == "positive" for pid in by_tube[int(tid)]}
    twin_positive: set[int] = set()
    for e in days:
        rows = e.test_results.filter(pc.field("positive"))
        day_held = {b for b in held if b.startswith(f"TW{e.day:03d}-")}
        for person, tube in zip(rows["person"].to_pylist(), rows["tube"].to_pylist(), strict=True):
            number = f"TW{e.day:03d}-{tube - e.day * 10_000_000:07d}-"
            if ids[person] > 0 and not any(b.startswith(number) for b in day_held):
                twin_positive.add(int(ids[person]))
    assert reported == twin_positive
    assert sum(d.positive for d in feed.days) == len(positive_results)

    # late: the held tubes of every day but the last are flagged; the last day's are not yet
    flagged = {t.barcode for t in tube_rows if t.flag == "late"}
    expected = {h.barcode for h in feed._held if not h.barcode.startswith(f"TW{DAYS - 1:03d}-")}
    assert expected <= flagged
    assert sum(d.late for d in feed.days) == len(flagged)
    assert not any(t.flag == "lost" for t in tube_rows)

    line = feed.days[-1].line()
    lines = feed.summary(end.astimezone(UTC))
    for text in (line, *lines):
        assert CJK.search(text)
        assert re.search(r"[a-z]{4,}", text)
    assert "campaigns" in lines[0]
    assert "late" in lines[1]

    # a restarted demo running the last day again adds no tube and no campaign
    again = TestingFeed(province, feed.codes, feed.registry, ids, feed.start, feed.tz)
    again.day(days[-1])
    with province.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tubes)).scalar_one() == len(tube_rows)
        assert conn.execute(select(func.count()).select_from(campaigns)).scalar_one() == len(drives)


# ---- collect_many: collect's rules, for many tubes at once -----------------------------------


@pytest.fixture
def world(engine: Engine) -> World:
    return make_world(engine)


def _sample(code: str, people: list[int], at: datetime = T0) -> Sample:
    return Sample(code, people, "site", "140102001001", "team", at, "campaign")


def test_collect_many_writes_what_collect_writes(world: World) -> None:
    e, p = world.engine, world.people
    one = collect(e, RULES, _sample("ONE", p[:3]), at=T0)
    got = collect_many(e, RULES, [_sample("MANY-1", p[3:6]), _sample("MANY-2", [p[6]])], at=T0)
    assert (got.created, got.already) == (2, 0)
    with e.connect() as conn:
        rows = {
            r.barcode: r
            for r in conn.execute(select(tubes).where(tubes.c.barcode.like("MANY-%"))).all()
        }
        pending = conn.execute(
            select(func.count()).select_from(
                select(tube_members.c.person_id)
                .where(tube_members.c.tube_id.in_([r.id for r in rows.values()]))
                .subquery()
            )
        ).scalar_one()
    assert rows["MANY-1"].pool_size == 3
    assert rows["MANY-2"].pool_size == 1
    assert rows["MANY-1"].purpose == one.purpose
    assert pending == 4
    again = collect_many(e, RULES, [_sample("MANY-1", p[3:6]), _sample("MANY-3", [p[7]])], at=T0)
    assert (again.created, again.already) == (1, 1)


def test_collect_many_refuses_all_or_nothing(world: World) -> None:
    e, p = world.engine, world.people
    collect_many(e, RULES, [_sample("TAKEN", p[:2])], at=T0)
    with pytest.raises(TubeConflict):
        collect_many(e, RULES, [_sample("NEW-1", [p[5]]), _sample("TAKEN", p[2:4])], at=T0)
    later = T0 + timedelta(hours=1)
    with pytest.raises(TubeConflict):
        collect_many(e, RULES, [_sample("TAKEN", p[:2], later)], at=later)
    with pytest.raises(NotFound):
        collect_many(e, RULES, [_sample("NEW-2", [p[5], 10**9])], at=T0)
    with pytest.raises(SampleInvalid):
        collect_many(e, RULES, [_sample("NEW-3", [p[5]]), _sample("NEW-3", [p[6]])], at=T0)
    with pytest.raises(SampleInvalid):
        collect_many(e, RULES, [_sample("NEW-4", list(range(1, 30)))], at=T0)
    with e.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tubes)).scalar_one() == 1


def test_tubes_split_at_compound_edges(province: Engine) -> None:
    """A twin tube spanning two compounds becomes two tubes with the twin's result."""
    registry = generate_registry(300, seed=1)
    codes = CodeContext(
        pack=load_pack("protocol-9"), sealer=Sealer(TEST_SEAL_KEY), qr=QrKeys.generate()
    )
    ids = person_ids(province, codes.sealer, registry)
    feed = TestingFeed(province, codes, registry, ids, default_scenario().run.start_date,
                       ZoneInfo("Asia/Shanghai"), late_results=0.0)  # fmt: skip
    residence = np.array(registry.persons["residence_code"].to_pylist())
    edge = int(np.flatnonzero(residence[1:] != residence[:-1])[0])  # last of the first
    who = [edge - 1, edge, edge + 1, edge + 2]
    at = datetime(2022, 3, 18, 2, 0, tzinfo=UTC)
    table = pa.Table.from_pydict(
        {
            "person": pa.array(who, pa.int32()),
            "sample_time": pa.array([at] * 4, pa.timestamp("s", tz="UTC")),
            "result_time": pa.array([at + timedelta(hours=12)] * 4, pa.timestamp("s", tz="UTC")),
            "reason": pa.array(["region"] * 4).dictionary_encode(),
            "tube": pa.array([7] * 4, pa.int64()),
            "pool_size": pa.array([4] * 4, pa.int16()),
            "positive": pa.array([True] * 4),
            "ct": pa.array([30.5] * 4, pa.float32()),
        }
    )
    empty = {k: pa.table({}) for k in ("checkins", "travellers", "fever_clinic_visits")}
    events = DayEvents(0, **empty, pharmacy_sales=pa.table({}), school_absences=pa.table({}),
                       test_results=table, truth=pa.table({}))  # fmt: skip
    got = feed.day(events)
    assert (got.tubes, got.campaigns, got.positive) == (2, 2, 2)
    with province.connect() as conn:
        sizes = sorted(conn.execute(select(tubes.c.pool_size)).scalars())
        outcomes = set(conn.execute(select(results.c.outcome)).scalars())
    assert sizes == [2, 2]
    assert outcomes == {"positive"}
