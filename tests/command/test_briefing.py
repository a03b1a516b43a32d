"""The daily briefing (日报): numbers in the HTML and CSV equal the ``command_figures`` rows,
the change from the day before, overdue tasks with their owners, one file per city, the
file self-contained (no script, nothing fetched); the CLI's errors; rights on the page and
the API. Figures are inserted as the figures job would store them."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from fangkong.command.briefing import (
    build_briefing,
    cities_of,
    number,
    render_csv,
    render_html,
    write_briefings,
)
from fangkong.command.model import FIGURE
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_briefings, command_figures, command_tasks
from fangkong.policy import load_pack
from fangkong.store.schema import regions
from fangkong.store.tx import write_transaction
from tests.riskareas.conftest import TZ

PROVINCE = "140000"
COUNTY = "140102"  # user epi's county
OTHER = "140121"  # user county2's county
DAY = date(2026, 11, 28)
AT = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)  # 07:00 the next morning in Shanghai
TODAY = {"cases.new": 12, "cases.cumulative": 140, "cases.found_controlled": 9,
         "cases.found_community": 3, "contacts.awaiting": 40,
         "quarantine.occupied_hotel": 180, "quarantine.capacity_hotel": 300,
         "quarantine.days_left": 4.5, "testing.coverage": 0.875}  # fmt: skip
YESTERDAY = {"cases.new": 15, "cases.cumulative": 128, "cases.found_controlled": 10,
             "cases.found_community": 5, "contacts.awaiting": 31,
             "quarantine.occupied_hotel": 150, "quarantine.capacity_hotel": 300,
             "testing.coverage": 0.8}  # fmt: skip


def rules() -> CommandRules:
    return CommandRules.from_pack(load_pack("protocol-9"))


def put_figures(engine: Engine, region: str, day: date, values: dict[str, float]) -> None:
    with write_transaction(engine) as conn:
        conn.execute(command_figures.insert(), [
            {"region_code": region, "day": day, "key": k, "value": v,
             "computed_at": datetime.combine(day, datetime.min.time(), UTC)
             + timedelta(hours=22)} for k, v in values.items()])  # fmt: skip


def put_task(engine: Engine, region: str, *, kind: str = "awaiting_placement",
             role: str | None = "quarantine_manager", hours_late: float = 5,
             status: str = "open", source: str = "1") -> int:  # fmt: skip
    with write_transaction(engine) as conn:
        key = conn.execute(command_tasks.insert().values(
            kind=kind, source_type=None if kind == "manual" else "region_day",
            source_id=None if kind == "manual" else f"{region}/{source}", region_code=region,
            origin_region_code=region, role=role, params={}, status=status,
            raised_at=AT - timedelta(hours=30), raised_by="job:raise",
            deadline_at=AT - timedelta(hours=hours_late))).inserted_primary_key  # fmt: skip
    assert key is not None
    return int(key[0])


@pytest.fixture
def world(province: Engine) -> Engine:
    for day, values in ((DAY, TODAY), (DAY - timedelta(days=1), YESTERDAY)):
        put_figures(province, PROVINCE, day, values)
    put_figures(province, COUNTY, DAY, {"cases.new": 2})
    return province


def test_numbers_and_change_equal_the_figures_rows(world: Engine) -> None:
    with world.connect() as conn:
        b = build_briefing(conn, rules(), region_code=PROVINCE, day=DAY, at=AT, lang="zh",
                           tz=TZ)  # fmt: skip
        stored = {(r.key): r.value for r in conn.execute(
            select(command_figures).where(command_figures.c.region_code == PROVINCE,
                                          command_figures.c.day == DAY))}  # fmt: skip
    for key, value in stored.items():
        assert b.figure(key).today == value
    assert b.figure("cases.new").change == -3
    assert b.figure("contacts.awaiting").change == 9
    assert b.figure("quarantine.days_left").change is None  # no value the day before
    assert b.figure("codes.red").today is None
    html = render_html(b)
    for key, value in stored.items():
        row = re.search(rf'data-key="{re.escape(key)}"><td>([^<]*)</td>'
                        r'<td class="num today">([^<]*)</td>', html)  # fmt: skip
        assert row, key
        assert row.group(1) == FIGURE[key].zh
        assert row.group(2) == number(value, FIGURE[key].unit)
    assert ">-3<" in html
    assert ">+9<" in html
    assert ">87.5%<" in html
    table = list(csv.reader(io.StringIO(render_csv(b).split("\n\n")[0])))
    assert table[0] == ["指标", "名称", "当日", "前一日", "变化"]
    rows = {r[0]: r for r in table[1:]}
    assert rows["cases.new"] == ["cases.new", "新增确诊", "12", "15", "-3"]
    assert rows["testing.coverage"][2:] == ["0.875", "0.8", "0.075"]
    assert rows["codes.red"][2:] == ["", "", ""]
    for key, value in stored.items():
        assert float(rows[key][2]) == value


def test_curve_and_capacity(world: Engine) -> None:
    with world.connect() as conn:
        b = build_briefing(conn, rules(), region_code=PROVINCE, day=DAY, at=AT, lang="en",
                           tz=TZ)  # fmt: skip
    assert len(b.curve) == rules().curve_days
    assert (b.curve[-1].controlled, b.curve[-1].community) == (9, 3)
    assert (b.curve[-2].controlled, b.curve[-2].community) == (10, 5)
    assert b.curve[0].controlled == 0
    hotel = b.occupancy[0]
    assert (hotel.occupied, hotel.capacity, hotel.free) == (180, 300, 120)
    html = render_html(b)
    assert 'lang="en"' in html
    assert "Daily situation briefing" in html
    assert html.count("<svg") == 2
    assert 'id="days-left">4.5<' in html


def test_overdue_tasks_with_their_owners(world: Engine) -> None:
    late = put_task(world, COUNTY, hours_late=5)
    put_task(world, COUNTY, hours_late=-3, source="2")  # not yet due
    put_task(world, COUNTY, hours_late=8, status="done", source="3")  # closed
    manual = put_task(world, OTHER, kind="manual", role=None, hours_late=1.5)
    with world.connect() as conn:
        b = build_briefing(conn, rules(), region_code=PROVINCE, day=DAY, at=AT, lang="zh",
                           tz=TZ)  # fmt: skip
        county = build_briefing(conn, rules(), region_code=COUNTY, day=DAY, at=AT, lang="zh",
                                tz=TZ)  # fmt: skip
    assert [t.id for t in b.overdue] == [late, manual]  # most overdue first
    assert b.overdue_total == 2
    first = b.overdue[0]
    assert (first.kind_label, first.role_label, first.hours_overdue) == (
        "密接待安置",
        "隔离点管理员",
        5.0,
    )
    assert b.overdue[1].role_label == "单位整体"
    assert [t.id for t in county.overdue] == [late]  # the county's subtree only
    html = render_html(b)
    assert f'data-task="{late}"' in html
    assert "隔离点管理员" in html
    assert "指挥部交办" in html
    tasks = list(csv.reader(io.StringIO(render_csv(b).split("\n\n")[1])))
    assert tasks[0][0] == "任务"
    assert [r[0] for r in tasks[1:]] == [str(late), str(manual)]
    assert tasks[1][5] == "隔离点管理员"
    assert tasks[1][7] == "5"


def test_self_contained(world: Engine) -> None:
    put_task(world, COUNTY)
    with world.connect() as conn:
        html = render_html(build_briefing(conn, rules(), region_code=PROVINCE, day=DAY,
                                          at=AT, lang="zh", tz=TZ))  # fmt: skip
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert not re.search(r"url\(\s*['\"]?(?!#)", html)  # only the SVG's own clip paths
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # two inline charts: no id twice
    assert "<!DOCTYPE svg" not in html
    assert "<?xml" not in html
    assert "@media print" in html


def test_one_file_per_city_and_the_row_replaced(world: Engine, tmp_path: Path) -> None:
    with world.connect() as conn:
        cities = cities_of(conn, PROVINCE)
        levels = dict(conn.execute(select(regions.c.code, regions.c.level)).all())
    assert cities
    assert all(levels[c] == "city" for c in cities)
    for _ in range(2):  # the same day twice: one row per region, replaced
        paths = write_briefings(world, rules(), region_code=PROVINCE, day=DAY, at=AT,
                                by="tester", out_dir=tmp_path, lang="zh", tz=TZ)  # fmt: skip
    names = sorted(p.name for p in paths)
    expected = [f"briefing-{PROVINCE}-{DAY}.csv", f"briefing-{PROVINCE}-{DAY}.html"]
    for c in cities:
        expected += [f"briefing-{PROVINCE}-{DAY}-{c}.csv", f"briefing-{PROVINCE}-{DAY}-{c}.html"]
    assert names == sorted(expected)
    assert all(p.exists() for p in paths)
    with world.connect() as conn:
        rows = conn.execute(select(command_briefings)).all()
        n = conn.execute(select(func.count()).select_from(command_briefings)).scalar_one()
    assert n == 1 + len(cities)
    assert {r.region_code for r in rows} == {PROVINCE, *cities}
    mine = next(r for r in rows if r.region_code == PROVINCE)
    assert mine.html == (tmp_path / f"briefing-{PROVINCE}-{DAY}.html").read_text("utf-8")
    assert mine.written_by == "tester"
    assert mine.day == DAY
