"""Issue 20 end to end, on SQLite and PostgreSQL, through the services on the twin's
province: a lorry with a key-freight pass crosses; a driver from a high-risk area is
sampled and sent into the closed loop; a queue alert fires and escalates; a dialysis
patient in a sealed compound is transferred before the deadline; a supply floor is
breached and a delivery closes it. Every assertion reads the stored rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from fangkong.arrivals.tables import travellers
from fangkong.care.rules import CareRules
from fangkong.care.service import (
    complete_transfer,
    plan_transfer,
    register_need,
    start_transfer,
)
from fangkong.care.tables import care_needs
from fangkong.care.wards import WardIn, save_ward
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_tasks
from fangkong.command.tasks import escalate_overdue
from fangkong.logistics.tables import crossing_people, crossings
from fangkong.passes.rules import PassRules
from fangkong.passes.service import DriverIn, PassRequest, issue
from fangkong.passes.verify import check_pass
from fangkong.quarantine.regions import load_regions
from fangkong.roads.rules import RoadRules
from fangkong.roads.status import ReportIn as RoadReport
from fangkong.roads.status import record_report as road_report
from fangkong.roads.status import refresh
from fangkong.roads.tables import road_alerts
from fangkong.store.schema import persons
from fangkong.supply.service import (
    OutletIn,
    ReportIn,
    SupplyPolicy,
    add_outlet,
    check_floors,
    confirm_delivery,
    plan_deliveries,
    record_report,
)
from fangkong.supply.tables import supply_alerts
from fangkong.testing.tables import tube_members, tubes
from tests.arrivals.world import COMPOUND_A, COUNTY_A, COUNTY_B, T0, TOWNSHIP_A
from tests.logistics.world import CHECKPOINT, LWorld, crossing, make_lworld, person, record

TZ = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


@pytest.fixture
def lw(province: Engine) -> LWorld:
    return make_lworld(province)


def _one(engine: Engine, query: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(query).one()


def _tasks(engine: Engine, kind: str) -> list[Any]:
    t = command_tasks.c
    with engine.connect() as conn:
        return list(conn.execute(select(command_tasks).where(t.kind == kind).order_by(t.id)))


def test_freight_roads_necessities_and_care_end_to_end(lw: LWorld) -> None:
    engine, pack = lw.w.engine, lw.w.codes.pack
    _a_lorry_with_a_pass_crosses(lw, PassRules.from_pack(pack))
    _a_driver_from_a_high_risk_area_is_sampled_into_the_closed_loop(lw)
    _a_queue_alert_fires_and_escalates(engine, RoadRules.from_pack(pack),
                                       CommandRules.from_pack(pack))  # fmt: skip
    _a_dialysis_patient_is_transferred_before_the_deadline(engine, CareRules.from_pack(pack))
    _a_supply_floor_is_breached_and_a_delivery_closes_it(engine, SupplyPolicy.from_pack(pack, TZ))


def _a_lorry_with_a_pass_crosses(lw: LWorld, rules: PassRules) -> None:
    driver = person(1, negative_test_at=T0 - 10 * H)  # another province's test, 10 h old
    with lw.w.engine.begin() as conn:
        issued = issue(
            conn,
            PassRequest(plate="冀A12345", vehicle_kind="lorry", cargo_class="key_supplies",
                        origin_region="130102", destination_region=COUNTY_B,
                        valid_from=T0 - 2 * H, valid_until=T0 + timedelta(days=7),
                        region_code="140000",
                        drivers=(DriverIn(driver.id_number, driver.name, T0 - 10 * H),)),
            at=T0 - 2 * H, by="provincial mechanism", rules=rules, sealer=lw.w.sealer, tz=TZ,
        )  # fmt: skip

    def verify(conn: Any, token: str, **kw: Any) -> Any:
        return check_pass(conn, token, rules=rules, tz=TZ, **kw)

    out = record(lw, crossing("pass-1", [driver], pass_token=issued.serial), verify_pass=verify)
    assert (out.outcome, out.pass_verdict, out.priority) == ("passed", "valid", True)
    stored = _one(lw.w.engine, select(crossings).where(crossings.c.ref == "pass-1"))
    assert (stored.pass_serial, stored.pass_verdict, stored.outcome) == (
        issued.serial, "valid", "passed")  # fmt: skip
    assert stored.checkpoint_code == CHECKPOINT
    assert out.people[0].person_id == issued.driver_ids[0]  # the pass's driver, matched


def _a_driver_from_a_high_risk_area_is_sampled_into_the_closed_loop(lw: LWorld) -> None:
    # coming from county A, where a compound is a high-risk area; no valid test shown
    out = record(lw, crossing("risk-1", [person(2)], origin_region=COUNTY_A, history=[COUNTY_A],
                              plate="晋A54321", cargo_class="ordinary"))  # fmt: skip
    (p,) = out.people
    assert out.outcome == "closed_loop"
    assert p.from_risk_area
    assert p.sampled
    assert p.traveller_id is not None
    engine = lw.w.engine
    row = _one(engine, select(crossing_people).where(crossing_people.c.person_id == p.person_id))
    assert (row.sampled, row.from_risk_area, row.traveller_id) == (True, True, p.traveller_id)
    tube = _one(engine, select(tubes.c.id, tube_members.c.person_id).join(
        tube_members, tube_members.c.tube_id == tubes.c.id).where(
        tubes.c.barcode == row.sample_barcode))  # fmt: skip
    assert tube.person_id == p.person_id  # sampled and let go: 即采即走
    t = _one(engine, select(travellers).where(travellers.c.id == p.traveller_id))
    assert t.person_id == p.person_id
    assert t.point_code == lw.venue  # handed over at the checkpoint's venue
    assert t.stage in ("registered", "sampled")


def _a_queue_alert_fires_and_escalates(engine: Engine, rules: RoadRules, command: CommandRules
                                       ) -> None:  # fmt: skip
    at = T0 + 3 * H
    with engine.begin() as conn:
        road_report(conn, RoadReport(CHECKPOINT, "q-1", at, rules.queue_limit_vehicles + 40, 30,
                                     4, "open"), at=at, by="device", via="api")  # fmt: skip
        refresh(conn, at=at, rules=rules)
    alert = _one(engine, select(road_alerts).where(road_alerts.c.condition == "queue"))
    assert alert.cleared_at is None
    assert alert.region_code == COUNTY_A  # the checkpoint's county owes it
    (task,) = _tasks(engine, "road_alert")
    assert (task.status, task.region_code, task.escalation_level) == ("open", COUNTY_A, 0)
    # nobody clears the queue: past its deadline and the escalation's hours it goes up
    later = task.deadline_at + timedelta(hours=command.escalation.after_hours) + H
    moved = escalate_overdue(engine, command, at=later)
    assert [m.task_id for m in moved] == [task.id]
    (task,) = _tasks(engine, "road_alert")
    assert task.escalation_level == 1
    assert task.region_code != COUNTY_A  # now the city's
    # the queue is gone: the next refresh clears the alert and closes its task
    with engine.begin() as conn:
        road_report(conn, RoadReport(CHECKPOINT, "q-2", later, 0, 5, 4, "open"), at=later,
                    by="device", via="api")  # fmt: skip
        refresh(conn, at=later, rules=rules)
    alert = _one(engine, select(road_alerts).where(road_alerts.c.condition == "queue"))
    assert alert.cleared_at is not None
    (task,) = _tasks(engine, "road_alert")
    assert task.status == "done"


def _a_dialysis_patient_is_transferred_before_the_deadline(engine: Engine, rules: CareRules
                                                           ) -> None:  # fmt: skip
    with engine.connect() as conn:
        lat, lon = load_regions(conn).point(TOWNSHIP_A)
        patient = conn.execute(select(persons.c.id).where(persons.c.residence_code == COMPOUND_A)
                               .order_by(persons.c.id)).scalars().first()  # fmt: skip
    assert patient is not None
    ward = WardIn("W-1", "右远区人民医院", "缓冲病区", TOWNSHIP_A, lat + 0.02, lon,
                  ("dialysis", "emergency"), 10, 10, True)  # fmt: skip
    save_ward(engine, ward, by="test", at=T0)
    detail = "每周三次血透 / dialysis three times a week"
    need = register_need(engine, rules, person_id=int(patient), kind="dialysis", detail=detail,
                         by="grid", at=T0)  # fmt: skip
    plan = plan_transfer(engine, rules, need, by="dispatcher", at=T0 + 0.25 * H)
    assert not plan.late
    start_transfer(engine, need, by="driver", at=plan.departs_at)
    complete_transfer(engine, rules, need, outcome="admitted", by="ward", at=plan.arrives_at)
    row = _one(engine, select(care_needs).where(care_needs.c.id == need))
    assert (row.status, row.outcome, row.ward_code) == ("done", "admitted", "W-1")
    assert row.arrives_at <= row.due_at
    (task,) = _tasks(engine, "care_need")
    assert task.status == "done"
    assert task.closed_at <= task.deadline_at  # done on time


def _a_supply_floor_is_breached_and_a_delivery_closes_it(engine: Engine, policy: SupplyPolicy
                                                         ) -> None:  # fmt: skip
    add_outlet(engine, OutletIn("SO-1", "兴安农贸市场", "market", TOWNSHIP_A), by="test", at=T0)
    today = T0.astimezone(TZ).date()
    floor = policy.supply.goods["vegetables"].floor_days
    week = [ReportIn("SO-1", today - timedelta(days=d), "vegetables", 20 * (floor - 1), 20)
            for d in range(7)]  # fmt: skip
    low = record_report(engine, policy, week, by="market", via="api", at=T0)
    assert low.floors.raised == 1
    alert = _one(engine, select(supply_alerts).where(supply_alerts.c.cause == "stock"))
    assert (alert.status, alert.region_code, alert.good) == ("open", COUNTY_A, "vegetables")
    (task,) = _tasks(engine, "supply_floor")
    assert task.status == "open"
    # the supplier's delivery restocks the market: its report closes the alert and the task
    refill = [ReportIn("SO-1", today, "vegetables", 20 * (floor + 5), 20)]
    restocked = record_report(engine, policy, refill, by="market", via="api", at=T0 + H)
    assert restocked.floors.closed == 1
    assert _one(engine, select(supply_alerts.c.status).where(supply_alerts.c.id == alert.id))[0] \
        == "closed"  # fmt: skip
    assert _tasks(engine, "supply_floor")[0].status == "done"
    # the sealed compound's delivery: planned, late past its grace (a breach), confirmed
    with engine.begin() as conn:
        planned = plan_deliveries(conn, T0, policy)
    assert planned
    assert {d.status for d in planned} == {"planned"}
    noon = T0 + timedelta(days=policy.supply.delivery_lead_days, hours=12)
    late = check_floors(
        engine, policy, at=noon + timedelta(hours=policy.supply.delivery_grace_hours)
    )
    assert late.raised >= 1
    for d in planned:
        confirm_delivery(engine, policy, d.id, by="courier", at=noon + 13 * H)
    with engine.connect() as conn:
        s = supply_alerts.c
        query = select(func.count()).where(s.cause == "delivery", s.status == "open")
        still = conn.execute(query).scalar_one()
    assert still == 0
    assert {t.status for t in _tasks(engine, "supply_floor")} == {"done"}
