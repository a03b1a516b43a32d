"""Pack sections other than ``[healthcode]``: one error shape, one message set, one registry.

Each capability parses its own section (``XRules.from_pack`` in its ``rules.py``); this
module is what those parsers share, so every section speaks the same way:

- ``SectionError`` names the section and the dotted key inside it, so the loader can
  point at the file and line that set it;
- ``section_error`` builds the message (``<source> [section] key：理由 / reason``);
- ``reject_unknown`` / ``missing`` give the uniform "未知的键 / unknown key" and
  "缺少 / is missing" sentences; an unknown key carries one code in every section,
  ``UNKNOWN_KEY`` (``policy.unknown_key``, as in ``[pack]`` and ``[healthcode]``), whatever
  the section's own code for its other faults (``unknown_key``);
- ``whole_number``, ``number_in``, ``fraction``, ``positive_number``, ``flag``,
  ``one_of`` and ``text_list`` check one value each and raise through the parser's own
  ``error(key, zh, en)``, with one wording for the same fault in every section;
- ``parsed_once`` keeps what a parser made of a loaded pack on the pack, so every
  ``XRules.from_pack(pack)`` after the first (the loader's check is the first) hands out
  the same object instead of parsing the section again;
- ``PARSERS`` lists, as data (``module:attribute`` names), the parser of every section the
  platform reads. ``check_sections`` imports them lazily when a pack is loaded, so
  ``fangkong.policy`` never imports a capability statically and stays at the bottom of
  the layers (the parsers are pure cores: they import only ``fangkong.errors``,
  ``fangkong.policy`` and their own capability's model).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from fangkong.errors import BadInput, Problem

UNKNOWN_KEY = "policy.unknown_key"  # the code of an unknown key, in every section

# section(s) -> the parser that reads them; a parser runs when any of its sections is present
PARSERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("contacts",), "fangkong.tracing.rules:ContactRules.from_pack"),
    (("quarantine",), "fangkong.quarantine.rules:QuarantineRules.from_pack"),
    (("testing",), "fangkong.testing.rules:TestingRules.from_pack"),
    (("risk_areas",), "fangkong.riskareas.rules:RiskAreaRules.from_pack"),
    (("arrivals",), "fangkong.arrivals.rules:ArrivalRules.from_pack"),
    (("alerts", "surveillance"), "fangkong.alerts.rules:AlertRules.from_pack"),
    (("command",), "fangkong.command.rules:CommandRules.from_pack"),
    (("logistics",), "fangkong.logistics.rules:LogisticsRules.from_pack"),
    (("passes",), "fangkong.passes.rules:PassRules.from_pack"),
    (("supply",), "fangkong.supply.rules:SupplyRules.from_pack"),
    (("roads",), "fangkong.roads.rules:RoadRules.from_pack"),
    (("care",), "fangkong.care.rules:CareRules.from_pack"),
)


class SectionError(BadInput):
    """A pack section holds a bad, missing or unknown key: ``section`` and dotted ``key``."""

    def __init__(
        self, problem: Problem, section: str = "", key: str = "", reason: Problem | None = None
    ) -> None:
        super().__init__(problem)
        self.section = section
        self.key = key
        self.reason = reason or problem  # the sentence without source and section


E = TypeVar("E", bound=SectionError)
B = TypeVar("B", bound=BadInput)


def section_error(
    cls: type[E], code: str, source: str, section: str, key: str, zh: str, en: str
) -> E:
    """``cls`` with the uniform message ``<source> [section] key：zh`` / ``...: en``."""
    where = f"[{section}] {key}".rstrip()
    return cls(
        Problem(code, f"{source} {where}：{zh}", f"{source} {where}: {en}"),
        section,
        key,
        Problem(code, f"{where}：{zh}", f"{where}: {en}"),
    )


def unknown_keys(table: Mapping[str, Any], allowed: Collection[str]) -> list[str]:
    """The keys of ``table`` not in ``allowed``, sorted."""
    return sorted(str(k) for k in table if k not in allowed)


def unknown_reason(key: str, allowed: Collection[str]) -> tuple[str, str]:
    """The uniform sentence for an unknown key (zh, en)."""
    names = sorted(allowed)
    return (
        f"未知的键 {key}（可用：{'、'.join(names)}）",
        f"unknown key {key} (allowed: {', '.join(names)})",
    )


def missing_reason(key: str) -> tuple[str, str]:
    """The uniform sentence for a missing key (zh, en)."""
    return f"缺少 {key}", f"{key} is missing"


def unknown_key(
    error: Callable[[str, str, str], B], key: str, name: str, allowed: Collection[str]
) -> B:
    """The section's ``error`` for the unknown key ``name`` (dotted: ``key``), with the
    uniform sentence and the code every section gives an unknown key (``UNKNOWN_KEY``)."""
    exc = error(key, *unknown_reason(name, allowed))
    exc.problem = replace(exc.problem, code=UNKNOWN_KEY)
    if isinstance(exc, SectionError):
        exc.reason = replace(exc.reason, code=UNKNOWN_KEY)
    return exc


def reject_unknown(
    table: Mapping[str, Any],
    allowed: Collection[str],
    path: str,
    error: Callable[[str, str, str], BadInput],
) -> None:
    """Raise ``error(key, zh, en)`` for the first key of ``table`` not in ``allowed``
    (code ``UNKNOWN_KEY``)."""
    extra = unknown_keys(table, allowed)
    if extra:
        key = f"{path}.{extra[0]}" if path else extra[0]
        raise unknown_key(error, key, extra[0], allowed)


Error = Callable[[str, str, str], BadInput]  # (dotted key, zh, en) → the section's error


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def whole_number(value: Any, key: str, error: Error, *, minimum: int = 0) -> int:
    """``value`` when it is a whole number ≥ ``minimum`` (0: non-negative, 1: positive)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise error(
            key,
            f"应为不小于 {minimum} 的整数，实为 {value!r}",
            f"must be a whole number of at least {minimum}, got {value!r}",
        )
    return value


