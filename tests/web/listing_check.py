"""What every converted list page must do, checked the same way on each (issue 19):
sorting by a column changes the order (ascending is the reverse of descending where the
keys differ), page 2 shows the next rows (none repeated, none skipped), and the page's
filters survive sort and page links. Tests shrink the page sizes (``small_pages``) so a
small world has several pages."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from fangkong.web import listing


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 2 rows may be asked for (``size=2``)."""
    monkeypatch.setattr(listing, "PAGE_SIZES", (2, *listing.PAGE_SIZES))


def row_ids(page: str, table: str, prefix: str) -> list[str]:
    """The ids of the rows of table ``table`` whose id starts with ``prefix``, in order."""
    found = re.search(rf'<table[^>]*id="{table}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert found, table
    return re.findall(rf'<tr[^>]* id="({re.escape(prefix)}[^"]+)"', " " + found.group(1))


def links(page: str, rel: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(rf'<a href="([^"]+)" rel="{rel}">', page)]


def sort_link(page: str, key: str) -> str:
    found = re.search(rf'data-sort="{key}"><a href="([^"]+)"', page)
    assert found, key
    return html.unescape(found.group(1))


def check_list(
    client: TestClient, url: str, table: str, prefix: str, key: str, *, p: str = "",
    keep: str | None = None, total: int | None = None,
) -> list[str]:  # fmt: skip
    """Sort ``url`` by ``key`` both ways and walk its pages of 2; answers the rows in
    ascending order. ``keep``: a query parameter (``name=value``) the links must keep;
    ``p``: the list's parameter prefix."""
    sep = "&" if "?" in url else "?"
    up = client.get(f"{url}{sep}{p}sort={key}&{p}dir=asc&{p}size=2")
    assert up.status_code == 200, up.text
    assert f'data-sort="{key}"' in up.text
    assert 'aria-sort="ascending"' in up.text
    seen = row_ids(up.text, table, prefix)
    page = up.text
    while True:  # every page of 2 in turn: the next rows, none twice
        nexts = links(page, "next")
        if not nexts:
            break
        assert f"{p}sort={key}" in nexts[0]
        assert f"{p}dir=asc" in nexts[0]
        if keep:
            assert keep in nexts[0]
        page = client.get(nexts[0]).text
        more = row_ids(page, table, prefix)
        assert more, seen
        assert not set(more) & set(seen), (seen, more)
        seen += more
    assert len(seen) >= 3, seen  # at least two pages
    if total is not None:
        assert len(seen) == total
    flip = sort_link(up.text, key)  # the header's link: the same key, the other way
    assert f"{p}dir=desc" in flip
    assert f"{p}page=" not in flip
    if keep:
        assert keep in flip
    down = client.get(flip.replace(f"{p}size=2", f"{p}size=200"))
    assert down.status_code == 200
    assert 'aria-sort="descending"' in down.text
    backwards = row_ids(down.text, table, prefix)
    assert sorted(backwards) == sorted(seen)
    assert backwards != seen  # the order changed
    return seen
