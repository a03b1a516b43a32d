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
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.command.briefing import (
    build_briefing,
    cities_of,
    number,
    render_csv,
    render_html,
    write_briefings,
    write_on,
)
from fangkong.command.model import FIGURE
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_briefings, command_figures, command_tasks
from fangkong.policy import load_pack
from fangkong.store.engine import make_engine
from fangkong.store.schema import audit_log, regions
from fangkong.store.tx import write_transaction
from tests.api.helpers import client, csrf_of, logged_in, make_app
from tests.conftest import shell_env
from tests.riskareas.conftest import TZ

PROVINCE = "140000"
COUNTY = "140102"  # user epi's county
OTHER = "140121"  # user county2's county
DAY = date(2026, 11, 28)
AT = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)  # 07:00 the next morning in Shanghai
TODAY = {"cases.new": 12, "cases.cumulative": 140, "cases.found_controlled": 9,
         "cases.found_community": 3, "contacts.awaiting": 40,
         "quarantine.occupied_hotel": 180, "quarantine.capacity_hotel": 300,
         "quarantine.days_left": 4.5, "testing.coverage": 87.5}  # fmt: skip
YESTERDAY = {"cases.new": 15, "cases.cumulative": 128, "cases.found_controlled": 10,
             "cases.found_community": 5, "contacts.awaiting": 31,
             "quarantine.occupied_hotel": 150, "quarantine.capacity_hotel": 300,
             "testing.coverage": 80.0}  # fmt: skip


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
    assert rows["testing.coverage"][2:] == ["87.5", "80", "7.5"]
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


def test_days_to_lift_and_days_left_past_the_horizon(province: Engine) -> None:
    put_figures(province, PROVINCE, DAY, {"quarantine.days_left": 57_428.0,
                                          "risk_areas.high_days_to_lift": 3.0})  # fmt: skip
    put_figures(
        province,
        PROVINCE,
        DAY - timedelta(days=1),
        {"quarantine.days_left": 9.0, "risk_areas.high_days_to_lift": 4.0},
    )
    with province.connect() as conn:
        zh = build_briefing(conn, rules(), region_code=PROVINCE, day=DAY, at=AT, lang="zh",
                            tz=TZ)  # fmt: skip
        en = build_briefing(conn, rules(), region_code=PROVINCE, day=DAY, at=AT, lang="en",
                            tz=TZ)  # fmt: skip
    lift = zh.figure("risk_areas.high_days_to_lift")
    assert (lift.today, lift.change, lift.more_than) == (3, -1, None)
    left = zh.figure("quarantine.days_left")
    assert (left.more_than, left.change) == (14, None)  # past the bound: no change either
    html = render_html(zh)
    assert 'id="days-left">&gt; 14<' in html
    assert "57" not in html.split('data-key="quarantine.days_left">')[1].split("</tr>")[0]
    assert '高风险区最近解封（天）</td><td class="num today">3<' in html
    assert 'days to the next high-risk lifting</td><td class="num today">3<' in render_html(en)
    rows = {r[0]: r for r in csv.reader(io.StringIO(render_csv(zh).split("\n\n")[0]))}
    assert rows["quarantine.days_left"][2:] == [">14", "9", ""]


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


# ---- the CLI ----------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, twin_files: dict[str, Path]) -> tuple[dict[str, str], Engine]:
    env = shell_env(tmp_path)
    for args in (["db", "upgrade"], *(["import", k, str(twin_files[k])]
                                      for k in ("regions", "venues", "persons"))):  # fmt: skip
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{tmp_path}/fangkong.db")
    for day, values in ((DAY, TODAY), (DAY - timedelta(days=1), YESTERDAY)):
        put_figures(engine, PROVINCE, day, values)
    return env, engine


