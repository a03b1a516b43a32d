"""What a loaded policy pack (政策包) holds: rules with a machine form and explanations.

The vocabularies below are the only words a pack may use; ``docs/policy.md`` describes
each. A rule's *kind* names the code that interprets it (``fangkong.healthcode.evaluator``);
every number — days, hours, colours — comes from the pack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any


class Colour(IntEnum):
    """Health-code colours, ordered by severity: the code is the most severe reason."""

    GREEN = 0  # 绿码
    YELLOW = 1  # 黄码
    RED = 2  # 红码

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Colour:
        return cls[text.upper()]

    @property
    def zh(self) -> str:
        return ("绿码", "黄码", "红码")[self.value]


COLOUR_NAMES = ("green", "yellow", "red")

# Rule kinds and the triggers (fact sources) they read. See docs/policy.md.
KINDS = (
    "case",
    "managed_period",
    "test_clearance",
    "positive_test",
    "required_testing",
    "risk_residence",
    "fever_clinic",
    "period",
    "manual",
)
# Facts that start a timed management: one anchor time per person (the latest).
ANCHOR_TRIGGERS = (
    "close_contact",  # 密切接触者: last exposure
    "contact_of_contact",  # 密接的密接: last exposure to the close contact
    "companion",  # 时空伴随者: time of the spatio-temporal match
    "arrival_high",  # 高风险区来（返）人员: arrival
    "arrival_medium",  # 中风险区来（返）人员
    "arrival_low",  # 低风险区来（返）人员
    "arrival_inbound",  # 入境人员
    "discharge",  # 病例出院/解除隔离
)
PERIODS = ("centralised_quarantine", "home_quarantine", "home_monitoring")
RISK_LEVELS = ("high", "medium")
CASE_STATUSES = ("confirmed", "asymptomatic", "suspected")
ARRIVAL_RISKS = ("high", "medium", "low", "inbound")
EXPOSURE_KINDS = ("close_contact", "contact_of_contact", "companion")

# Placeholders every template may use, and those each kind adds (rendered in both
# languages by fangkong.healthcode.evaluator).
COMMON_PLACEHOLDERS = frozenset({"since", "until"})
KIND_PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "case": frozenset({"status"}),
    "managed_period": frozenset({"days", "anchor", "origin", "release_from", "phase_end"}),
    "test_clearance": frozenset({"anchor", "origin", "tests", "gap_hours", "window_end"}),
    "positive_test": frozenset({"sampled"}),
    "required_testing": frozenset({"group", "interval_hours", "last_sample"}),
    "risk_residence": frozenset({"area"}),
    "fever_clinic": frozenset({"visited"}),
    "period": frozenset({"place"}),
    "manual": frozenset({"note", "decided_by"}),
}


@dataclass(frozen=True)
class Text:
    """A sentence in Chinese and English (a template until rendered)."""

    zh: str
    en: str


@dataclass(frozen=True)
class Phase:
    """One stretch of a managed period: a colour for a duration (e.g. red for 7 days)."""

    colour: Colour
    hours: int
    management: str
    text: Text
    clears: Text


@dataclass(frozen=True)
class Rule:
    """One health-code rule: machine form (kind, trigger, numbers) and its explanation."""

    id: str
    kind: str
    text: Text
    clears: Text
    colour: Colour = Colour.YELLOW
    trigger: str | None = None
    phases: tuple[Phase, ...] = ()
    release_test_day: int | None = None  # managed_period: day of the last phase, from 1
    window_hours: int = 0  # test_clearance
    tests: int = 1  # test_clearance
    gap_hours: int = 0  # test_clearance
    pooled: bool = False  # positive_test
    grace_hours: int = 0  # required_testing
    level: str | None = None  # risk_residence
    period: str | None = None  # period


@dataclass(frozen=True)
class TestingGroup:
    """A testing group (检测人群) and how often its members must be sampled."""

    __test__ = False  # not a pytest test class

    name: str
    interval_hours: int
    label: Text


@dataclass(frozen=True)
class VenuePolicy:
    """Who a type of venue admits (用码): colours let in, colours flagged to staff."""

    venue_type: str
    admit: frozenset[Colour]
    flag: frozenset[Colour]
    show_arrival_days: int  # checkpoints: show a recent arrival's origin (0: never)
    label: Text


@dataclass(frozen=True)
class Pack:
    """A validated policy pack. ``ref`` (name@version) is stored with every decision."""

    name: str
    version: str
    title: Text
    path: Path | None
    rules: tuple[Rule, ...]
    testing_groups: Mapping[str, TestingGroup]
    venues: Mapping[str, VenuePolicy]
    # sections later capabilities read (contacts, quarantine, testing, risk_areas)
    sections: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)  # merged source, for show/diff
    # each section's rules as its capability parsed them, by parser class: parsed once per
    # loaded pack (``fangkong.policy.sections.parsed_once``), then handed out
    parsed_sections: dict[type, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def venue_policy(self, venue_type: str) -> VenuePolicy:
        return self.venues.get(venue_type) or self.venues["default"]
