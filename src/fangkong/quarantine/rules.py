"""Quarantine rules (隔离管理规则) as data: the ``[quarantine]`` section of a policy pack.

Every number the quarantine capability applies comes from here — periods and test days
per risk group, the placement rules, the fever threshold, the readiness norm (20 rooms per
10,000), the site-survey weights and activation days. ``QuarantineRules.from_pack``
validates the section and names the pack, the key and the problem in Chinese and English.

Risk groups are the keys of ``[quarantine]`` whose tables hold ``centralised_days``,
``home_days``, ``home_monitoring_days`` or ``until_discharged``; a group's phases follow
each other::

    centralised_days > 0      → centralised (集中隔离), tests on ``test_days``
    home_days > 0             → home_quarantine (居家隔离), tests on ``test_days`` when it is
                                the first phase
    home_monitoring_days > 0  → home_monitoring (居家健康监测), tests on ``home_test_days``
    until_discharged = true   → one centralised phase without a planned end (a case),
                                then home_monitoring when home_monitoring_days > 0

A group whose days are all 0 is not managed (twenty-measures: contacts of contacts).
``low_risk_area`` (tests only) is read by testing, not here.

Surge (``[quarantine.surge]``, read by the intake job): the placement deadline and the
groups it binds, standby hotels beyond the norm and their activation lead time, the reach
of a placement (own county, then the city, then the province), the facility kinds a group
may use once its own are full (fangcang), when the survey's sites are activated (a
shortage now or within ``forecast_days`` of the forecast), and who may be ordered home
when no room can be had (``[quarantine.surge.home_fallback]``). Discharge of cases
(``[quarantine.discharge]``): Ct threshold, consecutive tests, gap, first test day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fangkong.errors import Problem
from fangkong.policy.sections import (
    SectionError,
    flag,
    fraction,
    number_in,
    one_of,
    parsed_once,
    reject_unknown,
    section_error,
    unknown_key,
    whole_number,
)

KINDS = ("centralised", "home_quarantine", "home_monitoring")  # placement kinds
FACT_PERIOD = {  # placement kind → the health-code fact's period
    "centralised": "centralised_quarantine",
    "home_quarantine": "home_quarantine",
    "home_monitoring": "home_monitoring",
}
FACILITY_KINDS = ("hotel", "fangcang", "designated_hospital")  # 隔离酒店, 方舱医院, 定点医院
FACILITY_STATUSES = ("standby", "activating", "open", "closing")
ROOM_KINDS = ("single", "family", "accessible")
SEPARATIONS = ("room", "zone", "facility")
SITE_TYPES = ("gym", "exhibition_hall", "school", "hotel", "warehouse", "other")
POWER = ("none", "grid", "grid_backup")
ACCESS = ("poor", "road", "highway")
FACTORS = ("beds", "sanitation", "power", "access", "hospital")
_GROUP_KEYS = {
    "centralised_days",
    "home_days",
    "home_monitoring_days",
    "until_discharged",
    "test_days",
    "home_test_days",
}
_TESTING_ONLY = {"tests", "within_days", "gap_hours"}
_SUBTABLES = ("placement", "follow_up", "readiness", "survey", "surge", "discharge")
_SUBTABLE_KEYS = {  # every key of the fixed tables, so an unknown one is rejected
    "placement": ("severity", "separate_risk_groups", "families_together", "child_age_below",
                  "singles_may_use_family_rooms", "others_may_use_accessible_rooms",
                  "placeable_statuses", "facility_kinds"),
    "follow_up": ("fever_celsius", "release_needs_negative_test", "checks_per_day",
                  "max_extension_days"),
    "readiness": ("rooms_per_10000", "window_days", "level"),
    "survey": ("target_activation_days", "usable_share", "beds_per_toilet",
               "beds_for_full_score", "hospital_km_full", "hospital_km_zero", "m2_per_bed",
               "activation_days", "power", "access", "weights"),
    "surge": ("placement_deadline_hours", "deadline_groups", "standby_share",
              "standby_activation_hours", "reach", "forecast_days", "fangcang_zone_beds",
              "extra_facility_kinds", "home_fallback"),
    "surge.home_fallback": ("groups", "when"),
    "discharge": ("min_ct", "consecutive", "gap_hours", "first_test_day"),
}  # fmt: skip
REACH_LEVELS = ("county", "city", "province")  # narrowest first
FALLBACK_WHEN = ("no_room_by_deadline", "no_room_now")


class QuarantineRulesError(SectionError):
    """quarantine.rules_invalid: the ``[quarantine]`` section lacks a key or holds a bad value."""


@dataclass(frozen=True)
class Phase:
    """One period of a group's management: kind, days (None: until discharged), tests."""

    kind: str
    days: int | None
    test_days: tuple[int, ...]


