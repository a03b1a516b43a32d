"""Rt equals R EpiEstim 2.2-4 ``estimate_R`` on its shipped data sets and synthetic series.

The expected values were written by ``scripts/r/epiestim_fixtures.R``; CI reads the committed
files and needs no R.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest

from fangkong.surveillance.rt import RtWarning, discr_si, estimate_r

FIXTURES = Path(__file__).parent / "fixtures" / "epiestim"
COLUMNS = ("mean", "std", "q025", "q05", "q25", "median", "q75", "q95", "q975")
RTOL = 1e-6


def _read(name: str) -> dict[str, list[str]]:
    with (FIXTURES / name).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {key: [row[key] for row in rows] for key in rows[0]}


def _floats(values: list[str]) -> np.ndarray:
    return np.array([float(v) if v else np.nan for v in values])


def _cases() -> list[dict[str, str]]:
    with (FIXTURES / "cases.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


CASES = _cases()


def _run(case: dict[str, str]):  # type: ignore[no-untyped-def]
    name = case["case"]
    inc = _read(f"{name}.incidence.csv")
    kwargs: dict[str, object] = {
        "mean_prior": float(case["mean_prior"]),
        "std_prior": float(case["std_prior"]),
        "cv_posterior": float(case["cv_posterior"]),
    }
    if case["imported"] == "TRUE":
        kwargs["imported"] = _floats(inc["imported"])
    if case["si_distr"] == "TRUE":
        kwargs["si_distr"] = _floats(_read(f"{name}.si_distr.csv")["w"])
    else:
        kwargs["si_mean"] = float(case["si_mean"])
        kwargs["si_sd"] = float(case["si_sd"])
    if case["windows"] == "given":
        windows = _read(f"{name}.windows.csv")
        kwargs["t_start"] = [int(v) for v in windows["t_start"]]
        kwargs["t_end"] = [int(v) for v in windows["t_end"]]
    elif case["window"]:
        kwargs["window"] = int(float(case["window"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RtWarning)  # R warned too; values are what we test
        return estimate_r(_floats(inc["local"]), **kwargs)  # type: ignore[arg-type]


def test_fixtures_cover_the_shipped_data_sets_and_both_methods() -> None:
    names = {c["case"] for c in CASES}
    for prefix in ("flu2009", "measles1861", "sars2003", "mockrotavirus", "mers2014"):
        assert any(n.startswith(prefix) for n in names), prefix
    assert {c["method"] for c in CASES} == {"parametric_si", "non_parametric_si"}
    assert any(c["imported"] == "TRUE" for c in CASES)
    assert len({c["windows"] for c in CASES}) >= 4


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_estimate_r_equals_epiestim(case: dict[str, str]) -> None:
    got = _run(case)
    expected = _read(f"{case['case']}.expected.csv")
    np.testing.assert_array_equal(got.t_start, [int(v) for v in expected["t_start"]])
    np.testing.assert_array_equal(got.t_end, [int(v) for v in expected["t_end"]])
    for column in COLUMNS:
        want = _floats(expected[column])
        have = getattr(got, column)
        np.testing.assert_array_equal(np.isnan(have), np.isnan(want), err_msg=column)
        np.testing.assert_allclose(have, want, rtol=RTOL, atol=0, err_msg=column)
    used = _floats(_read(f"{case['case']}.si_used.csv")["w"])
    np.testing.assert_allclose(got.si_distr, used, rtol=RTOL, atol=1e-15)


def test_some_windows_are_undefined_as_in_epiestim() -> None:
    # Measles: the mean serial interval (~12 days) exceeds the first windows' ends -> NA.
    got = _run(next(c for c in CASES if c["case"] == "measles1861_np"))
    assert np.isnan(got.mean[0])
    assert np.isfinite(got.mean[-1])


def test_discr_si_equals_epiestim() -> None:
    table = _read("discr_si.csv")
    mu, sigma, k, w = (_floats(table[c]) for c in ("mu", "sigma", "k", "w"))
    for m, s in sorted(set(zip(mu, sigma, strict=True))):
        sel = (mu == m) & (sigma == s)
        np.testing.assert_allclose(discr_si(k[sel], m, s), w[sel], rtol=RTOL, atol=1e-15)
