"""Realism ranges of the no-control arm (docs/twin.md, "Realism ranges")."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from fangkong.twin.realism import RANGES, household_attack_rate
from fangkong.twin.registry import Registry, generate_registry
from fangkong.twin.scenario import default_scenario
from fangkong.twin.sim import Twin

HOUSEHOLD_ATTACK_RATE = RANGES["household_attack_rate"]  # Omicron, China 2022: 40-77 %


@pytest.fixture(scope="module")
def registry() -> Registry:
    return generate_registry(15_000, seed=3)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_household_attack_rate_without_control(registry: Registry, seed: int) -> None:
    twin = Twin.from_registry(registry, default_scenario(), seed=seed)
    truth = pa.concat_tables([e.truth for e in twin.run(45)])
    pop = twin.pop
    rate = household_attack_rate(truth, pop.household, pop.household_size, until_day=30)
    assert rate.households > 500
    lo, hi = HOUSEHOLD_ATTACK_RATE
    assert lo <= rate.rate <= hi


def test_household_attack_rate_counts_household_acquired_infections_only() -> None:
    household = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    size = np.bincount(household)
    settings = [
        "venue",
        "household",
        "household",
        "seed",
        "venue",
        "venue",
        "imported",
        "venue",
        "venue",
    ]
    truth = pa.table(
        {
            "infectee": pa.array([0, 1, 2, 3, 4, 5, 6, 7, 8], pa.int32()),
            "day": pa.array([1, 4, 7, 2, 2, 1, 3, 3, 5], pa.int32()),
            "setting": pa.array(settings).dictionary_encode(),
        }
    )
    # household 0: index 0, two household infections of 2 others; household 1: co-primaries
    # (no one left); household 2: size 1 (out); household 3: index 6 and co-primary 7, member
    # 8 infected outside, 9 never: 0 of 2
    rate = household_attack_rate(truth, household, size)
    assert (rate.infected, rate.exposed, rate.households) == (2, 4, 3)
    late = household_attack_rate(truth, household, size, until_day=2)
    assert (late.infected, late.exposed, late.households) == (2, 2, 2)
