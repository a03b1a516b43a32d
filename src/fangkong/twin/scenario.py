"""Twin scenarios (情景): every number the outbreak simulation uses, loaded from TOML.

A scenario is a frozen tree of dataclasses. ``load_scenario(path)`` reads a TOML file,
``default_scenario()`` the one shipped in ``fangkong/twin/scenarios/default.toml``. Every
key is required (a missing key is an error, never a silent default) and every value is
checked; a bad value raises :class:`ScenarioError` naming the file and the key, in
Chinese and English::

    scenario = load_scenario(Path("my.toml"))
    scenario = with_overrides(scenario, {"seeds.infections": 50})  # dotted keys

Days of the week count from Monday = 0. Durations are whole days unless a key says
``_minutes`` or ``_hours``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fangkong.errors import BadInput, Problem

VISIT_TYPES = ("supermarket", "market", "restaurant", "pharmacy", "hospital", "other")
DRUG_CLASSES = ("antipyretic", "cough", "antiviral", "antibiotic", "cold")
TRAVEL_MODES = ("air", "rail", "highway")
RISK_LEVELS = ("low", "medium", "high")
CARGO_CLASSES = ("key_supplies", "medical", "ordinary", "none")  # 重点物资, 医疗物资, 普通, 空车
VEHICLE_KINDS = ("lorry", "van")
GOODS = ("grain", "oil", "vegetables", "meat", "eggs", "milk", "medicines")  # 粮油菜肉蛋奶药
NEED_KINDS = ("dialysis", "chemotherapy", "pregnancy", "chronic_medication", "emergency")


class ScenarioError(BadInput):
    """A scenario file that cannot be used: the message names the file and the key."""


def _range(lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    return {"range": (lo, hi)}


@dataclass(frozen=True)
class Run:
    seed: int = dataclasses.field(metadata=_range(0))
    start_date: date = dataclasses.field()
    timezone: str = dataclasses.field()


@dataclass(frozen=True)
class Seeds:
    infections: int = dataclasses.field(
        metadata=_range(0)
    )  # local infections of unknown source (不明来源)
    day: int = dataclasses.field(metadata=_range(0))


@dataclass(frozen=True)
class NaturalHistory:
    incubation_mean_days: float = dataclasses.field(metadata=_range(0.5, 30))
    incubation_sd_days: float = dataclasses.field(metadata=_range(0.05, 30))
    latent_min_days: int = dataclasses.field(metadata=_range(1, 14))
    presymptomatic_days: tuple[int, ...] = dataclasses.field(
        metadata=_range(0, 14)
    )  # [min, max], uniform
    infectious_days: tuple[int, ...] = dataclasses.field(
        metadata=_range(1, 60)
    )  # [min, max], uniform
    asymptomatic_fraction: float = dataclasses.field(metadata=_range(0, 1))
    asymptomatic_relative_infectiousness: float = dataclasses.field(metadata=_range(0, 1))
    symptomatic_stay_home: float = dataclasses.field(metadata=_range(0, 1))


@dataclass(frozen=True)
class Transmission:
    household_daily_prob: float = dataclasses.field(metadata=_range(0, 1))
    school_days: tuple[int, ...] = dataclasses.field(metadata=_range(0, 6))
    work_days: tuple[int, ...] = dataclasses.field(metadata=_range(0, 6))
    class_contacts_per_day: float = dataclasses.field(metadata=_range(0, 1000))
    class_prob_per_contact: float = dataclasses.field(metadata=_range(0, 1))
    work_contacts_per_day: float = dataclasses.field(metadata=_range(0, 1000))
    work_prob_per_contact: float = dataclasses.field(metadata=_range(0, 1))
    venue_prob_per_minute: dict[str, float] = dataclasses.field(
        metadata=_range(0, 1)
    )  # by visit type: anyone in the same room (far range)
    zone_prob_per_minute: dict[str, float] = dataclasses.field(
        metadata=_range(0, 1)
    )  # zoned visit types: the same table or private room (close range)


@dataclass(frozen=True)
class Units:
    """Classes and office teams (班级, 科室/班组): the groups that mix at school and work."""

    class_size: int = dataclasses.field(metadata=_range(1, 500))  # pupils per class
    team_size: tuple[int, ...] = dataclasses.field(
        metadata=_range(1, 1000)
    )  # [min, max] coworkers per team, uniform


@dataclass(frozen=True)
class Mobility:
    age_groups: tuple[int, ...] = dataclasses.field(
        metadata=_range(0, 150)
    )  # lower bounds, ascending, from 0
    home_scan_prob: float = dataclasses.field(metadata=_range(0, 1))
    home_scan_hours: tuple[float, ...] = dataclasses.field(metadata=_range(0, 24))
    venue_popularity_sigma: float = dataclasses.field(metadata=_range(0, 5))
    stay_jitter: float = dataclasses.field(
        metadata=_range(0, 0.99)
    )  # stays last mean × U(1-j, 1+j)
    visits_per_day: dict[str, tuple[float, ...]] = dataclasses.field(metadata=_range(0, 50))
    stay_minutes: dict[str, float] = dataclasses.field(metadata=_range(1, 1440))
    opening_hours: dict[str, tuple[float, ...]] = dataclasses.field(metadata=_range(0, 24))
    records_time_out: tuple[str, ...] = dataclasses.field()
    zone_size: dict[str, int] = dataclasses.field(
        metadata=_range(1, 10_000)
    )  # diners per zone (table, room) at a time by zoned visit type; zones follow the load


@dataclass(frozen=True)
class Travel:
    history_days: int = dataclasses.field(metadata=_range(1, 60))
    arrivals_per_million_per_day: dict[str, float] = dataclasses.field(metadata=_range(0, 1e6))
    arrival_hours: tuple[float, ...] = dataclasses.field(metadata=_range(0, 24))
    origin_risk_shares: dict[str, float] = dataclasses.field(metadata=_range(0, 1))
    infection_prob: dict[str, float] = dataclasses.field(metadata=_range(0, 1))
    days_since_infection: tuple[int, ...] = dataclasses.field(
        metadata=_range(0, 30)
    )  # [min, max] at arrival


@dataclass(frozen=True)
class Background:
    ili_per_100k_per_day: float = dataclasses.field(metadata=_range(0, 100_000))
    weekly: tuple[float, ...] = dataclasses.field(
        metadata=_range(0, 10)
    )  # Monday .. Sunday multipliers
    fever_clinic_prob: float = dataclasses.field(metadata=_range(0, 1))
    pharmacy_prob: dict[str, float] = dataclasses.field(metadata=_range(0, 1))
    school_absence_per_1k_per_day: float = dataclasses.field(metadata=_range(0, 1000))


@dataclass(frozen=True)
class Observables:
    fever_clinic_prob: float = dataclasses.field(metadata=_range(0, 1))
    fever_clinic_delay_days: tuple[float, ...] = dataclasses.field(
        metadata=_range(0, 1)
    )  # P(delay = 0, 1, 2, ...)
    pharmacy_prob: dict[str, float] = dataclasses.field(metadata=_range(0, 1))
    pharmacy_delay_days: tuple[float, ...] = dataclasses.field(metadata=_range(0, 1))
    clinic_hours: tuple[float, ...] = dataclasses.field(metadata=_range(0, 24))
    clinic_minutes: float = dataclasses.field(metadata=_range(1, 1440))
    background: Background = dataclasses.field()


@dataclass(frozen=True)
class CtCourse:
    """Each infection's PCR Ct course (病毒载量曲线), drawn at infection: at the limit of
    detection on the day of infection, falling linearly to an individual peak Ct some days
    after onset, rising linearly back to the limit over an individual clearance phase."""

    limit_of_detection: float = dataclasses.field(metadata=_range(20, 50))  # Ct cut-off
    peak_ct_mean: float = dataclasses.field(metadata=_range(5, 45))  # Normal(mean, sd)
    peak_ct_sd: float = dataclasses.field(metadata=_range(0, 20))
    peak_after_onset_days: tuple[float, ...] = dataclasses.field(
        metadata=_range(0, 14)
    )  # [min, max], uniform
    clearance_days_mean: float = dataclasses.field(
        metadata=_range(0.5, 60)
    )  # peak → limit, lognormal
    clearance_days_sd: float = dataclasses.field(metadata=_range(0, 60))


@dataclass(frozen=True)
class Testing:
    sensitivity: float = dataclasses.field(metadata=_range(0, 1))
    pool_size: int = dataclasses.field(metadata=_range(1, 100))
    pool_dilution_ct: float = dataclasses.field(metadata=_range(0, 20))
    ct_threshold: float = dataclasses.field(metadata=_range(10, 50))
    ct_sd: float = dataclasses.field(metadata=_range(0, 20))  # per-sample measurement noise
    sample_hours: tuple[float, ...] = dataclasses.field(metadata=_range(0, 24))
    result_delay_hours: float = dataclasses.field(metadata=_range(0, 240))
    test_at_fever_clinic: bool = dataclasses.field()
    routine_interval_days: dict[str, int] = dataclasses.field(metadata=_range(1, 365))
    ct_course: CtCourse = dataclasses.field()


@dataclass(frozen=True)
class Freight:
    """Freight traffic at the province's road checkpoints (货运物流, docs/twin.md)."""

    checkpoints_per_county: int = dataclasses.field(metadata=_range(0, 20))
    lanes: tuple[int, ...] = dataclasses.field(metadata=_range(1, 40))  # [min, max], uniform
    vehicles_per_lane_per_day: float = dataclasses.field(metadata=_range(0, 5000))
    hourly_weights: tuple[float, ...] = dataclasses.field(metadata=_range(0, 100))  # 24 hours
    check_minutes: float = dataclasses.field(metadata=_range(0.1, 240))  # one lane, one vehicle
    inbound_share: float = dataclasses.field(metadata=_range(0, 1))
    out_of_province_share: float = dataclasses.field(metadata=_range(0, 1))
    resident_driver_share: float = dataclasses.field(metadata=_range(0, 1))
    passenger_prob: float = dataclasses.field(metadata=_range(0, 1))
    drivers_per_checkpoint: int = dataclasses.field(metadata=_range(1, 100_000))
    cargo_shares: dict[str, float] = dataclasses.field(metadata=_range(0, 1))
    vehicle_shares: dict[str, float] = dataclasses.field(metadata=_range(0, 1))
    pass_prob: float = dataclasses.field(metadata=_range(0, 1))  # key cargo holding a pass
    test_valid_prob: float = dataclasses.field(metadata=_range(0, 1))
    test_age_hours: tuple[float, ...] = dataclasses.field(metadata=_range(0, 720))
    yellow_from_high_prob: float = dataclasses.field(metadata=_range(0, 1))
    origin_risk_shares: dict[str, float] = dataclasses.field(metadata=_range(0, 1))
    infection_prob: dict[str, float] = dataclasses.field(metadata=_range(0, 1))
    days_since_infection: tuple[int, ...] = dataclasses.field(metadata=_range(0, 30))
    county_risk_per_100k: tuple[float, ...] = dataclasses.field(metadata=_range(0, 100_000))
    surge_day: int = dataclasses.field(metadata=_range(-1))  # -1: none
    surge_factor: float = dataclasses.field(metadata=_range(1, 100))
    surge_share: float = dataclasses.field(metadata=_range(0, 1))
    closure_prob: float = dataclasses.field(metadata=_range(0, 1))  # per checkpoint and day
    closure_hours: tuple[float, ...] = dataclasses.field(metadata=_range(0, 24))
    closure_authorised: float = dataclasses.field(metadata=_range(0, 1))


