"""The supply services on both backends: reports (idempotent, replaced, refused whole),
days of supply rolled up, floors → one alert and its command task → closed on restock,
deliveries to sealed areas planned once and confirmed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from fangkong.command.tables import command_tasks
from fangkong.errors import InvalidFields
from fangkong.supply.service import (
    ReportIn,
    check_floors,
    confirm_delivery,
    days_of_supply,
    plan_deliveries,
    record_report,
)
from fangkong.supply.tables import supply_alerts, supply_deliveries, supply_reports
from tests.supply.world import K1, K2, NOW, T1, TODAY, build, policy, seal


def _week(outlet: str, good: str, stock: float, sales: float) -> list[ReportIn]:
    return [ReportIn(outlet, TODAY - timedelta(days=d), good, stock, sales) for d in range(7)]


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _tasks(engine: Engine) -> list[tuple[str, str, str]]:
    t = command_tasks.c
    with engine.connect() as conn:
        return [(r.region_code, r.status, r.params["good"]) for r in conn.execute(
            select(t.region_code, t.status, t.params).where(t.kind == "supply_floor")
            .order_by(t.id))]  # fmt: skip


def test_a_resend_changes_nothing_and_a_correction_replaces(engine: Engine) -> None:
    build(engine)
    pol = policy()
    first = record_report(engine, pol, [ReportIn("M1", TODAY, "grain", 500, 20)], by="t",
                          via="api", at=NOW)  # fmt: skip
    again = record_report(engine, pol, [ReportIn("M1", TODAY, "grain", 500, 20)], by="t",
                          via="api", at=NOW)  # fmt: skip
    fixed = record_report(engine, pol, [ReportIn("M1", TODAY, "grain", 450, 25)], by="t",
                          via="form", at=NOW)  # fmt: skip
    assert (first.inserted, again.unchanged, fixed.updated) == (1, 1, 1)
    with engine.connect() as conn:
        rows = conn.execute(select(supply_reports.c.stock, supply_reports.c.via)).all()
    assert [tuple(r) for r in rows] == [(450.0, "form")]


def test_an_unknown_outlet_refuses_the_whole_batch(engine: Engine) -> None:
    build(engine)
    with pytest.raises(InvalidFields) as err:
        record_report(engine, policy(), [ReportIn("M1", TODAY, "grain", 1, 1),
                                         ReportIn("NOPE", TODAY, "grain", 1, 1)],
                      by="t", via="api", at=NOW)  # fmt: skip
    assert err.value.fields[0].field == "reports[1].outlet_code"
    assert _count(engine, supply_reports) == 0


def test_a_county_is_rolled_up_from_its_townships(engine: Engine) -> None:
    build(engine)
    pol = policy()
    record_report(engine, pol, _week("M1", "grain", 300, 10) + _week("S1", "grain", 150, 20)
                  + _week("S2", "grain", 900, 30), by="t", via="file", at=NOW)  # fmt: skip
    with engine.connect() as conn:
        got = days_of_supply(conn, NOW, pol)
    assert got[(K1, "grain")].days == pytest.approx(450 / 30)
    assert got[(K2, "grain")].days == pytest.approx(30.0)
    assert got[("140000", "grain")].outlets == 3


def test_a_breached_floor_raises_one_alert_and_a_restock_closes_it(engine: Engine) -> None:
    build(engine)
    pol = policy()  # vegetables: floor 3 days
    low = record_report(engine, pol, _week("M1", "vegetables", 40, 20), by="t", via="api",
                        at=NOW)  # fmt: skip
    assert low.floors.raised == 1  # K1: 2 days < 3
    assert _tasks(engine) == [(K1, "open", "vegetables")]
    # a second check (the daily job) raises nothing new
    assert check_floors(engine, pol, at=NOW + timedelta(hours=1)).raised == 0
    assert _count(engine, supply_alerts) == 1
    restock = record_report(engine, pol, [ReportIn("M1", TODAY, "vegetables", 200, 20)],
                            by="t", via="api", at=NOW + timedelta(hours=2))  # fmt: skip
    assert restock.floors.closed == 1
    assert _tasks(engine) == [(K1, "done", "vegetables")]
    with engine.connect() as conn:
        a = conn.execute(select(supply_alerts)).one()
    assert (a.status, a.open_key, a.days_at_raise) == ("closed", None, 2.0)
    # breached again later: a new alert and a new task (the closed ones stay)
    record_report(engine, pol, [ReportIn("M1", TODAY, "vegetables", 10, 20)], by="t",
                  via="api", at=NOW + timedelta(hours=3))  # fmt: skip
    assert [s for _, s, _ in _tasks(engine)] == ["done", "open"]


def test_deliveries_are_planned_once_and_a_late_one_is_a_breach_closed_by_confirming(
    engine: Engine,
) -> None:
    build(engine, residents=215)
    area = seal(engine)
    pol = policy()
    with engine.begin() as conn:
        planned = plan_deliveries(conn, NOW, pol)
    goods = {d.good: d for d in planned}
    assert set(goods) == set(pol.supply.goods)
    assert goods["grain"].quantity_planned == pytest.approx(86.0)  # 215 × 0.4 × 1
    assert goods["grain"].planned_for == TODAY + timedelta(days=1)
    assert goods["grain"].area_id == area
    assert goods["grain"].people == 215
    with engine.begin() as conn:
        plan_deliveries(conn, NOW + timedelta(hours=1), pol)
    assert _count(engine, supply_deliveries) == len(pol.supply.goods)  # once per area × good
    # noon of the delivery day passed, grain still not delivered: a breach for T1's county
    late = NOW + timedelta(days=1, hours=3)  # 13:00 local the next day
    d = goods["grain"]
    for other in planned:
        if other.good != "grain":
            confirm_delivery(engine, pol, other.id, by="driver", at=late - timedelta(hours=6))
    out = check_floors(engine, pol, at=late)
    assert out.raised == 1
    assert _tasks(engine) == [(K1, "open", "grain")]
    done = confirm_delivery(engine, pol, d.id, by="driver", at=late + timedelta(hours=1),
                            quantity=60)  # fmt: skip
    assert (done.status, done.quantity_delivered) == ("delivered", 60.0)
    assert _tasks(engine) == [(K1, "done", "grain")]
    # a resent confirmation changes nothing
    again = confirm_delivery(engine, pol, d.id, by="other", at=late + timedelta(hours=2))
    assert (again.delivered_by, again.quantity_delivered) == ("driver", 60.0)


def test_nothing_is_planned_for_areas_not_sealed(engine: Engine) -> None:
    build(engine)
    seal(engine, level="medium")  # 管控, not 封控: residents shop within the area
    with engine.begin() as conn:
        assert plan_deliveries(conn, NOW, policy()) == []
    assert T1  # the compound lies in T1


def test_the_store_s_figures_equal_the_pure_core_s(engine: Engine) -> None:
    """The SQL aggregation (per outlet: sales summed, days counted, the last day's stock)
    rolled up equals days.days_of_supply over the same reports (random, gaps included)."""
    import random

    from fangkong.supply import days as core
    from fangkong.supply.service import Tree

    build(engine)
    pol = policy()
    rng = random.Random(20)
    region = {"M1": T1, "S1": "140105002", "S2": "140106001"}
    reports = [
        ReportIn(o, TODAY - timedelta(days=d), g, round(rng.uniform(0, 900), 2),
                 round(rng.uniform(0, 60), 2))
        for o in region for g in ("grain", "milk", "eggs") for d in range(-1, 12)
        if rng.random() < 0.6
    ]  # fmt: skip
    record_report(engine, pol, reports, by="t", via="file", at=NOW)
    with engine.connect() as conn:
        stored = days_of_supply(conn, NOW, pol)
        parents = Tree.load(conn).parent
    pure = core.days_of_supply(
        [core.Report(r.outlet_code, region[r.outlet_code], r.good, r.day, r.stock, r.sales)
         for r in reports], parents, day=TODAY, window_days=pol.supply.window_days,
    )  # fmt: skip
    assert set(stored) == set(pure)
    for key, s in pure.items():
        assert stored[key].outlets == s.outlets
        assert stored[key].stock == pytest.approx(s.stock)
        assert stored[key].daily_sales == pytest.approx(s.daily_sales)


def test_the_desk_keeps_a_late_delivery_in_sight(engine: Engine) -> None:
    from fangkong.supply.service import page_deliveries

    build(engine)
    seal(engine)
    pol = policy()
    with engine.begin() as conn:
        planned = plan_deliveries(conn, NOW, pol)  # for tomorrow
    confirm_delivery(engine, pol, planned[0].id, by="driver", at=NOW + timedelta(days=1))
    later = TODAY + timedelta(days=3)
    with engine.connect() as conn:
        shown, total = page_deliveries(conn, None, since=later)
    assert total == len(planned) - 1  # the ones still planned; the delivered one is done
    assert planned[0].id not in {d.id for d in shown}
