"""Releases and discharges from real results on both backends: the schedule's tests are
recorded from single-tube results (pools do not count, nothing is faked), a period ends
only with a negative on or after its last test day; a case is discharged after two
qualifying results at least the gap apart (not one, not two closer), then home monitoring;
test orders for isolated cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from fangkong.healthcode.tables import person_facts
from fangkong.quarantine.discharge import discharge_met, run_discharges
from fangkong.quarantine.intake import run_intake
from fangkong.quarantine.releases import run_releases
from fangkong.quarantine.tables import quarantine_placements, quarantine_tests
from fangkong.testing.individual import IndividualResult, individual_results
from fangkong.testing.tables import orders
from fangkong.tracing.tables import tracing_cases
from tests.quarantine.helpers import COUNTY_A, add, hotel
from tests.quarantine.surge_helpers import (
    P9,
    active,
    apart,
    case,
    contacts,
    count_rows,
    ctx,
    result,
    statuses,
)

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY = timedelta(days=1)
TZ = ZoneInfo("Asia/Shanghai")


def _local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


def _placed_contacts(engine: Engine, n: int) -> tuple[list[int], datetime]:
    add(
        engine,
        hotel("HA", COUNTY_A, single=n),
        hotel("DH", "140100", single=2, kind="designated_hospital"),
    )
    people = apart(engine, COUNTY_A)
    cid = case(engine, people[0], reported=T0)
    exposed = T0 - DAY  # day 1 of the period: 19 November (local)
    contacts(engine, cid, people[1 : 1 + n], exposed=exposed, found=T0)
    run_intake(engine, ctx(), P9, at=T0, by="t", forecast=False)
    return people[1 : 1 + n], exposed


def test_a_release_needs_a_real_negative_on_the_last_test_day(province: Engine) -> None:
    (person, other), exposed = _placed_contacts(province, 2)
    placement = active(province)[person]
    assert placement.planned_end == exposed + 7 * DAY
    day7 = date(2026, 11, 25)  # day 7 of a period from 19 November
    after = placement.planned_end + timedelta(hours=1)
    # the period is over, but no test was taken: it stays, waiting for its test
    out = run_releases(province, ctx(), P9, at=after, by="t")
    assert (out.released, out.waiting_test, out.recorded) == (0, 2, 0)
    # a pooled tube of day 7 says nothing about one person; a single tube of day 5 is
    # recorded but is not the last test day
    result(province, [person, other], _local(day7, 9), reported=_local(day7, 15))
    result(
        province, [person], _local(date(2026, 11, 23), 9), reported=_local(date(2026, 11, 23), 15)
    )
    out = run_releases(province, ctx(), P9, at=after, by="t")
    assert (out.released, out.waiting_test, out.recorded) == (0, 2, 1)
    t = quarantine_tests.c
    with province.connect() as conn:
        day = conn.execute(select(t.day_number).where(t.placement_id == placement.id)).scalar_one()
    assert day == 5  # counted from the last exposure
    # the day-7 single negative: released, and home monitoring starts where the 7 days
    # ended (3 days, to 10 days from the exposure)
    result(province, [person], _local(day7, 10), reported=_local(day7, 16))
    out = run_releases(province, ctx(), P9, at=after, by="t")
    assert (out.released, out.next_phases, out.waiting_test, out.recorded) == (1, 1, 1, 1)
    now = active(province)[person]
    assert (now.kind, now.starts_at, now.period_from) == (
        "home_monitoring",
        after,
        placement.planned_end,
    )
    assert now.planned_end == exposed + 10 * DAY
    assert statuses(province, [person]) == {person: "monitoring"}
    # running again records nothing twice
    again = run_releases(province, ctx(), P9, at=after, by="t")
    assert (again.recorded, again.released) == (0, 0)


def test_a_positive_result_converts_the_contact_to_a_case(province: Engine) -> None:
    (person,), _ = _placed_contacts(province, 1)
    day3 = date(2026, 11, 21)
    result(province, [person], _local(day3, 9), ct=("28.1", "27.5"), reported=_local(day3, 15))
    out = run_releases(province, ctx(), P9, at=_local(day3, 16), by="t")
    assert (out.recorded, out.converted) == (1, 1)
    assert person not in active(province)
    assert statuses(province, [person]) == {person: "became_case"}
    assert count_rows(province, tracing_cases, tracing_cases.c.person_id == person) == 1
    # the next intake isolates the new case
    nxt = run_intake(province, ctx(), P9, at=_local(day3, 18), by="t", forecast=False)
    assert nxt.cases_isolated == 1
    assert active(province)[person].risk_group == "case"


def _r(
    hours: float,
    ct: tuple[float | None, float | None] = (None, None),
    *,
    valid: bool = True,
    k: int = 0,
) -> IndividualResult:
    at = datetime(2026, 11, 24, 1, 0, tzinfo=UTC) + timedelta(hours=hours)
    outcome = "invalid" if not valid else "negative"
    return IndividualResult(1, at, at + timedelta(hours=4), outcome, ct[0], ct[1], k, valid)


@pytest.mark.parametrize(
    ("results", "met"),
    [
        ([], None),
        ([_r(0, (36.0, 37.0), k=1)], None),  # one is not two
        ([_r(0, (36.0, None), k=1), _r(20, k=2)], None),  # two closer than 24 h
        ([_r(0, (36.0, None), k=1), _r(24, (35.0, 38.0), k=2)], 2),  # Ct 35 counts
        ([_r(0, k=1), _r(20, k=2), _r(30, k=3)], 3),  # the close one is passed over
        ([_r(0, k=1), _r(20, (30.0, 36.0), k=2), _r(30, k=3)], None),  # Ct 30 starts over
        ([_r(0, k=1), _r(12, valid=False, k=2), _r(26, k=3)], 3),  # an invalid tube: no test
        ([_r(-30, k=1), _r(0, k=2)], None),  # before the first test day: not counted
    ],
)
def test_the_discharge_criterion(results: list[IndividualResult], met: int | None) -> None:
    got = discharge_met(results, P9.discharge, first_day=date(2026, 11, 24), tz=TZ)
    assert (got.result_id if got else None) == met


def test_cases_are_discharged_after_two_qualifying_results(province: Engine) -> None:
    add(province, hotel("DH", "140100", single=2, kind="designated_hospital"))
    people = apart(province, COUNTY_A)
    patient = people[0]
    case(province, patient, reported=T0)
    run_intake(province, ctx(), P9, at=T0, by="t", forecast=False)  # isolated: day 1 = 20 Nov
    isolation = active(province)[patient]
    assert isolation.planned_end is None
    # test orders from day 5 (pack first_test_day), one a day, a day ahead
    day5, day6 = date(2026, 11, 24), date(2026, 11, 25)
    first = run_discharges(province, ctx(), P9, at=_local(day5, 8), by="t")
    assert (first.discharged, first.in_isolation, first.orders) == (0, 1, 2)
    o = orders.c
    with province.connect() as conn:
        made = conn.execute(select(o.reason, o.due_from, o.single_tube).order_by(o.due_from)).all()
    assert [(r.reason, r.single_tube) for r in made] == [("discharge", True)] * 2
    assert made[0].due_from == _local(day5, 0)
    # day 4 does not count (before day 5); day 5 qualifies; a negative 20 h later is too
    # close to count as the second
    result(province, [patient], _local(date(2026, 11, 23), 9), ct=("36", "36"))
    result(province, [patient], _local(day5, 9), ct=("36.5", "38"))
    result(province, [patient], _local(day6, 5))
    assert run_discharges(province, ctx(), P9, at=_local(day6, 12), by="t").discharged == 0
    assert active(province)[patient].id == isolation.id
    # a qualifying one ≥ 24 h after day 5's: discharged
    result(province, [patient], _local(day6, 10), ct=(None, "37"))
    done = run_discharges(province, ctx(), P9, at=_local(day6, 18), by="t")
    assert (done.discharged, done.monitoring, done.in_isolation) == (1, 1, 0)
    after = active(province)[patient]
    assert (after.kind, after.risk_group, after.starts_at) == (
        "home_monitoring",
        "case",
        _local(day6, 18),
    )
    assert after.planned_end == _local(day6, 18) + 7 * DAY  # the pack's case group: 7 days
    with province.connect() as conn:
        facts = (
            conn.execute(select(person_facts.c.kind).where(person_facts.c.person_id == patient))
            .scalars()
            .all()
        )
        left = conn.execute(
            select(o.status).where(o.reason == "discharge", o.status == "open")
        ).all()
    assert "discharge" in facts
    assert left == []  # the open discharge orders are cancelled
    # a discharged case is not isolated again
    assert run_intake(province, ctx(), P9, at=_local(day6, 20), by="t", forecast=False).placed == {}
    q = quarantine_placements.c
    with province.connect() as conn:
        ended = conn.execute(select(q.status).where(q.id == isolation.id)).scalar_one()
    assert ended == "released"


def test_individual_results_read_single_tubes_only(province: Engine) -> None:
    people = apart(province, COUNTY_A)
    result(province, people[:2], T0)  # a pool of two
    result(province, people[:1], T0 + timedelta(hours=1), ct=("33", None))
    with province.connect() as conn:
        got = individual_results(conn, people[:2], since=T0)
        none = individual_results(conn, people[:2], since=T0, until=T0 + timedelta(hours=2))
    assert [(r.person_id, r.ct_orf1ab, r.ct_n) for r in got] == [(people[0], 33.0, None)]
    assert none == []  # reported 6 h after sampling
