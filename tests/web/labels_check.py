"""The check that no stored value reaches a page raw, for any page test: the values come
from the label registry (``fangkong.web.labels.VOCABULARIES``), so a new vocabulary is
looked for everywhere this is called."""

from __future__ import annotations

import html as html_lib
import re

from fangkong.web.labels import raw_values

_SPACES = re.compile(r"\s+")


def visible_texts(page: str) -> list[str]:
    """The text nodes a reader sees: no scripts, styles, tags or attribute values."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    # the signed-in user's name (a test user may be called "viewer", like the role)
    page = re.sub(r'<span class="who"[^>]*>.*?</span>', " ", page, flags=re.S)
    return [
        _SPACES.sub(" ", html_lib.unescape(t)).strip()
        for t in re.split(r"<[^>]*>", page)
        if t.strip()
    ]


def raw_in(page: str) -> list[str]:
    """The stored values shown raw: a text node that is one (``high``, ``open``), or a
    compound one (``residence_high``, ``ears-c2``, ``arrivals.risks.high``) anywhere."""
    values = raw_values()
    compound = sorted(v for v in values if re.search(r"[_.-]", v))
    found = []
    for text in visible_texts(page):
        if text in values:
            found.append(text)
        found += [v for v in compound if re.search(rf"(?<![\w.-]){re.escape(v)}(?![\w.-])", text)]
    found += re.findall(r"\barrivals\.risks\.\w+", " ".join(visible_texts(page)))
    return sorted(set(found))
