"""The command centre in a real browser, as a provincial commander uses it.

A real uvicorn over a SQLite file holding the small province and the board's outbreak
world (tests/command/board_world.py) with the figures of its day and the day before; the
system clock stands just before that day's end. Chromium opens the board, checks tiles
against direct counts of the database, drills province → city → county by the table's
links, follows a number to its list, opens the tasks and one task, the accountability
page and a briefing written by the page's button; at 390 px the board and the wall do not
overflow. Screenshots go to the test's folder, and to docs/img/ with
FANGKONG_UPDATE_SCREENSHOTS=1. Marked ``browser``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from fangkong import clock
from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.command.figures import FigureRules, compute_figures
from fangkong.command.tables import command_figures, command_tasks
from fangkong.keys import ServerKeys
from fangkong.policy import load_pack
from fangkong.riskareas.tables import risk_areas
from fangkong.store.schema import regions
from fangkong.store.tx import write_transaction
from fangkong.tracing.tables import tracing_cases, tracing_contacts
from tests.api.helpers import make_app
from tests.command.board_world import AT, COUNTY_A, DAY, START, TZ, build, local, put
from tests.conftest import PASSWORD, TEST_SERVER_KEY
from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PROVINCE, CITY = "140000", "140100"
# the system's clock just before the world's day ends: the board, the tasks' overdue marks
# and the briefing button's "today" all stand on DAY
NOW = AT - timedelta(minutes=5)
NARROW = 390  # a phone held upright
SLACK = 2  # px of rounding the narrow check allows


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    """After conftest's reset of the clock (every test starts live): frozen at NOW."""
    with clock.frozen(NOW):
        yield


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[tuple[str, Engine]]:
    engine, home = province(tmp_path_factory, twin_files, "command-browser-home")
    build(engine)
    _escalated_task(engine)
    rules = FigureRules.from_pack(load_pack("protocol-9"), TZ)
    with write_transaction(engine) as conn:
        compute_figures(conn, rules, day=DAY - timedelta(days=1), at=START)
        compute_figures(conn, rules, day=DAY, at=AT)
    key = ServerKeys.from_master(TEST_SERVER_KEY).audit
    add_user(engine, key, cli_actor(), "chief", PASSWORD, "commander", PROVINCE, "test")
    app = make_app(engine, home)
    with live_server(engine, home, app) as url:
        yield url, engine


def _escalated_task(engine: Engine) -> None:
    """An open task of a township of county A, overdue and escalated to the city: the
    county's board does not count it (the city owes it now), nor does its list show it."""
    r = regions.c
    with engine.begin() as conn:
        township = conn.execute(select(r.code).where(r.parent_code == COUNTY_A)).scalar_one()
        put(conn, command_tasks, kind="manual", region_code=CITY, origin_region_code=township,
            status="open", deadline_at=local(2, -1), raised_at=local(1, -1), params={},
            escalation_level=1, escalated_at=local(5, -1))  # fmt: skip


def _direct(engine: Engine) -> dict[str, int]:
    """Province totals counted from the raw tables (everyone lives in the province)."""
    c, k, t, a = tracing_cases.c, tracing_contacts.c, command_tasks.c, risk_areas.c
    with engine.connect() as conn:
        one = conn.execute
        return {
            "cases-new": one(select(func.count()).where(c.registered_at > START,
                                                        c.registered_at <= AT)).scalar_one(),
            "cases-cumulative": one(select(func.count()).where(c.registered_at <= AT)).scalar_one(),
            "contacts-identified": one(select(func.count()).where(
                k.kind == "close", k.identified_at <= AT)).scalar_one(),
            "risk_areas-high": one(select(func.count()).where(
                a.level == "high", a.designated_at <= AT)).scalar_one(),
            "work-tasks_open": one(select(func.count()).where(
                t.status.in_(("open", "acknowledged", "in_progress")))).scalar_one(),
        }  # fmt: skip


def _stored(engine: Engine, region: str) -> dict[str, float]:
    f = command_figures.c
    with engine.connect() as conn:
        rows = conn.execute(select(f.key, f.value).where(f.region_code == region, f.day == DAY))
        return {str(key).replace(".", "-"): float(v) for key, v in rows}


def _value(page: Any, key: str) -> str:
    return str(page.inner_text(f"#tile-{key} .value")).strip()


