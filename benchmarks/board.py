"""Benchmark: the command board's open and the province's briefing on a province with an
outbreak in progress (issue 18), against scanning raw tables per view.

    .venv/bin/python benchmarks/board.py [--people 1000000] [--db FILE] [--opens 50]
                                         [--baseline-opens 50] [--seed 1]
                                         [--backend sqlite|postgres [--pg-url URL]] [--serve]

1. The world (``benchmarks/command_world.py``): built into ``--db`` (a temporary file
   when not given), or reused when ``--db`` names an existing file built by it.
2. Ours, timed with the clock pinned at the world's ``NOW``: the figures job
   (``command.figures.run_figures``) for the day, after the 13 days before (untimed);
   ``--opens`` opens of the board of the province and of the outbreak's first county
   (p50 / p95) through ``command.access_board.board`` as a province commander, then as
   the page ``/command`` and the API ``/api/v1/command/board`` through the app in-process;
   the province's briefing written (``command.briefing.write_briefings``), first in the
   process, warm, and with its cities'. A step whose module is not on the branch is
   replaced by a stand-in and says so (figures filled from the raw counts; the board read
   as the design's queries on ``command_figures``).
3. The baseline, in the same run and timed the same way: the same figures of the board
   (the region's tiles, its 14-day curve and its children's cases) computed per open by
   direct ``COUNT``/``GROUP BY`` queries over the raw tables — the region's subtree by a
   recursive query on ``regions``, persons by their residence — without the figures table.

``--backend postgres``: the world (built on SQLite, or reused) is copied into a new
database on the server of ``--pg-url`` (``command_world.to_postgres``) and steps 2 are
measured there; the baseline's SQL is SQLite's and is not run. ``--serve``: the page and
the API also timed through a real ``fangkong serve`` process with httpx over TCP.

Goal (issue 18): the board opens in ≤ 1 s p95 for 1,000,000 persons, the province's
briefing is written in ≤ 10 s, on SQLite on 2 cores. The machine may be shared: CPU
seconds are printed beside wall seconds.
"""

# ruff: noqa: S608 - the baseline's SQL is fixed text; values go in as parameters
from __future__ import annotations

import argparse
import importlib
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import command_world as cw

GOAL_OPEN_S = 1.0
GOAL_BRIEFING_S = 10.0
OPEN_STATUSES = ("open", "acknowledged", "in_progress")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[[], Any], n: int) -> tuple[list[float], Any]:
    """Wall seconds of ``n`` calls of ``fn`` (the last result kept)."""
    out: Any = None
    spent = []
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        spent.append(time.perf_counter() - t)
    return spent, out


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]


def ms(x: float) -> str:
    return f"{x * 1000:,.1f} ms" if x < 0.1 else f"{x * 1000:,.0f} ms"


def fmt(xs: list[float]) -> str:
    return f"p50 {ms(statistics.median(xs))}, p95 {ms(p95(xs))}"


# -- the baseline: raw tables scanned per view -------------------------------------------

_SUB = (
    "WITH RECURSIVE sub(code) AS (SELECT :r UNION ALL "
    "SELECT g.code FROM regions g JOIN sub ON g.parent_code = sub.code) "
)
_LOCAL = "'+8 hours'"  # Asia/Shanghai, no daylight saving: the local day of a UTC stamp

