"""Load and validate policy packs (TOML): every problem named by file, line, rule and reason.

A pack is either complete or says ``extends = "NAME-or-PATH"`` in its ``[pack]`` table and
changes only what differs: tables merge key by key, any other value (arrays included)
replaces the parent's, and ``enabled = false`` removes an inherited rule. The result is
validated as a whole; a problem is reported at the line of the file that set the value.
The ``[pack]`` and ``[healthcode]`` sections are checked in ``_healthcode_section``, the
others by their capabilities' parsers (``fangkong.policy.sections``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from fangkong.errors import BadInput, Problem
from fangkong.policy._healthcode_section import (
    RESERVED_SECTIONS,
    Layer,
    PackChecker,
    PackProblem,
    problem_at,
    wrong_type,
)
from fangkong.policy.model import Pack
from fangkong.policy.sections import check_sections

DEFAULT_PACK = "protocol-9"

__all__ = [
    "DEFAULT_PACK",
    "RESERVED_SECTIONS",
    "PackInvalid",
    "PackProblem",
    "builtin_names",
    "check_pack_file",
    "load_pack",
    "resolve",
]


class PackInvalid(BadInput):
    """A policy pack failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[PackProblem]) -> None:
        first = problems[0]
        more = len(problems) - 1
        suffix_zh = f"（另有 {more} 处问题）" if more else ""
        suffix_en = f" (and {more} more)" if more else ""
        super().__init__(
            Problem(
                "policy.invalid",
                f"政策包无效：{first.text('zh')}{suffix_zh}",
                f"invalid policy pack: {first.text('en')}{suffix_en}",
            )
        )
        self.problems = list(problems)


def builtin_names() -> list[str]:
    """The packs shipped with fangkong (``protocol-9`` is the default)."""
    folder = resources.files("fangkong.policy") / "packs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _builtin_path(name: str) -> Path | None:
    if name in builtin_names():
        return Path(str(resources.files("fangkong.policy") / "packs" / f"{name}.toml"))
    return None


def resolve(name_or_path: str | Path) -> Path:
    """A shipped pack's file by name, or the given file path."""
    if isinstance(name_or_path, str):
        builtin = _builtin_path(name_or_path)
        if builtin is not None:
            return builtin
    path = Path(name_or_path)
    if not path.exists():
        raise BadInput(
            Problem(
                "policy.not_found",
                f"找不到政策包 {name_or_path}（内置：{'、'.join(builtin_names())}）",
                f"no policy pack {name_or_path} (shipped: {', '.join(builtin_names())})",
            )
        )
    return path


def load_pack(name_or_path: str | Path = DEFAULT_PACK) -> Pack:
    """Load, merge (``extends``) and validate a pack; ``PackInvalid`` lists every problem."""
    pack, problems = _load(resolve(name_or_path))
    if problems or pack is None:
        raise PackInvalid(problems)
    return pack


def check_pack_file(path: str | Path) -> list[PackProblem]:
    """Every problem in a pack file (empty when it is valid)."""
    return _load(Path(path))[1]


def _load(path: Path) -> tuple[Pack | None, list[PackProblem]]:
    layers: list[Layer] = []
    problems: list[PackProblem] = []
    current: Path | None = path
    seen: set[Path] = set()
    while current is not None:
        real = current.resolve()
        if real in seen:
            problems.append(problem_at(layers[-1], ("pack", "extends"), None, _cycle(current)))
            break
        seen.add(real)
        layer, problem = _read(current)
        if problem is not None:
            problems.append(problem)
            break
        layers.append(layer)
        parent = layer.data.get("pack", {}).get("extends")
        if parent is None:
            current = None
        elif not isinstance(parent, str):
            problems.append(
                problem_at(layer, ("pack", "extends"), None, wrong_type("extends", "文本", "text"))
            )
            current = None
        else:
            current = _builtin_path(parent) or (current.parent / parent)
            if not current.exists():
                problems.append(
                    problem_at(layer, ("pack", "extends"), None, _missing_parent(parent))
                )
                current = None
    if problems:
        return None, problems
    merged: dict[str, Any] = {}
    for layer in reversed(layers):
        merged = _merge(merged, layer.data)
    merged["pack"] = dict(layers[0].data.get("pack", {}))
    merged["pack"].pop("extends", None)
    checker = PackChecker(layers)
    pack = checker.pack(merged, path)
    if not checker.problems:  # the other sections, each by its capability's parser
        for section, key, reason in check_sections(pack):
            keys = tuple(k for k in key.split(".") if k)
            checker.add((section, *keys), None, reason)
    return (pack if not checker.problems else None), checker.problems


def _read(path: Path) -> tuple[Layer, PackProblem | None]:
    text = path.read_text(encoding="utf-8")
    layer = Layer(str(path), text, {})
    try:
        layer.data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        return layer, PackProblem(
            str(path),
            line,
            None,
            Problem("policy.syntax", f"TOML 语法错误：{exc}", f"TOML syntax error: {exc}"),
        )
    return layer, None


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _cycle(path: Path) -> Problem:
    return Problem("policy.extends_cycle", f"extends 循环引用：{path}", f"extends cycle at {path}")


def _missing_parent(parent: str) -> Problem:
    return Problem(
        "policy.extends_missing",
        f"extends 指向的政策包 {parent} 不存在",
        f"extends names {parent}, which is neither a shipped pack nor a file",
    )
