"""The one translation layer for stored values shown to a person.

Every enum, rule id and key the database or the policy pack stores, and a page shows, has
a label in Chinese and English: ``VOCABULARIES[vocabulary][value] = (zh, en)``, the
registry kept by use case in ``fangkong.web.vocabularies``. Templates call
``label(value, "vocabulary")`` (a Jinja filter and global installed by
``fangkong.web.i18n``). A value missing from its vocabulary is shown in words (``no_room``
as "No room"), never as its key, and logged once as a warning; the page tests
(``tests/web/test_labels.py``) look for every value of this registry on the pages, and
``tests/web/test_vocabularies.py`` fails when a value the database may hold (a CHECK
constraint's list) or an action the code audits has no label there.

Numbers go through ``number`` / ``decimal`` (per-language grouping, at most N decimals).
"""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Final

from fangkong.web.vocabularies import VOCABULARIES
from fangkong.web.vocabularies._kit import capital

log = logging.getLogger(__name__)


def label(value: object, vocabulary: str, lang: str) -> str:
    """``value``'s label in ``lang`` ("zh" or "en"); None as "—"; a value the vocabulary
    lacks in words (:func:`readable`), logged once, never as its stored key."""
    if value is None:
        return "—"
    found = VOCABULARIES[vocabulary].get(str(value))
    if found is None:
        return readable(str(value), vocabulary)
    return found[0] if lang == "zh" else found[1]


def names(vocabulary: str, lang: str) -> dict[str, str]:
    """Every value of ``vocabulary`` → its label in ``lang`` (for a page's select or table)."""
    return {value: label(value, vocabulary, lang) for value in VOCABULARIES[vocabulary]}


@cache
def readable(value: str, vocabulary: str) -> str:
    """A value without a label, in words: ``no_room`` → "No room", ``a.b-c`` → "A b c".
    Logged once per value: a vocabulary should hold it (the page tests look for it)."""
    log.warning("no label for %r in vocabulary %r", value, vocabulary)
    return capital(re.sub(r"[_.\-]+", " ", value).strip()) or "—"


# an audit row's detail that is the status of its target (a task viewed: "open")
AUDIT_DETAIL: Final = {"task": "task_status", "alert": "alert_status"}
AUDIT_DETAIL["care_need"] = "care_status"  # issue 20: a medical need viewed or moved


def audit_detail(detail: str | None, target_type: str | None, lang: str) -> str:
    """An audit row's detail as a reader says it: a target's stored status by its label,
    any other note as written."""
    vocabulary = AUDIT_DETAIL.get(target_type or "")
    if detail and vocabulary and detail in VOCABULARIES[vocabulary]:
        return label(detail, vocabulary, lang)
    return detail or ""


def audit_outcome(outcome: str, lang: str) -> str:
    """An audit row's outcome: a vocabulary value, or the refusing error's code (a refused
    call is audited with its problem's code), said as a refusal."""
    if outcome in VOCABULARIES["audit_outcome"]:
        return label(outcome, "audit_outcome", lang)
    return "已拒绝" if lang == "zh" else "Refused"


def code_trigger(trigger: str | None, lang: str) -> str:
    """What made a code be evaluated: a vocabulary value, or ``fact:<kind>`` (a fact
    recorded about the person, its kind a health-code rule's id)."""
    if trigger is not None and trigger.startswith("fact:"):
        kind = label(trigger.removeprefix("fact:"), "code_rule", lang)
        return f"记录：{kind}" if lang == "zh" else f"Recorded: {kind}"
    return label(trigger, "code_trigger", lang)


_LIFTING = re.compile(r"lifting\.(\w+) \((\d+) d\)")


def risk_rule(rule: str | None, lang: str) -> str:
    """A risk-area change's rule (``lifting.high (7 d)``, stored by the lifting job) in
    words; anything else as itself."""
    if rule is None:
        return "—"
    found = _LIFTING.fullmatch(rule)
    if found is None:
        return rule
    level, days = label(found[1], "risk_level", lang), found[2]
    if lang == "zh":
        return f"{level}连续 {days} 天无新增感染者解除规则"
    return f"{level.lower()} lifted after {days} days without a new infection"


_HAN = re.compile(r"[\u4e00-\u9fff]")
_PAIR = re.compile(r"(?P<zh>[^/]+?) / (?P<en>[A-Za-z0-9][^/]*)")


def one_language(text: str | None, lang: str) -> str:
    """A stored note in the reader's language only: notes written by the code are stored
    as "zh / en" in one column (``无需转运 / no transfer``, ``居家：X / home: X``); the
    side of the reader is shown. Text that is not such a pair (typed by a person, in one
    language) is shown as it is."""
    if not text:
        return "—" if text is None else text
    found = _PAIR.fullmatch(text.strip())
    if found is None or not _HAN.search(found["zh"]) or _HAN.search(found["en"].split(":")[0]):
        return text
    return found["zh"] if lang == "zh" else found["en"]


def raw_values() -> set[str]:
    """Every stored value of every vocabulary: the strings a page must never show raw."""
    return {value for vocabulary in VOCABULARIES.values() for value in vocabulary}
