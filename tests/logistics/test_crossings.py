"""Crossings through the services: the national rules end to end on a real store (tests
within validity accepted, sample and go through testing's collection, the closed loop
handed to arrivals), idempotent by (checkpoint, ref), bad input named and nothing
written, offline-late submissions inside the device window, hourly counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from fangkong.arrivals.tables import manifests, travellers
from fangkong.errors import InvalidFields
from fangkong.logistics.crossings import (
    CheckpointConflict,
    CheckpointIn,
    CrossingConflict,
    add_checkpoint,
    counts_by_hour,
    list_checkpoints,
)
from fangkong.logistics.tables import crossing_people, crossings
from fangkong.store.schema import persons
from fangkong.testing.results import post_results
from fangkong.testing.tables import tube_members, tubes
from tests.logistics.world import (
    CHECKPOINT,
    COUNTY_A,
    T0,
    LWorld,
    crossing,
    issue_pass,
    make_lworld,
    person,
    record,
    verifier,
)
from tests.testing.world import batch


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


@pytest.fixture
def lw(province: Engine) -> LWorld:
    return make_lworld(province)


def test_a_valid_test_from_elsewhere_passes_without_a_second_test(lw: LWorld) -> None:
    shown = T0 - timedelta(hours=30)  # another province's test, 30 h old: accepted (互认)
    got = record(lw, crossing("r1", [person(1, negative_test_at=shown)]))
    assert got.outcome == "passed"
    assert got.created
    (p,) = got.people
    assert (p.test_valid, p.sampled, p.traveller_id, p.code_colour) == (True, False, None, "none")
    assert p.rule_id == "logistics.test_valid_hours"
    assert _count(lw.w.engine, tube_members, tube_members.c.person_id == p.person_id) == 0
    stale = record(lw, crossing("r2", [person(2, negative_test_at=T0 - timedelta(hours=49))]))
    assert stale.outcome == "sampled_released"  # 48 h from sampling, not 49


def test_a_negative_result_in_testing_counts(lw: LWorld) -> None:
    first = record(lw, crossing("r1", [person(3)]))  # no test yet: sampled here
    (p,) = first.people
    assert (first.outcome, p.sampled) == ("sampled_released", True)
    assert p.sample_barcode is not None
    # the lab reports the checkpoint's tube negative; the driver comes back the next day
    tested = (T0 + timedelta(hours=6)).isoformat()
    post_results(lw.w.engine, lw.w.testing, batch([(p.sample_barcode, "run-1", "", "", tested)]),
                 lab_code="LAB1", posted_by="lab", at=T0 + timedelta(hours=6))  # fmt: skip
    back = record(lw, crossing("r2", [person(3)], at=T0 + timedelta(hours=20), direction="out"),
                  at=T0 + timedelta(hours=20))  # fmt: skip
    assert back.outcome == "passed"
    assert back.people[0].test_valid


def test_no_valid_test_is_sampled_through_testing_and_let_go(lw: LWorld) -> None:
    got = record(lw, crossing("r1", [person(4), person(5, "passenger")], cargo_class="ordinary"))
    assert got.outcome == "sampled_released"
    assert all(p.sampled and p.outcome == "sampled_released" for p in got.people)
    with lw.w.engine.connect() as conn:
        tube_rows = conn.execute(
            select(tubes.c.barcode, tubes.c.purpose, tubes.c.region_code, tubes.c.collected_at)
            .where(tubes.c.barcode.in_([p.sample_barcode for p in got.people]))
        ).all()  # fmt: skip
    assert len(tube_rows) == 2  # single tubes in testing: their results flow and are chased
    assert {t.purpose for t in tube_rows} == {"screening"}
    assert all(t.collected_at == T0 for t in tube_rows)
    assert _count(lw.w.engine, travellers) == 0


def test_from_a_high_risk_county_the_driver_goes_into_the_closed_loop(lw: LWorld) -> None:
    # county A holds a high-risk compound (designated five days before)
    got = record(lw, crossing("r1", [person(6), person(7, "passenger",
                 negative_test_at=T0 - timedelta(hours=3))], history=[COUNTY_A]))  # fmt: skip
    assert got.outcome == "closed_loop"
    driver, passenger = got.people
    assert (driver.outcome, driver.from_risk_area, driver.sampled) == ("closed_loop", True, True)
    assert (passenger.outcome, passenger.sampled) == ("closed_loop", False)  # test valid
    assert driver.rule_id == "logistics.closed_loop_levels"
    assert driver.traveller_id is not None
    assert passenger.traveller_id is not None
    with lw.w.engine.connect() as conn:
        t = conn.execute(select(travellers).where(travellers.c.id == driver.traveller_id)).one()
        m = conn.execute(select(manifests).where(manifests.c.id == t.manifest_id)).one()
        stored = conn.execute(
            select(crossing_people.c.traveller_id).where(
                crossing_people.c.person_id == driver.person_id)).scalar_one()  # fmt: skip
    assert (m.mode, m.point_code, m.carrier) == ("highway", lw.venue, "冀A12345")
    assert t.person_id == driver.person_id
    assert t.risk == "high"
    assert t.stage == "registered"  # the closed loop's first stage, with its deadline
    assert stored == driver.traveller_id


def test_resent_changes_nothing_and_a_changed_one_is_refused(lw: LWorld) -> None:
    c = crossing("dev-7:0001", [person(8)], history=[COUNTY_A])
    first = record(lw, c)
    before = (_count(lw.w.engine, crossings), _count(lw.w.engine, travellers),
              _count(lw.w.engine, tubes), _count(lw.w.engine, persons))  # fmt: skip
    again = record(lw, c, at=T0 + timedelta(hours=1))
    assert not again.created
    assert (again.id, again.outcome) == (first.id, first.outcome)
    assert [p.traveller_id for p in again.people] == [p.traveller_id for p in first.people]
    assert [p.outcome for p in again.people] == [p.outcome for p in first.people]
    after = (_count(lw.w.engine, crossings), _count(lw.w.engine, travellers),
             _count(lw.w.engine, tubes), _count(lw.w.engine, persons))  # fmt: skip
    assert after == before
    with pytest.raises(CrossingConflict):
        record(lw, crossing("dev-7:0001", [person(8)], plate="冀A99999"))


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"plate": "ABC"}, "plate"),
        ({"people": [person(i) for i in range(5)]}, "people"),
        ({"people": [person(1, "passenger")]}, "people"),
        ({"history": ["14"]}, "history[1]"),
        ({"origin_region": "x"}, "origin_region"),
        ({"waited_minutes": 99999}, "waited_minutes"),
        ({"ref": "bad ref"}, "ref"),
        ({"people": [person(1, id_number="110105198501020000")]}, "people[1].id_number"),
        ({"people": [person(1), person(1, "passenger")]}, "people[2].id_number"),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(
    lw: LWorld, over: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidFields) as err:
        record(lw, crossing(**({"ref": "r1", "people": [person(1)]} | over)))
    assert field in [f.field for f in err.value.fields]
    assert str(over.get("ref", "r1")) in err.value.problem.message_zh
    assert "not recorded" in err.value.problem.message_en
    assert _count(lw.w.engine, crossings) == 0


def test_offline_late_submission_inside_the_device_window(lw: LWorld) -> None:
    late = record(lw, crossing("r1", [person(9, negative_test_at=T0 - timedelta(hours=1))]),
                  at=T0 + timedelta(days=2))  # fmt: skip
    assert late.outcome == "passed"  # judged at its own time: the test was valid then
    with pytest.raises(InvalidFields) as err:
        record(lw, crossing("r2", [person(9)], at=T0 + timedelta(hours=1)), at=T0)
    assert [f.field for f in err.value.fields] == ["at"]  # ahead of the system's clock


def test_counts_by_hour_and_the_checkpoint_registry(lw: LWorld) -> None:
    shown = T0 - timedelta(hours=1)
    for i, minutes in enumerate((0, 10, 70)):
        record(lw, crossing(f"r{i}", [person(20 + i, negative_test_at=shown)],
                            at=T0 + timedelta(minutes=minutes)),
               at=T0 + timedelta(minutes=minutes + 1))  # fmt: skip
    with lw.w.engine.connect() as conn:
        counts = counts_by_hour(conn, T0 - timedelta(hours=1), T0 + timedelta(hours=3))
        rows, total = list_checkpoints(conn)
    assert counts == {(CHECKPOINT, T0): 2, (CHECKPOINT, T0 + timedelta(hours=1)): 1}
    assert (total, rows[0].code) == (1, CHECKPOINT)
    with lw.w.engine.begin() as conn:
        same = CheckpointIn(CHECKPOINT, "G5 京昆高速太原西收费站", "toll_station", lw.region,
                            "G5 京昆高速", 37.8, 112.5, lanes=4, venue_code=lw.venue)  # fmt: skip
        assert add_checkpoint(conn, same) is False
        with pytest.raises(CheckpointConflict):
            add_checkpoint(conn, CheckpointIn("CK-2", "另一卡口", "road_checkpoint", lw.region,
                                              "G5", 37.0, 112.0, venue_code=lw.venue))  # fmt: skip
        with pytest.raises(InvalidFields) as err:
            add_checkpoint(conn, CheckpointIn("CK 3", "", "castle", "000", "", 99.0, 0.0,
                                              lanes=0))  # fmt: skip
    named = {f.field for f in err.value.fields}
    assert {"code", "name", "kind", "road", "latitude", "lanes", "region_code"} <= named


def test_the_tube_scanned_at_the_desk_is_the_sample(lw: LWorld) -> None:
    got = record(lw, crossing("r1", [person(30, sample_barcode="TUBE-30")]))
    assert got.people[0].sample_barcode == "TUBE-30"
    assert _count(lw.w.engine, tubes, tubes.c.barcode == "TUBE-30") == 1


def test_a_valid_pass_gives_priority_and_a_pass_for_other_drivers_does_not(lw: LWorld) -> None:
    from fangkong.passes.token import PassKeys

    keys = PassKeys.generate()
    driver = person(40, negative_test_at=T0 - timedelta(hours=20))
    token = issue_pass(lw, keys, [driver])
    ok = record(lw, crossing("r1", [driver], pass_token=token), verify_pass=verifier(lw, keys))
    assert (ok.pass_verdict, ok.priority, ok.outcome) == ("valid", True, "passed")
    assert ok.pass_serial is not None
    assert "优先通行" in ok.reason_zh
    other = person(41, negative_test_at=T0 - timedelta(hours=20))
    wrong = record(lw, crossing("r2", [other], pass_token=token), verify_pass=verifier(lw, keys))
    assert (wrong.pass_verdict, wrong.priority) == ("wrong_driver", False)
    assert wrong.outcome == "passed"  # a pass gives priority, never replaces the check
    typed = record(lw, crossing("r3", [driver], pass_token=ok.pass_serial),
                   verify_pass=verifier(lw, keys))  # fmt: skip
    assert typed.pass_verdict == "valid"
    unverified = record(lw, crossing("r4", [driver], pass_token=token))
    assert unverified.pass_verdict == "none"  # no verifier given: the pass is not read
    with lw.w.engine.connect() as conn:
        stored = conn.execute(
            select(crossings.c.pass_verdict, crossings.c.pass_serial).where(crossings.c.ref == "r1")
        ).one()
    assert tuple(stored) == ("valid", ok.pass_serial)
