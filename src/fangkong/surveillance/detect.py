"""The detection methods by name: what each runs, its parameters (R's names in snake_case,
R's defaults and types) and how ``--param NAME=VALUE`` text becomes those parameters.

One table, :data:`METHODS`, serves the CLI, its help text and ``docs/surveillance.md``.
Each method runs on one series (:class:`SeriesInput`) over consecutive 0-based periods;
EARS and farringtonFlexible also have a batched form for many aligned series at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from fangkong.errors import BadInput, Problem
from fangkong.surveillance.result import Detection

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Kind = Literal["int", "float", "bool", "choice", "float_or_none", "int_or_none", "m", "pair"]
_NONE_WORDS = ("none", "null", "na", "")
_TRUE = ("true", "t", "yes", "1")
_FALSE = ("false", "f", "no", "0")


@dataclass(frozen=True)
class Param:
    """One parameter: R's name in snake_case, its type, R's default, a line of help."""

    name: str
    kind: Kind
    default: object
    help: str
    choices: tuple[str, ...] = ()

    def parse(self, text: str) -> object:
        """The value of ``text`` for this parameter; ValueError names what was expected."""
        value = text.strip()
        low = value.lower()
        if self.kind in ("float_or_none", "int_or_none") and low in _NONE_WORDS:
            return None
        if self.kind in ("int", "int_or_none"):
            number = float(value)
            if number != int(number):
                raise ValueError("an integer")
            return int(number)
        if self.kind in ("float", "float_or_none"):
            number = float(value)
            if not np.isfinite(number):
                raise ValueError("a finite number")
            return number
        if self.kind == "bool":
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError("true or false")
        if self.kind == "pair":
            parts = [p.strip() for p in value.split(",")]
            if len(parts) != 2:
                raise ValueError("two integers separated by a comma, e.g. 5,4")
            return (int(parts[0]), int(parts[1]))
        if value in self.choices:
            return value
        if self.kind == "m":
            return float(value)
        raise ValueError("one of " + ", ".join(self.choices))

    @property
    def expected(self) -> tuple[str, str]:
        """What a value must look like, in Chinese and English."""
        return {
            "int": ("整数", "an integer"),
            "float": ("数字", "a number"),
            "bool": ("true 或 false", "true or false"),
            "choice": ("以下之一：" + ", ".join(self.choices), "one of " + ", ".join(self.choices)),
            "float_or_none": ("数字或 none", "a number or none"),
            "int_or_none": ("整数或 none", "an integer or none"),
            "m": ("数字、mean 或 glm", "a number, mean or glm"),
            "pair": ("两个以逗号分隔的整数，如 5,4", "two integers separated by a comma, e.g. 5,4"),
        }[self.kind]


@dataclass(frozen=True)
class SeriesInput:
    """One series as the methods need it."""

    counts: F64
    freq: int  # periods per year: 52 weekly, 365 daily
    start_phase: int  # R's start[2]: ISO week (or day of year) of the first period
    dates: tuple[dt.date, ...]
    population: F64 | None = None


Runner = Callable[[SeriesInput, I64, Mapping[str, Any]], Detection]
Batch = Callable[[F64, F64 | None, SeriesInput, I64, Mapping[str, Any]], list[Detection]]


@dataclass(frozen=True)
class Method:
    """A detection method: R's function, its parameters and how to run it."""

    name: str
    r_function: str
    summary: str
    params: tuple[Param, ...]
    first: Callable[[Mapping[str, Any], int], int]  # earliest 0-based period it evaluates
    run: Runner
    batch: Batch | None = None

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, object]:
        return {p.name: p.default for p in self.params}


def _bad(code: str, zh: str, en: str) -> BadInput:
    return BadInput(Problem(code, zh, en))


def _normal(name: str) -> str:
    return name.lower().replace("_", "").replace(".", "").replace("-", "")


