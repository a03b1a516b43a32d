"""Explanation templates: ``{name}`` placeholders, checked on load and filled on use."""

from __future__ import annotations

import string
from collections.abc import Mapping

_FORMATTER = string.Formatter()


def placeholders(template: str) -> set[str]:
    """The placeholder names of ``template``; ``ValueError`` for a malformed one."""
    names: set[str] = set()
    for _, name, spec, conversion in _FORMATTER.parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholders are plain names like {{since}}, not {{{name}}}")
        names.add(name)
    return names


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill ``template``; a placeholder without a value stays visible as ``{name}``."""
    out: list[str] = []
    for literal, name, _, _ in _FORMATTER.parse(template):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, "{" + name + "}"))
    return "".join(out)