RAW = {
    # found under control (as the figures job reads tracing.control's rule): at the
    # confirming sample (earliest positive single tube) a centralised or home placement
    # had been made and not ended, or the case's compound was a high-risk (sealed) area
    "cases": _SUB
    + (
        ", positive(person_id, at) AS (SELECT m.person_id, min(t.collected_at)"
        "   FROM testing_results r JOIN testing_tubes t ON t.id = r.tube_id"
        "   JOIN testing_tube_members m ON m.tube_id = t.id"
        "   WHERE t.pool_size = 1 AND r.outcome = 'positive' GROUP BY m.person_id)"
        " SELECT date(c.registered_at, " + _LOCAL + ") AS d, count(*) AS n,"
        " coalesce(sum(EXISTS (SELECT 1 FROM quarantine_placements q"
        "   WHERE q.person_id = c.person_id AND q.kind IN ('centralised', 'home_quarantine')"
        "   AND q.created_at <= s.at AND (q.ended_at IS NULL OR q.ended_at > s.at))"
        "  OR EXISTS (SELECT 1 FROM risk_areas a JOIN risk_area_changes ch ON ch.area_id = a.id"
        "   WHERE a.region_code = p.residence_code AND ch.to_level = 'high' AND ch.at <= s.at)"
        " ), 0) AS controlled"
        " FROM tracing_cases c JOIN persons p ON p.id = c.person_id"
        " LEFT JOIN positive s ON s.person_id = c.person_id"
        " WHERE p.residence_code IN (SELECT code FROM sub) AND c.registered_at < :d1"
        " GROUP BY d"
    ),
    # awaiting: identified, notified or lost with no placement in force; overdue: awaiting
    # 24 h after the first report behind the exposure
    "contacts": _SUB
    + (
        "SELECT count(*) AS identified,"
        " coalesce(sum(q.kind = 'centralised'), 0) AS placed,"
        " coalesce(sum(q.kind = 'home_quarantine'), 0) AS home_orders,"
        " coalesce(sum(t.status IN ('identified', 'notified', 'lost') AND q.id IS NULL), 0),"
        " coalesce(sum(t.status IN ('identified', 'notified', 'lost') AND q.id IS NULL"
        "   AND coalesce((SELECT min(k.registered_at) FROM tracing_exposures e"
        "     JOIN tracing_cases k ON k.id = e.case_id WHERE e.contact_id = t.id),"
        "     t.identified_at) < :overdue), 0)"
        " FROM tracing_contacts t JOIN persons p ON p.id = t.person_id"
        " LEFT JOIN quarantine_placements q ON q.person_id = t.person_id AND q.active"
        " WHERE p.residence_code IN (SELECT code FROM sub)"
    ),
    "quarantine": _SUB
    + (
        "SELECT f.kind, f.status, count(r.id) AS rooms,"
        " coalesce(sum(r.state = 'occupied'), 0) AS occupied"
        " FROM quarantine_facilities f JOIN quarantine_rooms r ON r.facility_id = f.id"
        " WHERE f.region_code IN (SELECT code FROM sub) GROUP BY f.kind, f.status"
    ),
    "risk_areas": _SUB
    + (
        "SELECT level, count(*) FROM risk_areas"
        " WHERE region_code IN (SELECT code FROM sub) GROUP BY level"
    ),
    "campaign": _SUB
    + (
        ", camp(code) AS (SELECT region_code FROM testing_campaigns"
        "   WHERE starts_at < :d1 AND (closed_at IS NULL OR closed_at >= :d0)"
        "   UNION SELECT g.code FROM regions g JOIN camp ON g.parent_code = camp.code)"
        " SELECT (SELECT count(*) FROM persons p WHERE p.residence_code IN (SELECT code FROM sub)"
        "   AND p.residence_code IN (SELECT code FROM camp)) AS persons,"
        " (SELECT count(DISTINCT m.person_id) FROM testing_tube_members m"
        "   JOIN testing_tubes t ON t.id = m.tube_id JOIN persons p ON p.id = m.person_id"
        "   JOIN testing_campaigns c ON c.id = t.campaign_id"
        "   WHERE c.starts_at < :d1 AND (c.closed_at IS NULL OR c.closed_at >= :d0)"
        "   AND p.residence_code IN (SELECT code FROM sub)) AS tested"
    ),
    "late_tubes": _SUB
    + (
        "SELECT count(*) FROM testing_tubes t WHERE t.region_code IN (SELECT code FROM sub)"
        " AND t.flag IN ('late', 'lost')"
        " AND NOT EXISTS (SELECT 1 FROM testing_results r WHERE r.tube_id = t.id)"
    ),
    "arrivals": _SUB
    + (
        "SELECT stage, count(*),"
        " coalesce(sum(due_at < :now AND stage NOT IN ('managed', 'released')), 0)"
        " FROM arrivals_travellers WHERE responsible_region IN (SELECT code FROM sub)"
        " GROUP BY stage"
    ),
    "codes": _SUB
    + (
        "SELECT h.colour, count(*) FROM health_codes h JOIN persons p ON p.id = h.person_id"
        " WHERE p.residence_code IN (SELECT code FROM sub) GROUP BY h.colour"
    ),
    "alerts": _SUB
    + (
        "SELECT count(*) FROM alerts WHERE region_code IN (SELECT code FROM sub)"
        " AND status IN ('raised', 'verified', 'investigated')"
    ),
    "tasks": _SUB
    + (
        "SELECT count(*), coalesce(sum(deadline_at >= :d0 AND deadline_at < :d1), 0),"
        " coalesce(sum(deadline_at < :now), 0) FROM command_tasks"
        " WHERE region_code IN (SELECT code FROM sub)"
        " AND status IN ('open', 'acknowledged', 'in_progress')"
    ),
    "children": (
        "WITH RECURSIVE sub(code, child) AS (SELECT code, code FROM regions"
        "   WHERE parent_code = :r UNION ALL"
        "   SELECT g.code, sub.child FROM regions g JOIN sub ON g.parent_code = sub.code)"
        " SELECT sub.child, count(*),"
        " coalesce(sum(c.registered_at >= :d0 AND c.registered_at < :d1), 0)"
        " FROM tracing_cases c JOIN persons p ON p.id = c.person_id"
        " JOIN sub ON sub.code = p.residence_code WHERE c.registered_at < :d1"
        " GROUP BY sub.child"
    ),
}