def _narrow_fits(browser: Any, server: str, storage: Any, path: str) -> int:
    """The page's scrollable width at 390 px (logged in as in ``storage``)."""
    context = browser.new_context(viewport={"width": NARROW, "height": 800},
                                  storage_state=storage)  # fmt: skip
    page = context.new_page()
    page.goto(f"{server}{path}")
    page.wait_for_selector("#curve-chart svg", timeout=20_000)
    width = int(page.evaluate("document.scrollingElement.scrollWidth"))
    context.close()
    return width


def test_commander_board_drill_lists_tasks_accountability_briefing(
    served: tuple[str, Engine], tmp_path: Path, frozen_clock: None
) -> None:
    server, engine = served
    shots: list[str] = []

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(tmp_path / name), full_page=True)
        assert (tmp_path / name).stat().st_size > 10_000, name
        shots.append(name)

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        outside: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
        login(page, server, "chief")

        # the province's board: the tiles are the database's counts
        page.goto(f"{server}/command")
        assert page.inner_text("#trail").strip() == "山西省"
        assert DAY.isoformat() in page.inner_text("#as-of")
        stored = _stored(engine, PROVINCE)
        for key, count in _direct(engine).items():
            assert _value(page, key) == f"{count:,}", key
            assert stored[key] == count, key
        for key in ("contacts-awaiting", "contacts-overdue", "quarantine-capacity_hotel",
                    "testing-late_tubes", "arrivals-overdue", "codes-red"):  # fmt: skip
            assert _value(page, key) == f"{round(stored[key]):,}", key
        page.wait_for_selector("#curve-chart svg .mark-rect path", state="attached", timeout=20_000)
        shot(page, "command-board-zh.png")

        # drill down by the table's links: province → city → county
        page.click(f"#child-{CITY} a")
        page.wait_for_url(f"**/command?region={CITY}*")
        assert _value(page, "cases-new") == f"{round(_stored(engine, CITY)['cases-new']):,}"
        page.click(f"#child-{COUNTY_A} a")
        page.wait_for_url(f"**/command?region={COUNTY_A}*")
        trail = page.inner_text("#trail")
        assert trail.count("›") == 2  # 省 › 市 › 县
        county = _stored(engine, COUNTY_A)
        assert _value(page, "work-tasks_open") == f"{round(county['work-tasks_open']):,}"

        # a number to its list: the county's open tasks
        page.click("#tile-work-tasks_open a.value")
        page.wait_for_url("**/command/tasks?region=*owing=true*")
        rows = page.locator("#tasks tbody tr[id^=task-]")
        assert rows.count() == round(county["work-tasks_open"])
        shot(page, "command-tasks.png")
        rows.first.locator("a").first.click()
        page.wait_for_url("**/command/tasks/*")
        assert page.inner_text("#task-status").strip()
        assert page.locator("#history").count() == 1

        # accountability: both counties of the province ranked
        page.goto(f"{server}/command/accountability?last={DAY.isoformat()}")
        assert page.locator("#ranking [id^=county-]").count() == 2
        shot(page, "command-accountability.png")

        # a briefing written by the page's button, opened from the list
        page.goto(f"{server}/command/briefings")
        page.click("#write-briefing button[type=submit]")
        page.wait_for_selector("#written")
        row = f"#briefings tbody tr:has-text('{DAY.isoformat()}')"
        link = page.locator(f"{row} a[href^='/command/briefings/']").first  # not the region
        link.click()
        page.wait_for_url("**/command/briefings/*")
        assert "山西省" in page.content()
        shot(page, "command-briefing.png")

        # the wall: large type, no links
        page.goto(f"{server}/command/wall")
        page.wait_for_selector("#curve-chart svg", timeout=20_000)
        assert page.locator("main a").count() == 0
        shot(page, "command-wall.png")

        # English
        page.goto(f"{server}/lang/en")
        page.goto(f"{server}/command")
        assert "Situation board" in page.inner_text("h1")
        assert _value(page, "cases-new") == f"{round(stored['cases-new']):,}"
        page.wait_for_selector("#curve-chart svg .mark-rect path", state="attached", timeout=20_000)
        shot(page, "command-board-en.png")

        # a phone: neither the board nor the wall scrolls sideways
        storage = context.storage_state()
        for path in ("/command", f"/command?region={COUNTY_A}", "/command/wall"):
            width = _narrow_fits(browser, server, storage, path)
            assert width <= NARROW + SLACK, (path, width)
        context.close()
        assert errors == []
        assert outside == []
    if os.environ.get("FANGKONG_UPDATE_SCREENSHOTS") == "1":
        for name in shots:
            shutil.copy(tmp_path / name, ROOT / "docs" / "img" / name)
