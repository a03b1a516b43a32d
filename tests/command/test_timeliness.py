"""Timeliness and accountability: each measure on a hand-made world with known timestamps,
a brute-force recomputation over the rows on random worlds, the ranking, the gap list,
the CSV and the rights."""

from __future__ import annotations

import csv
import io
import random
import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from fangkong.auth.guard import Call
from fangkong.auth.model import Actor
from fangkong.auth.rights import COMMAND_READ
from fangkong.command.access_accountability import RegionUnknown, accountability
from fangkong.command.accountability import gaps, ranking
from fangkong.command.model import MEASURE, MEASURES
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_tasks
from fangkong.command.timeliness import Timeliness, timeliness
from fangkong.errors import BadInput, Forbidden
from fangkong.policy.loader import load_pack
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.schema import persons, regions
from fangkong.testing.tables import campaigns, results, tube_members, tubes
from fangkong.tracing.tables import tracing_cases, tracing_contacts
from tests.command.world import COUNTIES, NOW, TOWN, World, h

TZ = ZoneInfo("Asia/Shanghai")
PACK = load_pack("protocol-9")
TARGETS = CommandRules.from_pack(PACK).timeliness


def _build_hand(w: World) -> dict[str, int]:
    w.regions()
    ids: dict[str, int] = {}
    # case_reported / core_facts in K1
    p1, p2, p3, p4, p5, p6 = (w.person("K1") for _ in range(6))
    p7, p8 = w.person(TOWN), w.person("K1")
    w.result(w.tube([p1], "K1", NOW - h(12)), NOW - h(10))
    # reported 1 h: on time; verified 1 h: on time; on site 2.5 h: late; facts stamped 2 h
    # (the stamp, not the tracing run's 3 h): on time; report 8 h: on time
    w.case(p1, NOW - h(9), traced=NOW - h(6), verified=NOW - h(8), on_site=NOW - h(6.5),
           core_facts=NOW - h(7), report=NOW - h(1))  # fmt: skip
    w.result(w.tube([p2], "K1", NOW - h(22)), NOW - h(20))
    # reported 5 h: late; verified 3 h: late; on site 1 h: on time; facts never stamped:
    # the tracing run's 10 h, late; no report after 15 h: pending
    w.case(p2, NOW - h(15), traced=NOW - h(5), verified=NOW - h(12), on_site=NOW - h(14))
    w.result(w.tube([p3], "K1", NOW - h(6)), NOW - h(5))  # no case after 5 h: overdue
    w.result(w.tube([p4], "K1", NOW - h(2)), NOW - h(1))  # no case after 1 h: pending
    w.result(w.tube([p5, p6], "K1", NOW - h(9)), NOW - h(8))  # a pool alone: no event
    w.result(w.tube([p7, p1], TOWN, NOW - h(31)), NOW - h(30), "negative")
    w.result(w.tube([p7], TOWN, NOW - h(31)), NOW - h(30))
    w.result(w.tube([p7], TOWN, NOW - h(11)), NOW - h(10))  # a later positive
    # 1 h after the first positive; never verified nor on site (overdue); facts stamped
    # 9 h: late; report 27 h: late
    w.case(p7, NOW - h(29), core_facts=NOW - h(20), report=NOW - h(2))
    w.case(w.person("K1"), NOW - h(1))  # no positive on file; every step pending
    w.case(w.person("K1"), NOW - h(30))  # no step after 30 h: every step overdue
    w.result(w.tube([p8], "K1", NOW - h(24 * 20)), NOW - h(24 * 20))
    w.case(p8, NOW - h(24 * 20 - 1))  # before the period
    # contacts_controlled in K2
    c1, c2, c3, c4, c5, c6, c7 = (w.person("K2") for _ in range(7))
    w.contact(c1, NOW - h(30))
    w.placement(c1, NOW - h(10), NOW - h(10))  # 20 h: on time
    w.contact(c2, NOW - h(40))
    w.placement(c2, NOW - h(5), NOW - h(12), "home_quarantine")  # in effect at -5 h: late
    w.contact(c3, NOW - h(30))  # never placed: overdue
    w.contact(c4, NOW - h(3))  # pending
    w.contact(c5, NOW - h(50))
    w.placement(c5, NOW - h(200), NOW - h(200), ended=NOW - h(100))  # an earlier episode
    w.placement(c5, NOW - h(49), NOW - h(49), "home_monitoring")  # does not control
    w.contact(c6, NOW - h(30), kind="general")  # not a close contact: no event
    w.contact(c7, NOW - h(30))
    w.placement(c7, NOW - h(40), NOW - h(40))  # already under control: 0 h
    # area_testing in K3
    k1 = w.campaign("K3", NOW - h(48))
    w.result(w.tube([w.person("K3")], "K3", NOW - h(47), k1), NOW - h(30), "negative")
    w.result(
        w.tube([w.person("K3")], "K3", NOW - h(47), k1), NOW - h(28), "negative"
    )  # 20 h: on time
    k2 = w.campaign("K3", NOW - h(60))
    w.result(w.tube([w.person("K3")], "K3", NOW - h(59), k2), NOW - h(20), "negative")
    w.tube([w.person("K3")], "K3", NOW - h(59), k2)  # a tube without result: overdue
    w.campaign("K3", NOW - h(10))  # no tubes yet: pending
    w.campaign("K3", NOW - h(80), closed=NOW - h(40))  # 40 h: late
    k5 = w.campaign("K3", NOW - h(70))
    t5 = w.tube([w.person("K3")], "K3", NOW - h(69), k5)
    w.result(t5, NOW - h(60), "inconclusive")
    w.result(t5, NOW - h(30), "negative")  # the tube's first result counts: 10 h, on time
    # tasks
    ids["a"] = w.task("K1", NOW - h(10), "done", NOW - h(12))
    ids["b"] = w.task(TOWN, NOW - h(20), "done", NOW - h(17), role="lab")
    ids["c"] = w.task("K1", NOW - h(5), "acknowledged")
    ids["d"] = w.task("K1", NOW + h(5))
    ids["e"] = w.task("K1", NOW - h(8), "cancelled", NOW - h(9))
    ids["f"] = w.task("K2", NOW - h(30), "done", NOW - h(31), role="quarantine_manager")
    ids["g"] = w.task("K3", NOW - h(50), "in_progress", now_region="C1")
    ids["h"] = w.task("K1", NOW - h(24 * 30))  # before the period
    return ids