def raw_board(conn: Any, region: str) -> dict[str, float]:
    """The board's figures for ``region`` on the world's day, counted from raw tables."""
    from sqlalchemy import text

    d0 = cw.day_start(cw.TODAY).astimezone(UTC)
    now = cw.NOW.astimezone(UTC)
    stamp = lambda at: at.strftime(cw._TS)  # noqa: E731
    args = {
        "r": region,
        "d0": stamp(d0),
        "d1": stamp(d0 + timedelta(days=1)),
        "now": stamp(now),
        "overdue": stamp(now - timedelta(hours=24)),
        "late": stamp(now - timedelta(hours=24)),
    }
    q = {k: conn.execute(text(sql), args).all() for k, sql in RAW.items()}
    f: dict[str, float] = {}
    today = cw.TODAY.isoformat()
    first = (cw.TODAY - timedelta(days=cw.DAYS - 1)).isoformat()
    f["cases.cumulative"] = sum(r[1] for r in q["cases"])
    f["cases.new"] = sum(r[1] for r in q["cases"] if r[0] == today)
    # found under control / in the community: the day's new cases split (as the curve is)
    f["cases.found_controlled"] = sum(r[2] for r in q["cases"] if r[0] == today)
    f["cases.found_community"] = f["cases.new"] - f["cases.found_controlled"]
    for r in q["cases"]:
        if r[0] >= first:
            f[f"curve.{r[0]}"], f[f"curve_controlled.{r[0]}"] = r[1], r[2]
    c = q["contacts"][0]
    for i, k in enumerate(("identified", "placed", "home_orders", "awaiting", "overdue")):
        f[f"contacts.{k}"] = c[i]
    for kind in ("hotel", "standby", "fangcang"):
        f[f"quarantine.capacity_{kind}"] = f[f"quarantine.occupied_{kind}"] = 0
    for kind, status, rooms, occupied in q["quarantine"]:
        group = (
            "standby"
            if status in ("standby", "activating")
            else kind
            if status == "open" and kind in ("hotel", "fangcang")
            else None
        )
        if group:
            f[f"quarantine.capacity_{group}"] += rooms
            f[f"quarantine.occupied_{group}"] += occupied
    for level in ("high", "medium", "low"):
        f[f"risk_areas.{level}"] = 0
    for level, n in q["risk_areas"]:
        f[f"risk_areas.{level}"] = n
    persons, tested = q["campaign"][0]
    f["testing.campaign_persons"], f["testing.campaign_tested"] = persons, tested
    f["testing.coverage"] = round(100 * tested / persons, 1) if persons else 0
    f["testing.late_tubes"] = q["late_tubes"][0][0]
    overdue = 0
    for stage, n, late in q["arrivals"]:
        f[f"arrivals.{stage}"] = n
        overdue += late
    f["arrivals.overdue"] = overdue
    for colour, n in q["codes"]:
        f[f"codes.{colour}"] = n
    f["work.alerts_open"] = q["alerts"][0][0]
    f["work.tasks_open"], f["work.tasks_due_today"], f["work.tasks_overdue"] = q["tasks"][0]
    for child, cum, new in q["children"]:
        f[f"child.{child}.cumulative"], f[f"child.{child}.new"] = cum, new
    return f