@dataclass(frozen=True)
class Provisions:
    """Necessities (markets, sealed compounds) and urgent medical needs (docs/twin.md)."""

    per_person_per_day: dict[str, float] = dataclasses.field(metadata=_range(0, 100))
    household_stock_days: float = dataclasses.field(metadata=_range(0, 60))
    market_share: float = dataclasses.field(metadata=_range(0, 1))  # bought at markets
    market_stock_days: dict[str, tuple[float, ...]] = dataclasses.field(metadata=_range(0, 365))
    restock_share: float = dataclasses.field(metadata=_range(0, 5))
    refill_share: float = dataclasses.field(metadata=_range(0, 1))  # of the gap to the target
    sales_sd: float = dataclasses.field(metadata=_range(0, 2))
    panic_factor: float = dataclasses.field(metadata=_range(1, 10))
    disruption_day: int = dataclasses.field(metadata=_range(-1))  # -1: none
    disruption_days: int = dataclasses.field(metadata=_range(0, 365))
    disruption_share: float = dataclasses.field(metadata=_range(0, 1))  # of counties
    disruption_restock: float = dataclasses.field(metadata=_range(0, 1))
    report_hour: float = dataclasses.field(metadata=_range(0, 24))
    patients_per_10k: dict[str, float] = dataclasses.field(metadata=_range(0, 10_000))
    every_days: dict[str, tuple[int, ...]] = dataclasses.field(metadata=_range(1, 365))
    daily_prob: dict[str, float] = dataclasses.field(metadata=_range(0, 1))
    deadline_hours: dict[str, float] = dataclasses.field(metadata=_range(0.1, 720))
    report_hours: tuple[float, ...] = dataclasses.field(metadata=_range(0, 24))
    missed_after_hours: float = dataclasses.field(metadata=_range(0, 720))