@pytest.fixture
def hand(engine: Engine) -> dict[str, int]:
    with engine.begin() as conn:
        return _build_hand(World(conn))


def _report(engine: Engine, region: str = "P1") -> Timeliness:
    with engine.connect() as conn:
        return timeliness(conn, region, TARGETS, now=NOW, tz=TZ)


def _stat(t: Timeliness, county: str, key: str) -> tuple[Any, ...]:
    (c,) = [c for c in t.counties if c.code == county]
    s = c.measures[key]
    return s.events, s.on_time, s.late, s.pending, s.overdue, s.median_hours


def test_targets_are_the_protocols() -> None:
    assert dict(TARGETS) == {"case_reported": 2, "case_verified": 2, "on_site": 2,
                             "core_facts": 4, "report": 24, "contacts_controlled": 24,
                             "area_testing": 24}  # fmt: skip


def test_each_measure_counts_on_time_late_pending_overdue_and_median(
    engine: Engine, hand: dict[str, int]
) -> None:
    t = _report(engine)
    assert [c.code for c in t.counties] == list(COUNTIES)
    assert _stat(t, "K1", "case_reported") == (5, 2, 1, 1, 1, 1.0)
    assert _stat(t, "K1", "case_verified") == (5, 1, 1, 1, 2, 2.0)
    assert _stat(t, "K1", "on_site") == (5, 1, 1, 1, 2, 1.75)
    assert _stat(t, "K1", "core_facts") == (5, 1, 2, 1, 1, 9.0)
    assert _stat(t, "K1", "report") == (5, 1, 1, 2, 1, 17.5)
    assert _stat(t, "K2", "contacts_controlled") == (6, 2, 1, 1, 2, 20.0)
    assert _stat(t, "K3", "area_testing") == (5, 2, 1, 1, 1, 20.0)
    assert _stat(t, "K2", "case_reported") == (0, 0, 0, 0, 0, None)
    assert _stat(t, "K2", "report") == (0, 0, 0, 0, 0, None)


