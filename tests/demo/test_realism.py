"""Realism ranges of the platform side (docs/twin.md, "Realism ranges"): the province loop
with the default scenario and protocol-9 over several seeds, scored against the twin's
truth — close contacts per confirmed case and the share of close contacts infected later
must fall in the published ranges (``fangkong.twin.realism.RANGES``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fangkong.demo.evaluation.jobs import platform_run
from fangkong.settings import load_settings
from fangkong.twin.realism import RANGES

SEEDS = (1, 2, 3)
PEOPLE, DAYS = 8_000, 16


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    home: Path = tmp_path_factory.mktemp("realism")
    cfg = load_settings({"FANGKONG_HOME": str(home)})
    return [platform_run(cfg, seed, "protocol-9", PEOPLE, DAYS) for seed in SEEDS]


def test_every_run_found_cases_to_measure(runs: list[dict[str, Any]]) -> None:
    for run in runs:
        assert run["confirmed"] >= 3, run["seed"]
        assert run["close_contacts_per_case"] is not None


def test_close_contacts_per_confirmed_case(runs: list[dict[str, Any]]) -> None:
    lo, hi = RANGES["close_contacts_per_case"]
    median = float(np.median([r["close_contacts_per_case"] for r in runs]))
    assert lo <= median <= hi, [r["close_contacts_per_case"] for r in runs]


def test_share_of_close_contacts_infected_later(runs: list[dict[str, Any]]) -> None:
    lo, hi = RANGES["contacts_infected_share"]
    shares = [r["contacts_infected_share"] for r in runs]
    assert all(s is not None for s in shares)
    median = float(np.median(shares))
    assert lo <= median <= hi, shares
