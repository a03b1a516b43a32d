"""The ``[pack]`` and ``[healthcode]`` sections of a merged pack: checked key by key and
turned into a ``Pack``, every problem collected with the file and line that set it.

``fangkong.policy.loader`` reads the files, follows ``extends`` and merges the layers,
then hands them here; the other sections are parsed by their capabilities
(``fangkong.policy.sections``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fangkong.errors import Problem
from fangkong.policy._locate import locate
from fangkong.policy.model import (
    ANCHOR_TRIGGERS,
    COLOUR_NAMES,
    COMMON_PLACEHOLDERS,
    KIND_PLACEHOLDERS,
    KINDS,
    PERIODS,
    RISK_LEVELS,
    Colour,
    Pack,
    Phase,
    Rule,
    TestingGroup,
    Text,
    VenuePolicy,
)
from fangkong.policy.templates import placeholders

RESERVED_SECTIONS = (
    "contacts",
    "quarantine",
    "testing",
    "risk_areas",
    "arrivals",
    "surveillance",
    "alerts",
    "command",
    "logistics",
    "passes",
    "supply",  # issue 20: necessities
    "roads",  # issue 20: road status
    "care",  # issue 20: the care register (fangkong.care.rules)
)
_TOP = ("pack", "healthcode", *RESERVED_SECTIONS)
_PACK_KEYS = ("name", "version", "title_zh", "title_en", "extends", "source")
_TEXT_KEYS = ("zh", "en", "clears_zh", "clears_en")
_RULE_KEYS = {
    "case": ("colour",),
    "managed_period": ("trigger", "phases", "release_test_day"),
    "test_clearance": ("trigger", "colour", "window_hours", "tests", "gap_hours"),
    "positive_test": ("colour", "pooled"),
    "required_testing": ("colour", "grace_hours"),
    "risk_residence": ("colour", "level"),
    "fever_clinic": ("colour",),
    "period": ("colour", "period"),
    "manual": (),
}
_PHASE_KEYS = ("colour", "days", "hours", "management", *_TEXT_KEYS)

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class PackProblem:
    """One thing wrong in a pack file: where (file, line, rule) and what, in zh and en."""

    file: str
    line: int | None
    rule_id: str | None
    problem: Problem

    def text(self, lang: str = "zh+en") -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        rule = f" [{self.rule_id}]" if self.rule_id else ""
        return f"{where}{rule}: {self.problem.text(lang)}"


@dataclass
class Layer:
    path: str
    text: str
    data: dict[str, Any]


def _has(data: Any, path: KeyPath) -> bool:
    for key in path:
        if isinstance(key, int):
            if not isinstance(data, list) or key >= len(data):
                return False
        elif not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def problem_at(layer: Layer, path: KeyPath, rule_id: str | None, problem: Problem) -> PackProblem:
    return PackProblem(layer.path, locate(layer.text, path), rule_id, problem)


class PackChecker:
    """Builds the Pack from merged data, collecting every problem on the way."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers
        self.problems: list[PackProblem] = []

    def add(self, path: KeyPath, rule_id: str | None, problem: Problem) -> None:
        # Report at the file that set the value: the nearest layer holding the full path,
        # else the nearest holding the longest part of it. [pack] is each file's own (a
        # child inherits none of its parent's), so its problems are the checked file's.
        layers = self.layers[:1] if path[:1] == ("pack",) else self.layers
        for end in range(len(path), 0, -1):
            for layer in layers:
                if _has(layer.data, path[:end]):
                    self.problems.append(problem_at(layer, path, rule_id, problem))
                    return
        self.problems.append(problem_at(self.layers[0], path, rule_id, problem))

    # ---- typed getters -------------------------------------------------------------

    def text_value(
        self,
        table: Mapping[str, Any],
        key: str,
        path: KeyPath,
        rule_id: str | None,
        *,
        table_name: str = "",
    ) -> str:
        value = table.get(key)
        if value is None:
            self.add((*path, key), rule_id, _required(key, table_name))
            return ""
        if not isinstance(value, str) or not value.strip():
            self.add((*path, key), rule_id, wrong_type(key, "非空文本", "non-empty text"))
            return ""
        return value

    def int_value(
        self,
        table: Mapping[str, Any],
        key: str,
        path: KeyPath,
        rule_id: str | None,
        *,
        default: int | None = None,
        minimum: int = 0,
    ) -> int:
        value = table.get(key, default)
        if value is None:
            self.add((*path, key), rule_id, _required(key))
            return minimum
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.add(
                (*path, key),
                rule_id,
                wrong_type(key, f"不小于 {minimum} 的整数", f"a whole number ≥ {minimum}"),
            )
            return minimum
        return value

    def colour(
        self, table: Mapping[str, Any], key: str, path: KeyPath, rule_id: str | None
    ) -> Colour:
        value = table.get(key)
        if value not in COLOUR_NAMES:
            self.add((*path, key), rule_id, _choice(key, value, COLOUR_NAMES))
            return Colour.YELLOW
        return Colour.parse(str(value))

    def choice(
        self,
        table: Mapping[str, Any],
        key: str,
        path: KeyPath,
        rule_id: str | None,
        allowed: Sequence[str],
    ) -> str:
        value = table.get(key)
        if value not in allowed:
            self.add((*path, key), rule_id, _choice(key, value, allowed))
            return allowed[0]
        return str(value)

    def unknown_keys(
        self, table: Mapping[str, Any], allowed: Sequence[str], path: KeyPath, rule_id: str | None
    ) -> None:
        for key in table:
            if key not in allowed:
                self.add((*path, key), rule_id, _unknown_key(key, allowed))

    def template(
        self, table: Mapping[str, Any], path: KeyPath, rule_id: str, kind: str
    ) -> tuple[Text, Text]:
        allowed = COMMON_PLACEHOLDERS | KIND_PLACEHOLDERS.get(kind, frozenset())
        values = {}
        for key in _TEXT_KEYS:
            value = self.text_value(table, key, path, rule_id)
            try:
                names = placeholders(value)
            except ValueError as exc:
                self.add((*path, key), rule_id, _bad_template(key, str(exc)))
                names = set()
            for name in sorted(names - allowed):
                self.add((*path, key), rule_id, _bad_placeholder(key, name, sorted(allowed)))
            if key.endswith("zh") and value and not _has_cjk(value):
                self.add((*path, key), rule_id, _not_chinese(key))
            values[key] = value
        return (
            Text(values["zh"], values["en"]),
            Text(values["clears_zh"], values["clears_en"]),
        )

    # ---- the pack ------------------------------------------------------------------

    def pack(self, data: Mapping[str, Any], path: Path) -> Pack:
        self.unknown_keys(data, _TOP, (), None)
        head = data.get("pack")
        if not isinstance(head, dict):
            if "pack" in data:
                self.add(("pack",), None, wrong_type("[pack]", "表", "a table"))
            head = {}  # each required key below is then named as missing
        self.unknown_keys(head, _PACK_KEYS, ("pack",), None)
        name = self.text_value(head, "name", ("pack",), None, table_name="[pack]")
        version = head.get("version")
        if isinstance(version, int | float) and not isinstance(version, bool):
            version = str(version)
        if version is None:
            self.add(("pack", "version"), None, _required("version", "[pack]"))
            version = ""
        elif not isinstance(version, str) or not version:
            self.add(("pack", "version"), None, wrong_type("version", "非空文本", "non-empty text"))
            version = ""
        title = Text(
            self.text_value(head, "title_zh", ("pack",), None, table_name="[pack]"),
            self.text_value(head, "title_en", ("pack",), None, table_name="[pack]"),
        )
        for section in RESERVED_SECTIONS:
            if section in data and not isinstance(data[section], dict):
                self.add((section,), None, wrong_type(section, "表", "a table"))
        code = data.get("healthcode")
        if not isinstance(code, dict):
            self.add(("healthcode",), None, _required("[healthcode]"))
            code = {}
        self.unknown_keys(code, ("rules", "testing_groups", "venues"), ("healthcode",), None)
        rules = self.rules(code.get("rules", {}))
        groups = self.groups(code.get("testing_groups", {}))
        venues = self.venues(code.get("venues", {}))
        return Pack(
            name=name,
            version=version,
            title=title,
            path=path,
            rules=tuple(rules),
            testing_groups=groups,
            venues=venues,
            sections={s: data[s] for s in RESERVED_SECTIONS if isinstance(data.get(s), dict)},
            data=data,
        )

    def rules(self, table: Any) -> list[Rule]:
        base: KeyPath = ("healthcode", "rules")
        if not isinstance(table, dict) or not table:
            self.add(base, None, _required("[healthcode.rules]"))
            return []
        out = []
        for rule_id, body in table.items():
            if not isinstance(body, dict):
                self.add((*base, rule_id), rule_id, wrong_type(rule_id, "表", "a table"))
                continue
            enabled = body.get("enabled", True)
            if not isinstance(enabled, bool):
                self.add(
                    (*base, rule_id, "enabled"), rule_id, wrong_type("enabled", "真/假", "bool")
                )
            if enabled is False:
                continue
            rule = self.rule(rule_id, body, (*base, rule_id))
            if rule is not None:
                out.append(rule)
        return out

    def rule(self, rule_id: str, body: Mapping[str, Any], path: KeyPath) -> Rule | None:
        kind = body.get("kind")
        if kind not in KINDS:
            self.add((*path, "kind"), rule_id, _choice("kind", kind, KINDS))
            return None
        texts = _TEXT_KEYS if kind != "managed_period" else ()
        allowed = ("kind", "enabled", *texts, *_RULE_KEYS[kind])
        self.unknown_keys(body, allowed, path, rule_id)
        fields: dict[str, Any] = {}
        # a managed period's sentences belong to its phases
        text = clears = Text("", "")
        if kind != "managed_period":
            text, clears = self.template(body, path, rule_id, kind)
        if "colour" in _RULE_KEYS[kind]:
            fields["colour"] = self.colour(body, "colour", path, rule_id)
        if "trigger" in _RULE_KEYS[kind]:
            fields["trigger"] = self.choice(body, "trigger", path, rule_id, ANCHOR_TRIGGERS)
        if kind == "managed_period":
            phases = self.phases(body.get("phases"), (*path, "phases"), rule_id)
            fields["phases"] = phases
            day = body.get("release_test_day")
            if day is not None:
                day = self.int_value(body, "release_test_day", path, rule_id, minimum=1)
                last_days = -(-phases[-1].hours // 24) if phases else day
                if day > last_days and phases[-1].hours > 0:
                    self.add((*path, "release_test_day"), rule_id, _release_day(day, last_days))
                fields["release_test_day"] = day
        elif kind == "test_clearance":
            for key in ("window_hours", "gap_hours"):
                fields[key] = self.int_value(body, key, path, rule_id, default=0)
            fields["tests"] = self.int_value(body, "tests", path, rule_id, default=1, minimum=1)
        elif kind == "positive_test":
            pooled = body.get("pooled", False)
            if not isinstance(pooled, bool):
                self.add((*path, "pooled"), rule_id, wrong_type("pooled", "真/假", "true or false"))
                pooled = False
            fields["pooled"] = pooled
        elif kind == "required_testing":
            fields["grace_hours"] = self.int_value(body, "grace_hours", path, rule_id, default=0)
        elif kind == "risk_residence":
            fields["level"] = self.choice(body, "level", path, rule_id, RISK_LEVELS)
        elif kind == "period":
            fields["period"] = self.choice(body, "period", path, rule_id, PERIODS)
        return Rule(id=rule_id, kind=kind, text=text, clears=clears, **fields)

    def phases(self, value: Any, path: KeyPath, rule_id: str) -> tuple[Phase, ...]:
        if not isinstance(value, list) or not value:
            self.add(path, rule_id, _required("phases"))
            return ()
        out = []
        for i, body in enumerate(value):
            where = (*path, i)
            if not isinstance(body, dict):
                self.add(where, rule_id, wrong_type("phases", "表", "a table"))
                continue
            self.unknown_keys(body, _PHASE_KEYS, where, rule_id)
            colour = self.colour(body, "colour", where, rule_id)
            before = len(self.problems)
            days = self.int_value(body, "days", where, rule_id, default=0)
            hours = self.int_value(body, "hours", where, rule_id, default=0)
            if days * 24 + hours <= 0 and len(self.problems) == before:
                self.add((*where, "days"), rule_id, _duration())
            management = self.choice(body, "management", where, rule_id, PERIODS)
            text, clears = self.template(body, where, rule_id, "managed_period")
            out.append(Phase(colour, days * 24 + hours, management, text, clears))
        return tuple(out)

    def groups(self, table: Any) -> dict[str, TestingGroup]:
        base: KeyPath = ("healthcode", "testing_groups")
        out: dict[str, TestingGroup] = {}
        if not isinstance(table, dict):
            self.add(base, None, wrong_type("testing_groups", "表", "a table"))
            return out
        for name, body in table.items():
            where = (*base, name)
            if not isinstance(body, dict):
                self.add(where, None, wrong_type(name, "表", "a table"))
                continue
            self.unknown_keys(body, ("interval_hours", "label_zh", "label_en"), where, None)
            out[name] = TestingGroup(
                name,
                self.int_value(body, "interval_hours", where, None, minimum=1),
                Text(
                    self.text_value(body, "label_zh", where, None),
                    self.text_value(body, "label_en", where, None),
                ),
            )
        return out

    def venues(self, table: Any) -> dict[str, VenuePolicy]:
        base: KeyPath = ("healthcode", "venues")
        out: dict[str, VenuePolicy] = {}
        if not isinstance(table, dict) or "default" not in table:
            self.add(base, None, _required("[healthcode.venues.default]"))
            if not isinstance(table, dict):
                return out
        keys = ("admit", "flag", "show_arrival_days", "label_zh", "label_en")
        for venue_type, body in table.items():
            where = (*base, venue_type)
            if not isinstance(body, dict):
                self.add(where, None, wrong_type(venue_type, "表", "a table"))
                continue
            self.unknown_keys(body, keys, where, None)
            out[venue_type] = VenuePolicy(
                venue_type,
                self.colours(body, "admit", where),
                self.colours(body, "flag", where),
                self.int_value(body, "show_arrival_days", where, None, default=0),
                Text(
                    self.text_value(body, "label_zh", where, None),
                    self.text_value(body, "label_en", where, None),
                ),
            )
        return out

    def colours(self, body: Mapping[str, Any], key: str, where: KeyPath) -> frozenset[Colour]:
        value = body.get(key, [])
        if not isinstance(value, list) or any(v not in COLOUR_NAMES for v in value):
            self.add((*where, key), None, _choice(key, value, COLOUR_NAMES))
            return frozenset()
        return frozenset(Colour.parse(v) for v in value)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# ---- bilingual problems --------------------------------------------------------------


def _required(key: str, table: str = "") -> Problem:
    where = f"{table} " if table else ""
    return Problem("policy.missing", f"{where}缺少 {key}", f"{where}{key} is missing")


def wrong_type(key: str, zh: str, en: str) -> Problem:
    return Problem("policy.type", f"{key} 应为{zh}", f"{key} must be {en}")


def _choice(key: str, value: Any, allowed: Sequence[str]) -> Problem:
    return Problem(
        "policy.choice",
        f"{key} 的值 {value!r} 无效，可选：{'、'.join(allowed)}",
        f"{key} = {value!r} is not one of: {', '.join(allowed)}",
    )


def _unknown_key(key: str, allowed: Sequence[str]) -> Problem:
    return Problem(
        "policy.unknown_key",
        f"未知的键 {key}（可用：{'、'.join(allowed)}）",
        f"unknown key {key} (allowed: {', '.join(allowed)})",
    )


def _bad_template(key: str, reason: str) -> Problem:
    return Problem(
        "policy.template", f"{key} 模板写法有误：{reason}", f"{key}: bad template: {reason}"
    )


def _bad_placeholder(key: str, name: str, allowed: Sequence[str]) -> Problem:
    return Problem(
        "policy.placeholder",
        f"{key} 中的占位符 {{{name}}} 不可用（可用：{'、'.join(allowed)}）",
        f"{key}: placeholder {{{name}}} is not available here (available: {', '.join(allowed)})",
    )


def _not_chinese(key: str) -> Problem:
    return Problem("policy.language", f"{key} 应为中文说明", f"{key} must be written in Chinese")


def _release_day(day: int, last: int) -> Problem:
    return Problem(
        "policy.release_day",
        f"release_test_day = {day} 超出最后阶段的天数（{last} 天）",
        f"release_test_day = {day} is beyond the last phase ({last} days)",
    )


def _duration() -> Problem:
    return Problem(
        "policy.duration", "阶段时长应大于零（days/hours）", "a phase must last > 0 (days/hours)"
    )