def test_tasks_per_county_and_unit(engine: Engine, hand: dict[str, int]) -> None:
    t = _report(engine)
    k1 = next(c for c in t.counties if c.code == "K1").tasks
    assert (k1.total, k1.on_time, k1.late, k1.open_overdue, k1.open, k1.cancelled) == (
        5, 1, 1, 1, 1, 1)  # fmt: skip
    assert k1.missed == 2
    assert k1.median_delay_hours == 4.0
    units = {(u.region_code, u.role): u for u in t.units}
    assert set(units) == {("K1", "epidemiologist"), (TOWN, "lab"), ("K2", "quarantine_manager"),
                          ("K3", "epidemiologist")}  # fmt: skip
    assert units[(TOWN, "lab")].county == "K1"
    assert units[(TOWN, "lab")].tasks.late == 1
    assert units[("K3", "epidemiologist")].tasks.open_overdue == 1
    (city,) = [r for r in t.rollups if r.code == "C1"]
    assert city.tasks.total == 7
    assert city.measures["case_reported"].events == 5
    assert [r.code for r in t.rollups] == ["P1", "C1"]


def test_ranking_and_gaps(engine: Engine, hand: dict[str, int]) -> None:
    t = _report(engine)
    ranks = ranking(t)
    assert [r.county.code for r in ranks] == ["K2", "K1", "K3"]
    # K1: tasks 1/3, reported 2/4, verified 1/4, on site 1/4, facts 1/4, report 1/3
    k1 = (1 / 3 + 0.5 + 0.25 + 0.25 + 0.25 + 1 / 3) / 6
    assert [round(r.score or 0, 4) for r in ranks] == [0.7, round(k1, 4), 0.25]
    with engine.connect() as conn:
        found = gaps(conn, t)
    assert [(g.kind, g.what, g.region_code, g.excess_hours) for g in found] == [
        ("task", "manual", "K1", 720.0),  # open since before the period: still a gap now
        ("task", "manual", "K3", 50.0),
        ("measure", "area_testing", "K3", 36.0),
        ("measure", "case_verified", "K1", 28.0),  # the case with no step after 30 h
        ("measure", "on_site", "K1", 28.0),
        ("measure", "contacts_controlled", "K2", 26.0),
        ("measure", "core_facts", "K1", 26.0),
        ("measure", "report", "K1", 6.0),
        ("task", "manual", "K1", 5.0),
        ("measure", "case_reported", "K1", 3.0),
    ]
    assert found[0].task_id == hand["h"]
    assert found[1].task_id == hand["g"]
    assert found[1].now_region_code == "C1"
    assert found[1].region_name == "县K3"
    assert found[5].role == "quarantine_manager"
    assert found[3].role == "epidemiologist"


def _actor(region: str | None, *rights: str) -> Actor:
    return Actor("user", "u", frozenset(rights), region)


def _call(engine: Engine, actor: Actor) -> Call:
    return Call(engine, b"k" * 32, actor, tz=TZ, at=NOW)