def breakdown(engine: Any, region: str) -> dict[str, float]:
    """Seconds of each of the baseline's queries for ``region`` (one run each)."""
    from sqlalchemy import text

    d0 = cw.day_start(cw.TODAY).astimezone(UTC)
    now = cw.NOW.astimezone(UTC)
    args = {
        "r": region,
        "d0": d0.strftime(cw._TS),
        "d1": (d0 + timedelta(days=1)).strftime(cw._TS),
        "now": now.strftime(cw._TS),
        "overdue": (now - timedelta(hours=24)).strftime(cw._TS),
        "late": (now - timedelta(hours=24)).strftime(cw._TS),
    }
    out = {}
    with engine.connect() as conn:
        for name, sql in RAW.items():
            t = time.perf_counter()
            conn.execute(text(sql), args).all()
            out[name] = time.perf_counter() - t
    return out


def baseline(engine: Any, region: str, opens: int) -> tuple[list[float], dict[str, float]]:
    def open_once() -> dict[str, float]:
        with engine.connect() as conn:
            return raw_board(conn, region)

    return timed(open_once, opens)


# -- ours: the figures job, the board, the briefing ---------------------------------------


def available(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def ours(engine: Any, regions: dict[str, str], opens: int) -> dict[str, Any]:
    """Time the figures job, the board's opens and the briefing where they exist here."""
    out: dict[str, Any] = {}
    figures = available("fangkong.command.figures")
    if figures is None or not hasattr(figures, "run_figures"):
        print(
            "  figures job: not on this branch (command.figures.run_figures); the "
            "province's and cities' figures are filled from the raw-table counts instead"
        )
        t = time.perf_counter()
        stand_in_figures(engine, regions["province"])
        print(f"  stand-in figures: {time.perf_counter() - t:.2f} s (not a measure of ours)")
    else:
        out.update(figures_job(figures, engine))
    access = available("fangkong.command.access_board")
    for name, region in regions.items():
        if access is not None and hasattr(access, "board"):
            open_board = _guarded_board(access, engine, region)
            what = "command.access_board.board: a commander's guarded, audited read"
        else:
            open_board = lambda r=region: _read_figures(engine, r)  # noqa: E731
            what = "stand-in: the design's three reads of command_figures"
        spent, _ = timed(open_board, opens)
        out[f"open_{name}"] = spent
        out["open_what"] = what
        print(f"  board open, {name} {region}: {fmt(spent)} over {opens} ({what})")
    if access is not None and available("fangkong.web.command_pages") is not None:
        out.update(http_opens(engine, regions, opens))
    briefing = available("fangkong.command.briefing")
    if briefing is None:
        print("  briefing: not on this branch (command.briefing)")
        return out
    # the first write also loads the chart library (as a CLI run does); the second is warm
    runs = (("briefing_cold_s", False), ("briefing_s", False), ("briefings_cities_s", True))
    label = {"briefing_cold_s": " (first)", "briefings_cities_s": " and every city"}
    for name, cities in runs:
        t, cpu = time.perf_counter(), _cpu()
        files, size = _write_briefing(briefing, engine, regions["province"], cities)
        out[name] = (time.perf_counter() - t, _cpu() - cpu)
        print(
            f"  briefing of the province{label.get(name, '')}: "
            f"{out[name][0]:.2f} s ({out[name][1]:.2f} s CPU), {files} files, "
            f"{size / 1024:,.0f} KiB"
        )
    return out


def figures_job(figures: Any, engine: Any) -> dict[str, Any]:
    """The figures job for each day of the outbreak (the curve's days, untimed, as the
    daily runs would have left them), then for the world's day, timed."""
    from fangkong.policy import load_pack

    with engine.begin() as conn:  # a stand-in of an earlier run must not linger
        conn.exec_driver_sql("DELETE FROM command_figures")
    rules = figures.FigureRules.from_pack(load_pack("protocol-9"), cw.TZ)
    t = time.perf_counter()
    for d in range(cw.DAYS - 1, 0, -1):
        figures.run_figures(engine, rules, day=cw.TODAY - timedelta(days=d))
    print(f"  figures job for the {cw.DAYS - 1} days before: {time.perf_counter() - t:.1f} s")
    t, cpu = time.perf_counter(), _cpu()
    result = figures.run_figures(engine, rules, day=cw.TODAY)
    took = (time.perf_counter() - t, _cpu() - cpu)
    print(
        f"  figures job for {cw.TODAY}: {took[0]:.2f} s ({took[1]:.2f} s CPU); "
        f"{result.regions:,} regions, {result.rows:,} rows"
    )
    return {"figures_s": took, "figures_rows": result.rows}


_READS = (
    # the region's tiles: the latest day with figures up to the day asked
    "SELECT key, value, computed_at FROM command_figures WHERE region_code = :r AND day ="
    " (SELECT max(day) FROM command_figures WHERE region_code = :r AND day <= :d)",
    # the curve
    "SELECT day, key, value FROM command_figures WHERE region_code = :r AND day >= :first"
    " AND day <= :d AND key IN ('cases.new', 'cases.found_controlled',"
    " 'cases.found_community')",
    # the drill-down: the same keys for the children, with their names
    "SELECT g.code, g.name, f.key, f.value FROM regions g JOIN command_figures f"
    " ON f.region_code = g.code AND f.day = :d WHERE g.parent_code = :r",
    "SELECT name, level FROM regions WHERE code = :r",
)


def _read_figures(engine: Any, region: str) -> list[Any]:
    """The board's reads as docs/command.md designs them, on the figures table alone."""
    from sqlalchemy import text

    args = {
        "r": region,
        "d": cw.TODAY.isoformat(),
        "first": (cw.TODAY - timedelta(days=cw.DAYS - 1)).isoformat(),
    }
    with engine.connect() as conn:
        return [conn.execute(text(sql), args).all() for sql in _READS]


def compare(engine: Any, region: str, raw: dict[str, float]) -> list[str]:
    """Keys where the figures table and the raw-table count differ (definitions may)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                text("SELECT key, value FROM command_figures WHERE region_code = :r AND day = :d"),
                {"r": region, "d": cw.TODAY.isoformat()},
            ).all()
        )
    return [
        f"{k}: figures {stored[k]:,.0f} / raw {v:,.0f}"
        for k, v in raw.items()
        if k in stored and abs(stored[k] - v) > 0.5
    ]


def stand_in_figures(engine: Any, province: str) -> None:
    """Fill ``command_figures`` for the province and its cities from the raw-table counts
    (the day's figures, the day before's, and the curve's cases) so the briefing has its
    input while the figures job is not on this branch. Not timed as ours."""
    from sqlalchemy import text

    with engine.begin() as conn:
        cities = [
            r[0]
            for r in conn.execute(
                text("SELECT code FROM regions WHERE parent_code = :p"), {"p": province}
            )
        ]
        rows = []
        at = cw.ts(cw.NOW)
        for region in (province, *cities):
            f = raw_board(conn, region)
            for key, value in f.items():
                if "." in key and not key.startswith(("curve", "child.")):
                    rows.append((region, cw.TODAY.isoformat(), key, float(value), at))
            for d in range(cw.DAYS):
                day = (cw.TODAY - timedelta(days=d)).isoformat()
                new, ctl = f.get(f"curve.{day}", 0), f.get(f"curve_controlled.{day}", 0)
                for key, value in (
                    ("cases.new", new),
                    ("cases.found_controlled", ctl),
                    ("cases.found_community", new - ctl),
                ):
                    rows.append((region, day, key, float(value), at))
        conn.exec_driver_sql(
            "INSERT OR REPLACE INTO command_figures (region_code, day, key, value, computed_at)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )


SERVER_KEY = bytes(range(32, 64))  # the bench's own master key (audit chain, sessions)
PASSWORD = "bench horse battery staple"  # noqa: S105 - a bench user of a throwaway world


def bench_user(engine: Any, province: str) -> Any:
    """The bench's commander of the province (kept in a reused world); the server keys."""
    from sqlalchemy import text

    from fangkong.auth.model import cli_actor
    from fangkong.auth.users import add_user
    from fangkong.keys import ServerKeys

    keys = ServerKeys.from_master(SERVER_KEY)
    with engine.connect() as conn:
        known = conn.execute(
            text("SELECT count(*) FROM users WHERE username = 'benchcommander'")
        ).scalar()
    if not known:
        add_user(
            engine, keys.audit, cli_actor(), "benchcommander", PASSWORD, "commander", province,
            "bench",
        )  # fmt: skip
    return keys


def http_opens(engine: Any, regions: dict[str, str], opens: int) -> dict[str, list[float]]:
    """The board as a browser and a client get it, through the app in-process (Starlette's
    TestClient; no network): a commander of the province logged in, then ``opens`` GETs of
    ``/command?region=…`` (the page, rendered) and of ``/api/v1/command/board``."""
    import base64

    from fastapi.testclient import TestClient

    from fangkong.identity.sealing import Sealer
    from fangkong.server.app import create_app
    from fangkong.settings import load_settings

    keys = bench_user(engine, regions["province"])
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="fk-board-home-") as home:
        settings = load_settings(
            {
                "FANGKONG_HOME": home,
                "FANGKONG_SEAL_KEY": base64.b64encode(bytes(32)).decode(),
                "FANGKONG_SERVER_KEY": base64.b64encode(SERVER_KEY).decode(),
                "FANGKONG_INPUT_PAST_DAYS": "3650",
            }
        )
        app = create_app(settings, engine, sealer=Sealer(bytes(32)), keys=keys)
        with TestClient(app, base_url="https://testserver") as c:
            out.update(login_and_open(c, regions, opens, ""))
    return out


def login_and_open(c: Any, regions: dict[str, str], opens: int, label: str) -> dict[str, Any]:
    """Log the bench's commander in through the login form (``c``: an httpx client, or
    Starlette's TestClient, which is one), then ``opens`` GETs of the board's page and API
    for each region, after one untimed GET each; seconds keyed ``<label><kind>_<name>``."""
    out: dict[str, Any] = {}
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    r = c.post(
        "/login",
        data={
            "username": "benchcommander",
            "password": PASSWORD,
            "csrf_token": token.group(1) if token else "",
        },
        follow_redirects=False,
    )
    if r.status_code != 303:
        print(f"  {label}page: login refused ({r.status_code}); not measured")
        return out
    for name, region in regions.items():
        for kind, path in (("page", "/command"), ("api", "/api/v1/command/board")):

            def get(p: str = path, rg: str = region) -> int:
                got = c.get(p, params={"region": rg})
                if got.status_code != 200:
                    raise RuntimeError(f"{p} {rg}: {got.status_code}")
                return len(got.content)

            get()  # the first request of a path warms caches (templates, statements)
            spent, size = timed(get, opens)
            out[f"{label.replace(' ', '_')}{kind}_{name}"] = spent
            print(
                f"  {label}{kind} {path}, {name} {region}: {fmt(spent)} over {opens} "
                f"({size / 1024:,.0f} KiB)"
            )
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def served_opens(url: str, regions: dict[str, str], opens: int) -> dict[str, list[float]]:
    """The board through a real server: ``fangkong serve`` started as its own process on
    the world's database (clock fixed at the world's ``NOW``), a commander of the
    province logged in over HTTP with httpx (one kept-alive connection, as a browser), then
    ``opens`` GETs of the page ``/command?region=…`` and of ``/api/v1/command/board`` —
    the request parsed, the guarded read, the page rendered, the bytes sent over TCP."""
    import base64
    import os
    import subprocess

    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "FANGKONG_DATABASE_URL": url,
        "FANGKONG_SEAL_KEY": base64.b64encode(bytes(32)).decode(),
        "FANGKONG_SERVER_KEY": base64.b64encode(SERVER_KEY).decode(),
        "FANGKONG_CLOCK": cw.NOW.isoformat(),
        "FANGKONG_COOKIE_SECURE": "false",
        "FANGKONG_INPUT_PAST_DAYS": "3650",
    }
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="fk-board-serve-") as home:
        env["FANGKONG_HOME"] = home
        server = subprocess.Popen(
            [sys.executable, "-m", "fangkong", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=60) as c:
                for _ in range(300):  # the server imports and checks the schema first
                    try:
                        if c.get("/login").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.2)
                else:
                    raise RuntimeError("fangkong serve did not answer in 60 s")
                out.update(login_and_open(c, regions, opens, "served "))
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    return out