def test_cli_writes_the_region_and_its_cities(
    home: tuple[dict[str, str], Engine], tmp_path: Path
) -> None:
    env, engine = home
    target = tmp_path / "out" / "briefing.html"
    result = runner.invoke(app, ["command", "briefing", "--region", PROVINCE, "--date",
                                 DAY.isoformat(), "-o", str(target), "--cities",
                                 "--lang", "en"], env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        cities = cities_of(conn, PROVINCE)
    html = target.read_text("utf-8")
    assert "Daily situation briefing" in html
    assert (tmp_path / "out" / "briefing.csv").read_text("utf-8").startswith("figure,label")
    assert all((tmp_path / "out" / f"briefing-{c}.html").exists() for c in cities)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(command_briefings)).scalar_one() \
            == 1 + len(cities)  # fmt: skip
        audits = conn.execute(select(audit_log.c.action, audit_log.c.outcome)
                              .where(audit_log.c.action == "command.briefing")).all()  # fmt: skip
    assert audits == [("command.briefing", "ok")]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--region", "999999"], "--region"),
        (["--region", PROVINCE, "--date", "2026-13-01"], "--date"),
        (["--region", PROVINCE, "--date", "2999-01-01"], "--date"),
        (["--region", PROVINCE, "--lang", "fr"], "--lang"),
    ],
)
def test_cli_errors_name_the_option_and_write_nothing(
    home: tuple[dict[str, str], Engine], tmp_path: Path, args: list[str], named: str
) -> None:
    env, engine = home
    target = tmp_path / "out" / "b.html"
    result = runner.invoke(app, ["command", "briefing", *args, "-o", str(target)], env=env)
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert re.search(r"[\u4e00-\u9fff]", result.output)  # and in Chinese
    assert not (tmp_path / "out").exists()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(command_briefings)).scalar_one() == 0


def test_cli_date_defaults_to_the_system_clock(
    home: tuple[dict[str, str], Engine], tmp_path: Path
) -> None:
    env, engine = home
    # 07:00 in Shanghai on the day after DAY (the pack's briefing time): the briefing
    # reports on the day just ended by the replayed system clock, DAY
    assert runner.invoke(app, ["clock", "set", "2026-11-29T07:00+08:00"], env=env).exit_code == 0
    result = runner.invoke(app, ["command", "briefing", "--region", PROVINCE, "-o",
                                 str(tmp_path / "b")], env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        row = conn.execute(select(command_briefings.c.day, command_briefings.c.written_at)).one()
    assert row.day == DAY
    assert row.written_at == datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
    assert (tmp_path / "b.html").exists()
    assert (tmp_path / "b.csv").exists()


# ---- pages and API: rights and jurisdiction ---------------------------------------------------


def _stored(engine: Engine, region: str) -> int:
    with write_transaction(engine) as conn:
        return write_on(conn, rules(), region_code=region, day=DAY, at=AT, by="job:briefing",
                        lang="zh", cities=False, tz=TZ)[0].briefing_id  # fmt: skip


def _audits(engine: Engine, action: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.seq)
        )
        return [(r.actor, r.outcome) for r in rows]


def test_pages_list_and_serve_within_the_jurisdiction(world: Engine, tmp_path: Path) -> None:
    mine, other = _stored(world, COUNTY), _stored(world, OTHER)
    app_ = make_app(world, tmp_path)
    epi = logged_in(app_, "epi")  # county 140102
    listing = epi.get("/command/briefings")
    assert listing.status_code == 200
    assert f'id="briefing-{mine}"' in listing.text
    assert f'id="briefing-{other}"' not in listing.text
    assert "每日疫情研判（日报）" in listing.text
    assert "生成时间" in listing.text
    assert "· 县（区）" in listing.text  # the region's level, translated
    own = epi.get(f"/command/briefings/{mine}")
    assert own.status_code == 200
    assert "default-src 'none'" in own.headers["content-security-policy"]
    with world.connect() as conn:
        stored = conn.execute(select(command_briefings.c.html)
                              .where(command_briefings.c.id == mine)).scalar_one()  # fmt: skip
    assert own.text == stored
    assert epi.get(f"/command/briefings/{mine}/csv").text.lstrip("\ufeff").startswith("指标,")
    assert epi.get(f"/command/briefings/{other}").status_code == 404  # as if absent
    assert epi.get("/command/briefings/999999").status_code == 404
    admin = logged_in(app_, "admin")  # the province
    assert f'id="briefing-{other}"' in admin.get("/command/briefings").text
    assert client(app_).get("/command/briefings", follow_redirects=False).status_code in (
        302, 303, 401)  # fmt: skip