@dataclass(frozen=True)
class GroupRule:
    """A risk group's management: its phases in order (empty: not managed)."""

    name: str
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class PlacementRules:
    severity: tuple[str, ...]  # most severe first
    separate_risk_groups: str  # room | zone | facility
    families_together: bool
    child_age_below: int
    singles_may_use_family_rooms: bool
    others_may_use_accessible_rooms: bool
    placeable_statuses: tuple[str, ...]
    facility_kinds: Mapping[str, tuple[str, ...]]  # group → kinds; "default" for the rest

    def kinds_for(self, group: str) -> tuple[str, ...]:
        return self.facility_kinds.get(group, self.facility_kinds["default"])

    def rank(self, group: str) -> int:
        """0 for the most severe group; groups the list omits rank last."""
        return self.severity.index(group) if group in self.severity else len(self.severity)


@dataclass(frozen=True)
class FollowUpRules:
    fever_celsius: float
    release_needs_negative_test: bool
    checks_per_day: int
    max_extension_days: int  # how far a period may be extended beyond the longest one


@dataclass(frozen=True)
class ReadinessRules:
    rooms_per_10000: float
    window_days: int
    level: str


@dataclass(frozen=True)
class SurveyRules:
    target_activation_days: int
    usable_share: float
    beds_per_toilet: int
    beds_for_full_score: int
    hospital_km_full: float
    hospital_km_zero: float
    m2_per_bed: Mapping[str, float]
    activation_days: Mapping[str, int]
    power: Mapping[str, float]
    access: Mapping[str, float]
    weights: Mapping[str, float]


@dataclass(frozen=True)
class HomeFallback:
    """Who may be ordered into home quarantine when no room can be had, and when."""

    groups: tuple[str, ...]
    when: str  # no_room_by_deadline | no_room_now


@dataclass(frozen=True)
class SurgeRules:
    """大规模集中隔离 in a surge: deadline, standby, reach, fangcang, home fallback."""

    placement_deadline_hours: float
    deadline_groups: tuple[str, ...]
    standby_share: float
    standby_activation_hours: float
    reach: tuple[str, ...]  # region levels, narrowest first
    forecast_days: int  # 0: the forecast never activates a site
    fangcang_zone_beds: int
    extra_facility_kinds: Mapping[str, tuple[str, ...]]
    home_fallback: HomeFallback

    def extra_kinds(self, group: str) -> tuple[str, ...]:
        return self.extra_facility_kinds.get(group, ())


@dataclass(frozen=True)
class DischargeRules:
    """出院/解除隔离: ``consecutive`` tests with every gene's Ct ≥ ``min_ct`` (or not
    detected), each sampled ≥ ``gap_hours`` after the one before, from isolation day
    ``first_test_day``."""

    min_ct: float
    consecutive: int
    gap_hours: float
    first_test_day: int