def _guarded_board(access: Any, engine: Any, region: str) -> Callable[[], Any]:
    """One open of the board as the page and the API make it: a commander of the whole
    province (the role's rights as stored), ``command.read`` checked, the region bounded
    and inside the jurisdiction, the read audited, the links the reader may follow."""
    from sqlalchemy import text

    from fangkong.auth.guard import Call
    from fangkong.auth.model import Actor
    from fangkong.command.rules import CommandRules
    from fangkong.policy import load_pack

    with engine.connect() as conn:
        rights = frozenset(
            conn.execute(
                text("SELECT \"right\" FROM role_rights WHERE role = 'commander'")
            ).scalars()
        )
    actor = Actor("user", "bench-commander", rights, None, role="commander")
    call = Call(engine, b"k" * 32, actor, "bench", cw.TZ, cw.NOW.astimezone(UTC))
    rules = CommandRules.from_pack(load_pack("protocol-9"))
    return lambda: access.board(call, rules, region=region)


def _write_briefing(briefing: Any, engine: Any, region: str, cities: bool) -> tuple[int, int]:
    """Write the briefing(s) into a temporary folder; the number of files and their bytes."""
    from fangkong.command.rules import CommandRules
    from fangkong.policy import load_pack

    rules = CommandRules.from_pack(load_pack("protocol-9"))
    with tempfile.TemporaryDirectory(prefix="fk-briefing-") as tmp:
        paths: list[Path] = briefing.write_briefings(
            engine,
            rules,
            region_code=region,
            day=cw.TODAY,
            at=cw.NOW.astimezone(UTC),
            by="bench",
            out_dir=Path(tmp),
            lang="zh",
            cities=cities,
            tz=cw.TZ,
        )
        return len(paths), sum(p.stat().st_size for p in paths)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--db",
        type=Path,
        default=None,
        help="the world's SQLite file: reused when it exists, else built there",
    )
    ap.add_argument("--opens", type=int, default=50)
    ap.add_argument("--baseline-opens", type=int, default=50)
    ap.add_argument(
        "--backend",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="postgres: the world (built on SQLite) is copied into --pg-url and measured there",
    )
    ap.add_argument(
        "--pg-url",
        default=os.environ.get("FANGKONG_TEST_POSTGRES_URL"),
        help="a PostgreSQL server's URL (default FANGKONG_TEST_POSTGRES_URL, as "
        "scripts/with-postgres sets it); the world goes into a new database fk_command_world",
    )
    ap.add_argument(
        "--serve",
        action="store_true",
        help="also time GETs of the board page and API through a `fangkong serve` process",
    )
    args = ap.parse_args(argv)
    if args.backend == "postgres" and not args.pg_url:
        ap.error("--backend postgres needs --pg-url (or run under scripts/with-postgres)")
    with tempfile.TemporaryDirectory(prefix="fk-board-") as tmp:
        db = (args.db or Path(tmp) / "world.db").resolve()
        return run(db, args)


