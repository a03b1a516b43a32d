"""One clock (issue 14): nothing but fangkong.clock reads the machine clock; the setting;
the replay instant on both backends; pages show the system's time; sessions keep wall time."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, select, update
from typer.testing import CliRunner

from fangkong import clock
from fangkong.arrivals.manifests import ManifestHeader, import_manifest
from fangkong.cli import app as cli_app
from fangkong.errors import BadInput
from fangkong.settings import SettingError, load_settings
from fangkong.store.schema import system_clock, user_sessions
from tests.api.helpers import logged_in, make_app
from tests.arrivals.world import COMPOUND_A, POINT, T0, make_world, traveller
from tests.conftest import database_url, shell_env

SRC = Path(__file__).resolve().parents[1] / "src" / "fangkong"
SHANGHAI = ZoneInfo("Asia/Shanghai")
REPLAY = datetime(2022, 4, 8, 10, 0, tzinfo=SHANGHAI)  # a day of the replayed outbreak

# ---- nothing else reads the machine clock ---------------------------------------------

BANNED = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "time.time",
    "time.time_ns",
    "time.localtime",
    "time.gmtime",
}


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def clock_reads(source: str, filename: str = "<src>") -> list[str]:
    """Every ``line: name`` of ``source`` that reads the machine clock, imports resolved
    (``import datetime as dt``, ``from datetime import date``, ``from time import time``)."""
    tree = ast.parse(source, filename)
    bound: dict[str, str] = {}  # local name -> what it is
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                bound[a.asname or a.name.split(".")[0]] = (
                    a.name if a.asname else a.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time"):
            for a in node.names:
                bound[a.asname or a.name] = f"{node.module}.{a.name}"
                if f"{node.module}.{a.name}" in BANNED:
                    found.append(f"{node.lineno}: from {node.module} import {a.name}")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        name = _dotted(node)
        if name is None:
            continue
        head, _, rest = name.partition(".")
        full = f"{bound.get(head, head)}.{rest}"
        if full in BANNED:
            found.append(f"{node.lineno}: {name}")
    return sorted(found, key=lambda s: int(s.split(":")[0]))


def test_the_scan_finds_every_form() -> None:
    source = (
        "import time\nimport datetime as dt\nfrom datetime import UTC, date, datetime\n"
        "from time import gmtime\nfrom datetime import datetime as D\n"
        "a = datetime.now(UTC)\nb = date.today()\nc = time.time()\nd = dt.datetime.utcnow()\n"
        "e = D.today()\nf = time.monotonic()\ng = clock.today(tz)\nh = dt.date(2022, 1, 1)\n"
        "default = datetime.now\n"
    )
    assert clock_reads(source) == [
        "4: from time import gmtime",
        "6: datetime.now",
        "7: date.today",
        "8: time.time",
        "9: dt.datetime.utcnow",
        "10: D.today",
        "14: datetime.now",
    ]


def test_no_module_but_clock_reads_the_machine_clock() -> None:
    offenders = [
        f"{path.relative_to(SRC.parent)}:{hit}"
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "clock.py"
        for hit in clock_reads(path.read_text(encoding="utf-8"), str(path))
    ]
    assert offenders == [], "read fangkong.clock instead:\n" + "\n".join(offenders)


# ---- the setting ------------------------------------------------------------------------


def test_setting_default_is_auto() -> None:
    assert load_settings({}).clock == clock.AUTO


@pytest.mark.parametrize("text", ["auto", "AUTO", " live "])
def test_setting_words(text: str) -> None:
    assert load_settings({"FANGKONG_CLOCK": text}).clock.mode == text.strip().lower()


def test_setting_fixed_instant_is_utc() -> None:
    got = load_settings({"FANGKONG_CLOCK": "2022-04-08T00:00+08:00"}).clock
    assert got.mode == "fixed"
    assert got.at == datetime(2022, 4, 7, 16, 0, tzinfo=UTC)
    assert got.at is not None
    assert got.at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text", ["yesterday", "2022-04-08", "2022-04-08T00:00", "2022-13-01T00:00Z"]
)
def test_setting_invalid_is_refused_in_both_languages(text: str) -> None:
    with pytest.raises(SettingError) as caught:
        load_settings({"FANGKONG_CLOCK": text})
    message = str(caught.value)
    assert message.startswith("FANGKONG_CLOCK: ")
    assert "时钟设置" in message
    assert "must be auto, live or an ISO-8601 instant" in message
    result = CliRunner().invoke(cli_app, ["settings"], env={"FANGKONG_CLOCK": text})
    assert result.exit_code == 2
    assert "FANGKONG_CLOCK" in result.output


def _settings(tmp_path: Path, value: str = "auto") -> object:
    return load_settings({**shell_env(tmp_path), "FANGKONG_CLOCK": value})


# ---- now(), wall(), today(), frozen() ---------------------------------------------------


def test_unconfigured_is_live() -> None:
    before = clock.wall()
    got = clock.now()
    assert before <= got <= clock.wall()
    assert got.tzinfo is not None
    assert got.utcoffset() == timedelta(0)


def test_fixed_setting_fixes_now_but_not_wall(tmp_path: Path) -> None:
    clock.configure(load_settings({**shell_env(tmp_path), "FANGKONG_CLOCK": REPLAY.isoformat()}))
    assert clock.now() == REPLAY
    assert clock.today(SHANGHAI) == date(2022, 4, 8)
    assert clock.wall().year > 2022


def test_today_is_the_local_date_of_now() -> None:
    late = datetime(2022, 4, 8, 17, 30, tzinfo=UTC)  # 01:30 on 04-09 in Shanghai
    with clock.frozen(late):
        assert clock.today(SHANGHAI) == date(2022, 4, 9)
        assert clock.today(UTC) == date(2022, 4, 8)


def test_frozen_nests_and_restores() -> None:
    with clock.frozen(REPLAY) as at:
        assert at == clock.now() == REPLAY
        with clock.frozen(REPLAY + timedelta(days=1)):
            assert clock.now() == REPLAY + timedelta(days=1)
        assert clock.now() == REPLAY
    assert clock.now().year > 2022
    with pytest.raises(ValueError, match="aware"):
        clock.frozen(datetime(2022, 4, 8)).__enter__()  # noqa: DTZ001 - the point of the test


# ---- the replay instant, on both backends ----------------------------------------------


def test_replay_set_and_cleared(engine: Engine) -> None:
    assert clock.replay(engine) is None
    got = clock.set_replay(engine, REPLAY, by="demo")
    assert got.at == REPLAY
    assert got.at.utcoffset() == timedelta(0)
    stored = clock.replay(engine)
    assert stored is not None
    assert (stored.at, stored.set_by) == (REPLAY, "demo")
    assert abs(stored.set_at - clock.wall()) < timedelta(minutes=5)  # machine time
    clock.set_replay(engine, REPLAY + timedelta(days=1), by="demo")  # moves the one row
    with engine.connect() as conn:
        assert conn.execute(select(system_clock.c.id, system_clock.c.at)).all() == [
            (1, REPLAY + timedelta(days=1))
        ]
    assert clock.clear_replay(engine) is True
    assert clock.replay(engine) is None
    assert clock.clear_replay(engine) is False


def test_replay_inside_a_callers_transaction(engine: Engine) -> None:
    with engine.begin() as conn:
        clock.set_replay(conn, REPLAY, by="loop")
        assert clock.replay(conn) is not None
        conn.rollback()
    assert clock.replay(engine) is None


def test_naive_replay_instant_is_refused(engine: Engine) -> None:
    with pytest.raises(BadInput) as caught:
        clock.set_replay(engine, datetime(2022, 4, 8), by="demo")  # noqa: DTZ001
    assert caught.value.code == "clock.naive"
    assert clock.replay(engine) is None


def test_auto_follows_the_replay_instant(engine: Engine, tmp_path: Path) -> None:
    clock.configure(load_settings(shell_env(tmp_path)), engine)
    assert clock.now().year > 2022  # no replay instant: live
    clock.set_replay(engine, REPLAY, by="demo")
    assert clock.now() == REPLAY  # this process sees its own change at once
    assert clock.today(SHANGHAI) == date(2022, 4, 8)
    assert clock.wall().year > 2022
    clock.clear_replay(engine)
    assert clock.now().year > 2022


def test_auto_reads_the_row_at_most_once_per_ttl(engine: Engine, tmp_path: Path) -> None:
    clock.set_replay(engine, REPLAY, by="demo")
    queries: list[str] = []

    def count(*args: object) -> None:
        statement = str(args[2])
        if statement.startswith("SELECT") and "system_clock" in statement:
            queries.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    clock.configure(load_settings(shell_env(tmp_path)), engine)
    assert [clock.now() for _ in range(1000)] == [REPLAY] * 1000
    assert len(queries) == 1  # cached: the scan path does not query per call
    # another process moves the row: seen when the cache goes stale
    with engine.begin() as conn:
        conn.execute(update(system_clock).values(at=REPLAY + timedelta(days=2)))
    clock._state.replay_until = 0.0  # the TTL has passed
    assert clock.now() == REPLAY + timedelta(days=2)
    assert len(queries) == 2
    event.remove(engine, "before_cursor_execute", count)


def test_live_and_fixed_settings_ignore_the_row(engine: Engine, tmp_path: Path) -> None:
    clock.set_replay(engine, REPLAY, by="demo")
    clock.configure(load_settings({**shell_env(tmp_path), "FANGKONG_CLOCK": "live"}), engine)
    assert clock.now().year > 2022
    fixed = datetime(2022, 5, 1, tzinfo=UTC)
    env = {**shell_env(tmp_path), "FANGKONG_CLOCK": fixed.isoformat()}
    clock.configure(load_settings(env), engine)
    assert clock.now() == fixed
    assert clock.reading(engine).source == "fixed"
    clock.configure(None)
    assert clock.now().year > 2022  # unconfigured: live, whatever the database holds


def test_unmigrated_database_reads_as_live(empty_engine: Engine, tmp_path: Path) -> None:
    clock.configure(load_settings(shell_env(tmp_path)), empty_engine)
    assert clock.now().year > 2022


# ---- the command line -------------------------------------------------------------------


def test_clock_commands(engine: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {**shell_env(tmp_path), "FANGKONG_DATABASE_URL": database_url(engine)}
    shown = runner.invoke(cli_app, ["clock", "show"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "mode 模式: auto" in shown.output
    assert "source 来源: live" in shown.output
    done = runner.invoke(cli_app, ["clock", "set", "2022-04-08T10:00+08:00"], env=env)
    assert done.exit_code == 0, done.output
    stored = clock.replay(engine)
    assert stored is not None
    assert stored.at == REPLAY
    assert stored.set_by.startswith("cli:")
    shown = runner.invoke(cli_app, ["clock", "show"], env=env)
    assert "source 来源: replay" in shown.output
    assert "2022-04-08T10:00:00+08:00" in shown.output
    bad = runner.invoke(cli_app, ["clock", "set", "2022-04-08"], env=env)
    assert bad.exit_code == 2
    assert "时钟设置" in bad.output
    assert "with offset" in bad.output
    assert clock.replay(engine) == stored  # nothing written
    fixed = runner.invoke(cli_app, ["clock", "show"], env={**env, "FANGKONG_CLOCK": "live"})
    assert "source 来源: live" in fixed.output
    assert "not used" in fixed.output
    live = runner.invoke(cli_app, ["clock", "live"], env=env)
    assert live.exit_code == 0
    assert "cleared" in live.output
    assert clock.replay(engine) is None
    assert clock.now().year > 2022  # the command left no configured clock behind


# ---- pages show the system's time; sessions keep machine time ---------------------------


def _arrival(province: Engine) -> None:
    w = make_world(province)
    import_manifest(
        province,
        ManifestHeader("CA1234-20220318", "flight", "CA1234", POINT),
        [traveller(1, f"{COMPOUND_A}@2022-03-15")],
        w.rules,
        sealer=w.sealer,
        codes=w.codes,
        by="test",
        at=T0,
    )


def test_arrivals_board_shows_the_replay_day(province: Engine, tmp_path: Path) -> None:
    _arrival(province)
    epi = logged_in(make_app(province, tmp_path), "epi")
    clock.set_replay(province, T0 + timedelta(minutes=20), by="demo")
    page = epi.get("/arrivals")
    assert page.status_code == 200
    assert "2022-03-18 10:20" in page.text  # as of the replayed instant, Shanghai time
    assert re.search(r'class="overdue-count"[^>]*>0<', page.text)  # just landed: nobody late
    clock.set_replay(province, REPLAY, by="demo")
    page = epi.get("/arrivals")
    assert "2022-04-08" in page.text
    assert str(clock.wall().year) not in page.text
    assert re.search(r'class="overdue-count"[^>]*>1<', page.text)  # three weeks on: late


def test_sessions_keep_machine_time_under_a_replay_clock(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path, FANGKONG_SESSION_IDLE_MINUTES="30")
    clock.set_replay(province, REPLAY, by="demo")  # the business clock is years behind
    c = logged_in(app, "epi")
    assert clock.now() == REPLAY
    assert c.get("/api/v1/summary").status_code == 200  # not expired by the old clock
    with province.connect() as conn:
        seen = conn.execute(select(user_sessions.c.last_seen_at)).scalar_one()
    assert seen.year > 2022  # sessions are stamped with machine time
    with province.begin() as conn:
        conn.execute(
            update(user_sessions).values(last_seen_at=clock.wall() - timedelta(minutes=31))
        )
    assert c.get("/api/v1/summary").status_code == 401  # idle expiry still works
    with province.connect() as conn:
        assert conn.execute(select(user_sessions)).all() == []
