"""The two methods without an R reference, checked against their definitions.

The moving percentile method against a literal loop over the baseline blocks and a hand
computed percentile; the regression/EWMA switch against closed forms (simple linear
regression's prediction interval, the EWMA as an explicit weighted sum) and against a
different parametrisation of the same regression.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from fangkong.surveillance.ewma import design, ewma, ewma_forecast, regression_forecast
from fangkong.surveillance.mpm import first_period, mpm


def _type7(values: list[float], p: float) -> float:
    """Percentile by hand: linear between order statistics (Hyndman & Fan type 7)."""
    v = sorted(values)
    h = (len(v) - 1) * p / 100
    lo = int(np.floor(h))
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (h - lo) * (v[hi] - v[lo])


def _mpm_by_loop(
    x: list[float], t: int, years: int, half: int, window: int, freq: int, p: float
) -> tuple[float, float]:
    def block(end: int) -> float:
        return float(sum(x[end - window + 1 : end + 1]))

    baseline = [
        block(t - y * freq + j * window)
        for y in range(1, years + 1)
        for j in range(-half, half + 1)
    ]
    return block(t), _type7(baseline, p)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    years=st.integers(1, 4),
    half=st.integers(0, 3),
    window=st.integers(1, 7),
    p=st.floats(0, 100),
)
def test_mpm_equals_the_literal_definition(
    seed: int, years: int, half: int, window: int, p: float
) -> None:
    freq = 52
    rng = np.random.default_rng(seed)
    n = first_period(years, half, window, freq) + 30
    x = rng.poisson(rng.uniform(0.5, 20), size=n).astype(float).tolist()
    result = mpm(x, percentile=p, years=years, half_width=half, window=window, freq=freq)
    assert result.index[0] == first_period(years, half, window, freq)
    for k, t in enumerate(result.index):
        current, threshold = _mpm_by_loop(x, int(t), years, half, window, freq, p)
        assert result.observed[k] == current
        assert result.threshold[k] == pytest.approx(threshold, rel=1e-12, abs=1e-12)
        assert result.alarm[k] == (current > threshold)


def test_mpm_by_hand() -> None:
    # counts equal to their position: the 15 baseline values of week t are
    # t - 52y + j (y = 1..3, j = -2..2); their 80th percentile is computed by hand
    x = np.arange(200, dtype=float)
    result = mpm(x, percentile=80, range=[180])
    values = sorted(180 - 52 * y + j for y in (1, 2, 3) for j in range(-2, 3))
    assert values[0] == 22
    assert values[-1] == 130
    # 22..26, 74..78, 126..130; (15 - 1) * 0.8 = 11.2: between the 12th and 13th
    # smallest, 127 and 128
    assert values[11] == 127
    assert values[12] == 128
    assert result.threshold[0] == pytest.approx(127.2)
    assert result.alarm[0]  # 180 > 127.2
    assert result.expected[0] == 76.0  # the median: the same week two years back


def test_mpm_daily_seven_day_blocks() -> None:
    rng = np.random.default_rng(3)
    x = rng.poisson(4, size=3 * 365 + 60).astype(float)
    t = len(x) - 1
    result = mpm(x, window=7, freq=365, range=[t])
    current, threshold = _mpm_by_loop(x.tolist(), t, 3, 2, 7, 365, 80)
    assert result.observed[0] == current == x[t - 6 : t + 1].sum()
    assert result.threshold[0] == pytest.approx(threshold)


def test_mpm_refuses_blocks_reaching_the_current_period() -> None:
    with pytest.raises(ValueError, match="half_width"):
        mpm(np.ones(400), half_width=8, window=7, freq=52)
    with pytest.raises(ValueError, match="needs"):
        mpm(np.ones(100), range=[50])


def test_regression_forecast_is_the_simple_linear_prediction_interval() -> None:
    rng = np.random.default_rng(11)
    positions = np.arange(40, 68, dtype=np.int64)
    y = 5 + 0.3 * positions + rng.normal(0, 2, size=len(positions))
    target = 70
    forecast, se, df, r2 = regression_forecast(y, positions, target, 1, 0.0)
    slope, intercept, r, *_ = stats.linregress(positions, y)
    n = len(y)
    resid = y - (intercept + slope * positions)
    s = np.sqrt(resid @ resid / (n - 2))
    sxx = np.sum((positions - positions.mean()) ** 2)
    assert forecast == pytest.approx(intercept + slope * target, rel=1e-10)
    assert se == pytest.approx(
        s * np.sqrt(1 + 1 / n + (target - positions.mean()) ** 2 / sxx), rel=1e-10
    )
    assert df == n - 2
    assert r2 == pytest.approx(1 - (1 - r**2) * (n - 1) / (n - 2), rel=1e-10)


def test_regression_with_weekday_columns_equals_a_cell_means_fit() -> None:
    # indicators for 6 weekdays + intercept span the same space as 7 weekday means:
    # solve the other parametrisation with the normal equations and compare
    rng = np.random.default_rng(5)
    positions = np.arange(100, 128, dtype=np.int64)
    y = rng.poisson(20 + 10 * (positions % 7 == 2), size=28).astype(float)
    forecast, se, df, _ = regression_forecast(y, positions, 130, 7, 0.0)
    other = np.column_stack(
        [positions.astype(float)] + [(positions % 7 == d).astype(float) for d in range(7)]
    )
    beta = np.linalg.solve(other.T @ other, other.T @ y)
    x0 = np.array([130.0] + [float(d == 130 % 7) for d in range(7)])
    resid = y - other @ beta
    s2 = resid @ resid / (28 - 8)
    assert design(positions, 7).shape == (28, 8)
    assert forecast == pytest.approx(x0 @ beta, rel=1e-9)
    assert se == pytest.approx(
        np.sqrt(s2 * (1 + x0 @ np.linalg.solve(other.T @ other, x0))), rel=1e-9
    )
    assert df == 20


def test_ewma_forecast_is_the_weighted_sum() -> None:
    y = np.array([3.0, 7.0, 4.0, 9.0, 2.0, 6.0])
    lam = 0.4
    n = len(y)
    closed = (1 - lam) ** n * y.mean() + sum(
        lam * (1 - lam) ** (n - 1 - i) * y[i] for i in range(n)
    )
    forecast, se = ewma_forecast(y, lam, 0.0)
    assert forecast == pytest.approx(closed, rel=1e-12)
    assert se == pytest.approx(np.std(y, ddof=1) * np.sqrt(1 + lam / (2 - lam)), rel=1e-12)
    _, floored = ewma_forecast(np.full(6, 4.0), lam, 0.5)
    assert floored == pytest.approx(0.5 * np.sqrt(1 + lam / (2 - lam)))


def test_switch_picks_regression_on_a_trend_and_ewma_on_noise() -> None:
    rng = np.random.default_rng(8)
    t = np.arange(120)
    trend = np.round(10 + 0.8 * t + rng.normal(0, 1, size=120))
    noise = rng.poisson(10, size=120).astype(float)
    on_trend = ewma(trend, range=[100])
    on_noise = ewma(noise, range=[100])
    assert on_trend.params["models"] == ("regression",)
    assert on_noise.params["models"] == ("ewma",)
    # the regression threshold: forecast + t quantile * se, by the pieces above
    positions = np.arange(100 - 2 - 28, 100 - 2, dtype=np.int64)
    forecast, se, df, _ = regression_forecast(trend[positions], positions, 100, 1, 0.5)
    assert on_trend.threshold[0] == pytest.approx(forecast + stats.t.ppf(0.99, df) * se)
    f2, se2 = ewma_forecast(noise[positions], 0.4, 0.5)
    assert on_noise.threshold[0] == pytest.approx(f2 + stats.t.ppf(0.99, 27) * se2)


def test_ewma_alarm_is_a_p_value_below_alpha() -> None:
    rng = np.random.default_rng(2)
    x = rng.poisson(15, size=200).astype(float)
    x[150:155] += [10, 20, 30, 20, 10]
    result = ewma(x, alpha=0.05)
    assert result.alarm[150 - 30 : 155 - 30].sum() >= 2
    for k, t in enumerate(result.index):
        positions = np.arange(t - 30, t - 2, dtype=np.int64)
        if result.params["models"][k] == "ewma":
            f, se = ewma_forecast(x[positions], 0.4, 0.5)
            p = stats.t.sf((x[t] - f) / se, 27)
        else:
            f, se, df, _ = regression_forecast(x[positions], positions, int(t), 1, 0.5)
            p = stats.t.sf((x[t] - f) / se, df)
        assert result.alarm[k] == (p < 0.05)
