"""Rt: EpiEstim's conditions as clear errors, its warnings as RtWarning, and the model's rules."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fangkong.errors import BadInput
from fangkong.surveillance.rt import RtWarning, discr_si, estimate_r, overall_infectivity

SI = np.array([0.0, 0.2, 0.5, 0.2, 0.1])
LOCAL = np.array([0, 4, 6, 9, 12, 15, 19, 22, 25, 24, 26, 22, 20, 18, 15, 12], dtype=float)


def _code(excinfo: pytest.ExceptionInfo[BadInput]) -> str:
    return excinfo.value.code


@pytest.mark.parametrize(
    ("si", "code"),
    [
        ([0.1, 0.4, 0.5], "rt.si_distr_first"),
        ([0.0, 0.4, 0.4], "rt.si_distr_sum"),
        ([0.0, 1.2, -0.2], "rt.si_distr_negative"),
        ([], "rt.si_distr"),
    ],
)
def test_bad_serial_interval_is_an_error(si: list[float], code: str) -> None:
    with pytest.raises(BadInput) as excinfo:
        estimate_r(LOCAL, si_distr=si)
    assert _code(excinfo) == code
    assert "si_distr" in excinfo.value.problem.message_en
    assert "si_distr" in excinfo.value.problem.message_zh


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"t_start": [1], "t_end": [7]}, "rt.windows"),
        ({"t_start": [5], "t_end": [4]}, "rt.windows"),
        ({"t_start": [2, 3], "t_end": [8]}, "rt.windows"),
        ({"t_start": [2], "t_end": [99]}, "rt.windows"),
        ({"t_start": [2]}, "rt.windows"),
        ({"window": 20}, "rt.too_short"),
        ({"window": 0}, "rt.window"),
        ({"mean_prior": 0.0}, "rt.mean_prior"),
        ({"std_prior": -1.0}, "rt.std_prior"),
        ({"cv_posterior": -0.1}, "rt.cv_posterior"),
    ],
)
def test_bad_windows_and_priors_are_errors(kwargs: dict[str, object], code: str) -> None:
    with pytest.raises(BadInput) as excinfo:
        estimate_r(LOCAL, si_distr=SI, **kwargs)  # type: ignore[arg-type]
    assert _code(excinfo) == code


def test_serial_interval_must_be_given_one_way() -> None:
    with pytest.raises(BadInput) as excinfo:
        estimate_r(LOCAL)
    assert _code(excinfo) == "rt.si_missing"
    with pytest.raises(BadInput) as excinfo:
        estimate_r(LOCAL, si_distr=SI, si_mean=3.0, si_sd=1.0)
    assert _code(excinfo) == "rt.si_both"
    with pytest.raises(BadInput) as excinfo:
        estimate_r(LOCAL, si_mean=1.0, si_sd=1.0)
    assert _code(excinfo) == "rt.si_mean"
    with pytest.raises(BadInput) as excinfo:
        estimate_r(LOCAL, si_mean=3.0, si_sd=0.0)
    assert _code(excinfo) == "rt.si_sd"


def test_bad_counts_name_the_day() -> None:
    bad = LOCAL.copy()
    bad[5] = -1
    with pytest.raises(BadInput) as excinfo:
        estimate_r(bad, si_distr=SI)
    assert "day 6" in excinfo.value.problem.message_en
    assert "第 6 天" in excinfo.value.problem.message_zh
    bad[5] = np.nan
    with pytest.raises(BadInput, match="day 6"):
        estimate_r(bad, si_distr=SI)
    with pytest.raises(BadInput) as excinfo:
        estimate_r(LOCAL, imported=np.zeros(3), si_distr=SI)
    assert _code(excinfo) == "rt.length"


def test_discr_si_checks_its_arguments() -> None:
    with pytest.raises(BadInput):
        discr_si([0, 1], 1.0, 1.0)
    with pytest.raises(BadInput):
        discr_si([0, 1], 3.0, -1.0)
    with pytest.raises(BadInput):
        discr_si([-1, 1], 3.0, 1.0)
    w = discr_si(np.arange(200), 6.8, 4.1)
    assert w[0] == 0
    assert w.sum() == pytest.approx(1.0, abs=1e-9)
    # The discretised interval keeps the continuous mean (Cori et al. 2013, appendix 11).
    assert (w * np.arange(200)).sum() == pytest.approx(6.8, rel=1e-9)


def test_day_one_cases_are_imported() -> None:
    """EpiEstim takes every day-1 case as imported; with ``imported`` given it warns."""
    plain = estimate_r(LOCAL + np.eye(len(LOCAL))[0] * 3, si_distr=SI)
    imported = np.zeros_like(LOCAL)
    imported[0] = 3
    explicit = estimate_r(LOCAL, imported=imported, si_distr=SI)
    np.testing.assert_array_equal(plain.mean, explicit.mean)
    with pytest.warns(RtWarning, match="first day"):
        moved = estimate_r(LOCAL + np.eye(len(LOCAL))[0] * 3, imported=np.zeros_like(LOCAL),
                           si_distr=SI)  # fmt: skip
    np.testing.assert_array_equal(moved.mean, explicit.mean)


def test_too_early_warns_as_epiestim() -> None:
    few = np.array([0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 2], dtype=float)
    with pytest.warns(RtWarning, match="too early"):
        estimate_r(few, si_distr=SI)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate_r(LOCAL + 10, si_distr=SI)


def test_imported_cases_infect_but_are_not_infected() -> None:
    base = estimate_r(LOCAL, imported=np.r_[3, np.zeros(len(LOCAL) - 1)], si_distr=SI)
    more = estimate_r(LOCAL, imported=np.r_[3, np.full(len(LOCAL) - 1, 5.0)], si_distr=SI)
    assert np.all(more.mean < base.mean)  # more infectors, same local infectees
    # Shape counts local cases only: prior shape 1 plus the window's local cases.
    np.testing.assert_allclose(more.shape, base.shape)
    assert base.shape[0] == 1 + LOCAL[1:8].sum()


def test_posterior_by_hand_for_one_window() -> None:
    total = LOCAL.copy()
    lam = overall_infectivity(total, SI)
    # Lambda_t = sum_s w_s I_{t-s}, written out for day 5 (index 4).
    assert lam[4] == pytest.approx(0.2 * 9 + 0.5 * 6 + 0.2 * 4 + 0.1 * 0)
    got = estimate_r(LOCAL, si_distr=SI, t_start=[4], t_end=[9])
    shape = 1 + LOCAL[3:9].sum()
    scale = 1 / (1 / 5 + lam[3:9].sum())
    assert got.mean[0] == pytest.approx(shape * scale, rel=1e-12)
    assert got.std[0] == pytest.approx(np.sqrt(shape) * scale, rel=1e-12)
    assert got.q025[0] < got.q25[0] < got.median[0] < got.q75[0] < got.q975[0]
    assert got.si_mean == pytest.approx(2.2)
    assert len(got) == 1


def test_default_windows_slide_by_one_day() -> None:
    got = estimate_r(LOCAL, si_distr=SI, window=5)
    np.testing.assert_array_equal(got.t_start, np.arange(2, len(LOCAL) - 3))
    np.testing.assert_array_equal(got.t_end - got.t_start, 4)
    assert got.t_end[-1] == len(LOCAL)
