"""Follow-up on both backends: health checks and alerts, release with the final negative
test and the next phase (7+3), a positive test converting to a traced case, absconding,
period changes with reasons kept, codes following each change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from fangkong.errors import BadInput
from fangkong.healthcode.tables import person_facts
from fangkong.quarantine.alerts import open_alerts
from fangkong.quarantine.checks import record_check
from fangkong.quarantine.ending import ReleaseRefused, abscond, release
from fangkong.quarantine.periods import change_period, period_history
from fangkong.quarantine.placed import PlacementClosed, get_placement
from fangkong.quarantine.placement import place
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.scheduled_tests import record_test
from fangkong.quarantine.tables import quarantine_rooms
from fangkong.quarantine.terms import PlacementRequest
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import tracing_cases
from tests.quarantine.helpers import COUNTY_A, add, hotel, people

P9 = QuarantineRules.shipped("protocol-9")
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, day 1 = 20 November


def _placed(engine: Engine, n: int = 1) -> list[int]:
    add(engine, hotel("H", COUNTY_A, single=n))
    ids = people(engine, COUNTY_A)
    out = place(
        engine,
        [PlacementRequest(p, "close_contact", household=f"solo-{p}") for p in ids[:n]],
        P9,
        by="t",
        at=T0,
        record_codes=False,
    )
    assert {a.outcome for a in out} == {"placed"}
    return [a.placement_id for a in out if a.placement_id is not None]


def _free_rooms(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(
            conn.execute(
                select(quarantine_rooms.c.id).where(quarantine_rooms.c.state == "free")
            ).all()
        )


def test_checks_mark_fever_and_missed_days_and_raise_alerts(province: Engine) -> None:
    (pid,) = _placed(province)
    assert record_check(province, pid, date(2026, 11, 20), P9, by="t", temperature=36.6) == "done"
    assert record_check(province, pid, date(2026, 11, 21), P9, by="t", temperature=37.3) == (
        "abnormal"
    )  # the pack's fever threshold (37.3 ℃) counts as fever
    assert record_check(province, pid, date(2026, 11, 22), P9, by="t", symptoms="咳嗽") == (
        "abnormal"
    )
    assert record_check(province, pid, date(2026, 11, 23), P9, by="t", status="not_done") == (
        "not_done"
    )
    kinds = [a.kind for a in open_alerts(province)]
    assert kinds == ["abnormal_check", "abnormal_check", "missed_check"]
    with pytest.raises(BadInput):
        record_check(province, pid, date(2026, 11, 24), P9, by="t", temperature=52.0)


def test_release_needs_the_period_and_the_final_negative_test(province: Engine) -> None:
    (pid,) = _placed(province)
    end = T0 + timedelta(days=7)
    with pytest.raises(ReleaseRefused, match="not over"):
        release(province, pid, P9, by="t", at=end - timedelta(hours=1))
    # a negative test on day 5 is not the final one (day 7 = 26 November)
    record_test(
        province, pid, day_number=5, sampled_at=T0 + timedelta(days=4), result="negative", by="t"
    )
    with pytest.raises(ReleaseRefused, match="day 7"):
        release(province, pid, P9, by="t", at=end)
    record_test(
        province, pid, day_number=7, sampled_at=T0 + timedelta(days=6), result="negative", by="t"
    )
    assert _free_rooms(province) == 0
    done = release(province, pid, P9, by="t", at=end)
    assert _free_rooms(province) == 1
    assert get_placement(province, pid).status == "released"
    # 7+3: three days of home monitoring follow, with its own test day (3)
    assert done.next_kind == "home_monitoring"
    assert done.next_end == end + timedelta(days=3)
    nxt = get_placement(province, done.next_placement_id or 0)
    assert (nxt.kind, nxt.test_days, nxt.follows_id) == ("home_monitoring", (3,), pid)
    with pytest.raises(PlacementClosed):
        record_check(province, pid, date(2026, 11, 27), P9, by="t")


def test_a_positive_test_converts_to_a_case_and_frees_the_room(province: Engine) -> None:
    (pid,) = _placed(province)
    person = get_placement(province, pid).person_id
    outcome = record_test(
        province,
        pid,
        day_number=2,
        sampled_at=T0 + timedelta(days=1),
        result="positive",
        by="t",
        contact_rules=ContactRules.shipped("protocol-9"),
    )
    assert outcome.converted
    assert get_placement(province, pid).status == "converted"
    assert _free_rooms(province) == 1
    assert [a.kind for a in open_alerts(province)] == ["positive_test"]
    with province.connect() as conn:
        case = conn.execute(select(tracing_cases).where(tracing_cases.c.person_id == person)).one()
        tests = (
            conn.execute(
                select(person_facts.c.detail).where(
                    person_facts.c.person_id == person, person_facts.c.kind == "test"
                )
            )
            .scalars()
            .all()
        )
    assert case.id == outcome.case_id
    assert case.sample_date == date(2026, 11, 21)
    assert case.traced_at is None  # listed for the next trace run
    assert [t["result"] for t in tests] == ["positive"]


def test_absconding_raises_an_alert_and_ends_the_placement(province: Engine) -> None:
    (pid,) = _placed(province)
    abscond(province, pid, by="t", note="翻窗离开", at=T0 + timedelta(days=2))
    assert get_placement(province, pid).status == "absconded"
    alerts = open_alerts(province, ["absconded"])
    assert [(a.placement_id, a.detail) for a in alerts] == [(pid, "翻窗离开")]


def test_period_changes_need_a_reason_and_are_kept(province: Engine) -> None:
    (pid,) = _placed(province)
    with pytest.raises(BadInput, match="reason"):
        change_period(province, pid, days=2, reason=" ", by="epi")
    longer = change_period(
        province, pid, days=2, reason="同住人阳性", by="epi", at=T0 + timedelta(days=3)
    )
    assert longer.new_end == T0 + timedelta(days=9)
    shorter = change_period(
        province,
        pid,
        new_end=T0 + timedelta(days=6),
        reason="政策调整",
        by="epi",
        at=T0 + timedelta(days=4),
    )
    history = period_history(province, pid)
    assert [(h.old_end, h.new_end, h.reason) for h in history] == [
        (T0 + timedelta(days=7), T0 + timedelta(days=9), "同住人阳性"),
        (T0 + timedelta(days=9), T0 + timedelta(days=6), "政策调整"),
    ]
    assert get_placement(province, pid).planned_end == shorter.new_end
    with province.connect() as conn:
        facts = conn.execute(
            select(person_facts.c.starts_at, person_facts.c.ends_at)
            .where(person_facts.c.kind == "period")
            .order_by(person_facts.c.id)
        ).all()
    # the latest fact starts at the change, so the code follows the shortened end
    assert facts[-1] == (T0 + timedelta(days=4), T0 + timedelta(days=6))
