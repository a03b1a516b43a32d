"""Every person, venue, region and facility a page names is a link (issue 19, point 2).

Template globals (installed by ``fangkong.web.i18n``), so a cell reads
``{{ region_link(f.region_code) }}`` with no import: a region by its name (looked up once
per page through the page's ``region_name``, ``search.places.RegionNames``) with its code at
most as muted secondary text, a venue, a facility, a person. A missing key reads "—".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

NONE = Markup("—")


def _link(css: str, path: str, text: object) -> Markup:
    return Markup('<a class="{}" href="{}">{}</a>').format(css, path, escape(text))


@pass_context
def region_link(
    context: Context, code: str | None, name: str | None = None, with_code: bool = False
) -> Markup:
    """A region by name, linked to its page; ``with_code`` adds the code, muted."""
    if not code:
        return NONE
    lookup: Any = context.get("region_name")
    shown = name or (lookup(code) if lookup is not None else None) or code
    out = _link("place region-link", f"/regions/{quote(code, safe='')}", shown)
    if with_code:
        out += Markup(' <small class="muted">{}</small>').format(code)
    return out


def venue_link(code: str | None, name: str | None = None) -> Markup:
    if not code:
        return NONE
    return _link("place venue-link", f"/venues/{quote(code, safe='')}", name or code)


def facility_link(code: str | None, name: str | None = None) -> Markup:
    if not code:
        return NONE
    return _link("place facility-link", f"/quarantine/facilities/{quote(code, safe='')}",
                 name or code)  # fmt: skip


def person_link(person_id: int | None, name: str | None) -> Markup:
    """A person's name linked to their record (``/persons/{id}``: rights and audit there)."""
    if person_id is None:
        return escape(name) if name else NONE
    return _link("person-link", f"/persons/{int(person_id)}", name or f"#{person_id}")


LINKS = {
    "region_link": region_link,
    "venue_link": venue_link,
    "facility_link": facility_link,
    "person_link": person_link,
}