def run(db: Path, args: argparse.Namespace) -> int:
    from sqlalchemy import text

    from fangkong import clock
    from fangkong.store.engine import make_engine

    if db.exists():
        print(f"world: reusing {db}")
        print(cw.describe(cw.load(db)))
    else:
        print(f"world: building {args.people:,} persons into {db}")
        t = time.perf_counter()
        world = cw.build(db, args.people, args.seed)
        print(f"  built in {time.perf_counter() - t:.1f} s")
        print(cw.describe(world))
    url = f"sqlite:///{db}"
    if args.backend == "postgres":
        t = time.perf_counter()
        url, rows = cw.to_postgres(db, args.pg_url)
        print(
            f"  copied {sum(rows.values()):,} rows into PostgreSQL in "
            f"{time.perf_counter() - t:.1f} s"
        )
    engine = make_engine(url)
    with engine.connect() as conn:
        province = conn.execute(text("SELECT code FROM regions WHERE level='province'")).scalar()
        people = conn.execute(text("SELECT count(*) FROM persons")).scalar()
        county = conn.execute(
            text(
                "SELECT substr(p.residence_code, 1, 6) AS county FROM tracing_cases c"
                " JOIN persons p ON p.id = c.person_id GROUP BY 1 ORDER BY count(*) DESC"
                " LIMIT 1"
            )
        ).scalar()
    regions = {"province": str(province), "county": str(county)}
    print(f"\n{people:,} persons; province {province}, county {county}; clock at {cw.NOW}")
    base: dict[str, list[float]] = {}
    raw: dict[str, dict[str, float]] = {}
    with clock.frozen(cw.NOW):
        print(f"ours ({args.backend}):")
        mine = ours(engine, regions, args.opens)
        if args.serve:
            bench_user(engine, regions["province"])
            mine.update(served_opens(url, regions, args.opens))
        if args.backend != "sqlite":  # the baseline's SQL is SQLite's (date modifiers)
            engine.dispose()
            report(people, regions, mine, base, raw, args.backend)
            return 0
        print("baseline (raw tables per view):")
        for name, region in regions.items():
            cpu = _cpu()
            base[name], raw[name] = baseline(engine, region, args.baseline_opens)
            print(
                f"  open, {name} {region}: {fmt(base[name])} over {args.baseline_opens} "
                f"({(_cpu() - cpu) / args.baseline_opens * 1000:,.0f} ms CPU each)"
            )
        if "figures_s" in mine:
            for name, region in regions.items():
                differ = compare(engine, region, raw[name])
                print(
                    f"  {name}: figures table vs raw counts — "
                    + ("; ".join(differ) if differ else "every shared key equal")
                )
        parts = breakdown(engine, regions["province"])
        print(
            "  the province's open by query: "
            + ", ".join(
                f"{k} {v * 1000:,.0f} ms" for k, v in sorted(parts.items(), key=lambda kv: -kv[1])
            )
        )
    engine.dispose()
    report(people, regions, mine, base, raw, args.backend)
    return 0


