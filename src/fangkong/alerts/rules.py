"""Early-warning rules as data: the ``[alerts]`` and ``[surveillance]`` sections of a pack.

``[alerts]`` holds the deadlines of the lifecycle (verify within N hours, investigate
within M hours), the deduplication window and the single-event triggers (单事件触发);
``[surveillance]`` the statistical detectors: which signals, which method with which
parameters, over which region level, daily or weekly. Nothing here knows "2 hours":
every number is read from the pack and each problem names the pack file, the section
and the key, in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fangkong.alerts.model import FREQUENCIES, LEVELS, SEVERITIES, SIGNALS
from fangkong.policy.sections import (
    UNKNOWN_KEY,
    SectionError,
    one_of,
    parsed_once,
    positive_number,
    reject_unknown,
    section_error,
    whole_number,
)

_ALERT_KEYS = {"verify_within_hours", "investigate_within_hours", "dedup_days", "triggers"}
_TRIGGER_KEYS = {"signal", "min_count", "days", "level", "severity", "label_zh", "label_en"}
_SURVEILLANCE_KEYS = {"detectors"}
_DETECTOR_KEYS = {
    "signals", "method", "level", "frequency", "params", "severity", "min_count",
    "label_zh", "label_en",
}  # fmt: skip


class AlertRulesError(SectionError):
    """The ``[alerts]`` or ``[surveillance]`` section is missing a key or holds a bad value."""


@dataclass(frozen=True)
class Trigger:
    """A single-event trigger: ``min_count`` or more of ``signal`` within ``days`` days in
    one region of ``level`` (``None``: the region the count was reported for)."""

    id: str
    signal: str
    min_count: int
    days: int
    level: str | None
    severity: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Detector:
    """A statistical detector: the sum of ``signals`` per region of ``level`` per day or
    ISO week, run through ``method`` with ``params`` (R's names in snake_case). An alarm
    raises an alert when the observed count is at least ``min_count``."""

    id: str
    signals: tuple[str, ...]
    method: str
    level: str
    frequency: str
    params: Mapping[str, Any]
    severity: str
    min_count: int
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class AlertRules:
    source: str  # "pack-name version (file)": named in errors and stored with every alert
    verify_hours: float
    investigate_hours: float
    dedup_days: int
    triggers: Mapping[str, Trigger]
    detectors: Mapping[str, Detector]

    @classmethod
    def from_pack(cls, pack: Any) -> AlertRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> AlertRules:
        """The rules of a loaded policy pack (``extends`` already merged)."""
        source = f"{pack.name} {pack.version} ({Path(pack.path).name})"
        alerts, surveillance = pack.sections.get("alerts"), pack.sections.get("surveillance")
        for name, table in (("alerts", alerts), ("surveillance", surveillance)):
            if not isinstance(table, Mapping):
                raise _Checker(source, name).error("alerts.section_missing", "", "缺少该节",
                                                   "the section is missing")  # fmt: skip
        return cls.from_tables(alerts, surveillance, source)

    @classmethod
    def from_tables(
        cls, alerts: Mapping[str, Any], surveillance: Mapping[str, Any], source: str
    ) -> AlertRules:
        a = _Checker(source, "alerts")
        a.only(alerts, _ALERT_KEYS, "")
        s = _Checker(source, "surveillance")
        s.only(surveillance, _SURVEILLANCE_KEYS, "")
        triggers = a.tables(alerts, "triggers")
        detectors = s.tables(surveillance, "detectors")
        return cls(
            source=source,
            verify_hours=a.positive(alerts, "verify_within_hours"),
            investigate_hours=a.positive(alerts, "investigate_within_hours"),
            dedup_days=a.count(alerts, "dedup_days"),
            triggers={k: a.trigger(k, v) for k, v in triggers.items()},
            detectors={k: s.detector(k, v) for k, v in detectors.items()},
        )

    @classmethod
    def shipped(cls, name: str) -> AlertRules:
        from fangkong.policy import load_pack

        return cls.from_pack(load_pack(name))


class _Checker:
    def __init__(self, source: str, section: str) -> None:
        self.source, self.section = source, section

    def error(self, code: str, key: str, zh: str, en: str) -> AlertRulesError:
        return section_error(AlertRulesError, code, self.source, self.section, key, zh, en)

    def get(self, table: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in table:
            raise self.error("alerts.key_missing", path, "缺少该键", "missing key")
        return table[key]

    def only(self, table: Mapping[str, Any], allowed: set[str], path: str) -> None:
        reject_unknown(table, allowed, path, lambda *a: self.error(UNKNOWN_KEY, *a))

    def _invalid(self, key: str, zh: str, en: str) -> AlertRulesError:
        return self.error("alerts.value_invalid", key, zh, en)

    def invalid(self, path: str, value: Any, zh: str, en: str) -> AlertRulesError:
        return self.error("alerts.value_invalid", path, f"应为{zh}，实为 {value!r}",
                          f"must be {en}, got {value!r}")  # fmt: skip

    def count(self, table: Mapping[str, Any], key: str, path: str | None = None,
              *, minimum: int = 0) -> int:  # fmt: skip
        return whole_number(self.get(table, key, path or key), path or key, self._invalid,
                            minimum=minimum)  # fmt: skip

    def positive(self, table: Mapping[str, Any], key: str) -> float:
        return positive_number(self.get(table, key, key), key, self._invalid)

    def choice(self, table: Mapping[str, Any], key: str, path: str,
               allowed: tuple[str, ...] | Mapping[str, Any]) -> str:  # fmt: skip
        return one_of(self.get(table, key, path), path, self._invalid, allowed)

    def text(self, table: Mapping[str, Any], key: str, path: str) -> str:
        value = self.get(table, key, path)
        if not isinstance(value, str) or not value.strip():
            raise self.invalid(path, value, "非空文本", "non-empty text")
        return value

    def tables(self, table: Mapping[str, Any], key: str) -> Mapping[str, Mapping[str, Any]]:
        value = table.get(key, {})
        if not isinstance(value, Mapping) or any(not isinstance(v, Mapping)
                                                 for v in value.values()):  # fmt: skip
            raise self.invalid(key, value, "由表组成的表", "a table of tables")
        return value

    def trigger(self, tid: str, t: Mapping[str, Any]) -> Trigger:
        p = f"triggers.{tid}"
        self.only(t, _TRIGGER_KEYS, p)
        level = self.choice(t, "level", f"{p}.level", LEVELS) if "level" in t else None
        return Trigger(
            id=tid,
            signal=self.choice(t, "signal", f"{p}.signal", SIGNALS),
            min_count=self.count(t, "min_count", f"{p}.min_count", minimum=1),
            days=self.count(t, "days", f"{p}.days", minimum=1),
            level=level,
            severity=self.choice(t, "severity", f"{p}.severity", SEVERITIES),
            label_zh=self.text(t, "label_zh", f"{p}.label_zh"),
            label_en=self.text(t, "label_en", f"{p}.label_en"),
        )

    def detector(self, did: str, d: Mapping[str, Any]) -> Detector:
        p = f"detectors.{did}"
        self.only(d, _DETECTOR_KEYS, p)
        signals = self.get(d, "signals", f"{p}.signals")
        if not isinstance(signals, list) or not signals or any(s not in SIGNALS for s in signals):
            names = ", ".join(SIGNALS)
            raise self.invalid(f"{p}.signals", signals, f"信号名称的非空列表（{names}）",
                               f"a non-empty list of signal names ({names})")  # fmt: skip
        method = self.text(d, "method", f"{p}.method")
        from fangkong.alerts.methods import method_names

        if method not in method_names():
            names = ", ".join(method_names())
            raise self.invalid(f"{p}.method", method, f"{names} 之一", f"one of {names}")
        params = d.get("params", {})
        if not isinstance(params, Mapping):
            raise self.invalid(f"{p}.params", params, "表", "a table")
        from fangkong.alerts.methods import unknown_params

        unknown = unknown_params(method, params)
        if unknown:
            raise self.error(
                UNKNOWN_KEY, f"{p}.params.{unknown[0]}",
                f"方法 {method} 没有该参数", f"method {method} has no such parameter",
            )  # fmt: skip
        return Detector(
            id=did,
            signals=tuple(signals),
            method=method,
            level=self.choice(d, "level", f"{p}.level", LEVELS),
            frequency=self.choice(d, "frequency", f"{p}.frequency", FREQUENCIES),
            params=dict(params),
            severity=self.choice(d, "severity", f"{p}.severity", SEVERITIES),
            min_count=self.count(d, "min_count", f"{p}.min_count"),
            label_zh=self.text(d, "label_zh", f"{p}.label_zh"),
            label_en=self.text(d, "label_en", f"{p}.label_en"),
        )
