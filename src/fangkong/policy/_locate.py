"""Find the line of a key in TOML text, so validation errors can name it (tomllib cannot)."""

from __future__ import annotations

import re
from collections.abc import Sequence

Path = tuple[str | int, ...]

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_HEADER = re.compile(r"^\s*\[\s*([^\]\[]+?)\s*\]")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-.]+)\s*=""")


def _split_dotted(text: str) -> tuple[str, ...]:
    parts = re.findall(r""""[^"]*"|'[^']*'|[^.\s]+""", text)
    return tuple(p.strip("\"'") for p in parts)


def key_lines(text: str) -> dict[Path, int]:
    """Every table header and key in ``text`` mapped to its first line (from 1)."""
    lines: dict[Path, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    current: Path = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if m := _ARRAY_HEADER.match(line):
            keys = _split_dotted(m.group(1))
            index = counts.get(keys, 0)
            counts[keys] = index + 1
            current = (*keys, index)
            lines.setdefault(keys, number)
            lines.setdefault(current, number)
        elif m := _HEADER.match(line):
            current = _split_dotted(m.group(1))
            lines.setdefault(current, number)
        elif m := _KEY.match(line):
            lines.setdefault((*current, *_split_dotted(m.group(1))), number)
    return lines


def locate(text: str, path: Sequence[str | int]) -> int | None:
    """The line of ``path`` or, when it is missing, of its nearest enclosing key or table."""
    lines = key_lines(text)
    wanted = tuple(path)
    for end in range(len(wanted), 0, -1):
        found = lines.get(wanted[:end])
        if found is not None:
            return found
    return None
