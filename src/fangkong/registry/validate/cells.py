"""The shared cell checks of registry validation: ``Checked`` (clean rows and problems),
``Context`` (what a validator may know beyond the row) and ``_Row``, which reads one
row's cells — required, optional, choices, counts, references, repeats — collecting
each problem with its row and column. The file kinds' validators sit beside it
(``regions``, ``venues``, ``persons``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fangkong import bounds
from fangkong.errors import Problem, RowProblem
from fangkong.identity.sealing import Sealer
from fangkong.registry.reader import Batch, Cell


def _p(code: str, zh: str, en: str) -> Problem:
    return Problem(code, zh, en)


@dataclass
class Checked:
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass
class Context:
    """What a validator may know beyond the row: stored codes, earlier rows, keys."""

    today: date
    region_codes: set[str] = field(default_factory=set)
    venue_codes: set[str] = field(default_factory=set)
    sealer: Sealer | None = None
    phone_region: str = "CN"
    seen_keys: dict[Any, int] = field(default_factory=dict)
    household_residence: dict[str, tuple[str | None, int]] = field(default_factory=dict)


@functools.cache
def _options(allowed: Any) -> tuple[str, ...]:
    return tuple(str(a) for a in allowed)


class _Row:
    """One row's cells, collecting problems as fields are read."""

    def __init__(self, number: int, cells: dict[str, Cell], out: list[RowProblem]) -> None:
        self.number = number
        self.cells = cells
        self.out = out
        self.ok = True

    def bad(self, column: str, problem: Problem) -> None:
        self.ok = False
        self.out.append(RowProblem(self.number, column, problem))

    def required(self, column: str, max_len: int) -> str | None:
        value = self.cells.get(column)
        if value is None:
            self.bad(column, _p("value.missing", f"{column} 不能为空", f"{column} is required"))
            return None
        return self.text(column, value, max_len)

    def optional(self, column: str, max_len: int) -> str | None:
        value = self.cells.get(column)
        return None if value is None else self.text(column, value, max_len)

    def text(self, column: str, value: str, max_len: int) -> str | None:
        if len(value) > max_len:
            self.bad(
                column,
                _p(
                    "value.too_long",
                    f"{column} 超过 {max_len} 个字符（{len(value)}）",
                    f"{column} is longer than {max_len} characters ({len(value)})",
                ),
            )
            return None
        return value

    def choice(self, column: str, value: str | None, allowed: Any) -> str | None:
        if value is None:
            return None
        options = _options(allowed)
        if value not in options:
            self.bad(
                column,
                _p(
                    "value.not_allowed",
                    f"{column} 的值 {value!r} 无效，应为：{', '.join(options)}",
                    f"{column} {value!r} is not one of: {', '.join(options)}",
                ),
            )
            return None
        return value

    def whole_number(self, column: str) -> int | None:
        value = self.cells.get(column)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            number = -1
        if number < 0:
            self.bad(
                column,
                _p(
                    "value.not_count",
                    f"{column} 应为非负整数，而不是 {value!r}",
                    f"{column} must be a whole number ≥ 0, not {value!r}",
                ),
            )
            return None
        if (problem := bounds.int_problem(number, column, lo=0)) is not None:
            self.bad(column, problem)  # the column is 32-bit on PostgreSQL
            return None
        return number

    def reference(self, column: str, code: str | None, known: set[str], what: str) -> None:
        if code is not None and code not in known:
            self.bad(
                column,
                _p(
                    "reference.unknown",
                    f"{column} {code} 不存在：请先导入{what}",
                    f"{column} {code} does not exist: import the {what} first",
                ),
            )

    def once(self, ctx: Context, key: Any, column: str, shown: str) -> None:
        first = ctx.seen_keys.setdefault(key, self.number)
        if first != self.number:
            self.bad(
                column,
                _p(
                    "row.duplicate",
                    f"{shown} 与第 {first} 行重复",
                    f"{shown} repeats row {first}",
                ),
            )


def _rows(batch: Batch) -> list[tuple[int, dict[str, Cell]]]:
    names = list(batch.columns)
    columns = [batch.columns[n] for n in names]
    return [
        (batch.first_row + i, dict(zip(names, values, strict=True)))
        for i, values in enumerate(zip(*columns, strict=True))
    ]
