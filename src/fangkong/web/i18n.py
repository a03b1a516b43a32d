"""Translations of the pages: Chinese (default) and English.

Template strings are written in English inside ``{% trans %}`` / ``_()`` and translated
through gettext catalogues in ``web/locale/<lang>/LC_MESSAGES/messages.po``.

The ``.po`` files are the only committed form: they are read with Babel when the app
starts and turned into gettext catalogues in memory (no ``.mo`` files, no build step),
so a clean clone serves both languages and a translator edits one text file. Reading a
catalogue of a few hundred messages takes milliseconds, once per process.
``tests/web/test_i18n.py`` extracts every message from the templates (Babel's Jinja2
extractor) and fails when one lacks a translation.
"""

from __future__ import annotations

import io
from functools import cache
from gettext import NullTranslations
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fangkong import bounds
from fangkong.web.labels import (
    audit_detail,
    audit_outcome,
    code_trigger,
    label,
    one_language,
    risk_rule,
)
from fangkong.web.links import LINKS
from fangkong.web.vocabularies import VOCABULARIES

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
_BABEL_LOCALE = {"zh": "zh_Hans_CN", "en": "en"}


CODE_MESSAGES = (
    # msgids translated in Python (chart specs built by the handlers), not in a template:
    # the catalogue test counts them as used
    "Rooms needed (median)",
    "Chance the rooms run out",
    "Low (1 in 20)",
    "High (19 in 20)",
    "Cluster",
    # the care desk's time left to a need's deadline (web/care_pages.py)
    "%(d)s d %(h)s h",
    "%(h)s h %(m)s min",
    "%(m)s min",
    "%(span)s left",
    "overdue by %(span)s",
)


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


@cache
def translations(lang: str) -> NullTranslations:
    """The gettext catalogue of ``lang``, compiled in memory from its ``.po`` file."""
    path = po_path(lang)
    if not path.exists():  # English is the source language: no catalogue needed
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=_BABEL_LOCALE[lang])
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


@cache
def environment(lang: str) -> Environment:
    """One Jinja2 environment per language, its gettext installed."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    locale = _BABEL_LOCALE[lang]
    env.filters["number"] = lambda n: "—" if n is None else format_decimal(n, locale=locale)
    env.filters["decimal"] = lambda n, most=2, least=1: _decimal(n, most, least, locale)
    # the one translation layer of stored values (fangkong.web.labels)
    env.filters["label"] = lambda value, vocabulary: label(value, vocabulary, lang)
    env.filters["risk_rule"] = lambda rule: risk_rule(rule, lang)
    env.filters["code_trigger"] = lambda trigger: code_trigger(trigger, lang)
    env.filters["audit_detail"] = lambda detail, target: audit_detail(detail, target, lang)
    env.filters["audit_outcome"] = lambda outcome: audit_outcome(outcome, lang)
    env.filters["one_language"] = lambda text: one_language(text, lang)
    env.globals["audit_outcomes"] = VOCABULARIES["audit_outcome"]
    env.globals["lang"] = lang
    env.globals.update(LINKS)  # region_link(code), venue_link, facility_link, person_link
    # a stored date outside its window (before the bounds) is shown with a marker
    env.globals["in_window"] = bounds.in_window
    return env


def _decimal(n: float | None, most: int, least: int, locale: str) -> str:
    """``n`` with ``least`` to ``most`` decimals and the language's grouping (Ct 23.46)."""
    if n is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * least + "#" * (most - least) if most else "")
    return format_decimal(n, format=pattern, locale=locale)


def render(lang: str, template: str, **context: Any) -> str:
    return (
        environment(lang if lang in LANGS else DEFAULT_LANG)
        .get_template(template)
        .render(**context)
    )
