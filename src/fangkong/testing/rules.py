"""Testing rules (检测规则) as data: the ``[testing]`` section of a policy pack.

Every number testing applies — the Ct threshold, pool sizes, which outcomes order a
retest and by when, the late-result and lost-tube hours, how far ahead orders are made,
the mass-testing planning defaults — comes from ``[testing]``; the test days of each
management come from ``[quarantine]`` (read, never changed here) and the key groups'
intervals from ``[healthcode.testing_groups]``. ``TestingRules.from_pack`` validates and
names the pack, section and key of every problem in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fangkong.policy.model import Pack
from fangkong.policy.sections import (
    SectionError,
    flag,
    parsed_once,
    reject_unknown,
    section_error,
    text_list,
    whole_number,
)

_KEYS = {  # every key of [testing] and of its tables, so an unknown one is rejected
    "": ("key_staff_daily", "key_staff_group", "twice_weekly", "twice_weekly_group",
         "pool_sizes", "general_pool_size", "key_group_pool_size", "retest", "deadlines",
         "schedules", "campaign", "positive_ct_below", "max_ct", "genes",
         "inconclusive_as_positive"),
    "retest": ("on", "due_hours"),
    "deadlines": ("result_hours", "lost_tube_hours"),
    "schedules": ("horizon_hours", "managements"),
    "campaign": ("people_per_point_min", "people_per_point_max", "people_per_sampler_shift",
                 "shift_hours", "target_hours", "transport_hours", "run_hours",
                 "resample_hours", "pool_size", "planning_prevalence", "area_levels",
                 "area_rounds", "area_round_every_hours", "area_final_round_after_days"),
}  # fmt: skip
GENES = ("ORF1ab", "N")  # the genes results carry a Ct for (testing_results columns)
OUTCOMES = ("negative", "positive", "inconclusive", "invalid")  # 阴性, 阳性, 可疑, 无效
MANAGED_FACTS = (
    "close_contact",
    "contact_of_contact",
    "arrival_inbound",
    "arrival_high",
    "arrival_medium",
    "arrival_low",
)


class TestingRulesError(SectionError):
    """The ``[testing]`` section is missing a key or holds a value that cannot be used."""

    __test__ = False


@dataclass(frozen=True)
class Management:
    """The tests of one management, from its ``[quarantine]`` entry.

    ``test_days``: days of the first period (day 1 starts at the anchor); ``home_test_days``
    days of the home-monitoring period that follows ``first_days``. Low-risk arrivals:
    ``tests`` tests within ``within_days`` days, at least ``gap_hours`` apart.
    """

    key: str
    test_days: tuple[int, ...] = ()
    first_days: int = 0
    home_test_days: tuple[int, ...] = ()
    tests: int = 0
    within_days: int = 0
    gap_hours: int = 0


@dataclass(frozen=True)
class Campaign:
    """Mass-testing planning defaults (区域核酸检测)."""

    people_per_point_min: int
    people_per_point_max: int
    people_per_sampler_shift: int
    shift_hours: float
    target_hours: float
    transport_hours: float
    run_hours: float
    resample_hours: float
    pool_size: int
    planning_prevalence: float
    # risk areas tested whole when designated (区域核酸): levels, rounds, spacing, a last round
    area_levels: tuple[str, ...] = ()
    area_rounds: int = 0
    area_round_every_hours: float = 24.0
    area_final_round_after_days: int = 0


@dataclass(frozen=True)
class TestingRules:
    __test__ = False

    source: str
    positive_ct_below: float
    max_ct: float
    genes: tuple[str, ...]
    inconclusive_as_positive: bool
    pool_sizes: tuple[int, ...]
    general_pool_size: int
    key_group_pool_size: int
    key_groups: Mapping[str, str]  # occupation → healthcode testing group
    group_interval_hours: Mapping[str, int]  # testing group → hours between tests
    retest_on: frozenset[str]
    retest_due_hours: int
    result_hours: int
    lost_tube_hours: int
    horizon_hours: int
    managements: Mapping[str, Management]  # fact kind (close_contact, arrival_low…) → tests
    campaign: Campaign

    def outcome(self, cts: Mapping[str, float | None], lab_valid: bool) -> str:
        """negative / positive / inconclusive / invalid from the Ct value per gene."""
        if not lab_valid:
            return "invalid"
        below = [
            g for g in self.genes if (ct := cts.get(g)) is not None and ct < self.positive_ct_below
        ]
        if not below:
            return "negative"
        return "positive" if len(below) == len(self.genes) else "inconclusive"

    def fact_result(self, outcome: str) -> str | None:
        """The health-code test result an outcome records (None: none, stays pending)."""
        if outcome == "negative":
            return "negative"
        if outcome == "positive" or (outcome == "inconclusive" and self.inconclusive_as_positive):
            return "positive"
        return None

    @classmethod
    def from_pack(cls, pack: Pack) -> TestingRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Pack) -> TestingRules:
        source = f"{pack.path or pack.name} {pack.name}@{pack.version}"
        check = _Checker(source)
        table = pack.sections.get("testing")
        if not isinstance(table, Mapping):
            raise check.error("", "缺少 [testing] 节", "the [testing] section is missing")
        for path, allowed in _KEYS.items():
            sub = table.get(path) if path else table
            if isinstance(sub, Mapping):
                reject_unknown(sub, allowed, path, check.error)
        quarantine = pack.sections.get("quarantine")
        quarantine = quarantine if isinstance(quarantine, Mapping) else {}
        groups = {name: g.interval_hours for name, g in pack.testing_groups.items()}
        key_groups: dict[str, str] = {}
        for occ_key, group_key in (
            ("key_staff_daily", "key_staff_group"),
            ("twice_weekly", "twice_weekly_group"),
        ):
            group = check.text(table, group_key)
            if group not in groups:
                raise check.error(
                    group_key,
                    f"{group!r} 不是 [healthcode.testing_groups] 中的人群",
                    f"{group!r} is not a group of [healthcode.testing_groups]",
                )
            for occupation in check.texts(table, occ_key):
                key_groups[occupation] = group
        sizes = check.ints(table, "pool_sizes", low=1)
        for key in ("general_pool_size", "key_group_pool_size"):
            if check.count(table, key, low=1) not in sizes:
                raise check.error(key, "须为 pool_sizes 中的一项", "must be one of pool_sizes")
        retest = check.section(table, "retest")
        retest_on = check.texts(retest, "on", "retest.on")
        for outcome in retest_on:
            if outcome not in OUTCOMES[1:]:
                raise check.error(
                    "retest.on", f"未知的结果 {outcome!r}", f"unknown outcome {outcome!r}"
                )
        deadlines = check.section(table, "deadlines")
        schedules = check.section(table, "schedules")
        mapping = check.section(schedules, "managements", "schedules.managements")
        managements = {}
        for fact, key in mapping.items():
            if fact not in MANAGED_FACTS:
                raise check.error(
                    f"schedules.managements.{fact}",
                    "未知的管理类别",
                    f"unknown management (one of {', '.join(MANAGED_FACTS)})",
                )
            managements[fact] = _management(check, quarantine, str(key))
        camp = check.section(table, "campaign")
        campaign = Campaign(
            people_per_point_min=check.count(camp, "people_per_point_min", "campaign.", low=1),
            people_per_point_max=check.count(camp, "people_per_point_max", "campaign.", low=1),
            people_per_sampler_shift=check.count(
                camp, "people_per_sampler_shift", "campaign.", low=1
            ),
            shift_hours=check.number(camp, "shift_hours", "campaign.", positive=True),
            target_hours=check.number(camp, "target_hours", "campaign.", positive=True),
            transport_hours=check.number(camp, "transport_hours", "campaign."),
            run_hours=check.number(camp, "run_hours", "campaign."),
            resample_hours=check.number(camp, "resample_hours", "campaign."),
            pool_size=check.count(camp, "pool_size", "campaign.", low=1),
            planning_prevalence=check.number(camp, "planning_prevalence", "campaign."),
            area_levels=check.texts(camp, "area_levels", "campaign.area_levels"),
            area_rounds=check.count(camp, "area_rounds", "campaign."),
            area_round_every_hours=check.number(
                camp, "area_round_every_hours", "campaign.", positive=True
            ),
            area_final_round_after_days=check.count(
                camp, "area_final_round_after_days", "campaign."
            ),
        )
        if campaign.people_per_point_min > campaign.people_per_point_max:
            raise check.error(
                "campaign.people_per_point_min",
                "大于 people_per_point_max",
                "is larger than people_per_point_max",
            )
        if campaign.pool_size not in sizes:
            raise check.error(
                "campaign.pool_size", "须为 pool_sizes 中的一项", "must be one of pool_sizes"
            )
        if campaign.planning_prevalence > 1:
            raise check.error(
                "campaign.planning_prevalence", "应在 0 到 1 之间", "must lie between 0 and 1"
            )
        genes = check.texts(table, "genes")
        if not genes or any(g not in GENES for g in genes):
            raise check.error(
                "genes",
                f"应为 {', '.join(GENES)} 中的若干项",
                f"must name some of {', '.join(GENES)}",
            )
        return cls(
            source=source,
            positive_ct_below=check.number(table, "positive_ct_below", positive=True),
            max_ct=check.number(table, "max_ct", positive=True),
            genes=genes,
            inconclusive_as_positive=check.flag(table, "inconclusive_as_positive"),
            pool_sizes=sizes,
            general_pool_size=int(table["general_pool_size"]),
            key_group_pool_size=int(table["key_group_pool_size"]),
            key_groups=key_groups,
            group_interval_hours=groups,
            retest_on=frozenset(retest_on),
            retest_due_hours=check.count(retest, "due_hours", "retest.", low=1),
            result_hours=check.count(deadlines, "result_hours", "deadlines.", low=1),
            lost_tube_hours=check.count(deadlines, "lost_tube_hours", "deadlines.", low=1),
            horizon_hours=check.count(schedules, "horizon_hours", "schedules.", low=0),
            managements=managements,
            campaign=campaign,
        )


def _management(check: _Checker, quarantine: Mapping[str, Any], key: str) -> Management:
    entry = quarantine.get(key)
    where = f"[quarantine] {key}"
    if not isinstance(entry, Mapping):
        raise check.error(f"schedules.managements → {where}", "缺少该项", "missing entry")
    q = _Checker(check.source, section="quarantine")
    first = 0
    for days_key in ("centralised_days", "home_days"):
        if days_key in entry:
            first = max(first, q.count(entry, days_key, f"{key}.", low=0))
    return Management(
        key=key,
        test_days=q.ints(entry, "test_days", f"{key}.", low=1, optional=True),
        first_days=first,
        home_test_days=q.ints(entry, "home_test_days", f"{key}.", low=1, optional=True),
        tests=q.count(entry, "tests", f"{key}.", optional=True),
        within_days=q.count(entry, "within_days", f"{key}.", optional=True),
        gap_hours=q.count(entry, "gap_hours", f"{key}.", optional=True),
    )


class _Checker:
    def __init__(self, source: str, section: str = "testing") -> None:
        self.source = source
        self.part = section

    def error(self, key: str, zh: str, en: str) -> TestingRulesError:
        return section_error(
            TestingRulesError, "testing.pack_invalid", self.source, self.part, key, zh, en
        )

    def _get(self, table: Mapping[str, Any], key: str, prefix: str) -> Any:
        if key not in table:
            raise self.error(prefix + key, "缺少该键", "missing key")
        return table[key]

    def section(
        self, table: Mapping[str, Any], key: str, path: str | None = None
    ) -> Mapping[str, Any]:
        value = self._get(table, key, "")
        if not isinstance(value, Mapping):
            raise self.error(path or key, "应为表", "must be a table")
        return value

    def count(
        self,
        table: Mapping[str, Any],
        key: str,
        prefix: str = "",
        *,
        low: int = 0,
        optional: bool = False,
    ) -> int:
        if optional and key not in table:
            return 0
        return whole_number(self._get(table, key, prefix), prefix + key, self.error, minimum=low)

    def number(
        self, table: Mapping[str, Any], key: str, prefix: str = "", *, positive: bool = False
    ) -> float:
        value = self._get(table, key, prefix)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or value < 0
            or (positive and value == 0)
        ):
            bound = "> 0" if positive else "≥ 0"
            raise self.error(
                prefix + key,
                f"应为 {bound} 的数，实为 {value!r}",
                f"must be a number {bound}, got {value!r}",
            )
        return float(value)

    def flag(self, table: Mapping[str, Any], key: str) -> bool:
        return flag(self._get(table, key, ""), key, self.error)

    def text(self, table: Mapping[str, Any], key: str) -> str:
        value = self._get(table, key, "")
        if not isinstance(value, str) or not value:
            raise self.error(key, f"应为文字，实为 {value!r}", f"must be text, got {value!r}")
        return value

    def texts(self, table: Mapping[str, Any], key: str, path: str | None = None) -> tuple[str, ...]:
        return text_list(self._get(table, key, ""), path or key, self.error)

    def ints(
        self,
        table: Mapping[str, Any],
        key: str,
        prefix: str = "",
        *,
        low: int = 0,
        optional: bool = False,
    ) -> tuple[int, ...]:
        if optional and key not in table:
            return ()
        value = self._get(table, key, prefix)
        if not isinstance(value, list) or any(
            isinstance(v, bool) or not isinstance(v, int) or v < low for v in value
        ):
            raise self.error(
                prefix + key,
                f"应为不小于 {low} 的整数列表，实为 {value!r}",
                f"must be a list of whole numbers ≥ {low}, got {value!r}",
            )
        return tuple(value)
