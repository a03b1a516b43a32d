"""The care register's use cases on both backends: register (with its task), plan a
green-channel transfer (ward, vehicle, deadline), complete, cancel, escalate."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from fangkong.arrivals.dispatch import free_vehicles, save_vehicle
from fangkong.arrivals.rules import ArrivalRules
from fangkong.care import service
from fangkong.care.errors import NeedConflict, NeedInvalid, NoTransfer
from fangkong.care.rules import CareRules
from fangkong.care.tables import care_need_changes, care_wards
from fangkong.care.views import get_need, need_history, page_needs
from fangkong.command.tables import command_tasks
from fangkong.policy import load_pack
from tests.care.conftest import T0, H, World, build_world


def _task(engine: Engine, need: int) -> object:
    t = command_tasks.c
    with engine.connect() as conn:
        return conn.execute(select(command_tasks).where(
            t.kind == "care_need", t.source_id == str(need))).one()  # fmt: skip


def _free(engine: Engine, ward: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(care_wards.c.beds_free)
                                .where(care_wards.c.code == ward)).scalar_one())  # fmt: skip


def test_a_need_is_registered_with_its_deadline_and_task(
    world: World, care_rules: CareRules
) -> None:
    e = world.engine
    need = service.register_need(e, care_rules, person_id=world.residents[0], kind="dialysis",
                                 detail="每周三次血透", by="u1", at=T0)  # fmt: skip
    view = get_need(e, need, at=T0)
    assert view is not None
    assert (view.area_id, view.status, view.due_at, view.overdue) == (
        world.high, "open", T0 + 24 * H, False)  # fmt: skip
    task = _task(e, need)
    assert (task.status, task.region_code, task.deadline_at, task.params["care_kind"]) == (  # type: ignore[attr-defined]
        "open", "140101001", T0 + 24 * H, "dialysis")  # fmt: skip
    assert "person" not in str(task.params)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("who", "kind", "code"),
    [("outsider", "dialysis", "care.no_area"), ("resident", "massage", "care.need_kind"),
     ("resident", "dialysis", None)],
)  # fmt: skip
def test_registration_is_refused_with_a_reason(
    world: World, care_rules: CareRules, who: str, kind: str, code: str | None
) -> None:
    person = world.outsider if who == "outsider" else world.residents[1]
    if code is None:  # the right area given explicitly, then a wrong one
        service.register_need(world.engine, care_rules, person_id=person, kind=kind,
                              area_id=world.high, by="u", at=T0)  # fmt: skip
        with pytest.raises(NeedInvalid) as err:
            service.register_need(world.engine, care_rules, person_id=person, kind=kind,
                                  area_id=world.low, by="u", at=T0)  # fmt: skip
        assert err.value.code == "care.not_controlled"
        return
    with pytest.raises(NeedInvalid) as err:
        service.register_need(world.engine, care_rules, person_id=person, kind=kind, by="u", at=T0)
    assert err.value.code == code
    assert err.value.problem.message_zh
    assert err.value.problem.message_en


def test_plan_takes_a_buffer_ward_and_the_nearest_vehicle_before_the_deadline(
    world: World, care_rules: CareRules
) -> None:
    e = world.engine
    need = service.register_need(e, care_rules, person_id=world.residents[0], kind="dialysis",
                                 by="u", at=T0)  # fmt: skip
    plan = service.plan_transfer(e, care_rules, need, by="u2", at=T0 + H)
    # from a high-risk area: the buffer ward, though the general one is nearer
    assert (plan.ward, plan.vehicle, plan.late) == ("W-BUF", "V1", False)
    assert T0 + H < plan.departs_at < plan.arrives_at < T0 + 24 * H
    assert _free(e, "W-BUF") == 1
    assert _task(e, need).status == "in_progress"  # type: ignore[attr-defined]
    # the vehicle is busy now: the closed loop's planner does not see it either
    assert [c.code for c in free_vehicles(e)] == ["V2"]
    assert free_vehicles(e, busy=["V2"]) == []
    with pytest.raises(NeedConflict):
        service.plan_transfer(e, care_rules, need, by="u2", at=T0 + H)
    service.start_transfer(e, need, by="driver", at=T0 + 2 * H)
    service.complete_transfer(e, care_rules, need, outcome="admitted", by="ward", at=T0 + 2.5 * H)
    view = get_need(e, need, at=T0 + 3 * H)
    assert view is not None
    assert (view.status, view.outcome) == ("done", "admitted")
    task = _task(e, need)
    assert (task.status, task.closed_at) == ("done", T0 + 2.5 * H)  # type: ignore[attr-defined]
    statuses = [h.to_status for h in need_history(e, need)]
    assert statuses == ["open", "planned", "in_transfer", "done"]


def test_a_medium_area_patient_may_go_to_the_general_ward(
    world: World, care_rules: CareRules
) -> None:
    need = service.register_need(world.engine, care_rules, person_id=world.medium_residents[0],
                                 kind="chemotherapy", by="u", at=T0)  # fmt: skip
    plan = service.plan_transfer(world.engine, care_rules, need, by="u", at=T0)
    assert plan.ward == "W-GEN"  # the buffer ward does not treat chemotherapy


def test_no_ward_no_vehicle_and_too_late_are_refused_with_reasons(engine: Engine) -> None:
    rules = CareRules.from_pack(load_pack("protocol-9"))
    w = build_world(engine, vehicles=1)
    e = w.engine
    chemo = service.register_need(e, rules, person_id=w.residents[0], kind="chemotherapy",
                                  by="u", at=T0)  # fmt: skip
    with pytest.raises(NoTransfer) as err:  # only the general ward treats it: not a buffer ward
        service.plan_transfer(e, rules, chemo, by="u", at=T0)
    assert err.value.code == "care.no_ward"
    first = service.register_need(e, rules, person_id=w.residents[1], kind="emergency",
                                  by="u", at=T0)  # fmt: skip
    service.plan_transfer(e, rules, first, by="u", at=T0)
    second = service.register_need(e, rules, person_id=w.residents[2], kind="emergency",
                                   by="u", at=T0)  # fmt: skip
    with pytest.raises(NoTransfer) as err:
        service.plan_transfer(e, rules, second, by="u", at=T0)
    assert err.value.code == "care.no_vehicle"
    service.cancel_need(e, first, note="家属自行送医", by="u", at=T0 + 0.2 * H)
    assert _free(e, "W-BUF") == 2  # the bed came back
    with pytest.raises(NoTransfer) as err:  # five minutes before the deadline: too late
        service.plan_transfer(e, rules, second, by="u", at=T0 + 55 / 60 * H)
    assert err.value.code == "care.too_late"
    assert "小时" in err.value.problem.message_zh
    assert "after the deadline" in err.value.problem.message_en
    late = service.plan_transfer(e, rules, second, by="u", at=T0 + 55 / 60 * H, allow_late=True)
    assert late.late
    assert late.arrives_at > T0 + H


def test_a_vehicle_out_of_service_is_not_used(world: World, care_rules: CareRules) -> None:
    arrivals = ArrivalRules.from_pack(load_pack("protocol-9"))
    save_vehicle(
        world.engine, arrivals, "V1", "ambulance", 2, "T1", 37.86, 112.55, in_service=False
    )
    need = service.register_need(world.engine, care_rules, person_id=world.residents[0],
                                 kind="pregnancy", by="u", at=T0)  # fmt: skip
    assert service.plan_transfer(world.engine, care_rules, need, by="u", at=T0).vehicle == "V2"


def test_medicines_are_completed_without_a_transfer(world: World, care_rules: CareRules) -> None:
    e = world.engine
    need = service.register_need(e, care_rules, person_id=world.residents[0],
                                 kind="chronic_medication", detail="降压药", by="u",
                                 at=T0)  # fmt: skip
    with pytest.raises(NoTransfer):
        service.plan_transfer(e, care_rules, need, by="u", at=T0)
    service.complete_transfer(e, care_rules, need, outcome="treated_at_home", by="u", at=T0 + H)
    assert _task(e, need).status == "done"  # type: ignore[attr-defined]
    with pytest.raises(NeedConflict):
        service.cancel_need(e, need, note="x", by="u", at=T0 + 2 * H)


def test_an_overdue_need_escalates_like_any_task(world: World, care_rules: CareRules) -> None:
    e = world.engine
    need = service.register_need(e, care_rules, person_id=world.residents[0], kind="emergency",
                                 by="u", at=T0)  # fmt: skip
    early = service.escalate_overdue(e, T0 + 1.5 * H, care_rules)  # 0.5 h past: not yet
    assert (early.escalated, early.overdue, early.raised) == ((), 1, 0)
    swept = service.escalate_overdue(e, T0 + 2.5 * H, care_rules)  # 1.5 h past its deadline
    assert [(x.from_region, x.to_region) for x in swept.escalated] == [("140101001", "140101")]
    assert service.escalate_overdue(e, T0 + 2.5 * H, care_rules).escalated == ()  # once
    again = service.escalate_overdue(e, T0 + 3.6 * H, care_rules)
    assert [x.to_region for x in again.escalated] == ["1401"]
    task = _task(e, need)
    assert (task.region_code, task.escalation_level) == ("1401", 2)  # type: ignore[attr-defined]


def test_the_sweep_raises_missing_tasks_and_closes_finished_ones(
    world: World, care_rules: CareRules
) -> None:
    e = world.engine
    need = service.register_need(e, care_rules, person_id=world.residents[0], kind="dialysis",
                                 by="u", at=T0)  # fmt: skip
    with e.begin() as conn:  # as if the task had been lost (or raised by hand and deleted)
        task_id = conn.execute(select(command_tasks.c.id)).scalar_one()
        from fangkong.command.tables import command_task_changes

        conn.execute(command_task_changes.delete().where(command_task_changes.c.task_id == task_id))
        conn.execute(command_tasks.delete())
    assert service.escalate_overdue(e, T0 + H, care_rules).raised == 1
    assert service.escalate_overdue(e, T0 + H, care_rules).raised == 0
    views, total = page_needs(e, None, at=T0 + H, open_only=True)
    assert total == 1
    assert views[0].id == need
    with e.connect() as conn:
        assert len(conn.execute(select(care_need_changes)).all()) == 1