def parse_params(method: Method, items: Sequence[str]) -> dict[str, object]:
    """``NAME=VALUE`` items over the method's defaults; bilingual errors for bad ones."""
    values = method.defaults()
    seen: set[str] = set()
    names = ", ".join(p.name for p in method.params) or "—"
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise _bad(
                "param.syntax",
                f"参数应写成 NAME=VALUE，而不是 {item!r}",
                f"a parameter is written NAME=VALUE, not {item!r}",
            )
        spec = method.param(name)
        if spec is None:
            hint = next((p.name for p in method.params if _normal(p.name) == _normal(name)), None)
            zh_hint = f"（是否指 {hint}？）" if hint else ""
            en_hint = f" (did you mean {hint}?)" if hint else ""
            raise _bad(
                "param.unknown",
                f"方法 {method.name} 没有参数 {name}{zh_hint}。可用参数：{names}",
                f"method {method.name} has no parameter {name}{en_hint}. Parameters: {names}",
            )
        if name in seen:
            raise _bad("param.repeated", f"参数 {name} 重复给出", f"parameter {name} given twice")
        seen.add(name)
        try:
            values[name] = spec.parse(text)
        except (ValueError, TypeError) as exc:
            zh, en = spec.expected
            raise _bad(
                "param.invalid",
                f"参数 {name} 的值 {text!r} 无效：应为{zh}",
                f"parameter {name}: {text!r} is not valid, expected {en}",
            ) from exc
    return values


# ---------------------------------------------------------------- runners


def _ears(method: str) -> tuple[Runner, Batch]:
    def run(s: SeriesInput, rng: I64, p: Mapping[str, Any]) -> Detection:
        from fangkong.surveillance.ears import ears

        return ears(s.counts, method=method, range=rng, **p)  # type: ignore[arg-type]

    def batch(
        counts: F64, population: F64 | None, s: SeriesInput, rng: I64, p: Mapping[str, Any]
    ) -> list[Detection]:
        from fangkong.surveillance.ears import ears_batch

        out = ears_batch(counts, method=method, range=rng, **p)  # type: ignore[arg-type]
        return [
            Detection.build(
                f"ears-{method.lower()}",
                out.index,
                counts[i, out.index],
                out.threshold[i],
                out.alarm[i],
                alarm_defined=out.alarm_defined[i],
                params={"method": method, **p},
            )
            for i in range(counts.shape[0])
        ]

    return run, batch


def _farrington(s: SeriesInput, rng: I64, p: Mapping[str, Any]) -> Detection:
    from fangkong.surveillance.farrington import farrington

    return farrington(
        s.counts, freq=s.freq, epoch_dates=list(s.dates), population=s.population,
        range=(int(rng[0]), int(rng[-1]) + 1), **p,
    )  # fmt: skip


def _flexible(s: SeriesInput, rng: I64, p: Mapping[str, Any]) -> Detection:
    from fangkong.surveillance.farrington import farrington_flexible

    return farrington_flexible(
        s.counts, freq=s.freq, epoch_dates=list(s.dates), population=s.population,
        range=(int(rng[0]), int(rng[-1]) + 1), **p,
    )  # fmt: skip


def _flexible_batch(
    counts: F64, population: F64 | None, s: SeriesInput, rng: I64, p: Mapping[str, Any]
) -> list[Detection]:
    from fangkong.surveillance.farrington import farrington_flexible_many

    return farrington_flexible_many(
        counts, freq=s.freq, epoch_dates=list(s.dates), population=population,
        range=(int(rng[0]), int(rng[-1]) + 1), **p,
    )  # fmt: skip


def _cusum(s: SeriesInput, rng: I64, p: Mapping[str, Any]) -> Detection:
    from fangkong.surveillance.cusum import cusum

    return cusum(s.counts, freq=s.freq, start_phase=s.start_phase, range=rng, **p)


def _glrnb(s: SeriesInput, rng: I64, p: Mapping[str, Any]) -> Detection:
    from fangkong.surveillance.glrnb import glrnb

    return glrnb(s.counts, freq=s.freq, range=rng, **p)


def _bayes(s: SeriesInput, rng: I64, p: Mapping[str, Any]) -> Detection:
    from fangkong.surveillance.bayes import bayes

    return bayes(s.counts, freq=s.freq, range=rng, **p)


def _mpm(s: SeriesInput, rng: I64, p: Mapping[str, Any]) -> Detection:
    from fangkong.surveillance.mpm import mpm

    return mpm(s.counts, freq=s.freq, range=rng, **p)


def _ewma(s: SeriesInput, rng: I64, p: Mapping[str, Any]) -> Detection:
    from fangkong.surveillance.ewma import ewma

    return ewma(s.counts, freq=s.freq, range=rng, **p)


# ---------------------------------------------------------------- the table

_ALPHA = "one-sided significance level"


def _ears_method(method: str, alpha: float, extra: int) -> Method:
    run, batch = _ears(method)
    return Method(
        name=f"ears-{method.lower()}",
        r_function=f'earsC(method = "{method}")',
        summary=f"EARS {method}: mean + z * sd of the previous periods (CDC)",
        params=(
            Param("baseline", "int", 7, "reference periods (R: baseline)"),
            Param("min_sigma", "float", 0.0, "floor of the standard deviation (R: minSigma)"),
            Param("alpha", "float", alpha, _ALPHA),
        ),
        first=lambda p, freq: int(p["baseline"]) + extra,
        run=run,
        batch=batch,
    )


