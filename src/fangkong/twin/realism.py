"""Realism figures of a twin run, in the sense of published field studies (pure functions).

``household_attack_rate(truth, household, household_size)`` is the household secondary
attack rate of household transmission studies: over households of two or more persons
with an index case — the first member infected, from outside the household — the
infections acquired in the household (setting ``household``: secondary and later
generations) divided by the other members. Members infected from outside on the index
case's day (co-primary cases) count in neither. The ranges a run must fall in, with
their sources, are in docs/twin.md ("Realism ranges").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

# The realism ranges of docs/twin.md ("Realism ranges", with their sources), in one place
# for the tests: the no-control arm's household attack rate, and on the platform side the
# median close contacts per confirmed case and the share of close contacts infected later.
RANGES: dict[str, tuple[float, float]] = {
    "household_attack_rate": (0.30, 0.80),
    "close_contacts_per_case": (5.0, 60.0),
    "contacts_infected_share": (0.01, 0.15),
}


@dataclass(frozen=True)
class AttackRate:
    """Household-acquired infections ÷ members exposed, over ``households`` households."""

    infected: int
    exposed: int
    households: int

    @property
    def rate(self) -> float:
        return self.infected / self.exposed if self.exposed else float("nan")


def household_attack_rate(
    truth: pa.Table,
    household: npt.NDArray[np.integer[Any]],
    household_size: npt.NDArray[np.integer[Any]],
    *,
    until_day: int | None = None,
) -> AttackRate:
    """The household secondary attack rate of a run's truth table.

    ``household``: each person's household index; ``household_size``: persons per
    household (``Population.household`` and ``household_size``). ``until_day``: only
    households whose index case was infected on or before this day (so that the run
    covers their follow-up).
    """
    sizes = np.asarray(household_size, dtype=np.int64)
    who = truth["infectee"].to_numpy().astype(np.int64)
    day = truth["day"].to_numpy().astype(np.int64)
    settings = truth["setting"].cast(pa.string()).to_pylist()
    in_household = np.array([x == "household" for x in settings], dtype=np.bool_)
    hh = np.asarray(household, dtype=np.int64)[who]
    first = np.full(len(sizes), np.iinfo(np.int64).max)
    np.minimum.at(first, hh, day)
    primary = (day == first[hh]) & ~in_household
    n_primary = np.bincount(hh[primary], minlength=len(sizes))
    eligible = (sizes >= 2) & (n_primary >= 1)
    if until_day is not None:
        eligible &= first <= until_day
    secondary = np.bincount(hh[in_household & ~primary], minlength=len(sizes))
    return AttackRate(
        infected=int(secondary[eligible].sum()),
        exposed=int((sizes - n_primary)[eligible].sum()),
        households=int(eligible.sum()),
    )
