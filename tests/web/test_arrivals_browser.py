"""The arrivals board in Chromium (Playwright) against a real uvicorn: a flight's
travellers by stage, the overdue one listed with the teams alerted, its page reached by a
click, a hand-over confirmed by form; and the board after the demo's arrivals desk (the
twin's travellers over two days at five points): counts per stage as stored, everyone
still in the loop listed overdue — the demo's days lie in the past — with the teams told."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from fangkong.arrivals import dispatch
from fangkong.arrivals.manifests import ManifestHeader, import_manifest
from fangkong.arrivals.rules import STAGES
from fangkong.arrivals.tables import travellers
from tests.arrivals.world import COMPOUND_A, COUNTY_A, POINT, T0, TOWNSHIP_A, make_world, traveller
from tests.demo.test_arrivals import run_feed
from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser
DAY = (T0 - timedelta(days=1)).date().isoformat()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]) -> Iterator[str]:
    engine, home = province(tmp_path_factory, twin_files, "arrivals-browser")
    w = make_world(engine)
    rows = [
        traveller(1, f"{COMPOUND_A}@{DAY}"),
        traveller(2, f"{COMPOUND_A}@{DAY}"),
        traveller(3, f"{TOWNSHIP_A}@{DAY}"),
    ]
    got = import_manifest(
        engine,
        ManifestHeader("CA1-1", "flight", "CA1", POINT),
        rows,
        w.rules,
        sealer=w.sealer,
        codes=w.codes,
        by="t",
        at=T0,
    )
    at = T0 + timedelta(minutes=30)
    for tid in got.traveller_ids:
        dispatch.sample(
            engine,
            w.rules,
            w.testing,
            [tid],
            f"B{tid}",
            collector="c",
            codes=w.codes,
            by="t",
            at=at,
        )
    dispatch.plan(engine, w.rules, w.quarantine, POINT, by="t", codes=w.codes, at=at)
    with live_server(engine, home) as url:
        yield url


@pytest.fixture(scope="module")
def demo_server(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[tuple[str, Engine]]:
    engine, home = province(tmp_path_factory, twin_files, "arrivals-demo-browser")
    run_feed(engine, 2)
    with live_server(engine, home) as url:
        yield url, engine


def test_board_shows_stages_and_the_overdue(server: str, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        login(page, server, "epi")
        page.click("nav >> text=入境/来返")
        page.wait_for_url(f"{server}/arrivals")
        section = f"#point-{POINT}"
        assert page.inner_text(f"{section} .stage-sampled") == "2"  # two wait for transfer
        assert page.inner_text(f"{section} .stage-released") == "1"  # the low-risk one
        assert page.inner_text(f"{section} .overdue-count") == "2"
        alerted = page.inner_text("#overdue-list")  # one list of the overdue, paged
        assert "兴安站专班 → 右远区指挥部" in alerted  # the checkpoint team and its superior
        assert "CMD-A" not in alerted  # by name, not by code
        page.screenshot(path=str(tmp_path / "arrivals-board.png"), full_page=True)
        page.click("#overdue-list tbody a >> nth=0")
        page.wait_for_selector("#reason")
        assert "高风险区" in page.inner_text("#reason")
        management = page.inner_text("#management")
        assert "集中隔离" in management
        assert "高风险区来返规则" in management
        assert "arrivals.risks" not in management
        page.select_option("#confirm select", "boarded")
        page.click("#confirm button")
        page.wait_for_selector("#stage")
        assert "已登车" in page.inner_text("#stage")
    assert (tmp_path / "arrivals-board.png").stat().st_size > 10_000


def test_board_after_the_demo_desk(demo_server: tuple[str, Engine], tmp_path: Path) -> None:
    server, engine = demo_server
    t = travellers.c
    with engine.connect() as conn:
        counts = conn.execute(  # what the county's epidemiologist answers for
            select(t.point_code, t.stage, func.count())
            .where(t.responsible_region.like(f"{COUNTY_A}%"))
            .group_by(t.point_code, t.stage)
        ).all()
    stored: dict[str, dict[str, int]] = {}
    for point, stage, n in counts:
        stored.setdefault(point, dict.fromkeys(STAGES, 0))[stage] = int(n)
    assert len(stored) > 1
    assert sum(s["managed"] for s in stored.values()) > 0  # transfers went through
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        login(page, server, "epi")
        page.goto(f"{server}/arrivals")
        for point, stages in stored.items():
            section = f"#point-{point}"
            for stage, n in stages.items():
                assert page.inner_text(f"{section} .stage-{stage}") == str(n), (point, stage)
            still = sum(n for s, n in stages.items() if s != "released")
            assert page.inner_text(f"{section} .overdue-count") == str(still), point
        for point, stages in stored.items():  # each point's overdue, one list a point
            still = sum(n for s, n in stages.items() if s != "released")
            page.goto(f"{server}/arrivals?point={point}&size=200")
            rows = page.locator("#overdue-list tbody tr")
            assert rows.count() == still
            if still:
                told = page.inner_text("#overdue-list")
                assert " → " in told  # a team and its superior, from the desk's set-up
                assert " → CMD-" not in told  # by name, not by code
        page.screenshot(path=str(tmp_path / "arrivals-demo-board.png"), full_page=True)
    assert (tmp_path / "arrivals-demo-board.png").stat().st_size > 10_000