_FARRINGTON_COMMON = (
    Param("b", "int", 5, "past years in the reference"),
    Param("w", "int", 3, "half window around the same period"),
    Param("reweight", "bool", True, "down-weight past outbreaks"),
    Param("alpha", "float", 0.05, "significance level (two-sided in R's code)"),
    Param("trend", "bool", True, "fit a time trend when significant"),
    Param("limit54", "pair", (5, 4), "no alarm unless this many cases in these periods"),
    Param("powertrans", "choice", "2/3", "power transformation", ("2/3", "1/2", "none")),
)

_BAYES = (
    Param("b", "int", 0, "past years in the reference"),
    Param("w", "int", 6, "window half-width (periods)"),
    Param("act_y", "bool", True, "include the current year's last w periods (R: actY)"),
    Param("alpha", "float", 0.05, "1 - quantile of the predictive distribution"),
)


def _bayes_method(name: str, preset: Mapping[str, object] | None) -> Method:
    params: tuple[Param, ...] = _BAYES
    if preset is not None:
        params = tuple(Param(p.name, p.kind, preset[p.name], p.help) for p in _BAYES)
    return Method(
        name=name,
        r_function="algo.bayes" if preset is None else f"algo.{name}",
        summary="Bayes: negative binomial predictive quantile of a Poisson count",
        params=params,
        first=lambda p, freq: int(p["b"]) * freq + int(p["w"]),
        run=_bayes,
    )


