"""Browser test of the list layer on a field page (issue 19): Chromium opens the late and
lost tubes (55 lost: two pages of 50), clicks the "Collected" header twice (ascending,
then descending, ``aria-sort`` and the arrow follow) and follows the next-page link, which
keeps the order and the flag filter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fangkong.testing.flags import flag_overdue
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, collect
from tests.api.codes import codes_of
from tests.api.helpers import make_app, person_ids
from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser

LOST = 55


@pytest.fixture(scope="module")
def overdue_server(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[str]:
    """A real uvicorn over the province with 55 tubes of county 140102 never received,
    collected an hour apart from six days ago."""
    engine, home = province(tmp_path_factory, twin_files, "listing-browser-home")
    app = make_app(engine, home)
    rules = TestingRules.from_pack(codes_of(app).pack)
    resident = person_ids(engine, "140102")[0]
    now = datetime.now(UTC).replace(microsecond=0)
    for i in range(LOST):
        when = now - timedelta(days=6) + timedelta(hours=i)
        collect(engine, rules, Sample(f"L-{i:02d}", [resident], f"点位{i % 7}", "140102", "s",
                                      when), at=when)  # fmt: skip
    flag_overdue(engine, rules, at=now)
    with live_server(engine, home, app) as url:
        yield url


def _rows(page: object) -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[attr-defined, no-any-return]
        "#overdue tbody tr", "rows => rows.map(r => r.id)"
    )


def test_sort_by_a_header_and_page_on(overdue_server: str) -> None:
    server = overdue_server
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        login(page, server, "epi")
        page.goto(f"{server}/testing/overdue?flag=lost")
        assert len(_rows(page)) == 50  # the first page of 55
        header = 'th[data-sort="collected"]'
        assert page.get_attribute(header, "aria-sort") == "none"
        page.click(f"{header} a")
        page.wait_for_url("**sort=collected**")
        assert page.get_attribute(header, "aria-sort") == "ascending"
        assert "▲" in page.inner_text(header)
        assert _rows(page)[0] == "tube-L-00"  # the oldest first
        page.click(f"{header} a")
        page.wait_for_url("**dir=desc**")
        assert page.get_attribute(header, "aria-sort") == "descending"
        first = _rows(page)
        assert first[0] == f"tube-L-{LOST - 1:02d}"  # the newest first
        page.click("#overdue-pages a[rel=next]")
        page.wait_for_url("**page=2**")
        assert "flag=lost" in page.url
        assert "sort=collected" in page.url
        rest = _rows(page)
        assert rest == [f"tube-L-{i:02d}" for i in range(LOST - 51, -1, -1)]
        assert not set(rest) & set(first)
        assert "51–55" in page.inner_text("#overdue-pages")
