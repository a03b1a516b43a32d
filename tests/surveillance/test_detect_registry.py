"""The method table and parameter parsing; the batched EARS equals the one-series EARS."""

from __future__ import annotations

import datetime as dt
import inspect

import numpy as np
import pytest

from fangkong.errors import BadInput
from fangkong.surveillance.bayes import PRESETS
from fangkong.surveillance.detect import METHODS, SeriesInput, method_named, parse_params
from fangkong.surveillance.ears import ears, ears_batch

CONTRACT = (
    "ears-c1", "ears-c2", "ears-c3", "farrington", "farrington-flexible", "cusum", "glrnb",
    "bayes", "mpm", "ewma",
)  # fmt: skip


def test_every_method_of_the_contract_is_registered() -> None:
    assert set(CONTRACT) <= set(METHODS)
    assert set(METHODS) - set(CONTRACT) == {"bayes1", "bayes2", "bayes3"}


def test_defaults_are_rs() -> None:
    assert METHODS["ears-c1"].defaults() == {"baseline": 7, "min_sigma": 0.0, "alpha": 0.001}
    assert METHODS["ears-c3"].defaults()["alpha"] == 0.025
    assert METHODS["cusum"].defaults()["k"] == 1.04
    assert METHODS["cusum"].defaults()["h"] == 2.26
    assert METHODS["glrnb"].defaults()["c_arl"] == 5.0
    assert METHODS["glrnb"].defaults()["alpha"] is None
    for name, preset in PRESETS.items():
        assert METHODS[name].defaults() == preset


def test_parameter_names_match_the_library_functions() -> None:
    # every registered parameter is a keyword of the function the runner calls
    from fangkong.surveillance import bayes, cusum, ears, ewma, glrnb, mpm

    functions = {
        "ears-c1": ears.ears, "cusum": cusum.cusum, "glrnb": glrnb.glrnb,
        "bayes": bayes.bayes, "mpm": mpm.mpm, "ewma": ewma.ewma,
    }  # fmt: skip
    for name, function in functions.items():
        keywords = set(inspect.signature(function).parameters)
        assert {p.name for p in METHODS[name].params} <= keywords, name


def test_farrington_parameters_match_its_module() -> None:
    farrington = pytest.importorskip("fangkong.surveillance.farrington")
    keywords = set(inspect.signature(farrington.farrington_flexible_many).parameters)
    assert {p.name for p in METHODS["farrington-flexible"].params} <= keywords
    keywords = set(inspect.signature(farrington.farrington_many).parameters)
    assert {p.name for p in METHODS["farrington"].params} <= keywords


@pytest.mark.parametrize(
    ("method", "items", "expected"),
    [
        ("cusum", ["m=glm"], {"m": "glm"}),
        ("cusum", ["m=4.5", "trans=rossi"], {"m": 4.5, "trans": "rossi"}),
        ("glrnb", ["alpha=none", "m=26", "dir=dec"], {"alpha": None, "m": 26, "dir": "dec"}),
        ("glrnb", ["alpha=0", "mu0_trend=yes"], {"alpha": 0.0, "mu0_trend": True}),
        ("farrington-flexible", ["limit54=3,2"], {"limit54": (3, 2)}),
        ("farrington-flexible", ["past_weeks_not_included=26"], {"past_weeks_not_included": 26}),
        ("bayes", ["act_y=false", "b=2"], {"act_y": False, "b": 2}),
        ("ewma", ["cycle=7"], {"cycle": 7}),
    ],
)
def test_params_parse(method: str, items: list[str], expected: dict[str, object]) -> None:
    values = parse_params(METHODS[method], items)
    for name, value in expected.items():
        assert values[name] == value
    untouched = set(values) - set(expected)
    assert all(values[n] == METHODS[method].defaults()[n] for n in untouched)


@pytest.mark.parametrize(
    ("method", "item", "code"),
    [
        ("cusum", "trans=log", "param.invalid"),
        ("cusum", "m=median", "param.invalid"),
        ("farrington-flexible", "limit54=5", "param.invalid"),
        ("glrnb", "mu0_trend=maybe", "param.invalid"),
        ("glrnb", "c.ARL=3", "param.unknown"),
        ("bayes", "actY=true", "param.unknown"),
    ],
)
def test_bad_params(method: str, item: str, code: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_params(METHODS[method], [item])
    assert caught.value.code == code
    assert item.split("=")[0] in caught.value.problem.message_en
    assert caught.value.problem.message_zh != caught.value.problem.message_en


def test_unknown_param_suggests_the_snake_case_name() -> None:
    with pytest.raises(BadInput, match="c_arl"):
        parse_params(METHODS["glrnb"], ["c.ARL=3"])


def test_unknown_method() -> None:
    with pytest.raises(BadInput) as caught:
        method_named("ears-c9")
    assert "ears-c1" in caught.value.problem.message_en
    assert method_named(" EARS-C1 ").name == "ears-c1"


@pytest.mark.parametrize("method", ["C1", "C2", "C3"])
def test_batched_ears_equals_one_series_at_a_time(method: str) -> None:
    rng = np.random.default_rng(4)
    counts = rng.poisson(rng.uniform(0.2, 30, size=(50, 1)), size=(50, 120)).astype(float)
    counts[7, :] = 3.0  # constant: zero sd, NaN and infinite statistics
    batch = ears_batch(counts, method=method)  # type: ignore[arg-type]
    for i in range(counts.shape[0]):
        one = ears(counts[i], method=method)  # type: ignore[arg-type]
        np.testing.assert_array_equal(batch.threshold[i], one.threshold)
        np.testing.assert_array_equal(batch.alarm[i], one.alarm)


def test_registry_batch_and_single_runs_agree() -> None:
    rng = np.random.default_rng(9)
    counts = rng.poisson(5, size=(3, 60)).astype(float)
    method = METHODS["ears-c2"]
    assert method.batch is not None
    template = SeriesInput(counts[0], 52, 1, tuple(dt.date(2024, 1, 1) for _ in range(60)))
    positions = np.arange(20, 60, dtype=np.int64)
    params = method.defaults()
    batched = method.batch(counts, None, template, positions, params)
    for i in range(3):
        single = method.run(SeriesInput(counts[i], 52, 1, template.dates), positions, params)
        np.testing.assert_array_equal(batched[i].threshold, single.threshold)
        np.testing.assert_array_equal(batched[i].index, single.index)


def test_c3_alarm_follows_rs_code_not_its_help_page() -> None:
    # R's bound is x_t + sd_t (z - lagged C2 parts): the current count cancels, so raising
    # it changes the bound by the same amount and never the alarm (while the bound is > 0)
    rng = np.random.default_rng(12)
    x = rng.poisson(10, size=80).astype(float)
    t = 60
    before = ears(x, method="C3", range=[t])
    x2 = x.copy()
    x2[t] += 50
    after = ears(x2, method="C3", range=[t])
    assert after.threshold[0] == pytest.approx(before.threshold[0] + 50)
    assert after.alarm[0] == before.alarm[0]


def test_c3_evaluates_a_single_period_where_r_fails() -> None:
    # R 1.20.3 errors for a one-period range ("number of items to replace ..."): its
    # refVals matrix drops to a vector. The bound for t alone equals the one in a longer run
    x = [3, 5, 2, 6, 4, 3, 7, 5, 4, 6, 5, 8, 9, 12, 15]
    one = ears(x, method="C3", range=[14])
    two = ears(x, method="C3", range=[13, 14])
    assert one.threshold[0] == two.threshold[1]
    assert two.threshold[1] == pytest.approx(7.820457, rel=1e-6)  # R, range = 14:15