def _glr_first(p: Mapping[str, Any], freq: int) -> int:
    return 2 * int(p["mu0_s"]) + 2 + int(bool(p["mu0_trend"]))


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        _ears_method("C1", 0.001, 0),
        _ears_method("C2", 0.001, 2),
        _ears_method("C3", 0.025, 4),
        Method(
            name="farrington",
            r_function="farrington / algo.farrington",
            summary="Farrington et al. (1996): quasi-Poisson GLM on past years",
            params=(
                *_FARRINGTON_COMMON,
                Param(
                    "fit_fun",
                    "choice",
                    "algo.farrington.fitGLM.fast",
                    "R's fitFun",
                    (
                        "algo.farrington.fitGLM.fast",
                        "algo.farrington.fitGLM",
                        "algo.farrington.fitGLM.populationOffset",
                    ),
                ),
            ),
            first=lambda p, freq: freq * int(p["b"]) - int(p["w"]) - 1,
            run=_farrington,
        ),
        Method(
            name="farrington-flexible",
            r_function="farringtonFlexible",
            summary="farringtonFlexible (Noufaily et al. 2013 options)",
            params=(
                *_FARRINGTON_COMMON,
                Param("weights_threshold", "float", 2.58, "Anscombe residual cut for reweighting"),
                Param("p_threshold_trend", "float", 0.05, "p-value to keep the trend"),
                Param("population_offset", "bool", False, "log(population) offset"),
                Param("no_periods", "int", 1, "seasonal factor levels (R: noPeriods)"),
                Param("past_weeks_not_included", "int_or_none", None, "default: w"),
                Param(
                    "threshold_method",
                    "choice",
                    "delta",
                    "R: thresholdMethod",
                    ("delta", "nbPlugin", "muan"),
                ),
            ),
            first=lambda p, freq: freq * int(p["b"]) + int(p["w"]),
            run=_flexible,
            batch=_flexible_batch,
        ),
        Method(
            name="cusum",
            r_function="cusum / algo.cusum",
            summary="CUSUM of standardised counts (Rossi et al. 1999)",
            params=(
                Param("k", "float", 1.04, "reference value"),
                Param("h", "float", 2.26, "decision boundary"),
                Param(
                    "m",
                    "m",
                    "mean",
                    "in-control mean: mean (of earlier counts), glm or a number",
                    ("mean", "glm"),
                ),
                Param(
                    "trans",
                    "choice",
                    "standard",
                    "standardisation",
                    ("standard", "rossi", "anscombe", "anscombe2nd", "pearsonNegBin", "none"),
                ),
                Param("alpha", "float", 0.1, "NB dispersion for pearsonNegBin"),
            ),
            first=lambda p, freq: 1,
            run=_cusum,
        ),
        Method(
            name="glrnb",
            r_function="glrnb / algo.glrnb",
            summary="GLR chart, negative binomial or Poisson (Höhle & Paul 2008)",
            params=(
                Param("c_arl", "float", 5.0, "alarm threshold of the statistic (R: c.ARL)"),
                Param(
                    "alpha", "float_or_none", None, "NB dispersion; none = estimate, 0 = Poisson"
                ),
                Param("mu0_s", "int", 1, "harmonics of the in-control model (R: mu0$S)"),
                Param("mu0_trend", "bool", False, "trend in the in-control model"),
                Param("mu0_refit", "bool", False, "refit the model after each alarm"),
                Param("m_tilde", "int", 1, "R: Mtilde"),
                Param("m", "int", -1, "window (R: M); -1 = no window"),
                Param("theta", "float_or_none", None, "known change (log scale); none = GLR"),
                Param("dir", "choice", "inc", "direction", ("inc", "dec")),
                Param(
                    "ret",
                    "choice",
                    "value",
                    "threshold column: statistic or cases",
                    ("value", "cases"),
                ),
                Param("x_max", "float", 1e4, "search limit for ret=cases (R: xMax)"),
            ),
            first=_glr_first,
            run=_glrnb,
        ),
        _bayes_method("bayes", None),
        _bayes_method("bayes1", {"b": 0, "w": 6, "act_y": True, "alpha": 0.05}),
        _bayes_method("bayes2", {"b": 1, "w": 6, "act_y": True, "alpha": 0.05}),
        _bayes_method("bayes3", {"b": 2, "w": 4, "act_y": False, "alpha": 0.05}),
        Method(
            name="mpm",
            r_function="(none: China CIDARS, docs/surveillance.md)",
            summary="moving percentile method of China's national early-warning system",
            params=(
                Param("percentile", "float", 80.0, "percentile of the baseline (0-100)"),
                Param("years", "int", 3, "past years in the baseline"),
                Param("half_width", "int", 2, "blocks either side of the same period"),
                Param("window", "int", 1, "periods summed into one block (7 for daily)"),
            ),
            first=lambda p, freq: (
                int(p["years"]) * freq
                + int(p["half_width"]) * int(p["window"])
                + int(p["window"])
                - 1
            ),
            run=_mpm,
        ),
        Method(
            name="ewma",
            r_function="(none: ESSENCE-style, docs/surveillance.md)",
            summary="ESSENCE-style regression/EWMA switch",
            params=(
                Param("baseline", "int", 28, "baseline periods"),
                Param("guard", "int", 2, "guard band between baseline and the period"),
                Param("lam", "float", 0.4, "EWMA weight of the newest value"),
                Param("alpha", "float", 0.01, _ALPHA),
                Param("r2_min", "float", 0.6, "adjusted R² from which regression is used"),
                Param("cycle", "int_or_none", None, "cycle indicators; none = 7 daily, 1 weekly"),
                Param("min_sigma", "float", 0.5, "floor of the standard deviation"),
            ),
            first=lambda p, freq: int(p["baseline"]) + int(p["guard"]),
            run=_ewma,
        ),
    )
}


def method_named(name: str) -> Method:
    """The method called ``name``; a bilingual error listing the methods otherwise."""
    method = METHODS.get(name.strip().lower())
    if method is None:
        names = ", ".join(METHODS)
        raise _bad(
            "method.unknown",
            f"没有检测方法 {name!r}。可用方法：{names}",
            f"no detection method {name!r}. Methods: {names}",
        )
    return method


def _invalid(method: Method, exc: ValueError) -> BadInput:
    return _bad(
        "param.invalid",
        f"方法 {method.name} 无法按这些参数运行：{exc}",
        f"method {method.name} cannot run with these parameters: {exc}",
    )


def run_method(
    method: Method, series: SeriesInput, positions: I64, params: Mapping[str, Any]
) -> Detection:
    """Run one method; its own ValueErrors become a bilingual BadInput."""
    try:
        return method.run(series, positions, params)
    except BadInput:
        raise
    except ValueError as exc:
        raise _invalid(method, exc) from exc


def run_batch(
    method: Method, batch: Batch, counts: F64, population: F64 | None,
    template: SeriesInput, positions: I64, params: Mapping[str, Any],
) -> list[Detection]:  # fmt: skip
    """The batched form over aligned series (rows of ``counts``)."""
    try:
        return batch(counts, population, template, positions, params)
    except BadInput:
        raise
    except ValueError as exc:
        raise _invalid(method, exc) from exc
