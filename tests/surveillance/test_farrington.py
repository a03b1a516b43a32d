"""Farrington's public functions: batches, defaults, parameters in force, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fangkong.errors import BadInput
from fangkong.surveillance.farrington import (
    farrington,
    farrington_flexible,
    farrington_flexible_many,
    farrington_many,
)
from fangkong.surveillance.farrington_params import FarringtonParameterError

SERIES = json.loads((Path(__file__).parent / "fixtures" / "farrington" / "series.json").read_text())
NOUFAILY = {
    "b": 4,
    "w": 3,
    "no_periods": 10,
    "weights_threshold": 2.58,
    "past_weeks_not_included": 26,
    "p_threshold_trend": 1.0,
    "threshold_method": "nbPlugin",
}


def _panel() -> np.ndarray:
    names = ["salmonella.agona", "synthetic.nb", "synthetic.sparse", "synthetic.trend"]
    return np.array([SERIES[n]["counts"][:312] for n in names], dtype=float)


@pytest.mark.parametrize(
    ("many", "one", "kw"),
    [
        (farrington_flexible_many, farrington_flexible, NOUFAILY),
        (farrington_flexible_many, farrington_flexible, {"threshold_method": "muan", "b": 3}),
        (farrington_many, farrington, {"b": 4, "w": 2}),
    ],
)
def test_batch_equals_one_series_at_a_time(many, one, kw) -> None:  # type: ignore[no-untyped-def]
    panel = _panel()
    batch = many(panel, range=(250, 312), **kw)
    for row, det in zip(panel, batch, strict=True):
        alone = one(row, range=(250, 312), **kw)
        np.testing.assert_array_equal(det.index, alone.index)
        np.testing.assert_array_equal(det.alarm, alone.alarm)
        np.testing.assert_array_equal(np.isnan(det.threshold), np.isnan(alone.threshold))
        np.testing.assert_allclose(det.threshold, alone.threshold, rtol=1e-10)


def test_default_range_and_params_in_force() -> None:
    y = np.asarray(SERIES["salmonella.agona"]["counts"], dtype=float)
    det = farrington_flexible(y, b=4)
    assert det.index[0] == 52 * 4 + 3  # R: freq*b + w + 1, 1-based
    assert det.index[-1] == len(y) - 1
    assert det.method == "farrington_flexible"
    assert det.params["weights_threshold"] == 2.58
    assert det.params["past_weeks_not_included"] == 3  # NULL means w
    assert det.params["threshold_method"] == "delta"
    np.testing.assert_array_equal(det.observed, y[det.index])
    old = farrington(y, b=4)
    assert old.index[0] == 52 * 4 - 3 - 1  # R: freq*b - w, 1-based
    assert old.params["alpha"] == 0.05
    # Farrington 1996 gives 0, not NA, where there are too few cases (limit54)
    assert np.all(old.threshold[~np.isnan(old.threshold)] >= 0)


def test_too_few_cases_give_na_upperbound_and_no_alarm() -> None:
    y = np.zeros(320)
    y[-1] = 4.0  # 4 cases in the last 4 weeks: below limit54 = (5, 4)
    det = farrington_flexible(y, b=5, range=(300, 320))
    assert np.isnan(det.threshold).all()
    assert not det.alarm.any()
    assert det.alarm_defined.all()  # R's alarm is FALSE there, not NA
    old = farrington(y, b=5, range=(300, 320))
    np.testing.assert_array_equal(old.threshold, 0.0)


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"alpha": 1.5}, "farrington.alpha"),
        ({"limit54": (5, 0)}, "farrington.limit54"),
        ({"powertrans": "3/4"}, "farrington.powertrans"),
        ({"threshold_method": "quantile"}, "farrington.threshold_method"),
        ({"range": (0, 400)}, "farrington.range"),
        ({"range": (10, 312)}, "farrington.reference"),
        ({"b": 4, "no_periods": 100}, "farrington.no_periods"),
        ({"fit_fun": "glm"}, "farrington.fit_fun"),
    ],
)
def test_bad_parameters_are_named_in_both_languages(kw: dict[str, object], code: str) -> None:
    y = np.asarray(SERIES["salmonella.agona"]["counts"], dtype=float)
    with pytest.raises(FarringtonParameterError) as err:
        farrington_flexible(y, **kw)
    assert err.value.code == code
    assert isinstance(err.value, BadInput)
    assert isinstance(err.value, ValueError)
    assert err.value.problem.message_zh != err.value.problem.message_en


@pytest.mark.parametrize(
    ("counts", "code"),
    [([1.0, -1.0] * 200, "farrington.negative"), ([1.0, np.nan] * 200, "farrington.missing")],
)
def test_bad_counts(counts: list[float], code: str) -> None:
    with pytest.raises(FarringtonParameterError) as err:
        farrington(np.asarray(counts))
    assert err.value.code == code
