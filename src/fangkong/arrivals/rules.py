"""The pack's ``[arrivals]`` section as typed rules (入境/来返人员闭环管理规则).

Every number arrivals applies is read here and nowhere else: the travel-history window,
which venues are arrival points, the management per origin risk (and the quarantine
group placed, the health-code fact, landing test, pool size, transfer), the deadline of
every stage of the closed loop, the hand-off's acknowledgement deadline, and the vehicle
speeds for arrival times. Escalation is not here: an overdue stage or hand-off escalates
through its command task (``[command.escalation]``); the old ``[arrivals.escalation]``
table is refused with a sentence saying where its keys went (``RETIRED``). A bad or
missing value is an error naming the pack, the section, the key and the problem in
Chinese and English.

A risk entry may be removed by a pack that extends another (``enabled = false``); a
traveller whose origin is at a removed level takes the next less severe level the pack
keeps (twenty-measures has no medium-risk areas).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fangkong.policy.sections import (
    SectionError,
    flag,
    number_in,
    one_of,
    parsed_once,
    reject_unknown,
    section_error,
    whole_number,
)

RISKS = ("inbound", "high", "medium", "low", "none")  # most severe first
RANK = {risk: len(RISKS) - i for i, risk in enumerate(RISKS)}  # inbound highest, none 1
MANAGEMENTS = ("centralised_quarantine", "home_quarantine", "tests_only", "none")
PLACEMENT_KIND = {"centralised_quarantine": "centralised", "home_quarantine": "home_quarantine"}
STAGES = ("registered", "sampled", "boarded", "handed_over", "managed", "released")
# what a person reads for each stage (the pages' labels and the refusals' sentences)
STAGE_NAMES: dict[str, tuple[str, str]] = {
    "registered": ("已登记", "registered"),
    "sampled": ("已采样", "sampled"),
    "boarded": ("已登车", "boarded"),
    "handed_over": ("已交接", "handed over"),
    "managed": ("已纳入管理", "under management"),
    "released": ("已解除", "released"),
}
DEADLINE_STAGES = STAGES[:-1]
REGION_LEVELS = ("province", "city", "county", "township", "community", "compound")
CODE_RISKS = ("inbound", "high", "medium", "low")  # arrival facts the code rules read
PLACEHOLDERS = frozenset({"origin", "visited", "arrived", "history_days", "point"})
_RISK_KEYS = frozenset(
    {
        "management",
        "quarantine_group",
        "code",
        "landing_test",
        "pool_size",
        "transfer",
        "zh",
        "en",
        "enabled",
    }
)


_TOP_KEYS: dict[str, tuple[str, ...]] = {  # [arrivals] and its fixed tables
    "history_days": (), "point_venue_types": (), "enclosing_region_level": (),
    "enclosing_level": (), "handoff_level": (), "home_area_level": (), "risks": (),
    "handoff_ack_hours": (), "deadlines": DEADLINE_STAGES,
    "transfer": ("road_factor", "boarding_minutes", "speeds_kmh"),
}  # fmt: skip
# keys a pack may still carry from an earlier version, refused with where they went (zh, en)
RETIRED: dict[str, tuple[str, str]] = {
    "escalation": (
        "已停用：逐级上报由 [command.escalation] 的 escalate_after_hours、max_level 规定"
        "（超时环节与移交均为指挥任务），移交确认时限改为 [arrivals] handoff_ack_hours",
        "retired: escalation is [command.escalation] escalate_after_hours and max_level "
        "(an overdue stage or hand-off is a command task); the hand-off's acknowledgement "
        "deadline is now [arrivals] handoff_ack_hours",
    ),
}


class ArrivalRulesError(SectionError):
    """arrivals.rules_invalid: the ``[arrivals]`` section lacks a key or holds a bad value."""


@dataclass(frozen=True)
class RiskRule:
    """What a traveller of one origin risk gets; ``rule_id`` is ``arrivals.risks.<risk>``."""

    risk: str
    management: str
    quarantine_group: str | None
    code: str | None  # the arrival fact's risk (None: no fact)
    landing_test: bool
    pool_size: int
    transfer: bool
    zh: str
    en: str

    @property
    def rule_id(self) -> str:
        return f"arrivals.risks.{self.risk}"

    @property
    def placement_kind(self) -> str | None:
        return PLACEMENT_KIND.get(self.management)


@dataclass(frozen=True)
class TransferRules:
    road_factor: float
    boarding_minutes: float
    speeds_kmh: Mapping[str, float]


@dataclass(frozen=True)
class ArrivalRules:
    source: str
    history_days: int
    point_venue_types: tuple[str, ...]
    enclosing_region_level: str
    enclosing_level: str  # low | none
    handoff_level: str
    home_area_level: str
    risks: Mapping[str, RiskRule]  # only the enabled ones
    deadlines: Mapping[str, float]  # stage → hours until the next stage is due
    handoff_ack_hours: float  # the receiving jurisdiction acknowledges a hand-off within
    transfer: TransferRules

    def rule_for(self, risk: str) -> RiskRule:
        """The entry for ``risk``, or the next less severe one the pack keeps."""
        for level in RISKS[RISKS.index(risk) :]:
            if level in self.risks:
                return self.risks[level]
        return self.risks["none"]  # pragma: no cover - from_table requires "none"

    @classmethod
    def from_pack(cls, pack: Any) -> ArrivalRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> ArrivalRules:
        """The ``[arrivals]`` section of a loaded pack (``extends`` already merged)."""
        source = f"{pack.path or pack.name} {pack.name}@{pack.version}"
        table = pack.sections.get("arrivals")
        if not isinstance(table, Mapping):
            raise _Check(source).error(
                "", "缺少 [arrivals] 节", "the [arrivals] section is missing"
            )
        quarantine = pack.sections.get("quarantine")
        return cls.from_table(table, source, quarantine if isinstance(quarantine, Mapping) else {})

    @classmethod
    def shipped(cls, name: str) -> ArrivalRules:
        from fangkong.policy import load_pack

        return cls.from_pack(load_pack(name))

    @classmethod
    def from_table(
        cls, table: Mapping[str, Any], source: str, quarantine: Mapping[str, Any]
    ) -> ArrivalRules:
        c = _Check(source)
        for key, (zh, en) in RETIRED.items():
            if key in table:
                raise c.error(key, zh, en)
        reject_unknown(table, _TOP_KEYS, "", c.error)
        for name in ("deadlines", "transfer"):
            if isinstance(table.get(name), Mapping):
                reject_unknown(table[name], _TOP_KEYS[name], name, c.error)
        risks_table = c.table(table, "risks")
        risks = {}
        for name, body in risks_table.items():
            if name not in RISKS:
                raise c.error(
                    f"risks.{name}",
                    f"未知风险等级（可选：{'、'.join(RISKS)}）",
                    f"unknown risk (one of: {', '.join(RISKS)})",
                )
            if not isinstance(body, Mapping):
                raise c.error(f"risks.{name}", "应为表", "must be a table")
            if body.get("enabled", True) is False:
                continue
            risks[name] = c.risk(name, body, quarantine)
        if "none" not in risks:
            raise c.error(
                "risks.none",
                "必须保留 none（无风险区旅居史）",
                "must keep none (no stay in a risk area)",
            )
        deadlines_table = c.table(table, "deadlines")
        deadlines = {s: c.hours(deadlines_table, f"deadlines.{s}", s) for s in DEADLINE_STAGES}
        tr = c.table(table, "transfer")
        speeds = c.table(tr, "transfer.speeds_kmh", key="speeds_kmh")
        if not speeds:
            raise c.error("transfer.speeds_kmh", "至少一种车型", "needs at least one vehicle kind")
        return cls(
            source=source,
            history_days=c.count(table, "history_days", "history_days", minimum=1),
            point_venue_types=c.texts(table, "point_venue_types"),
            enclosing_region_level=c.choice(table, "enclosing_region_level", REGION_LEVELS),
            enclosing_level=c.choice(table, "enclosing_level", ("low", "none")),
            handoff_level=c.choice(table, "handoff_level", REGION_LEVELS),
            home_area_level=c.choice(table, "home_area_level", REGION_LEVELS),
            risks=risks,
            deadlines=deadlines,
            handoff_ack_hours=c.hours(table, "handoff_ack_hours", "handoff_ack_hours"),
            transfer=TransferRules(
                road_factor=c.number(tr, "transfer.road_factor", "road_factor", 1.0, 5.0),
                boarding_minutes=c.number(
                    tr, "transfer.boarding_minutes", "boarding_minutes", 0.0, 600.0
                ),
                speeds_kmh={
                    str(k): c.number(speeds, f"transfer.speeds_kmh.{k}", str(k), 1.0, 300.0)
                    for k in speeds
                },
            ),
        )


class _Check:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, key: str, zh: str, en: str) -> ArrivalRulesError:
        return section_error(
            ArrivalRulesError, "arrivals.rules_invalid", self.source, "arrivals", key, zh, en
        )

    def get(self, table: Mapping[str, Any], path: str, key: str | None = None) -> Any:
        key = key or path.rsplit(".", 1)[-1]
        if key not in table:
            raise self.error(path, "缺少此项", "is missing")
        return table[key]

    def table(
        self, table: Mapping[str, Any], path: str, key: str | None = None
    ) -> Mapping[str, Any]:
        value = self.get(table, path, key)
        if not isinstance(value, Mapping):
            raise self.error(path, "应为表", "must be a table")
        return value

    def number(
        self, table: Mapping[str, Any], path: str, key: str, low: float, high: float
    ) -> float:
        return number_in(self.get(table, path, key), path, self.error, low, high)

    def hours(self, table: Mapping[str, Any], path: str, key: str) -> float:
        value = self.number(table, path, key, 0.0, 24.0 * 366)
        if value <= 0:
            raise self.error(path, "小时数须大于 0", "hours must be more than 0")
        return value

    def count(self, table: Mapping[str, Any], path: str, key: str, *, minimum: int) -> int:
        return whole_number(self.get(table, path, key), path, self.error, minimum=minimum)

    def flag(self, table: Mapping[str, Any], path: str, key: str) -> bool:
        return flag(self.get(table, path, key), path, self.error)

    def choice(self, table: Mapping[str, Any], path: str, allowed: Sequence[str]) -> str:
        return one_of(self.get(table, path), path, self.error, allowed)

    def texts(self, table: Mapping[str, Any], path: str) -> tuple[str, ...]:
        value = self.get(table, path)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.error(path, "应为非空的文字列表", "must be a non-empty list of texts")
        return tuple(value)

    def template(self, table: Mapping[str, Any], path: str, key: str) -> str:
        value = self.get(table, path, key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(path, "应为非空文字", "must be a non-empty text")
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        except ValueError as exc:
            raise self.error(path, f"模板无效：{exc}", f"bad template: {exc}") from None
        unknown = sorted(names - PLACEHOLDERS)
        if unknown:
            raise self.error(
                path,
                f"未知占位符 {{{unknown[0]}}}（可用：{'、'.join(sorted(PLACEHOLDERS))}）",
                f"unknown placeholder {{{unknown[0]}}} "
                f"(available: {', '.join(sorted(PLACEHOLDERS))})",
            )
        if key == "zh" and not any("\u4e00" <= ch <= "\u9fff" for ch in value):
            raise self.error(path, "中文说明须含汉字", "the zh text must be in Chinese")
        return value

    def risk(self, name: str, body: Mapping[str, Any], quarantine: Mapping[str, Any]) -> RiskRule:
        where = f"risks.{name}"
        reject_unknown(body, _RISK_KEYS, where, self.error)
        management = self.choice(body, f"{where}.management", MANAGEMENTS)
        group = body.get("quarantine_group")
        kind = PLACEMENT_KIND.get(management)
        if kind is not None:
            group = self._group(where, group, kind, quarantine)
        elif group is not None:
            raise self.error(
                f"{where}.quarantine_group",
                f"{management} 不安置隔离",
                f"{management} places nobody",
            )
        code = body.get("code")
        if code is not None and code not in CODE_RISKS:
            raise self.error(
                f"{where}.code",
                f"应为 {'、'.join(CODE_RISKS)} 之一：{code!r}",
                f"must be one of {', '.join(CODE_RISKS)}: {code!r}",
            )
        transfer = self.flag(body, f"{where}.transfer", "transfer")
        if kind is not None and not transfer:
            raise self.error(
                f"{where}.transfer",
                "隔离人员须点对点转运",
                "people placed in quarantine are transferred point-to-point",
            )
        return RiskRule(
            risk=name,
            management=management,
            quarantine_group=group,
            code=code,
            landing_test=self.flag(body, f"{where}.landing_test", "landing_test"),
            pool_size=self.count(body, f"{where}.pool_size", "pool_size", minimum=1),
            transfer=transfer,
            zh=self.template(body, f"{where}.zh", "zh"),
            en=self.template(body, f"{where}.en", "en"),
        )

    def _group(self, where: str, group: Any, kind: str, quarantine: Mapping[str, Any]) -> str:
        if not isinstance(group, str) or not group:
            raise self.error(
                f"{where}.quarantine_group",
                "隔离管理须指明 [quarantine] 人群",
                "a quarantine management names its [quarantine] group",
            )
        body = quarantine.get(group)
        if not isinstance(body, Mapping):
            raise self.error(
                f"{where}.quarantine_group",
                f"[quarantine] 中无此人群 {group!r}",
                f"[quarantine] has no group {group!r}",
            )
        first = (
            "centralised"
            if body.get("centralised_days", 0)
            else "home_quarantine"
            if body.get("home_days", 0)
            else None
        )
        if first != kind:
            raise self.error(
                f"{where}.quarantine_group",
                f"[quarantine.{group}] 首段为 {first}，与管理方式 {kind} 不符",
                f"[quarantine.{group}] starts with {first}, not {kind}",
            )
        return group
