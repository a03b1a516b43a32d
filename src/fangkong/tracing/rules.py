"""Contact rules (密接判定规则) as data: the ``[contacts]`` table of a policy pack.

Every number the tracer applies — the infectious window, the minimum overlap and the
default dwell per venue type, seat rows on vehicles, which groups make close contacts
and contacts of close contacts (密接的密接), the cluster window — comes from the table;
nothing here knows "4 days". ``ContactRules.from_table`` validates and names the source
and the key of each problem in Chinese and English.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fangkong.errors import Problem
from fangkong.policy.sections import (
    UNKNOWN_KEY,
    SectionError,
    flag,
    parsed_once,
    reject_unknown,
    section_error,
    whole_number,
)

GROUPS = ("household", "class", "workplace")  # 同户, 同班, 同办公室/工作组
NEVER = 2**62  # seconds: an overlap no stay reaches
_TOP_KEYS = {
    "close_contact_lookback_days_before_onset",
    "close_contact_lookback_days_before_sampling",
    "trace_contacts_of_contacts",
    "contact_of_contact_groups",
    "close_contact_groups",
    "cluster_window_days",
    "venue_types",
    "vehicles",
}


class ContactRulesError(SectionError):
    """The ``[contacts]`` table is missing a key or holds a value that cannot be used."""


@dataclass(frozen=True)
class VenueRule:
    """Co-presence at one venue type: close contact from ``min_overlap_seconds`` together."""

    min_overlap_seconds: int
    default_dwell_seconds: int  # assumed stay when the venue records no time out
    # a school or workplace: its own class or office team are the close contacts (found
    # by group); everyone else present is a general contact, however long the overlap
    close_by_unit: bool = False
    # a restaurant: close contacts by co-presence only in the case's own zone (table,
    # private room); another zone is a general contact; a stay without a zone on either
    # side falls back to the whole venue (the table unknown: the safe side)
    close_by_zone: bool = False

    @property
    def close_overlap_seconds(self) -> int:
        """The overlap that makes a close contact by co-presence (never, by unit)."""
        return NEVER if self.close_by_unit else self.min_overlap_seconds


@dataclass(frozen=True)
class VehicleRule:
    """Passengers within ``seat_rows`` rows of the case; ``None``: the whole vehicle."""

    seat_rows: int | None


@dataclass(frozen=True)
class ContactRules:
    source: str
    days_before_onset: int
    days_before_sampling: int
    trace_contacts_of_contacts: bool
    close_contact_groups: tuple[str, ...]
    contact_of_contact_groups: tuple[str, ...]
    cluster_window_days: int
    venue_types: Mapping[str, VenueRule]  # always holds "default"
    vehicles: Mapping[str, VehicleRule]

    def venue(self, venue_type: str) -> VenueRule:
        """The rule of a venue type (the ``default`` entry for types the table omits)."""
        return self.venue_types.get(venue_type, self.venue_types["default"])

    def with_min_overlap(self, seconds: int) -> ContactRules:
        """The same rules with one minimum overlap for every venue type (``--min-overlap``),
        co-presence making close contacts everywhere (``close_by_unit`` off; a
        ``close_by_zone`` type still keeps close contacts to the case's own zone)."""
        types = {k: replace(v, min_overlap_seconds=seconds, close_by_unit=False)
                 for k, v in self.venue_types.items()}  # fmt: skip
        return replace(self, venue_types=types)

    def infectious_window(
        self,
        *,
        onset: date | None,
        sampled: date | None,
        isolated_at: datetime | None,
        tz: ZoneInfo,
    ) -> tuple[datetime, datetime | None]:
        """[from, until) of a case: N days before onset (asymptomatic: before sampling),
        from local midnight, until isolation (``None``: not isolated yet, open)."""
        if onset is not None:
            first = onset - timedelta(days=self.days_before_onset)
        elif sampled is not None:
            first = sampled - timedelta(days=self.days_before_sampling)
        else:
            raise ValueError("a case needs an onset or a sampling date")
        return datetime.combine(first, time(0), tz), isolated_at

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str) -> ContactRules:
        """Build from the ``[contacts]`` table (the mapping under the key ``contacts``)."""
        check = _Checker(source)
        reject_unknown(table, _TOP_KEYS, "", lambda *a: check.error(UNKNOWN_KEY, *a))
        types = check.table(table, "venue_types")
        if "default" not in types:
            raise check.error("contacts.key_missing", "venue_types.default", "缺少", "missing")
        vehicles = check.table(table, "vehicles")
        return cls(
            source=source,
            days_before_onset=check.count(table, "close_contact_lookback_days_before_onset"),
            days_before_sampling=check.count(table, "close_contact_lookback_days_before_sampling"),
            trace_contacts_of_contacts=check.flag(table, "trace_contacts_of_contacts"),
            close_contact_groups=check.groups(table, "close_contact_groups"),
            contact_of_contact_groups=check.groups(table, "contact_of_contact_groups"),
            cluster_window_days=check.count(table, "cluster_window_days"),
            venue_types={name: check.venue(types, name) for name in types},
            vehicles={name: check.vehicle(vehicles, name) for name in vehicles},
        )

    @classmethod
    def from_toml(cls, path: Path) -> ContactRules:
        """Read a TOML file holding a ``[contacts]`` table (a policy pack or a rules file)."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ContactRulesError(
                Problem("file.not_found", f"找不到文件 {path}", f"file not found: {path}")
            ) from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ContactRulesError(
                Problem(
                    "file.unreadable",
                    f"{path} 不是有效的 TOML：{exc}",
                    f"{path} is not valid TOML: {exc}",
                )
            ) from exc
        if not isinstance(data.get("contacts"), dict):
            raise _Checker(str(path)).error("contacts.key_missing", "", "缺少表", "missing table")
        return cls.from_table(data["contacts"], str(path))

    @classmethod
    def shipped(cls, name: str) -> ContactRules:
        """The contact rules of a shipped pack (``protocol-9``, ``twenty-measures``)."""
        from fangkong.policy import load_pack

        return cls.from_pack(load_pack(name))

    @classmethod
    def from_pack(cls, pack: Any) -> ContactRules:
        """The rules of a loaded pack, parsed once per pack and then shared."""
        return parsed_once(pack, cls, lambda: cls._parse_pack(pack))

    @classmethod
    def _parse_pack(cls, pack: Any) -> ContactRules:
        """The ``[contacts]`` section of a loaded policy pack (``extends`` already merged)."""
        table = pack.sections.get("contacts")
        if not isinstance(table, Mapping):
            raise ContactRulesError(
                Problem(
                    "contacts.key_missing",
                    f"政策包 {pack.name} 没有 [contacts] 节",
                    f"policy pack {pack.name} has no [contacts] section",
                )
            )
        return cls.from_table(table, f"{pack.name} {pack.version} [contacts]")


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, code: str, key: str, zh: str, en: str) -> ContactRulesError:
        return section_error(ContactRulesError, code, self.source, "contacts", key, zh, en)

    def _invalid(self, key: str, zh: str, en: str) -> ContactRulesError:
        return self.error("contacts.value_invalid", key, zh, en)

    def _get(self, table: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in table:
            raise self.error("contacts.key_missing", path, "缺少该键", "missing key")
        return table[key]

    def count(self, table: Mapping[str, Any], key: str, path: str | None = None) -> int:
        return whole_number(self._get(table, key, path or key), path or key, self._invalid)

    def flag(self, table: Mapping[str, Any], key: str, path: str | None = None) -> bool:
        where = f"{path}.{key}" if path else key
        return flag(self._get(table, key, where), where, self._invalid)

    def groups(self, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = self._get(table, key, key)
        if not isinstance(value, list) or any(g not in GROUPS for g in value):
            raise self.error(
                "contacts.value_invalid", key,
                f"应为 {', '.join(GROUPS)} 中若干项的列表，实为 {value!r}",
                f"must be a list of {', '.join(GROUPS)}, got {value!r}",
            )  # fmt: skip
        return tuple(value)

    def table(self, table: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = self._get(table, key, key)
        if not isinstance(value, dict) or any(not isinstance(v, dict) for v in value.values()):
            raise self.error("contacts.value_invalid", key, "应为表", "must be a table of tables")
        return value

    def venue(self, types: Mapping[str, Any], name: str) -> VenueRule:
        entry, path = types[name], f"venue_types.{name}"
        allowed = {"min_overlap_minutes", "default_dwell_minutes", "close_by_unit", "close_by_zone"}
        self._only(entry, allowed, path)
        keys = ("min_overlap_minutes", "default_dwell_minutes")
        minutes = {k: self.count(entry, k, f"{path}.{k}") for k in keys}
        by_unit = "close_by_unit" in entry and self.flag(entry, "close_by_unit", path)
        by_zone = "close_by_zone" in entry and self.flag(entry, "close_by_zone", path)
        if by_unit and by_zone:
            raise self.error(
                "contacts.value_invalid", f"{path}.close_by_zone",
                "不能与 close_by_unit = true 同时使用（按单位判定时场所内不产生密接）",
                "cannot be used with close_by_unit = true (by unit, sharing the place "
                "makes no close contact)",
            )  # fmt: skip
        return VenueRule(60 * minutes[keys[0]], 60 * minutes[keys[1]], by_unit, by_zone)

    def vehicle(self, vehicles: Mapping[str, Any], name: str) -> VehicleRule:
        entry, path = vehicles[name], f"vehicles.{name}"
        self._only(entry, {"seat_rows", "whole_vehicle"}, path)
        if ("seat_rows" in entry) == (entry.get("whole_vehicle") is True):
            raise self.error(
                "contacts.value_invalid", path,
                "应给出 seat_rows 或 whole_vehicle = true 之一",
                "give either seat_rows or whole_vehicle = true",
            )  # fmt: skip
        if "seat_rows" in entry:
            return VehicleRule(self.count(entry, "seat_rows", path + ".seat_rows"))
        return VehicleRule(None)

    def _only(self, entry: Mapping[str, Any], allowed: set[str], path: str) -> None:
        reject_unknown(entry, allowed, path, lambda *a: self.error(UNKNOWN_KEY, *a))
