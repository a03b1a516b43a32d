"""The issue's end-to-end test: a flight lands with travellers from high, medium and low
risk areas and from abroad; each gets the management and code the pack says; one is never
handed over and the overdue alert fires (and its command task escalates); a positive pool
orders retests and turns its members' codes red. Both backends."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
from sqlalchemy import Engine, select

from fangkong.arrivals import dispatch, loop
from fangkong.arrivals.manifests import ManifestHeader, import_manifest
from fangkong.arrivals.tables import alerts, travellers, trips
from fangkong.command.rules import CommandRules
from fangkong.healthcode.codes import current_code
from fangkong.testing.resolve import resolve
from fangkong.testing.results import post_results
from fangkong.testing.tables import orders
from tests.arrivals.world import (
    COMPOUND_A,
    COMPOUND_B,
    POINT,
    T0,
    TOWNSHIP_A,
    command_step,
    make_world,
    parent_of,
    stage_task,
    traveller,
)

FLIGHT = ManifestHeader("CA1234-20220318", "flight", "CA1234", POINT)


def _rows() -> list[dict[str, object]]:
    day = (T0 - timedelta(days=2)).date().isoformat()
    return [
        traveller(
            1,
            f"FRA@{day}",
            id_type="passport",
            id_number="E1234567",
            id_country="FRA",
            sex="F",
            birth_date="1990-02-03",
        ),
        traveller(2, f"{COMPOUND_A}@{day}"),  # inside the high-risk compound
        traveller(3, f"{COMPOUND_B}@{day}", destination=COMPOUND_B),  # medium, other county
        traveller(4, f"{TOWNSHIP_A}@{day}"),  # the high area's county, not the area: low
        traveller(5, f"{TOWNSHIP_A}@{day}"),
        traveller(6, f"110105@{day}"),  # a place outside the registry, no level: none
    ]


def _by_seq(engine: Engine) -> dict[int, object]:
    with engine.connect() as conn:
        rows = conn.execute(select(travellers).order_by(travellers.c.id)).all()
    return {i + 1: r for i, r in enumerate(rows)}


def test_a_flight_through_the_closed_loop(province: Engine) -> None:
    w = make_world(province)
    out = import_manifest(
        province,
        FLIGHT,
        _rows(),
        w.rules,
        sealer=w.sealer,
        codes=w.codes,
        by="device:1",
        via="api",
        at=T0,
    )
    assert (out.registered, out.unchanged, out.handoffs) == (6, 0, 1)
    again = import_manifest(
        province,
        FLIGHT,
        _rows(),
        w.rules,
        sealer=w.sealer,
        codes=w.codes,
        by="device:1",
        at=T0 + timedelta(minutes=5),
    )
    assert (again.registered, again.unchanged) == (0, 6)
    t = _by_seq(province)
    expected = {
        1: ("inbound", "centralised_quarantine", "red", "arrival_inbound"),
        2: ("high", "centralised_quarantine", "red", "arrival_high"),
        3: ("medium", "home_quarantine", "red", "arrival_medium"),
        4: ("low", "tests_only", "green", None),
        6: ("none", "none", "green", None),
    }
    for seq, (risk, management, colour, rule) in expected.items():
        row = t[seq]
        assert (row.risk, row.management) == (risk, management), seq
        assert row.rule_id == f"arrivals.risks.{risk}"
        code = current_code(province, row.person_id)
        assert code is not None
        assert code.colour.name.lower() == colour, (seq, code)
        if rule is not None:
            assert rule in {r.rule_id for r in code.reasons}
    assert "西山嘉园" in t[2].reason_zh
    assert "high-risk" in t[2].reason_en
    assert t[6].stage == "released"  # no landing test, no transfer in protocol-9
    assert t[3].responsible_region == "140102"  # until 140121 acknowledges the hand-off

    # landing tests: single tubes for the quarantined, one pool for the two low-risk
    queue = dispatch.landing_queue(province, w.rules, POINT)
    assert [q.traveller_id for q in queue] == [t[i].id for i in (1, 2, 3, 4, 5)]
    at = T0 + timedelta(minutes=40)
    for seq in (1, 2, 3):
        dispatch.sample(
            province,
            w.rules,
            w.testing,
            [t[seq].id],
            f"LD{seq}",
            collector="采样员",
            codes=w.codes,
            by="port",
            at=at,
        )
    dispatch.sample(
        province,
        w.rules,
        w.testing,
        [t[4].id, t[5].id],
        "LDPOOL",
        collector="采样员",
        codes=w.codes,
        by="port",
        at=at,
    )
    t = _by_seq(province)
    assert [t[i].stage for i in (1, 2, 3, 4, 5)] == ["sampled"] * 3 + ["released"] * 2

    # transfers: the medium traveller waits for the other county to take them over
    plan = dispatch.plan(
        province,
        w.rules,
        w.quarantine,
        POINT,
        by="port",
        codes=w.codes,
        at=at + timedelta(minutes=10),
    )
    carried = {i for trip in plan.trips for i in trip.traveller_ids}
    assert carried == {t[1].id, t[2].id}
    assert len({trip.vehicle for trip in plan.trips}) == len(plan.trips)
    assert all(
        len({t2.risk for t2 in plan.trips if t2.vehicle == v}) == 1
        for v in {t2.vehicle for t2 in plan.trips}
    )
    risks = {trip.risk for trip in plan.trips}
    assert risks == {"inbound", "high"}  # one hotel, two vehicles: levels never mixed
    for trip in plan.trips:
        assert trip.destination == "西山隔离酒店"
        assert trip.eta > trip.departs_at > at
    assert loop.acknowledge(province, t[3].id, by="county2", at=at + timedelta(minutes=20))
    plan2 = dispatch.plan(
        province,
        w.rules,
        w.quarantine,
        POINT,
        by="port",
        codes=w.codes,
        at=at + timedelta(minutes=30),
    )
    assert [trip.traveller_ids for trip in plan2.trips] == [(t[3].id,)]
    assert plan2.trips[0].destination.endswith("北村村")  # home quarantine, by community
    t = _by_seq(province)
    assert t[3].responsible_region == "140121"

    board_at = at + timedelta(hours=1)
    for seq in (1, 2, 3):
        loop.advance(province, w.rules, t[seq].id, "boarded", by="TR-1", via="scan", at=board_at)
    for seq in (1, 3):  # traveller 2 is never handed over
        loop.advance(
            province,
            w.rules,
            t[seq].id,
            "handed_over",
            by="hotel",
            via="form",
            at=board_at + timedelta(minutes=30),
        )
    with province.connect() as conn:
        eta = conn.execute(select(trips.c.eta).where(trips.c.id == t[2].trip_id)).scalar_one()
        due = conn.execute(select(travellers.c.due_at).where(travellers.c.id == t[2].id)).scalar()
    deadline = max(eta, board_at) + timedelta(hours=w.rules.deadlines["boarded"])
    assert due == deadline  # the estimated arrival (or boarding, if later) + the pack's hours
    early = loop.check(province, w.rules, at=deadline - timedelta(minutes=1))
    assert t[2].id not in early.overdue
    late = loop.check(province, w.rules, at=deadline + timedelta(minutes=1))
    assert t[2].id in late.overdue
    assert late.raised >= 1
    with province.connect() as conn:
        alert = conn.execute(select(alerts).where(alerts.c.traveller_id == t[2].id)).one()
    assert (alert.stage, alert.team_code, alert.level) == ("boarded", "TR-1", 1)
    assert list(alert.notified) == ["TR-1", "CMD-A"]  # the transfer team and its superior
    command_step(w, deadline + timedelta(minutes=1))  # the overdue stage becomes a task
    key = f"{t[2].id}/boarded"
    task = stage_task(w, key)
    owner = t[2].responsible_region
    assert (task.region_code, task.role, task.escalation_level) == (owner, "transfer_team", 0)
    cmd = CommandRules.from_pack(w.codes.pack)
    escalate_at = task.deadline_at + timedelta(hours=cmd.escalation.after_hours, minutes=2)
    loop.check(province, w.rules, at=escalate_at)  # the closed loop's job escalates nothing
    with province.connect() as conn:
        alert = conn.execute(select(alerts).where(alerts.c.traveller_id == t[2].id)).one()
    assert (alert.level, list(alert.notified)) == (1, ["TR-1", "CMD-A"])
    moved = [(m.from_region, m.to_region, m.level) for m in command_step(w, escalate_at)
             if m.task_id == task.id]  # fmt: skip
    assert moved == [(owner, parent_of(province, owner), 1)]  # the task does, one level up
    loop.advance(
        province,
        w.rules,
        t[2].id,
        "handed_over",
        by="hotel",
        via="scan",
        at=deadline + timedelta(hours=5),
    )
    with province.connect() as conn:
        alert = conn.execute(select(alerts).where(alerts.c.traveller_id == t[2].id)).one()
    assert alert.active is None
    assert alert.resolved_at is not None
    task = stage_task(w, key)  # confirming the next stage closes the task too
    assert (task.status, task.escalation_level) == ("done", 1)

    # the low-risk pool comes back positive: retests for both, both codes red
    ct = str(w.testing.positive_ct_below - 5)
    table = pa.table(
        {
            "barcode": ["LDPOOL"],
            "run": ["r1"],
            "ct_orf1ab": [ct],
            "ct_n": [ct],
            "tested_at": [(at + timedelta(hours=6)).isoformat()],
        }
    )
    post_results(
        province, w.testing, table, lab_code="LAB1", posted_by="lab", at=at + timedelta(hours=6)
    )
    resolve(province, w.testing, codes=w.codes, at=at + timedelta(hours=7))
    with province.connect() as conn:
        retests = set(
            conn.execute(select(orders.c.person_id).where(orders.c.reason == "retest")).scalars()
        )
    assert retests == {t[4].person_id, t[5].person_id}
    for seq in (4, 5):
        code = current_code(province, t[seq].person_id)
        assert code is not None
        assert code.colour.name.lower() == "red"
        assert "positive_pool" in {r.rule_id for r in code.reasons}
