"""Readiness shows demand against all capacity (both backends): people awaiting a room
and past the deadline, rooms open, activating (and when), standby, fangcang beds and the
survey's potential; the forecast's peak; the sites a forecast shortfall activates; the
not_placed alerts in the pages and the API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sqlalchemy import Engine, select

from fangkong.quarantine import intake
from fangkong.quarantine.forecast import Forecast
from fangkong.quarantine.readiness import capacity_by_region, with_forecast
from fangkong.quarantine.regions import RegionIndex, RegionInfo
from fangkong.quarantine.surge import Candidate, Supply, forecast_sites, open_due
from fangkong.quarantine.survey import SiteInput, save_site
from fangkong.quarantine.tables import quarantine_facilities
from fangkong.store.tx import write_transaction
from tests.api.helpers import logged_in, make_app
from tests.quarantine.helpers import COUNTY_A, COUNTY_B, add, hotel
from tests.quarantine.surge_helpers import apart, case, contacts, ctx, rules

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
STRICT = rules(home_fallback={"groups": [], "when": "no_room_by_deadline"})


def _world(engine: Engine, t0: datetime = T0) -> list[int]:
    add(
        engine,
        hotel("HA", COUNTY_A, single=1),
        hotel("SA", COUNTY_A, single=1, status="standby"),
        hotel("SB", COUNTY_B, single=3, status="standby"),
        hotel("DH", "140100", single=2, kind="designated_hospital"),
    )
    for code, county in (("GA", COUNTY_A), ("GB", COUNTY_B)):  # 600 beds each
        save_site(engine, SiteInput(code, "体育馆", "gym", county, 6000.0, 60, "grid", "road",
                                    3.0), by="t")  # fmt: skip
    people = apart(engine, COUNTY_A)
    cid = case(engine, people[0], reported=t0 - timedelta(hours=30))  # deadline: t0 − 6 h
    contacts(
        engine, cid, people[1:5], exposed=t0 - timedelta(days=2), found=t0 - timedelta(hours=1)
    )
    return people


def _by_county(engine: Engine, at: datetime) -> dict[str, object]:
    return {r.region_code: r for r in capacity_by_region(engine, STRICT, at=at)}


def test_readiness_counts_demand_and_every_kind_of_capacity(province: Engine) -> None:
    _world(province)
    before = _by_county(province, T0)
    a, b = before[COUNTY_A], before[COUNTY_B]
    # the case (no deadline) awaits; its four contacts are past theirs (24 h from report)
    assert (a.awaiting, a.overdue) == (1, 4)
    assert (a.available, a.standby, a.activating, a.fangcang) == (1, 1, 0, 0)
    assert (a.convertible, b.convertible, b.standby) == (600, 600, 3)
    run = intake.run_intake(province, ctx(), STRICT, at=T0, by="t", forecast=False)
    assert (run.standby_activated, run.fangcang_activated) == (2, 0)  # SA, then SB (city)
    after = _by_county(province, T0)
    a, b = after[COUNTY_A], after[COUNTY_B]
    assert (a.awaiting, a.overdue, a.available, a.occupied) == (0, 3, 0, 1)
    assert (a.standby, a.activating, a.opens_at) == (0, 1, T0 + timedelta(hours=12))
    assert (b.standby, b.activating, b.opens_at) == (0, 3, T0 + timedelta(hours=12))
    assert a.rooms == a.available + a.occupied + a.standby + a.activating
    # a surveyed site made fangcang leaves the survey's potential for the fangcang beds
    from fangkong.quarantine.surge import activate_site, load_ladder

    with write_transaction(province) as conn:
        _, _, sites = load_ladder(conn, STRICT, at=T0)
        activate_site(conn, next(s for s in sites if s.site.code == "GA"), STRICT, at=T0, by="t")
    a = _by_county(province, T0)[COUNTY_A]
    assert (a.fangcang, a.convertible) == (600, 0)
    with write_transaction(province) as conn:
        assert open_due(conn, at=T0 + timedelta(days=2), by="t") == 3  # SA, SB, the fangcang
    a = _by_county(province, T0 + timedelta(days=2))[COUNTY_A]
    assert (a.fangcang, a.activating, a.available) == (600, 0, 601)


@dataclass
class _Row:
    region_code: str
    forecast_peak: float | None = None
    run_out: date | None = None


def test_with_forecast_adds_the_peak_and_the_run_out_day() -> None:
    median = np.array([[3.0, 9.0, 5.0], [1.0, 1.0, 1.0]])
    fc = Forecast(median, median, median, median, median, median, median, median,
                  np.array([6.0, 4.0]), 0.9, 10)  # fmt: skip
    days = [date(2026, 11, 21), date(2026, 11, 22), date(2026, 11, 23)]
    rf = SimpleNamespace(forecast=fc, regions=("A", "B"), days=lambda: days)
    got = with_forecast([_Row("A"), _Row("B"), _Row("C")], rf)  # type: ignore[list-item]
    assert [(r.forecast_peak, r.run_out) for r in got] == [
        (9.0, date(2026, 11, 22)),  # 9 rooms needed on day 2 > 6: they run out then
        (1.0, None),
        (None, None),  # not forecast
    ]


def _index() -> RegionIndex:
    info = {
        "P": RegionInfo("P", None, "province", "省", 0),
        "C1": RegionInfo("C1", "P", "city", "市1", 0),
        "C2": RegionInfo("C2", "P", "city", "市2", 0),
        "A": RegionInfo("A", "C1", "county", "甲", 0),
        "B": RegionInfo("B", "C1", "county", "乙", 0),
        "D": RegionInfo("D", "C2", "county", "丁", 0),
    }
    return RegionIndex(info, {})


def _site(ref: int, region: str, beds: int, score: float) -> Candidate:
    return Candidate(ref, "site", "fangcang", region, beds, timedelta(days=2), score)


@pytest.mark.parametrize(
    ("short", "reach", "chosen"),
    [
        (30, ("county", "city", "province"), [1]),  # rooms coming count first: 50 − 20
        (60, ("county", "city", "province"), [1, 0]),  # best score first, own county first
        (100, ("county", "city", "province"), [1, 0, 2]),  # then the city
        (200, ("county", "city", "province"), [1, 0, 2, 3]),  # then the province
        (200, ("county", "city"), [1, 0, 2]),  # the pack's reach stops at the city
    ],
)
def test_a_forecast_shortfall_activates_the_best_sites_in_reach(
    short: int, reach: tuple[str, ...], chosen: list[int]
) -> None:
    sites = [_site(0, "A", 20, 50.0), _site(1, "A", 40, 80.0), _site(2, "B", 100, 90.0),
             _site(3, "D", 500, 99.0)]  # fmt: skip
    pending = [Supply(9, "hotel", "A", T0, 20)]
    got = forecast_sites({"A": short + 20}, pending, sites, _index(), reach, "county", set())
    assert [c.ref for c in got] == chosen


def test_the_forecast_shortfall_is_acted_upon_with_nobody_waiting(
    province: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(province, hotel("HA", COUNTY_A, single=1))
    save_site(province, SiteInput("GA", "体育馆", "gym", COUNTY_A, 6000.0, 60, "grid", "road", 3.0),
              by="t")  # fmt: skip
    monkeypatch.setattr(intake, "_shortfall", lambda *_: {COUNTY_A: 50})
    out = intake.run_intake(province, ctx(), STRICT, at=T0, by="t")
    assert out.fangcang_activated == 1
    f = quarantine_facilities.c
    with province.connect() as conn:
        status = conn.execute(select(f.status).where(f.code == "FCGA")).scalar_one()
    assert status == "activating"


def test_pages_and_api_show_not_placed_alerts(province: Engine, tmp_path: Path) -> None:
    now = datetime.now(UTC)  # the pages read the machine's clock (until fangkong.clock)
    people = _world(province, now)
    intake.run_intake(province, ctx(), STRICT, at=now, by="t", forecast=False)
    app = make_app(province, tmp_path)
    c = logged_in(app, "epi")  # county 140102: where the contacts live
    page = c.get("/quarantine/alerts")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="alert-row kind-not_placed" data-alert="(\d+)"', page.text)
    assert len(rows) == 3  # overdue, no room in time, no home fallback
    assert "/quarantine/placements/None" not in page.text
    got = c.get("/api/v1/quarantine/alerts").json()
    assert {(a["kind"], a["placement_id"]) for a in got} == {("not_placed", None)}
    assert all(a["due_at"] for a in got)
    ready = c.get("/quarantine")
    waiting = re.search(r'class="awaiting">(\d+)</td><td class="overdue">(\d+)<', ready.text)
    assert waiting is not None
    assert waiting.groups() == ("0", "3")
    other = logged_in(app, "county2")  # another county: the alerts are out of reach
    assert other.get("/api/v1/quarantine/alerts").json() == []
    assert people


def test_forecast_counts_running_placements_per_day_as_one_by_one(province: Engine) -> None:
    """The forecast's rooms still occupied at the end of each coming day (counted with
    numpy, issue 19) are those of the placements compared one by one, day by day: planned
    ends before, within and after the horizon, and none."""
    from fangkong.quarantine.forecast import ForecastOptions, forecast_from_store
    from fangkong.quarantine.regions import load_regions
    from fangkong.quarantine.tables import quarantine_placements

    _world(province)
    add(province, hotel("HB", COUNTY_B, single=4), hotel("HC", COUNTY_A, single=6))
    intake.run_intake(province, ctx(), STRICT, at=T0, by="t", forecast=False)
    p = quarantine_placements.c
    running = (p.active.is_(True), p.kind == "centralised", p.room_id.is_not(None))
    with province.begin() as conn:
        ids = sorted(conn.execute(select(p.id).where(*running)).scalars())
        assert len(ids) >= 3
        for k, pid in enumerate(ids):  # spread the planned ends; the last one open-ended
            end = None if k == len(ids) - 1 else T0 + timedelta(days=3 * k - 2, hours=5)
            conn.execute(quarantine_placements.update().where(p.id == pid)
                         .values(planned_end=end))  # fmt: skip
    pack, tz = ctx().pack, ctx().tz
    got = forecast_from_store(province, pack, tz, ForecastOptions(draws=20), now=T0)
    today = T0.astimezone(tz).date()
    h = got.inputs.occupied.shape[1]
    ends = [datetime.combine(today + timedelta(days=k), datetime.min.time(), tzinfo=tz)
            for k in range(1, h + 1)]  # fmt: skip
    expected = np.zeros_like(got.inputs.occupied)
    row = {c: i for i, c in enumerate(got.regions)}
    level = STRICT.readiness.level
    with province.connect() as conn:
        index = load_regions(conn)
        for region, planned_end in conn.execute(select(p.region_code, p.planned_end)
                                                .where(*running)):  # fmt: skip
            i = row.get(index.ancestor(region, level) or "")
            if i is not None:
                expected[i] += [planned_end is None or planned_end > e for e in ends]
    assert np.array_equal(got.inputs.occupied, expected)
    assert len(set(expected.sum(axis=0).tolist())) > 2  # the count falls day by day