def test_access_rights_jurisdiction_csv(engine: Engine, hand: dict[str, int]) -> None:
    with pytest.raises(Forbidden):
        accountability(_call(engine, _actor("P1")), PACK)
    own = accountability(_call(engine, _actor("K2", COMMAND_READ)), PACK)
    assert [c.code for c in own.timeliness.counties] == ["K2"]
    with pytest.raises(RegionUnknown):
        accountability(_call(engine, _actor("K2", COMMAND_READ)), PACK, region="K1")
    with pytest.raises(BadInput):
        accountability(_call(engine, _actor("P1", COMMAND_READ)), PACK, days=0)
    full = accountability(_call(engine, _actor(None, COMMAND_READ)), PACK, region="C1")
    assert [r.county.code for r in full.ranks] == ["K2", "K1", "K3"]
    rows = list(csv.reader(io.StringIO(full.to_csv("en"))))
    assert rows[1][:3] == ["rank", "county code", "county"]
    assert rows[2][:4] == ["1", "K2", "县K2", "70.0"]
    report = rows[1].index(f"{MEASURE['report'].en} on time")
    (k1,) = [r for r in rows[2:5] if r[1] == "K1"]
    assert k1[report : report + 3] == ["1", "5", "17.5"]  # on time, events, median
    gap_rows = rows[rows.index(["gaps"]) + 2 :]
    assert gap_rows[1][1:6] == ["task", "set by a commander", "K3", "县K3", "epidemiologist"]
    assert "流调/疾控人员" in full.to_csv("zh")


# ---- brute force over the rows, on random worlds ---------------------------------------


def _random_world(w: World, rng: random.Random) -> None:
    w.regions()
    places = [*COUNTIES, TOWN]

    def t(lo: float, hi: float) -> datetime:
        return NOW - h(rng.uniform(lo, hi))

    for _ in range(60):
        pid = w.person(rng.choice(places))
        roll = rng.random()
        if roll < 0.35:
            members = [pid] if rng.random() < 0.6 else [pid, w.person(rng.choice(places))]
            tube = w.tube(members, "K1", t(0, 400))
            for _ in range(rng.randint(1, 2)):
                w.result(tube, t(0, 400), rng.choice(("positive", "positive", "negative")))
            if rng.random() < 0.6:
                reg = t(0, 400)

                def step(reg: datetime = reg) -> datetime | None:  # never, or even after now
                    return reg + h(rng.uniform(0, 40)) if rng.random() < 0.7 else None

                w.case(pid, reg, traced=t(0, 300) if rng.random() < 0.7 else None,
                       verified=step(), on_site=step(), core_facts=step(),
                       report=step())  # fmt: skip
        elif roll < 0.7:
            w.contact(pid, t(0, 400), kind=rng.choice(("close", "close", "general")))
            n = rng.randint(0, 2)
            for i in range(n):  # at most one placement active
                ended = t(0, 300) if rng.random() < 0.4 or i < n - 1 else None
                w.placement(pid, t(0, 400), t(0, 400),
                            rng.choice(("centralised", "home_quarantine", "home_monitoring")),
                            ended=ended)  # fmt: skip
        elif roll < 0.85:
            closed = t(0, 200) if rng.random() < 0.3 else None
            k = w.campaign(rng.choice(places), t(0, 400), closed)
            for _ in range(rng.randint(0, 3)):
                tube = w.tube([w.person("K3")], "K3", t(0, 400), k)
                if rng.random() < 0.7:
                    w.result(tube, t(0, 400))
        else:
            status = rng.choice(("open", "acknowledged", "in_progress", "done", "cancelled"))
            closed = t(0, 400) if status in ("done", "cancelled") else None
            w.task(rng.choice(places), t(-20, 400), status, closed,
                   role=rng.choice((None, "lab", "epidemiologist")))  # fmt: skip


def _all(conn: Any, table: Any) -> list[Any]:
    return list(conn.execute(select(table)).all())


