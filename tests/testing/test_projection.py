"""The live forecast of a campaign against the plan's fluid model and a tube-by-tube
simulation: at the planned sampling rate it predicts what the plan predicts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fangkong.testing.campaigns import Progress, plan, projection, simulate_first_round
from tests.testing.world import RULES, T0


def _progress(population: int, sampled: int, hours: float, pool: int) -> Progress:
    return Progress(
        campaign_id=1, name="c", region_code="140102", starts_at=T0, target_hours=24.0,
        pool_size=pool, plan={}, population=population, sampled=sampled, tubes=0,
        in_transit=0, received=0, tested=0, positive_pools=0, late=0, lost=0, compounds=(),
        at=T0 + timedelta(hours=hours),
    )  # fmt: skip


@pytest.mark.parametrize(("capacity", "pool"), [(50_000, 10), (5_000, 10), (200_000, 1)])
def test_at_the_planned_rate_the_forecast_is_the_plan(capacity: int, pool: int) -> None:
    c = RULES.campaign
    p = plan(600_000, capacity, c, pool_size=pool)
    per_hour = p.samplers * c.people_per_sampler_shift / c.shift_hours
    hours = 3.0
    got = projection(_progress(600_000, round(per_hour * hours), hours, pool), capacity, c)
    assert got is not None
    assert got.sampling_hours == pytest.approx(p.sampling_hours, rel=1e-6)
    assert got.results_hours == pytest.approx(p.results_hours, rel=1e-6)
    assert got.meets_target == p.meets_target
    brute = simulate_first_round(600_000, capacity, c, pool, p.samplers)
    assert got.results_hours == pytest.approx(brute, rel=0.01)


def test_a_slow_start_pushes_the_forecast_past_the_target() -> None:
    c = RULES.campaign
    slow = projection(_progress(100_000, 1_000, 4.0, 10), 1_000_000, c)  # 250 people an hour
    assert slow is not None
    assert slow.sampling_hours == pytest.approx(400.0)
    assert slow.results_hours == pytest.approx(c.transport_hours + 400.0 + c.run_hours)
    assert not slow.meets_target
    assert projection(_progress(100_000, 0, 4.0, 10), 1_000_000, c) is None
    assert projection(_progress(100_000, 10, 4.0, 10), 0, c) is None