def test_page_button_writes_today_with_csrf_and_audit(world: Engine, tmp_path: Path) -> None:
    app_ = make_app(world, tmp_path)
    epi = logged_in(app_, "epi")
    form = epi.get("/command/briefings").text
    refused = epi.post("/command/briefings", data={"region": COUNTY, "csrf_token": "x"},
                       follow_redirects=False)  # fmt: skip
    assert refused.status_code in (400, 403)
    outside = epi.post("/command/briefings", data={"region": OTHER, "csrf_token": csrf_of(form)})
    assert outside.status_code == 404
    assert f"无此区划（{OTHER}）" in outside.text
    done = epi.post("/command/briefings", data={"region": COUNTY, "csrf_token": csrf_of(form)},
                    follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    with world.connect() as conn:
        rows = conn.execute(select(command_briefings.c.region_code,
                                   command_briefings.c.written_by)).all()  # fmt: skip
    assert rows == [(COUNTY, "epi")]
    assert _audits(world, "command.briefing") == [("epi", "out_of_jurisdiction"), ("epi", "ok")]


def test_api_lists_reads_and_writes_within_the_jurisdiction(world: Engine, tmp_path: Path) -> None:
    put_task(world, COUNTY)
    put_figures(world, COUNTY, DAY - timedelta(days=1), {"cases.new": 5})
    put_figures(world, COUNTY, DAY, {"quarantine.days_left": 500.0})  # past the horizon
    mine, other = _stored(world, COUNTY), _stored(world, OTHER)
    app_ = make_app(world, tmp_path)
    epi = logged_in(app_, "epi")
    assert [b["id"] for b in epi.get("/api/v1/command/briefings").json()] == [mine]
    body = epi.get(f"/api/v1/command/briefings/{mine}", params={"lang": "en"}).json()
    new = next(f for f in body["figures"] if f["key"] == "cases.new")
    assert (new["label"], new["today"], new["yesterday"], new["change"]) == (
        "new confirmed", 2, 5, -3)  # fmt: skip
    assert [t["role_label"] for t in body["overdue"]] == ["quarantine-site manager"]
    assert (body["days_left"], body["days_left_more_than"]) == (None, 14)
    left = next(f for f in body["figures"] if f["key"] == "quarantine.days_left")
    assert (left["today"], left["more_than"]) == (None, 14)
    assert new["more_than"] is None
    assert body["day"] == DAY.isoformat()
    assert epi.get(f"/api/v1/command/briefings/{other}").status_code == 404
    assert client(app_).get("/api/v1/command/briefings").status_code == 401
    csrf = {"X-CSRF-Token": epi.get("/api/v1/session").json()["csrf_token"]}
    assert epi.post("/api/v1/command/briefings", json={"region_code": OTHER},
                    headers=csrf).status_code == 404  # fmt: skip
    assert epi.post("/api/v1/command/briefings", json={"region_code": COUNTY, "lang": "fr"},
                    headers=csrf).status_code == 422  # fmt: skip
    written = epi.post("/api/v1/command/briefings", json={"region_code": COUNTY}, headers=csrf)
    assert written.status_code == 201
    assert [w["region_code"] for w in written.json()] == [COUNTY]


# ---- on the figures job's rows (the board's world) --------------------------------------------


def test_on_the_figures_job_and_the_days_area_changes(province: Engine) -> None:
    """The figures job fills two days of the board's world; every number of the briefing
    (HTML and CSV) is the stored row, the change their difference; areas designated and
    lifted are those of the day (just after midnight to midnight included)."""
    from fangkong.command.figures import FigureRules, compute_figures
    from fangkong.riskareas.tables import risk_area_changes, risk_areas

    try:  # the board's world: tests/command/board_world.py once beside the tasks' world
        from tests.command import board_world as w
    except ImportError:
        from tests.command import world as w  # type: ignore[no-redef]

    w.build(province)
    figure_rules = FigureRules.from_pack(load_pack("protocol-9"), w.TZ)
    with write_transaction(province) as conn:
        for back in (1, 0):
            compute_figures(conn, figure_rules, day=w.DAY - timedelta(days=back),
                            at=w.AT - timedelta(days=back))  # fmt: skip
        area = w.put(conn, risk_areas, region_code=w.COUNTY_A, level="medium", name="幸福小区",
                     origin="downgraded", granularity="compound", since=w.local(24),
                     designated_at=w.local(9), code="briefing-area")  # fmt: skip
        for at, before, after, origin in (
            (w.local(0), None, "low", "designated"),
            (w.local(9), None, "high", "designated"),
            (w.local(24), "high", "medium", "downgraded"),
        ):
            w.put(conn, risk_area_changes, area_id=area, at=at, from_level=before,
                  to_level=after, origin=origin)  # fmt: skip
    with province.connect() as conn:
        b = build_briefing(conn, rules(), region_code=PROVINCE, day=w.DAY, at=w.AT,
                           lang="en", tz=w.TZ)  # fmt: skip
        stored = {
            (r.day, r.key): r.value
            for r in conn.execute(select(command_figures).where(
                command_figures.c.region_code == PROVINCE))
        }  # fmt: skip
    html, table = render_html(b), render_csv(b).split("\n\n")[0]
    rows = {r[0]: r for r in csv.reader(io.StringIO(table))}
    before = w.DAY - timedelta(days=1)
    for f in b.figures:
        today, yesterday = stored.get((w.DAY, f.key)), stored.get((before, f.key))
        assert (f.today, f.yesterday) == (today, yesterday), f.key
        if today is not None and yesterday is not None:
            assert f.change == today - yesterday
        cell = re.search(rf'data-key="{re.escape(f.key)}"><td>[^<]*</td>'
                         r'<td class="num today">([^<]*)</td>', html)  # fmt: skip
        assert cell, f.key
        assert cell.group(1) == number(today, f.unit)
        assert rows[f.key][2] == ("" if today is None else f"{today:g}")
    assert b.figure("cases.new").today == 5
    assert [(c.area_name, c.to_label) for c in b.designated] == [("幸福小区", "high risk")]
    assert [(c.from_label, c.to_label) for c in b.lifted] == [("high risk", "medium risk")]
    assert 'id="designated"' in html
    assert "幸福小区" in html


def test_without_command_read_nothing_is_read_or_written(world: Engine) -> None:
    """A caller without ``command.read`` (a venue's scanning device) is refused each use
    case; the refused write is audited and stores nothing."""
    from fangkong.auth.guard import Call
    from fangkong.auth.model import Actor
    from fangkong.command.access_briefing import (
        briefing_numbers,
        list_briefings,
        read_briefing,
        write_briefing,
    )
    from fangkong.errors import Forbidden

    stored = _stored(world, COUNTY)
    device = Actor("device", "device:7", frozenset({"scan.submit"}), COUNTY)
    call = Call(world, b"k" * 32, device, "test", TZ, AT)
    for attempt in (
        lambda: list_briefings(call),
        lambda: read_briefing(call, stored),
        lambda: briefing_numbers(call, rules(), stored, "zh"),
        lambda: write_briefing(call, rules(), region_code=COUNTY),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert _audits(world, "command.briefing") == [("device:7", "forbidden")]
    with world.connect() as conn:
        assert conn.execute(select(func.count()).select_from(command_briefings)).scalar_one() == 1


def test_the_daily_job_writes_the_province_and_every_city(world: Engine) -> None:
    from fangkong.command.briefing import write_daily

    for _ in range(2):  # a re-run replaces the day's rows
        done = write_daily(world, rules(), day=DAY, at=AT, tz=TZ)
    with world.connect() as conn:
        cities = cities_of(conn, PROVINCE)
        rows = conn.execute(select(command_briefings.c.region_code,
                                   command_briefings.c.written_by)).all()  # fmt: skip
    assert [w.region_code for w in done] == [PROVINCE, *cities]
    assert sorted(rows) == sorted((c, "job:briefing") for c in (PROVINCE, *cities))