def report(
    people: int,
    regions: dict[str, str],
    mine: dict[str, Any],
    base: dict[str, list[float]],
    raw: dict[str, dict[str, float]],
    backend: str = "sqlite",
) -> None:
    title = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
    print(f"\n## Board of {people:,} persons, {title}\n")
    print("| view | ours p50 | ours p95 | raw tables p50 | raw tables p95 | ratio (p95) |")
    print("|---|---:|---:|---:|---:|---:|")

    def row(label: str, o: list[float] | None, b: list[float] | None) -> None:
        cells = f"{ms(statistics.median(o))} | {ms(p95(o))}" if o else "— | —"
        theirs = f"{ms(statistics.median(b))} | {ms(p95(b))}" if b else "— | —"
        ratio = f"{p95(b) / p95(o):,.0f}×" if o and b else "—"
        print(f"| {label} | {cells} | {theirs} | {ratio} |")

    for name, region in regions.items():
        row(f"{name} {region}", mine.get(f"open_{name}"), base.get(name))
    for kind in ("page", "api"):
        for name, region in regions.items():
            if mine.get(f"{kind}_{name}"):
                row(f"{name} {region}, {kind} over HTTP (in-process)", mine[f"{kind}_{name}"],
                    base.get(name))  # fmt: skip
    for kind in ("page", "api"):
        for name, region in regions.items():
            if mine.get(f"served_{kind}_{name}"):
                row(f"{name} {region}, {kind} through `fangkong serve` (httpx, TCP)",
                    mine[f"served_{kind}_{name}"], base.get(name))  # fmt: skip
    if "open_what" in mine:
        print(f"\nours: {mine['open_what']}")
    if "figures_s" in mine:
        print(
            f"figures job for the day: {mine['figures_s'][0]:.2f} s, {mine['figures_rows']:,} rows"
        )
    if "briefings_cities_s" in mine:
        print(f"province and every city's briefing: {mine['briefings_cities_s'][0]:.2f} s")
    if "briefing_cold_s" in mine:
        print(f"province briefing, first in the process: {mine['briefing_cold_s'][0]:.2f} s")
    if "briefing_s" in mine:
        s = mine["briefing_s"][0]
        print(
            f"province briefing: {s:.2f} s (goal ≤ {GOAL_BRIEFING_S:.0f} s: "
            f"{'met' if s <= GOAL_BRIEFING_S else 'not met'})"
        )
    o = mine.get("open_province")
    if o:
        print(
            f"board p95 province: {p95(o):.3f} s (goal ≤ {GOAL_OPEN_S:.0f} s: "
            f"{'met' if p95(o) <= GOAL_OPEN_S else 'not met'})"
        )
    if "province" not in raw:
        return
    print("\nprovince figures from the raw tables (the baseline's answer):")
    f = raw["province"]
    print(", ".join(f"{k} {v:,.0f}" for k, v in f.items() if not k.startswith(("curve", "child."))))


if __name__ == "__main__":
    sys.exit(main())