def number_in(value: Any, key: str, error: Error, low: float, high: float) -> float:
    """``value`` as a float when it is a number from ``low`` to ``high`` (both included)."""
    if not _is_number(value) or not (low <= value <= high):
        raise error(
            key,
            f"应为 {low} 到 {high} 之间的数，实为 {value!r}",
            f"must be a number from {low} to {high}, got {value!r}",
        )
    return float(value)


def fraction(value: Any, key: str, error: Error) -> float:
    """A share: a number from 0 to 1."""
    return number_in(value, key, error, 0.0, 1.0)


def positive_number(value: Any, key: str, error: Error) -> float:
    """A number above 0 (hours, rates, distances)."""
    if not _is_number(value) or value <= 0:
        raise error(key, f"应为大于 0 的数，实为 {value!r}", f"must be a number > 0, got {value!r}")
    return float(value)


def flag(value: Any, key: str, error: Error) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise error(
            key, f"应为 true 或 false，实为 {value!r}", f"must be true or false, got {value!r}"
        )
    return value


def one_of(value: Any, key: str, error: Error, allowed: Collection[str]) -> str:
    """One of the words ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise error(
            key,
            f"应为 {'、'.join(allowed)} 之一，实为 {value!r}",
            f"must be one of {', '.join(allowed)}, got {value!r}",
        )
    return value


def text_list(
    value: Any, key: str, error: Error, allowed: Collection[str] | None = None
) -> tuple[str, ...]:
    """A list of strings (each one of ``allowed`` when given; it may be empty)."""
    if not isinstance(value, list) or any(
        not isinstance(v, str) or (allowed is not None and v not in allowed) for v in value
    ):
        if allowed is None:
            raise error(
                key, f"应为文字列表，实为 {value!r}", f"must be a list of text, got {value!r}"
            )
        raise error(
            key,
            f"应为 {'、'.join(allowed)} 中若干项的列表，实为 {value!r}",
            f"must be a list of {', '.join(allowed)}, got {value!r}",
        )
    return tuple(value)


T = TypeVar("T")


def parsed_once(pack: Any, parser: type, parse: Callable[[], T]) -> T:
    """``parse()`` the first time ``parser`` reads ``pack``, the same object after that.

    The result is kept on the pack (``Pack.parsed_sections``); a failed parse keeps
    nothing and fails again. An object without that store (a test's stand-in) is parsed
    every time.
    """
    store = getattr(pack, "parsed_sections", None)
    if not isinstance(store, dict):
        return parse()
    if parser not in store:
        store[parser] = parse()
    found: T = store[parser]
    return found


def parsers() -> Iterator[tuple[tuple[str, ...], Callable[[Any], object]]]:
    """Every registered section parser, imported on demand."""
    for sections, name in PARSERS:
        module_name, _, attr = name.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        yield sections, obj


def check_sections(pack: Any) -> list[tuple[str, str, Problem]]:
    """Run every parser whose section is in ``pack``: (section, dotted key, problem) each.

    A parser stops at its first problem, so a pack gets at most one problem per parser;
    every section is checked, whatever the others hold.
    """
    found: list[tuple[str, str, Problem]] = []
    for sections, parse in parsers():
        present = [s for s in sections if s in pack.sections]
        if not present:
            continue
        try:
            parse(pack)
        except SectionError as exc:
            found.append((exc.section or present[0], exc.key, exc.reason))
        except BadInput as exc:
            found.append((present[0], "", exc.problem))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            found.append(
                (
                    present[0],
                    "",
                    Problem(
                        "policy.section",
                        f"[{present[0]}] 无法读取：{exc!r}",
                        f"[{present[0]}] cannot be read: {exc!r}",
                    ),
                )
            )
    return found