@dataclass(frozen=True)
class QuarantineRules:
    source: str
    groups: Mapping[str, GroupRule]
    placement: PlacementRules
    follow_up: FollowUpRules
    readiness: ReadinessRules
    survey: SurveyRules
    surge: SurgeRules
    discharge: DischargeRules

    def group(self, name: str) -> GroupRule:
        if name not in self.groups:
            raise QuarantineRulesError(
                Problem(
                    "quarantine.group_unknown",
                    f"{self.source}：无此风险人群 {name!r}（可选：{'、'.join(self.groups)}）",
                    f"{self.source}: no risk group {name!r} (one of: {', '.join(self.groups)})",
                )
            )
        return self.groups[name]

    def phases(self, group: str, kind: str | None = None) -> tuple[Phase, ...]:
        """The phases of ``group`` from the first of ``kind`` on (all when ``kind`` is None)."""
        phases = self.group(group).phases
        if kind is None:
            return phases
        for i, p in enumerate(phases):
            if p.kind == kind:
                return phases[i:]
        return ()

    def longest_days(self) -> int:
        """How many days a placement's end may lie after its start, at most: the longest
        period any group's phase has (a phase until discharge counts the discharge rule's
        first test day plus a test per day for the tests it needs) plus
        ``follow_up.max_extension_days``. A period change beyond it is refused."""
        until_discharged = self.discharge.first_test_day + self.discharge.consecutive
        longest = max(
            (p.days if p.days is not None else until_discharged
             for g in self.groups.values() for p in g.phases),
            default=0,
        )  # fmt: skip
        return longest + self.follow_up.max_extension_days

    @classmethod
    def from_pack(cls, pack: Any) -> QuarantineRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> QuarantineRules:
        """The ``[quarantine]`` section of a loaded policy pack (``extends`` merged)."""
        table = pack.sections.get("quarantine")
        source = f"{pack.name} {pack.version}"
        if not isinstance(table, Mapping):
            raise _Checker(source).error("", "缺少 [quarantine] 节", "has no [quarantine] section")
        return cls.from_table(table, source)

    @classmethod
    def shipped(cls, name: str) -> QuarantineRules:
        from fangkong.policy import load_pack

        return cls.from_pack(load_pack(name))

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str) -> QuarantineRules:
        c = _Checker(source)
        groups = {}
        for name, body in table.items():
            if name in _SUBTABLES:
                continue
            if not isinstance(body, Mapping):  # every other key names a group's table
                raise unknown_key(c.error, name, name, (*_SUBTABLES, "<group>"))
            if set(body) <= _TESTING_ONLY:
                continue
            groups[name] = c.group(name, body)
        for path, allowed in _SUBTABLE_KEYS.items():
            sub: Any = table
            for part in path.split("."):
                sub = sub.get(part) if isinstance(sub, Mapping) else None
            if isinstance(sub, Mapping):
                reject_unknown(sub, allowed, path, c.error)
        placement = c.sub(table, "placement")
        follow = c.sub(table, "follow_up")
        ready = c.sub(table, "readiness")
        survey = c.sub(table, "survey")
        return cls(
            source=source,
            groups=groups,
            placement=c.placement(placement, set(groups)),
            follow_up=FollowUpRules(
                fever_celsius=c.number(follow, "follow_up.fever_celsius", 30.0, 45.0),
                release_needs_negative_test=c.flag(follow, "follow_up.release_needs_negative_test"),
                checks_per_day=c.count(follow, "follow_up.checks_per_day", minimum=1),
                max_extension_days=c.count(follow, "follow_up.max_extension_days"),
            ),
            readiness=ReadinessRules(
                rooms_per_10000=c.number(ready, "readiness.rooms_per_10000", 0.0, 10_000.0),
                window_days=c.count(ready, "readiness.window_days", minimum=1),
                level=c.choice(
                    ready, "readiness.level", ("province", "city", "county", "township")
                ),
            ),
            survey=c.survey(survey),
            surge=c.surge(c.sub(table, "surge"), set(groups)),
            discharge=c.discharge(c.sub(table, "discharge")),
        )


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, zh: str, en: str) -> QuarantineRulesError:
        return section_error(
            QuarantineRulesError, "quarantine.rules_invalid", self.source, "quarantine", key, zh, en
        )

    def _get(self, table: Mapping[str, Any], path: str) -> Any:
        key = path.rsplit(".", 1)[-1]
        if key not in table:
            raise self.error(path, "缺少该键", "missing key")
        return table[key]

    def sub(self, table: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = table.get(name)
        if not isinstance(value, Mapping):
            raise self.error(name, "缺少该表", "missing table")
        return value

    def count(self, table: Mapping[str, Any], path: str, *, minimum: int = 0) -> int:
        return whole_number(self._get(table, path), path, self.error, minimum=minimum)

    def number(self, table: Mapping[str, Any], path: str, low: float, high: float) -> float:
        return number_in(self._get(table, path), path, self.error, low, high)

    def flag(self, table: Mapping[str, Any], path: str) -> bool:
        return flag(self._get(table, path), path, self.error)

    def choice(self, table: Mapping[str, Any], path: str, allowed: Sequence[str]) -> str:
        return one_of(self._get(table, path), path, self.error, allowed)

    def names(
        self, table: Mapping[str, Any], path: str, allowed: Sequence[str] | None
    ) -> tuple[str, ...]:
        value = self._get(table, path)
        if not isinstance(value, list) or any(
            not isinstance(v, str) or (allowed is not None and v not in allowed) for v in value
        ):
            shown = "、".join(allowed) if allowed else "名称"
            raise self.error(
                path,
                f"应为 {shown} 中若干项的列表，实为 {value!r}",
                f"must be a list of {', '.join(allowed or ['names'])}, got {value!r}",
            )
        return tuple(value)

    def days(self, body: Mapping[str, Any], path: str) -> tuple[int, ...]:
        value = body.get(path.rsplit(".", 1)[-1], [])
        if not isinstance(value, list) or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value
        ):
            raise self.error(
                path,
                f"应为从 1 起的天数列表，实为 {value!r}",
                f"must be a list of days counted from 1, got {value!r}",
            )
        return tuple(sorted(set(value)))

    def group(self, name: str, body: Mapping[str, Any]) -> GroupRule:
        reject_unknown(body, _GROUP_KEYS, name, self.error)
        if body.get("until_discharged", False) is True:
            after = (
                self.count(body, f"{name}.home_monitoring_days")
                if ("home_monitoring_days" in body)
                else 0
            )
            home_tests = self.days(body, f"{name}.home_test_days")
            if any(d > after for d in home_tests):
                raise self.error(
                    f"{name}.home_test_days",
                    f"检测日超出 {after} 天的期限",
                    f"a test day lies beyond the {after}-day period",
                )
            until = (Phase("centralised", None, ()),)
            return GroupRule(name, until + ((Phase("home_monitoring", after, home_tests),)
                                            if after else ()))  # fmt: skip
        lengths = {}
        for key in ("centralised_days", "home_days", "home_monitoring_days"):
            lengths[key] = self.count(body, f"{name}.{key}") if key in body else 0
        tests = self.days(body, f"{name}.test_days")
        home_tests = self.days(body, f"{name}.home_test_days")
        phases: list[Phase] = []
        if lengths["centralised_days"]:
            phases.append(Phase("centralised", lengths["centralised_days"], tests))
        if lengths["home_days"]:
            phases.append(Phase("home_quarantine", lengths["home_days"], () if phases else tests))
        if lengths["home_monitoring_days"]:
            phases.append(Phase("home_monitoring", lengths["home_monitoring_days"], home_tests))
        for p in phases:
            if p.days is not None and any(d > p.days for d in p.test_days):
                raise self.error(
                    f"{name}.test_days",
                    f"检测日超出 {p.days} 天的期限",
                    f"a test day lies beyond the {p.days}-day period",
                )
        return GroupRule(name, tuple(phases))

    def placement(self, t: Mapping[str, Any], groups: set[str]) -> PlacementRules:
        kinds = self._get(t, "placement.facility_kinds")
        if not isinstance(kinds, Mapping) or "default" not in kinds:
            raise self.error(
                "placement.facility_kinds",
                "应为表且含 default",
                "must be a table with a default entry",
            )
        facility_kinds = {
            k: self.names(kinds, f"placement.facility_kinds.{k}", FACILITY_KINDS) for k in kinds
        }
        return PlacementRules(
            severity=self.names(t, "placement.severity", sorted(groups)),
            separate_risk_groups=self.choice(t, "placement.separate_risk_groups", SEPARATIONS),
            families_together=self.flag(t, "placement.families_together"),
            child_age_below=self.count(t, "placement.child_age_below"),
            singles_may_use_family_rooms=self.flag(t, "placement.singles_may_use_family_rooms"),
            others_may_use_accessible_rooms=self.flag(
                t, "placement.others_may_use_accessible_rooms"
            ),
            placeable_statuses=self.names(t, "placement.placeable_statuses", FACILITY_STATUSES),
            facility_kinds=facility_kinds,
        )

    def _scores(self, t: Mapping[str, Any], key: str, names: Sequence[str]) -> dict[str, float]:
        table = self._get(t, f"survey.{key}")
        if not isinstance(table, Mapping):
            raise self.error(f"survey.{key}", "应为表", "must be a table")
        return {n: fraction(self._get(table, f"survey.{key}.{n}"), f"survey.{key}.{n}", self.error)
                for n in names}  # fmt: skip

    def survey(self, t: Mapping[str, Any]) -> SurveyRules:
        m2 = self._get(t, "survey.m2_per_bed")
        days = self._get(t, "survey.activation_days")
        for key, table in (("m2_per_bed", m2), ("activation_days", days)):
            if not isinstance(table, Mapping):
                raise self.error(f"survey.{key}", "应为表", "must be a table")
        weights = self._scores(t, "weights", FACTORS)
        if abs(sum(weights.values()) - 1.0) > 1e-6:
            raise self.error(
                "survey.weights",
                f"权重之和应为 1，实为 {sum(weights.values()):g}",
                f"the weights must sum to 1, got {sum(weights.values()):g}",
            )
        rules = SurveyRules(
            target_activation_days=self.count(t, "survey.target_activation_days", minimum=1),
            usable_share=self.number(t, "survey.usable_share", 0.01, 1.0),
            beds_per_toilet=self.count(t, "survey.beds_per_toilet", minimum=1),
            beds_for_full_score=self.count(t, "survey.beds_for_full_score", minimum=1),
            hospital_km_full=self.number(t, "survey.hospital_km_full", 0.0, 1000.0),
            hospital_km_zero=self.number(t, "survey.hospital_km_zero", 0.0, 1000.0),
            m2_per_bed={
                s: self.number(m2, f"survey.m2_per_bed.{s}", 0.5, 1000.0) for s in SITE_TYPES
            },
            activation_days={
                s: self.count(days, f"survey.activation_days.{s}") for s in SITE_TYPES
            },
            power=self._scores(t, "power", POWER),
            access=self._scores(t, "access", ACCESS),
            weights=weights,
        )
        if rules.hospital_km_zero <= rules.hospital_km_full:
            raise self.error(
                "survey.hospital_km_zero",
                "应大于 hospital_km_full",
                "must be greater than hospital_km_full",
            )
        return rules

    def surge(self, t: Mapping[str, Any], groups: set[str]) -> SurgeRules:
        reach = self.names(t, "surge.reach", REACH_LEVELS)
        if not reach or list(reach) != sorted(set(reach), key=REACH_LEVELS.index):
            raise self.error(
                "surge.reach",
                f"应为 {'、'.join(REACH_LEVELS)} 中由窄到宽、不重复的若干项，实为 {list(reach)!r}",
                f"must list levels of {', '.join(REACH_LEVELS)}, narrowest first, each once; "
                f"got {list(reach)!r}",
            )
        extra = self._get(t, "surge.extra_facility_kinds")
        if not isinstance(extra, Mapping):
            raise self.error("surge.extra_facility_kinds", "应为表", "must be a table")
        for g in extra:
            if g not in groups:
                raise self.error(
                    f"surge.extra_facility_kinds.{g}", "无此风险人群", "no such risk group"
                )
        fallback = self._get(t, "surge.home_fallback")
        if not isinstance(fallback, Mapping):
            raise self.error("surge.home_fallback", "应为表", "must be a table")
        return SurgeRules(
            placement_deadline_hours=self.number(
                t, "surge.placement_deadline_hours", 1.0, 24.0 * 30
            ),
            deadline_groups=self.names(t, "surge.deadline_groups", sorted(groups)),
            standby_share=self.number(t, "surge.standby_share", 0.0, 10.0),
            standby_activation_hours=self.number(
                t, "surge.standby_activation_hours", 0.0, 24.0 * 30
            ),
            reach=reach,
            forecast_days=self.count(t, "surge.forecast_days"),
            fangcang_zone_beds=self.count(t, "surge.fangcang_zone_beds", minimum=1),
            extra_facility_kinds={
                g: self.names(extra, f"surge.extra_facility_kinds.{g}", FACILITY_KINDS)
                for g in extra
            },
            home_fallback=HomeFallback(
                groups=self.names(fallback, "surge.home_fallback.groups", sorted(groups)),
                when=self.choice(fallback, "surge.home_fallback.when", FALLBACK_WHEN),
            ),
        )

    def discharge(self, t: Mapping[str, Any]) -> DischargeRules:
        return DischargeRules(
            min_ct=self.number(t, "discharge.min_ct", 1.0, 50.0),
            consecutive=self.count(t, "discharge.consecutive", minimum=1),
            gap_hours=self.number(t, "discharge.gap_hours", 0.0, 24.0 * 14),
            first_test_day=self.count(t, "discharge.first_test_day", minimum=1),
        )
