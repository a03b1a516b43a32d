"""The demo's quarantine step on both backends, a thin caller of the platform's jobs:
facilities generated for the province (standby beyond the norm), close contacts placed
by the intake job, releases only with a real final negative (nothing faked), readiness
lines against the pack's norm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from fangkong.demo.quarantine import QuarantineFeed
from fangkong.quarantine.facilities import list_facilities
from tests.quarantine.surge_helpers import active, apart, case, contacts, ctx, result, statuses

T0 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # midnight in Shanghai
DAY = timedelta(days=1)


def test_the_jobs_place_contacts_and_release_only_with_a_real_negative(province: Engine) -> None:
    feed = QuarantineFeed.build(province, ctx())
    made = list_facilities(province)
    assert feed.facilities == len(made)
    assert {f.status for f in made if f.kind == "hotel"} == {"open", "standby"}
    people = apart(province)
    cid = case(province, people[0], reported=T0 - timedelta(hours=3))
    wave = people[1:4]
    contacts(province, cid, wave, exposed=T0 - DAY, found=T0 - timedelta(hours=2))
    day = feed.day(T0)
    assert day.placed + day.home == len(wave) + 1  # the case too
    assert set(statuses(province, wave).values()) == {"quarantined"}
    # the period (7 days from the exposure) is over, but no test was taken: they wait
    end = T0 + 7 * DAY
    assert feed.day(end).released == 0
    assert feed.day(end).waiting_test == len(wave)
    # a single-tube negative sampled on the last test day releases one of them
    result(province, [wave[0]], end - timedelta(hours=4))
    after = feed.day(end + timedelta(hours=4))
    assert (after.released, after.waiting_test) == (1, len(wave) - 1)
    assert active(province)[wave[0]].kind == "home_monitoring"
    lines = feed.summary(end)
    assert "20" in lines[0]
    assert any("140102" in line and "norm" in line and "awaiting" in line for line in lines[1:])
