"""Differences between two packs, key by key, after ``extends`` is resolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fangkong.policy.model import Pack

_ABSENT = object()


@dataclass(frozen=True)
class PackChange:
    """One key whose value differs: ``a``/``b`` are None when the key is absent there."""

    key: str
    a: Any
    b: Any

    @property
    def what(self) -> str:
        if self.a is None:
            return "added"
        if self.b is None:
            return "removed"
        return "changed"


def _flatten(data: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(data, Mapping):
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(data, list) and data and all(isinstance(v, Mapping) for v in data):
        for i, value in enumerate(data):
            _flatten(value, f"{prefix}[{i}]", out)
    else:
        out[prefix] = data


def diff_packs(a: Pack, b: Pack) -> list[PackChange]:
    """Every key that differs between ``a`` and ``b`` (rules removed show as removed keys)."""
    flat_a: dict[str, Any] = {}
    flat_b: dict[str, Any] = {}
    _flatten(_effective(a), "", flat_a)
    _flatten(_effective(b), "", flat_b)
    changes = []
    for key in sorted(flat_a.keys() | flat_b.keys()):
        va, vb = flat_a.get(key, _ABSENT), flat_b.get(key, _ABSENT)
        if va != vb:
            changes.append(
                PackChange(key, None if va is _ABSENT else va, None if vb is _ABSENT else vb)
            )
    return changes


def _effective(pack: Pack) -> dict[str, Any]:
    """The merged data without disabled rules (they do not apply)."""
    data = dict(pack.data)
    code = dict(data.get("healthcode", {}))
    rules = code.get("rules", {})
    code["rules"] = {k: v for k, v in rules.items() if v.get("enabled", True) is not False}
    data["healthcode"] = code
    return data
