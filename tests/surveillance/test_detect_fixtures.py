"""EARS, CUSUM, Bayes and GLR against R ``surveillance`` 1.20.3 (scripts/r/detect_fixtures.R).

Each fixture file holds one series (shipped data sets and seeded synthetic ones) and the
upper bounds and alarms R gave for several parameter sets; thresholds must agree within
1e-6 relative and alarms exactly, NA where R says NA.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fangkong.surveillance.bayes import bayes
from fangkong.surveillance.cusum import cusum
from fangkong.surveillance.ears import ears
from fangkong.surveillance.glrnb import glrnb
from fangkong.surveillance.result import Detection

FIXTURES = Path(__file__).parent / "fixtures"


def _ears(f: dict[str, Any], p: dict[str, Any], r: Any) -> Detection:
    return ears(f["counts"], range=r, **p)


def _bayes(f: dict[str, Any], p: dict[str, Any], r: Any) -> Detection:
    return bayes(f["counts"], range=r, freq=int(f["freq"]), **p)


def _cusum(f: dict[str, Any], p: dict[str, Any], r: Any) -> Detection:
    return cusum(f["counts"], range=r, freq=int(f["freq"]), start_phase=int(f["start"][1]), **p)


def _glrnb(f: dict[str, Any], p: dict[str, Any], r: Any) -> Detection:
    return glrnb(f["counts"], range=r, freq=int(f["freq"]), **p)


RUNNERS: dict[str, Callable[[dict[str, Any], dict[str, Any], Any], Detection]] = {
    "ears": _ears, "bayes": _bayes, "cusum": _cusum, "glrnb": _glrnb,
}  # fmt: skip


def _cases() -> list[Any]:
    out = []
    for method in RUNNERS:
        for path in sorted((FIXTURES / method).glob("*.json")):
            data = json.loads(path.read_text())
            for case in data["cases"]:
                out.append(
                    pytest.param(method, data, case, id=f"{method}-{path.stem}-{case['name']}")
                )
    return out


CASES = _cases()


def test_fixtures_cover_every_method_and_the_shipped_data_sets() -> None:
    ids = {p.id for p in CASES}
    for method in RUNNERS:
        for dataset in ("salmonella_agona", "salmnewport_total", "measlesde_nrw", "shadar"):
            assert any(i.startswith(f"{method}-{dataset}-") for i in ids), (method, dataset)
    assert len(CASES) > 300


@pytest.mark.parametrize(("method", "data", "case"), CASES)
def test_matches_r(method: str, data: dict[str, Any], case: dict[str, Any]) -> None:
    params = dict(case["params"])  # R's empty list() arrives as []
    result = RUNNERS[method](data, params, np.asarray(case["range"]) - 1)
    expected = np.array([np.nan if v is None else v for v in case["upperbound"]], dtype=float)
    defined = np.array([v is not None for v in case["alarm"]])
    alarms = np.array([bool(v) for v in case["alarm"]])
    np.testing.assert_array_equal(result.index, np.asarray(case["range"]) - 1)
    np.testing.assert_allclose(result.threshold, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(result.alarm_defined, defined)
    np.testing.assert_array_equal(result.alarm, alarms & defined)
    if method == "glrnb":
        np.testing.assert_allclose(result.expected, case["extra"]["mu0"], rtol=1e-6)
        # glm.nb's theta is flat near Poisson data (theta ~ 3e4 on synth_seasonal): theta.ml
        # stops at a 1.2e-4 step, so the last digits of alpha follow rounding; the bounds
        # above still agree to 1e-6
        assert result.params["alpha"] == pytest.approx(case["extra"]["alpha"], rel=1e-5)
    if method == "cusum":
        np.testing.assert_allclose(result.expected, case["extra"]["m"], rtol=1e-6)
