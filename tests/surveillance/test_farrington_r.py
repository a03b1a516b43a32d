"""Farrington and farringtonFlexible against R surveillance 1.20.3's own output.

The fixtures are written by ``scripts/r/farrington_fixtures.R`` (R's shipped datasets
and synthetic series, many parameter sets); R is not needed here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fangkong.surveillance.farrington import farrington, farrington_flexible
from fangkong.surveillance.result import Detection

FIXTURES = Path(
    os.environ.get(
        "FANGKONG_FARRINGTON_FIXTURES", Path(__file__).parent / "fixtures" / "farrington"
    )
)
SERIES: dict[str, Any] = json.loads((FIXTURES / "series.json").read_text())
CASES: list[dict[str, Any]] = json.loads((FIXTURES / "cases.json").read_text())

# R's control names -> ours (snake_case)
R_NAMES = {
    "b": "b",
    "w": "w",
    "reweight": "reweight",
    "weightsThreshold": "weights_threshold",
    "alpha": "alpha",
    "trend": "trend",
    "pThresholdTrend": "p_threshold_trend",
    "limit54": "limit54",
    "powertrans": "powertrans",
    "fitFun": "fit_fun",
    "populationOffset": "population_offset",
    "noPeriods": "no_periods",
    "pastWeeksNotIncluded": "past_weeks_not_included",
    "thresholdMethod": "threshold_method",
}


def _kwargs(case: dict[str, Any]) -> dict[str, Any]:
    s = SERIES[case["series"]]
    kw: dict[str, Any] = {R_NAMES[k]: v for k, v in case["control"].items() if k != "range"}
    if "limit54" in kw:
        kw["limit54"] = tuple(kw["limit54"])
    kw["freq"] = s["freq"]
    if s["dates"] is not None:
        kw["epoch_dates"] = [dt.date.fromisoformat(d) for d in s["dates"]]
    if s["population"] is not None:
        kw["population"] = s["population"]
    if not case.get("default_range", False):
        kw["range"] = (case["start"] - 1, case["end"])
    return kw


def _run(case: dict[str, Any]) -> Detection:
    fn = farrington if case["method"] == "farrington" else farrington_flexible
    return fn(np.asarray(SERIES[case["series"]]["counts"]), **_kwargs(case))


def _array(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _alarms(values: list[bool | None]) -> tuple[np.ndarray, np.ndarray]:
    defined = np.array([v is not None for v in values])
    return np.array([bool(v) for v in values]), defined


OK_CASES = [c for c in CASES if "error" not in c]


@pytest.mark.parametrize("case", OK_CASES, ids=[c["id"] for c in OK_CASES])
def test_matches_r(case: dict[str, Any]) -> None:
    det = _run(case)
    assert det.index[0] == case["start"] - 1
    assert det.index[-1] == case["end"] - 1
    want_upper = _array(case["upperbound"])
    np.testing.assert_array_equal(np.isnan(det.threshold), np.isnan(want_upper))
    np.testing.assert_allclose(det.threshold, want_upper, rtol=1e-6, atol=0)
    alarm, defined = _alarms(case["alarm"])
    np.testing.assert_array_equal(det.alarm_defined, defined)
    np.testing.assert_array_equal(det.alarm, alarm)
    if case.get("expected") is not None:
        want_exp = _array(case["expected"])
        got = np.where(np.isnan(want_exp) & np.isnan(det.expected), np.nan, det.expected)
        np.testing.assert_allclose(got, want_exp, rtol=1e-6, atol=0)
