"""Pooling maths against published values, exact enumeration and simulation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.errors import BadInput
from fangkong.testing.pooling import (
    Accuracy,
    array,
    best,
    dorfman,
    exact_array_by_enumeration,
    plan,
    simulate_array,
    simulate_dorfman,
)

# Dorfman (1943), Ann. Math. Statist. 14(4):436-440, Table 1 (the rows most often quoted):
# prevalence (%), optimum group size, relative cost (% of the tests of individual testing).
DORFMAN_1943 = [
    (1, 11, 20),
    (2, 8, 27),
    (5, 5, 43),
    (10, 4, 59),
    (15, 3, 72),
    (20, 3, 82),
    (30, 3, 99),
]


@pytest.mark.parametrize(("percent", "size", "cost"), DORFMAN_1943)
def test_dorfman_optimum_matches_the_1943_table(percent: int, size: int, cost: int) -> None:
    choice = best("dorfman", percent / 100)
    assert choice.size == size
    assert round(choice.tests_per_person * 100) == cost


def test_dorfman_one_percent_is_0_196_tests_per_person() -> None:
    assert dorfman(0.01, 11) == pytest.approx(0.1956, abs=5e-4)


def test_above_the_dorfman_limit_individual_testing_wins() -> None:
    # pooling helps only while q^k > 1/k for some k, i.e. p < 1 - 3^(-1/3) ≈ 0.3066
    assert best("dorfman", 0.35).scheme == "individual"
    assert best("dorfman", 0.30).scheme == "dorfman"


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("p", [0.01, 0.05, 0.2])
def test_array_closed_form_equals_exact_enumeration(n: int, p: float) -> None:
    assert array(p, n) == pytest.approx(exact_array_by_enumeration(p, n), rel=1e-12)


@pytest.mark.parametrize(("p", "k"), [(0.01, 11), (0.05, 5), (0.02, 20)])
def test_dorfman_with_test_error_agrees_with_simulation(p: float, k: int) -> None:
    acc = Accuracy(sensitivity=0.9, specificity=0.97)
    simulated = simulate_dorfman(p, k, acc, pools=400_000, seed=7)
    assert dorfman(p, k, acc) == pytest.approx(simulated, abs=4e-3)


@pytest.mark.parametrize(("p", "n"), [(0.01, 10), (0.05, 6), (0.02, 12)])
def test_array_with_test_error_agrees_with_simulation(p: float, n: int) -> None:
    acc = Accuracy(sensitivity=0.95, specificity=0.98)
    simulated = simulate_array(p, n, acc, arrays=40_000, seed=11)
    assert array(p, n, acc) == pytest.approx(simulated, abs=4e-3)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0005, 0.25), st.integers(2, 30))
def test_best_is_never_beaten_by_any_size(p: float, k: int) -> None:
    for scheme, cost in (("dorfman", dorfman), ("array", array)):
        choice = best(scheme, p, max_size=30)
        assert choice.tests_per_person <= min(1.0, cost(p, k)) + 1e-12


def test_array_beats_dorfman_at_low_prevalence() -> None:
    # a known property of the square array at low prevalence (Phatarfod & Sudbury 1994)
    assert best("array", 0.001).tests_per_person < best("dorfman", 0.001).tests_per_person


def test_plan_lists_both_optima_and_the_pack_sizes() -> None:
    rows = plan(0.01, sizes=(5, 10, 20))
    assert [(r.scheme, r.size) for r in rows][:2] == [
        ("dorfman", 11),
        ("array", best("array", 0.01).size),
    ]
    assert [r.size for r in rows[2:]] == [5, 10, 20]
    assert rows[3].tests_per_person == pytest.approx(dorfman(0.01, 10))


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_bad_values_are_refused_in_both_languages(bad: float) -> None:
    with pytest.raises(BadInput) as caught:
        dorfman(bad, 5)
    assert "prevalence" in caught.value.problem.message_en
    assert "之间" in caught.value.problem.message_zh