def _brute(engine: Engine, t: Timeliness) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Every measure per county, recomputed by loops over every row of the tables."""
    with engine.connect() as conn:
        parent = {r.code: r.parent_code for r in _all(conn, regions)}
        home = {p.id: p.residence_code for p in _all(conn, persons)}
        tube_rows = {x.id: x for x in _all(conn, tubes)}
        members = defaultdict(list)
        for m in _all(conn, tube_members):
            members[m.tube_id].append(m.person_id)
        res = _all(conn, results)
        cases = {c.person_id: c for c in _all(conn, tracing_cases)}
        contacts, places = _all(conn, tracing_contacts), _all(conn, quarantine_placements)
        camps, tasks = _all(conn, campaigns), _all(conn, command_tasks)
    lo, hi, now = t.period.lo, t.period.hi, NOW

    def county(code: str | None) -> str | None:
        while code is not None and code not in COUNTIES:
            code = parent.get(code)
        return code

    events: dict[str, list[tuple[str | None, datetime, datetime | None]]] = defaultdict(list)
    first: dict[int, datetime] = {}
    single: set[int] = set()
    for r in res:
        if r.outcome == "positive" and r.tested_at < hi:
            for p in members[r.tube_id]:
                first[p] = min(first.get(p, r.tested_at), r.tested_at)
                if tube_rows[r.tube_id].pool_size == 1:
                    single.add(p)
    for p, at in first.items():
        if lo <= at < hi and (p in cases or p in single):
            events["case_reported"].append(
                (county(home[p]), at, cases[p].registered_at if p in cases else None)
            )
    for c in cases.values():
        if lo <= c.registered_at < hi:
            where, start = county(home[c.person_id]), c.registered_at
            facts = c.core_facts_at if c.core_facts_at is not None else c.traced_at
            events["core_facts"].append((where, start, facts))
            events["case_verified"].append((where, start, c.verified_at))
            events["on_site"].append((where, start, c.on_site_at))
            events["report"].append((where, start, c.report_at))
    for c in contacts:
        if c.kind != "close" or not lo <= c.identified_at < hi:
            continue
        ends = [
            max(q.starts_at, q.created_at)
            for q in places
            if q.person_id == c.person_id and q.kind in ("centralised", "home_quarantine")
            and (q.ended_at is None or q.ended_at > c.identified_at)
        ]  # fmt: skip
        events["contacts_controlled"].append(
            (county(home[c.person_id]), c.identified_at, min(ends) if ends else None)
        )
    for k in camps:
        if not lo <= k.starts_at < hi:
            continue
        mine = [x.id for x in tube_rows.values() if x.campaign_id == k.id]
        firsts = [min(r.tested_at for r in res if r.tube_id == x)
                  for x in mine if any(r.tube_id == x for r in res)]  # fmt: skip
        end = k.closed_at or (max(firsts) if mine and len(firsts) == len(mine) else None)
        events["area_testing"].append((county(k.region_code), k.starts_at, end))
    out: dict[tuple[str, str], tuple[Any, ...]] = {}
    for key, evs in events.items():
        target = TARGETS[key]
        for unit in COUNTIES:
            n = {"on_time": 0, "late": 0, "pending": 0, "overdue": 0}
            delays = []
            for u, s, e in evs:
                if u != unit:
                    continue
                if e is not None and e <= now:
                    d = max(0.0, (e - s).total_seconds() / 3600)
                    n["on_time" if d <= target else "late"] += 1
                    delays.append(d)
                else:
                    n["overdue" if (now - s).total_seconds() / 3600 > target else "pending"] += 1
            med = round(statistics.median(delays), 2) if delays else None
            out[(unit, key)] = (sum(n.values()), n["on_time"], n["late"], n["pending"],
                                n["overdue"], med)  # fmt: skip
    for unit in COUNTIES:
        mine = [x for x in tasks if county(x.origin_region_code) == unit
                and lo <= x.deadline_at < hi]  # fmt: skip
        on_time = sum(x.status == "done" and x.closed_at <= x.deadline_at for x in mine)
        late = sum(x.status == "done" and x.closed_at > x.deadline_at for x in mine)
        overdue = sum(x.status not in ("done", "cancelled") and now > x.deadline_at for x in mine)
        out[(unit, "tasks")] = (len(mine), on_time, late, overdue)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_sql_agrees_with_a_brute_force_recomputation(engine: Engine, seed: int) -> None:
    with engine.begin() as conn:
        _random_world(World(conn), random.Random(seed))
    t = _report(engine)
    expected = _brute(engine, t)
    assert sum(v[0] for v in expected.values()) > 20  # the world is not empty
    for c in t.counties:
        for m in MEASURES:
            assert _stat(t, c.code, m.key) == expected[(c.code, m.key)], (seed, c.code, m.key)
        got = (c.tasks.total, c.tasks.on_time, c.tasks.late, c.tasks.open_overdue)
        assert got == expected[(c.code, "tasks")], (seed, c.code)