@dataclass(frozen=True)
class Scenario:
    """A whole scenario; ``source`` is the file it came from (for messages)."""

    run: Run
    seeds: Seeds
    natural_history: NaturalHistory
    transmission: Transmission
    units: Units
    mobility: Mobility
    travel: Travel
    observables: Observables
    testing: Testing
    freight: Freight
    provisions: Provisions
    source: str = "<memory>"


def _problem(where: str, key: str, zh: str, en: str) -> ScenarioError:
    return ScenarioError(
        Problem("scenario.invalid", f"情景文件 {where} 的 {key}：{zh}", f"{where}: {key}: {en}")
    )


def _scalar(value: Any, kind: type, where: str, key: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is date and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _problem(
            where,
            key,
            f"应为 {kind.__name__}，而不是 {value!r}",
            f"expected {kind.__name__}, not {value!r}",
        )
    return value


def _check_range(value: Any, bounds: tuple[float | None, float | None], where: str, key: str):  # type: ignore[no-untyped-def]
    lo, hi = bounds
    if isinstance(value, int | float) and (
        (lo is not None and value < lo) or (hi is not None and value > hi)
    ):
        raise _problem(
            where, key, f"{value} 超出范围 [{lo}, {hi}]", f"{value} is outside [{lo}, {hi}]"
        )


def _convert(value: Any, hint: Any, meta: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    bounds = meta.get("range", (None, None))
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise _problem(where, key, "应为一个表 [section]", "expected a table [section]")
        return _build(hint, value, where, key)  # type: ignore[arg-type]
    if origin is tuple:
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list):
            raise _problem(
                where, key, f"应为列表，而不是 {value!r}", f"expected a list, not {value!r}"
            )
        items = tuple(_scalar(v, item, where, f"{key}[{i}]") for i, v in enumerate(value))
        for i, v in enumerate(items):
            _check_range(v, bounds, where, f"{key}[{i}]")
        return items
    if origin is dict:
        _, item = typing.get_args(hint)
        if not isinstance(value, dict):
            raise _problem(where, key, "应为一个表 [section]", "expected a table [section]")
        return {k: _convert(v, item, meta, where, f"{key}.{k}") for k, v in value.items()}
    if isinstance(hint, types.UnionType):
        raise TypeError(hint)  # pragma: no cover - no optional values in scenarios
    out = _scalar(value, hint, where, key)
    _check_range(out, bounds, where, key)
    return out


def _build(cls: type, table: dict[str, Any], where: str, prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.name != "source"]
    names = {f.name for f in fields}
    for key in table:
        if key not in names:
            full = f"{prefix}.{key}" if prefix else key
            raise _problem(where, full, "未知的键", "unknown key")
    values = {}
    for f in fields:
        full = f"{prefix}.{f.name}" if prefix else f.name
        if f.name not in table:
            raise _problem(where, full, "缺少此键", "missing key")
        values[f.name] = _convert(table[f.name], hints[f.name], f.metadata, where, full)
    return cls(**values)


def _require(ok: bool, where: str, key: str, zh: str, en: str) -> None:
    if not ok:
        raise _problem(where, key, zh, en)


def _pair(values: tuple[float, ...], where: str, key: str) -> None:
    _require(
        len(values) == 2 and values[0] <= values[1],
        where,
        key,
        "应为 [最小, 最大] 两个数",
        "expected [min, max] with min <= max",
    )


def _keys(d: dict[str, Any], expected: tuple[str, ...], where: str, key: str) -> None:
    _require(
        set(d) == set(expected),
        where,
        key,
        f"应恰有这些键：{', '.join(expected)}",
        f"expected exactly the keys {', '.join(expected)}",
    )


def _shares(values: Any, where: str, key: str) -> None:
    total = sum(values)
    _require(
        abs(total - 1) < 1e-6,
        where,
        key,
        f"合计应为 1，而不是 {total}",
        f"must sum to 1, not {total}",
    )


def _validate(s: Scenario) -> None:
    w = s.source
    try:
        ZoneInfo(s.run.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _problem(
            w, "run.timezone", "未知时区", f"unknown time zone {s.run.timezone!r}"
        ) from None
    nh = s.natural_history
    _pair(tuple(float(x) for x in nh.presymptomatic_days), w, "natural_history.presymptomatic_days")
    _pair(tuple(float(x) for x in nh.infectious_days), w, "natural_history.infectious_days")
    _keys(
        s.transmission.venue_prob_per_minute, VISIT_TYPES, w, "transmission.venue_prob_per_minute"
    )
    _pair(tuple(float(x) for x in s.units.team_size), w, "units.team_size")
    m = s.mobility
    groups = m.age_groups
    _require(
        len(groups) >= 1 and groups[0] == 0 and list(groups) == sorted(set(groups)),
        w,
        "mobility.age_groups",
        "应从 0 开始严格递增",
        "must start at 0 and increase",
    )
    _keys(m.visits_per_day, VISIT_TYPES, w, "mobility.visits_per_day")
    for vtype, rates in m.visits_per_day.items():
        _require(
            len(rates) == len(groups),
            w,
            f"mobility.visits_per_day.{vtype}",
            f"应有 {len(groups)} 个值（每个年龄组一个）",
            f"needs {len(groups)} values, one per age group",
        )
    timed = (*VISIT_TYPES, "school", "workplace")
    _keys(m.stay_minutes, VISIT_TYPES, w, "mobility.stay_minutes")
    _keys(m.opening_hours, timed, w, "mobility.opening_hours")
    for vtype, hours in m.opening_hours.items():
        _pair(hours, w, f"mobility.opening_hours.{vtype}")
        if vtype in m.stay_minutes:
            _require(
                m.stay_minutes[vtype] * (1 + m.stay_jitter) <= 60 * (hours[1] - hours[0]),
                w,
                f"mobility.stay_minutes.{vtype}",
                "停留时间长于营业时间",
                "stays are longer than the opening hours",
            )
    _pair(m.home_scan_hours, w, "mobility.home_scan_hours")
    _require(
        set(m.zone_size) <= set(VISIT_TYPES),
        w,
        "mobility.zone_size",
        f"键应为以下之一：{', '.join(VISIT_TYPES)}",
        f"keys must be among {', '.join(VISIT_TYPES)}",
    )
    _keys(
        s.transmission.zone_prob_per_minute,
        tuple(m.zone_size),
        w,
        "transmission.zone_prob_per_minute",
    )
    t = s.travel
    _keys(t.arrivals_per_million_per_day, TRAVEL_MODES, w, "travel.arrivals_per_million_per_day")
    _keys(t.origin_risk_shares, RISK_LEVELS, w, "travel.origin_risk_shares")
    _shares(t.origin_risk_shares.values(), w, "travel.origin_risk_shares")
    _keys(t.infection_prob, RISK_LEVELS, w, "travel.infection_prob")
    _pair(t.arrival_hours, w, "travel.arrival_hours")
    _pair(tuple(float(x) for x in t.days_since_infection), w, "travel.days_since_infection")
    o = s.observables
    _keys(o.pharmacy_prob, DRUG_CLASSES, w, "observables.pharmacy_prob")
    _keys(o.background.pharmacy_prob, DRUG_CLASSES, w, "observables.background.pharmacy_prob")
    _shares(o.fever_clinic_delay_days, w, "observables.fever_clinic_delay_days")
    _shares(o.pharmacy_delay_days, w, "observables.pharmacy_delay_days")
    _pair(o.clinic_hours, w, "observables.clinic_hours")
    _require(
        len(o.background.weekly) == 7,
        w,
        "observables.background.weekly",
        "应有 7 个值（周一到周日）",
        "needs 7 values, Monday to Sunday",
    )
    _validate_logistics(s)
    ts = s.testing
    _pair(ts.sample_hours, w, "testing.sample_hours")
    c = ts.ct_course
    _pair(c.peak_after_onset_days, w, "testing.ct_course.peak_after_onset_days")
    _require(
        c.peak_ct_mean < c.limit_of_detection,
        w,
        "testing.ct_course.peak_ct_mean",
        "峰值 Ct 应低于检出限",
        "the peak Ct must be below the limit of detection",
    )
    _require(
        ts.ct_threshold <= c.limit_of_detection,
        w,
        "testing.ct_threshold",
        "阳性阈值不应高于检出限",
        "the positive threshold must not exceed the limit of detection",
    )


def _validate_logistics(s: Scenario) -> None:
    w, f, p = s.source, s.freight, s.provisions
    _pair(tuple(float(x) for x in f.lanes), w, "freight.lanes")
    _require(len(f.hourly_weights) == 24 and sum(f.hourly_weights) > 0, w,
             "freight.hourly_weights", "应有 24 个值（每小时一个），且不全为 0",
             "needs 24 values, one per hour, not all 0")  # fmt: skip
    _keys(f.cargo_shares, CARGO_CLASSES, w, "freight.cargo_shares")
    _shares(f.cargo_shares.values(), w, "freight.cargo_shares")
    _keys(f.vehicle_shares, VEHICLE_KINDS, w, "freight.vehicle_shares")
    _shares(f.vehicle_shares.values(), w, "freight.vehicle_shares")
    _keys(f.origin_risk_shares, RISK_LEVELS, w, "freight.origin_risk_shares")
    _shares(f.origin_risk_shares.values(), w, "freight.origin_risk_shares")
    _keys(f.infection_prob, RISK_LEVELS, w, "freight.infection_prob")
    _pair(f.test_age_hours, w, "freight.test_age_hours")
    _pair(tuple(float(x) for x in f.days_since_infection), w, "freight.days_since_infection")
    _pair(f.county_risk_per_100k, w, "freight.county_risk_per_100k")
    _pair(f.closure_hours, w, "freight.closure_hours")
    _keys(p.per_person_per_day, GOODS, w, "provisions.per_person_per_day")
    _keys(p.market_stock_days, GOODS, w, "provisions.market_stock_days")
    for good, span in p.market_stock_days.items():
        _pair(span, w, f"provisions.market_stock_days.{good}")
    for key in ("patients_per_10k", "every_days"):
        _require(set(getattr(p, key)) <= set(NEED_KINDS), w, f"provisions.{key}",
                 f"键应为以下之一：{', '.join(NEED_KINDS)}",
                 f"keys must be among {', '.join(NEED_KINDS)}")  # fmt: skip
    _keys(p.every_days, tuple(p.patients_per_10k), w, "provisions.every_days")
    for kind, span in p.every_days.items():
        _pair(tuple(float(x) for x in span), w, f"provisions.every_days.{kind}")
    _keys(p.daily_prob, tuple(k for k in NEED_KINDS if k not in p.patients_per_10k), w,
          "provisions.daily_prob")  # fmt: skip
    _keys(p.deadline_hours, NEED_KINDS, w, "provisions.deadline_hours")
    _pair(p.report_hours, w, "provisions.report_hours")


def scenario_from_dict(table: dict[str, Any], source: str = "<memory>") -> Scenario:
    """A validated scenario from a parsed TOML table."""
    scenario: Scenario = _build(Scenario, table, source, "")
    scenario = dataclasses.replace(scenario, source=source)
    _validate(scenario)
    return scenario


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file (TOML)."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _problem(str(path), "-", f"无法读取：{exc}", f"cannot read: {exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _problem(str(path), "-", f"不是有效的 TOML：{exc}", f"not valid TOML: {exc}") from exc
    return scenario_from_dict(table, str(path))


def default_toml() -> str:
    """The text of the shipped default scenario."""
    return (resources.files("fangkong.twin") / "scenarios" / "default.toml").read_text("utf-8")


def default_scenario() -> Scenario:
    """The shipped default: an Omicron BA.2-like outbreak in a province in spring 2022."""
    return scenario_from_dict(tomllib.loads(default_toml()), "fangkong/twin/scenarios/default.toml")


def as_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a plain table (the inverse of ``scenario_from_dict``)."""
    table = dataclasses.asdict(scenario)
    table.pop("source")

    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, tuple):
            return list(v)
        return v

    result: dict[str, Any] = plain(table)
    return result


def with_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """A copy with values replaced by dotted key (``{"seeds.infections": 50}``), revalidated."""
    table = as_dict(scenario)
    for dotted, value in overrides.items():
        node = table
        *parents, last = dotted.split(".")
        for p in parents:
            node = node[p]
        if last not in node:
            raise _problem(scenario.source, dotted, "未知的键", "unknown key")
        node[last] = value
    return scenario_from_dict(table, scenario.source)
