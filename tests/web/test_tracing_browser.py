"""The chains page in a real browser: Chromium draws the transmission graph (one node per
case, the link between them, a path of numbers) and the cluster-growth chart, offline,
with no script error and no console error or warning. The case page shows each
contact's management and what is overdue, and the counts at the top.

A real uvicorn over a SQLite file holding the small province, two traced cases of county
140102 linked at a market (A → C) and one case of county 140121; marked ``browser``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from fangkong.tracing.cases import register_case
from fangkong.tracing.checkins import CheckinSource
from fangkong.tracing.files import CHECKIN_SCHEMA
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.trace_job import trace_case
from tests.api.helpers import make_app
from tests.web.live import chromium, drawn_marks, live_server, login, province, watch_console
from tests.web.test_tracing_case_management import World, build
from tests.web.test_tracing_pages import _apart, _t

pytestmark = pytest.mark.browser


def _trace_world(engine: object, rules: ContactRules) -> None:
    a, c = _apart(engine, "140102", 2)  # type: ignore[arg-type]
    (x,) = _apart(engine, "140121", 1)  # type: ignore[arg-type]
    stays = [(a, "V-MARKET", _t(19, 10), _t(19, 11)), (c, "V-MARKET", _t(19, 10), _t(19, 11)),
             (x, "V-FAR", _t(19, 10), _t(19, 11))]  # fmt: skip
    table = pa.table(
        [
            pa.array([f"e{i}" for i in range(len(stays))]),
            pa.array([str(s[0]) for s in stays]),
            pa.array([s[1] for s in stays]),
            pa.array(["restaurant"] * len(stays)),
            pa.array([s[2] for s in stays], pa.timestamp("s", tz="UTC")),
            pa.array([s[3] for s in stays], pa.timestamp("s", tz="UTC")),
        ],
        schema=CHECKIN_SCHEMA,
    )
    source = CheckinSource.from_table(table, rules)
    for person, onset in ((a, 20), (c, 22), (x, 20)):
        case = register_case(engine, person, rules, onset=date(2026, 11, onset),  # type: ignore[arg-type]
                             isolated_at=_t(onset + 1, 12))  # fmt: skip
        trace_case(engine, case.id, source, rules, at=_t(28, 12))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]) -> Iterator[str]:
    engine, home = province(tmp_path_factory, twin_files, "tracing-browser-home")
    app = make_app(engine, home)
    _trace_world(engine, ContactRules.from_pack(app.state.ctx.codes.pack))
    with live_server(engine, home, app) as url:
        yield url


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[tuple[str, World]]:
    """A case whose contacts are placed, home-ordered, awaiting, overdue and lost."""
    engine, home = province(tmp_path_factory, twin_files, "tracing-case-browser-home")
    app = make_app(engine, home)
    managed = build(engine, app)
    with live_server(engine, home, app) as url:
        yield url, managed


def test_chains_graph_and_growth_render(server: str, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        errors = watch_console(page)
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
        login(page, server, "epi")
        page.goto(f"{server}/tracing/chains")
        page.wait_for_selector("#chain-graph svg .mark-symbol path", timeout=20_000)
        nodes = page.locator("#chain-graph svg .mark-symbol path")
        assert nodes.count() == 2  # A and C; X lives in another county
        drawn_marks(page, "#chain-graph")  # the link drawn from the laid-out nodes
        assert page.locator("#chain-graph svg .mark-path path").count() == 1  # A → C
        box = nodes.first.bounding_box()
        assert box is not None
        assert box["width"] > 0
        assert box["height"] > 0
        page.wait_for_selector("#cluster-growth svg .mark-line path", timeout=20_000)
        points = page.locator("#cluster-growth svg g.mark-symbol.role-mark path")
        assert points.count() == 3  # the 20th, 21st and 22nd (legend symbols left out)
        page.screenshot(path=str(tmp_path / "chains.png"), full_page=True)
        assert (tmp_path / "chains.png").stat().st_size > 10_000
        assert errors == []
        assert outside == []


def test_case_page_shows_each_contacts_management(served: tuple[str, World]) -> None:
    server, world = served
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        errors = watch_console(page)
        login(page, server, "epi")
        page.goto(f"{server}/tracing/cases/{world.case}")
        placed = page.locator(f"#contact-{world.contacts['placed']}")
        assert placed.locator("td.management").inner_text().startswith("集中隔离")
        assert "Hotel Fenjiang" in placed.locator("td.management").inner_text()
        assert placed.locator("td.overdue .badge").all_inner_texts() == ["未完成健康监测"]
        overdue = page.locator(f"#contact-{world.contacts['overdue']}")
        assert overdue.locator("td.management").inner_text() == "待安置"
        assert overdue.locator("td.overdue .badge").all_inner_texts() == ["超时未安置"]
        home = page.locator(f"#contact-{world.contacts['home']}")
        assert home.locator("td.management").inner_text().startswith("居家隔离")
        assert home.locator("td.overdue").inner_text() == "—"
        assert page.locator("#count-overdue dd").inner_text() == "1"
        page.select_option("#filters select[name=state]", "overdue")
        page.click("#filters button[type=submit]")
        page.wait_for_url("**state=overdue**")
        assert page.locator("tr.contact").count() == 3
        page.locator(f"#contact-{world.contacts['lost']} a.person").click()
        page.wait_for_url(f"**/persons/{world.persons['lost']}")
        assert errors == []
