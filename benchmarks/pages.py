"""Benchmark: every page in the navigation, and the pages one click deeper that field staff
open, time to first byte and to the last through a real server, against issue 19's goal:
≤ 1 s at p95 on the demo's database, ≤ 2 s on a province of 1,000,000 persons.

    .venv/bin/python benchmarks/pages.py [--home fangkong-data] [--requests 5]
                                         [--before 3862cda] [--no-before] [--scale 1]
    .venv/bin/python benchmarks/pages.py --world 1000000 [--world-db FILE] [--requests 5]
    .venv/bin/python benchmarks/pages.py [--world N --world-db FILE] --profile /quarantine

1. The database: ``--home`` (default ``./fangkong-data``, where ``make demo`` writes);
   when it holds no ``fangkong.db``, ``fangkong demo`` builds it there first (1–3 min).
   The database and keys are copied to a temporary home, so the demo stays as it was;
   an epidemiologist ``bench-epi`` (the issue's reader) is added to the copy.
   ``--scale K`` (default 1: the demo as it is) stores the tracing evidence K times in
   the copy, each copy of every exposure shifted by a further 7 days (as if the same
   outbreak had gone on), to see how the pages grow with it; say so with the figures.
2. Each version runs as its own uvicorn process on 127.0.0.1 over that copy: the code of
   ``--before`` (default 3862cda, the commit before issue 19's changes; its ``src/``
   from ``git archive``, nothing checked out) and then this tree's ``src/``. Each
   version logs in once, then GETs every page its navigation links to (read from the
   home page) plus the public ``/risk-areas``, ``--requests`` times each, on one
   keep-alive connection: the time to the first byte (status line and headers read,
   ``http.client``) and to the last.
   Then the pages one click deeper (``DEEPER``): a case (the one with the most
   contacts), a traveller, a tube, a placement, a person, an alert, a task, a facility,
   a campaign, the province's region page and the venue with the most exposures, each
   a row picked by SQL from the database (the heaviest or the latest of its kind,
   ``deeper_pages``).
3. Printed: a table per version (first request, p50 and p95 of the first byte, the
   body size), then one table of every page with p50/p95 of the first byte and of the
   total, the server process's CPU seconds per request (``/proc``: on a shared machine
   the steadier figure), the goal and whether the page meets it (its p95 first byte),
   the misses listed; with a before version, the before/after ratio of the p50 first
   byte.

``--world N``: the command centre's province (``benchmarks/command_world.py``, N persons,
an outbreak in progress; ~2 min to build at 1,000,000) instead of the demo, goal ≤ 2 s.
``--world-db FILE`` keeps it there and reuses it when FILE exists (a built world is
brought to the schema's head first); the server runs over the file itself (its writes
— sessions, audit — stay in it), with the bench's keys and the system's clock pinned at
the world's ``NOW`` (``FANGKONG_CLOCK``), as ``benchmarks/board.py --serve`` does; an
epidemiologist ``bench-epi`` is added to it. Only this tree is timed unless
``--before`` is given.

``--profile PATH`` (repeatable; either database): instead of timing, PATH through the
app in-process, once to warm and once under cProfile (the ``--top`` functions by
cumulative time; a server error shows its traceback) — how a page that misses its goal
is looked into.

A server error on a page (the connection dropped) is printed with the last line of the
server's log and the page counted as a miss (status 0). The old code can only open a
database at its own schema head; when a later migration has moved the schema, the
"before" run says so and only ours is timed. SQLite only.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
SLOW = ("/tracing/chains", "/risk-areas", "/risk-areas/manage")
BEFORE = "3862cda"
START_S = 120  # a server over the 1M world checks its schema and warms up first
GOAL_DEMO_S = 1.0  # issue 19: p95 on the demo's database
GOAL_WORLD_S = 2.0  # issue 19: p95 for a province of 1,000,000 persons

# one click deeper: the page and the SQL that picks its row (the heaviest or the latest)
DEEPER = (
    ("case", "/tracing/cases/{}",
     "SELECT case_id FROM tracing_exposures GROUP BY case_id ORDER BY count(*) DESC LIMIT 1"),
    ("traveller", "/arrivals/travellers/{}", "SELECT max(id) FROM arrivals_travellers"),
    ("tube", "/testing/tubes/{}",
     "SELECT t.barcode FROM testing_tubes t JOIN testing_results r ON r.tube_id = t.id "
     "ORDER BY t.pool_size DESC, t.id DESC LIMIT 1"),
    ("placement", "/quarantine/placements/{}",
     "SELECT max(id) FROM quarantine_placements WHERE active"),
    ("person", "/persons/{}",
     "SELECT c.person_id FROM tracing_cases c ORDER BY c.id DESC LIMIT 1"),
    ("code", "/codes/{}",
     "SELECT c.person_id FROM tracing_cases c ORDER BY c.id DESC LIMIT 1"),
    ("alert", "/alerts/{}", "SELECT max(id) FROM alerts"),
    ("task", "/command/tasks/{}", "SELECT max(id) FROM command_tasks"),
    ("facility", "/quarantine/facilities/{}",
     "SELECT f.code FROM quarantine_facilities f JOIN quarantine_rooms r "
     "ON r.facility_id = f.id GROUP BY f.id ORDER BY count(*) DESC LIMIT 1"),
    ("campaign", "/testing/campaigns/{}", "SELECT max(id) FROM testing_campaigns"),
    # the region page of the whole province counts every person, household and venue below
    ("region", "/regions/{}", "SELECT code FROM regions WHERE parent_code IS NULL LIMIT 1"),
    ("venue", "/venues/{}",
     "SELECT place_code FROM tracing_exposures WHERE setting = 'venue' "
     "GROUP BY place_code ORDER BY count(*) DESC LIMIT 1"),
)  # fmt: skip


@dataclass(frozen=True)
class Timing:
    path: str
    status: int
    first_byte: list[float]
    total: list[float]
    size: int
    cpu: float = 0.0  # the server process's CPU seconds per request (the machine is shared)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)]


def ms(x: float) -> str:
    return f"{x * 1000:,.0f} ms"


def demo_home(home: Path) -> Path:
    """The demo's home with its database, built by ``fangkong demo`` when absent."""
    if not (home / "fangkong.db").exists():
        print(f"no database in {home}: running fangkong demo (1-3 min)")
        env = {**os.environ, "FANGKONG_HOME": str(home)}
        subprocess.run([str(ROOT / ".venv/bin/fangkong"), "demo"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    return home


def copy_home(home: Path, into: Path) -> Path:
    """The database (a consistent copy through SQLite's backup) and the keys."""
    target = into / "home"
    target.mkdir(mode=0o700)
    shutil.copytree(home / "keys", target / "keys")
    if (home / "audit").exists():
        shutil.copytree(home / "audit", target / "audit")
    src, dst = sqlite3.connect(home / "fangkong.db"), sqlite3.connect(target / "fangkong.db")
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


def scale_evidence(db: Path, times: int) -> int:
    """Every stored exposure ``times`` times, copy k shifted by 7·k days; the rows now."""
    con = sqlite3.connect(db)
    copy = (
        'INSERT INTO tracing_exposures ("key", case_id, contact_id, source_contact_id, kind, '
        "setting, place_code, overlap_start, overlap_end, overlap_seconds, case_event_id, "
        'contact_event_id, found_at) SELECT "key" || ?, case_id, contact_id, '
        "source_contact_id, kind, setting, place_code, "
        "datetime(overlap_start, ?) || '.000000', datetime(overlap_end, ?) || '.000000', "
        "overlap_seconds, case_event_id, contact_event_id, found_at FROM tracing_exposures "
        "WHERE id <= ?"
    )
    with con:
        top = con.execute("SELECT max(id) FROM tracing_exposures").fetchone()[0] or 0
        for k in range(1, times):
            shift = f"+{7 * k} days"
            con.execute(copy, (f"~{k}", shift, shift, top))
    n = int(con.execute("SELECT count(*) FROM tracing_exposures").fetchone()[0])
    con.close()
    return n


def bench_user(env: dict[str, str]) -> tuple[str, str]:
    """An epidemiologist of the province in the database the server of ``env`` opens
    (this tree's code adds it; a fresh password each run)."""
    sys.path.insert(0, str(ROOT / "src"))
    from fangkong.auth.users import demo_admin
    from fangkong.demo.summary import province_code
    from fangkong.keys import load_server_keys
    from fangkong.settings import load_settings
    from fangkong.store import migrate
    from fangkong.store.engine import engine_for

    cfg = load_settings({**os.environ, **env})
    engine = engine_for(cfg)
    try:
        migrate.upgrade(engine)  # a reused world built before a later migration
        province = province_code(engine)
        assert province is not None, "the database holds no province"
        return demo_admin(engine, load_server_keys(cfg).audit, province,
                          username="bench-epi", role="epidemiologist")  # fmt: skip
    finally:
        engine.dispose()


def world_env(db: Path, people: int, home: Path) -> dict[str, str]:
    """The command world at ``db`` (built when absent, ~2 min at 1,000,000) and the
    settings a server over it needs: the bench's keys, the clock at the world's NOW."""
    import base64

    import board
    import command_world as cw

    if db.exists():
        print(f"--world: reusing {db}")
    else:
        print(f"--world {people:,}: building {db} (~2 min at 1,000,000)")
        t = time.perf_counter()
        cw.build(db, people)
        print(f"  built in {time.perf_counter() - t:,.0f} s")
    return {
        "FANGKONG_HOME": str(home),
        "FANGKONG_DATABASE_URL": f"sqlite:///{db}",
        "FANGKONG_SEAL_KEY": base64.b64encode(bytes(32)).decode(),
        "FANGKONG_SERVER_KEY": base64.b64encode(board.SERVER_KEY).decode(),
        "FANGKONG_CLOCK": cw.NOW.isoformat(),
        "FANGKONG_COOKIE_SECURE": "false",
        "FANGKONG_INPUT_PAST_DAYS": "3650",
    }


def deeper_pages(db: Path) -> list[str]:
    """The pages one click deeper (``DEEPER``), each at the row its SQL picks."""
    con = sqlite3.connect(db)
    try:
        out = []
        for name, page, sql in DEEPER:
            row = con.execute(sql).fetchone()
            if row is None or row[0] is None:
                print(f"  no {name} in the database: {page} not timed")
                continue
            out.append(page.format(row[0]))
        return out
    finally:
        con.close()


def old_source(rev: str, into: Path) -> Path | None:
    """``src/`` of ``rev`` unpacked under ``into`` (``git archive``; no checkout)."""
    archive = into / "before.tar"
    done = subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, "src"],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        print(f"before: git archive {rev} failed: {done.stderr.strip()}")
        return None
    with tarfile.open(archive) as tar:
        tar.extractall(into / "before", filter="data")
    return into / "before" / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(src: Path, settings: dict[str, str]) -> tuple[subprocess.Popen[bytes], int] | None:
    port = free_port()
    code = ("import uvicorn; uvicorn.run('fangkong.server.cli:app_factory', factory=True, "
            f"host='127.0.0.1', port={port}, log_level='warning')")  # fmt: skip
    env = server_env(src, settings)
    # the server's errors to a file (a pipe nobody reads would fill and stop it)
    log = Path(settings["FANGKONG_HOME"]).parent / "server.log"
    with log.open("ab") as err:
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=err)
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"  the server stopped: {server_said(log)}")
            return None
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    return None


def server_said(log: Path) -> str:
    """The last line of the server's log (its error, when it failed)."""
    lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
    return lines[-1] if lines else "?"


class Client:
    """One keep-alive connection with the session cookie of one login."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.cookies: dict[str, str] = {}

    def reconnect(self) -> None:
        """A new connection, the session kept (after the server dropped one)."""
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)

    def request(
        self, method: str, path: str, body: str | None = None
    ) -> tuple[int, bytes, float, float]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        t0 = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        first = time.perf_counter() - t0
        data = response.read()
        total = time.perf_counter() - t0
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data, first, total

    def login(self, username: str, password: str) -> bool:
        from urllib.parse import urlencode

        _, page, _, _ = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        form = {"username": username, "password": password,
                "csrf_token": token.group(1).decode() if token else ""}  # fmt: skip
        status, _, _, _ = self.request("POST", "/login", urlencode(form))
        return status == 303


def nav_pages(client: Client) -> list[str]:
    _, home, _, _ = client.request("GET", "/")
    nav = re.search(rb"<nav.*?</nav>", home, re.S)
    links = re.findall(rb'href="([^"]+)"', nav.group(0) if nav else b"")
    pages = list(dict.fromkeys(link.decode() for link in links))
    return pages + [p for p in SLOW if p not in pages]


def time_pages(label: str, src: Path, settings: dict[str, str], user: tuple[str, str],
               requests: int, deeper: list[str]) -> dict[str, Timing] | None:  # fmt: skip
    print(f"\n{label}: {src}")
    started = start_server(src, settings)
    if started is None:
        print(f"  {label}: not measured (the server did not start)")
        return None
    proc, port = started
    log = Path(settings["FANGKONG_HOME"]).parent / "server.log"
    try:
        client = Client(port)
        if not client.login(*user):
            print(f"  {label}: login refused; not measured")
            return None
        out = {}
        pages = nav_pages(client)
        for path in pages + [p for p in deeper if p not in pages]:
            firsts, totals, status, size = [], [], 0, 0
            cpu0 = cpu_seconds(proc.pid)
            for _ in range(requests):
                try:
                    status, body, first, total = client.request("GET", path)
                except (OSError, http.client.HTTPException) as e:  # the connection dropped
                    print(f"  {path}: {type(e).__name__}; the server said: {server_said(log)}")
                    client.reconnect()
                    status, body, first, total = 0, b"", float("inf"), float("inf")
                firsts.append(first)
                totals.append(total)
                size = len(body)
                if status == 0:
                    break
            cpu = (cpu_seconds(proc.pid) - cpu0) / len(firsts)
            out[path] = Timing(path, status, firsts, totals, size, cpu)
            print(f"  {path:36} {status}  first {ms(firsts[0]):>9}  p50 "
                  f"{ms(statistics.median(firsts)):>9}  p95 {ms(p95(firsts)):>9}  "
                  f"{size / 1024:,.0f} KiB", flush=True)  # fmt: skip
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def server_env(src: Path, settings: dict[str, str]) -> dict[str, str]:
    """The environment of a server of ``src`` over the database of ``settings``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    env.pop("FANGKONG_DATABASE_URL", None)
    env.pop("FANGKONG_CLOCK", None)
    env.update(settings)
    return env


def profile_page(settings: dict[str, str], user: tuple[str, str], path: str, top: int) -> None:
    """``path`` through the app in-process (Starlette's TestClient: a server error shows
    its traceback), once to warm, then once under cProfile: the ``top`` functions by
    cumulative time. The sync endpoint and dependencies run where they are called
    (``anyio.to_thread.run_sync`` replaced), so the profiler sees them."""
    import cProfile
    import pstats
    from typing import Any

    import anyio.to_thread
    from fastapi.testclient import TestClient

    from fangkong.server.app import create_app
    from fangkong.settings import load_settings

    profiler = cProfile.Profile()
    on = False

    async def run_here(func: Any, *args: Any, **_: Any) -> Any:
        if not on:
            return func(*args)
        profiler.enable()
        try:
            return func(*args)
        finally:
            profiler.disable()

    anyio.to_thread.run_sync = run_here  # type: ignore[assignment]
    app = create_app(load_settings(server_env(ROOT / "src", settings)))
    with TestClient(app, base_url="https://testserver") as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        form = {"username": user[0], "password": user[1],
                "csrf_token": token.group(1) if token else ""}  # fmt: skip
        assert c.post("/login", data=form, follow_redirects=False).status_code == 303
        c.get(path)
        on, t = True, time.perf_counter()
        got = c.get(path)
        on = False
        print(f"\n{path}: {got.status_code} in {ms(time.perf_counter() - t)} (profiled)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def report(after: dict[str, Timing], before: dict[str, Timing] | None, goal: float) -> None:
    """Every page against the goal (its p95 first byte), the misses named after."""
    print(f"\n| page | status | first byte p50 | p95 | total p50 | p95 | server CPU | KiB "
          f"| ≤ {goal:g} s p95 |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|:---:|")
    order = [p for p in SLOW if p in after] + [p for p in after if p not in SLOW]
    for path in order:
        t = after[path]
        ok = "yes" if p95(t.first_byte) <= goal else "**no**"
        print(f"| `{path}` | {t.status} | {ms(statistics.median(t.first_byte))} "
              f"| {ms(p95(t.first_byte))} | {ms(statistics.median(t.total))} "
              f"| {ms(p95(t.total))} | {ms(t.cpu)} | {t.size / 1024:,.0f} | {ok} |")  # fmt: skip
    misses = [p for p in order if p95(after[p].first_byte) > goal]
    print(f"\nmiss the goal (p95 first byte > {goal:g} s): {', '.join(misses) or 'none'}")
    if before:
        print("\n| page | before p50 | after p50 | before/after |")
        print("|---|---:|---:|---:|")
        for path in order:
            b = before.get(path)
            if b is None:
                continue
            a50, b50 = statistics.median(after[path].first_byte), statistics.median(b.first_byte)
            print(f"| `{path}` | {ms(b50)} | {ms(a50)} | {b50 / a50:,.1f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=ROOT / "fangkong-data")
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument(
        "--before",
        default=None,
        help=f"git revision of the old code (default {BEFORE}; none with --world)",
    )
    parser.add_argument("--no-before", action="store_true", help="time only this tree")
    parser.add_argument("--scale", type=int, default=1, help="the evidence K times (copy)")
    parser.add_argument(
        "--world",
        type=int,
        default=0,
        metavar="N",
        help="the command world of N persons instead of the demo",
    )
    parser.add_argument("--world-db", type=Path, default=None,
                        help="where the world is kept (reused when it exists)")  # fmt: skip
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="PATH",
        help="instead of timing: profile PATH in-process (repeatable)",
    )
    parser.add_argument("--top", type=int, default=30, help="functions shown per profile")
    args = parser.parse_args()
    rev = args.before or (None if args.world or args.no_before else BEFORE)
    with tempfile.TemporaryDirectory(prefix="fk-pages-") as tmp:
        if args.world:
            db = (args.world_db or Path(tmp) / "world.db").resolve()
            home = Path(tmp) / "home"
            home.mkdir(mode=0o700)
            settings = world_env(db, args.world, home)
            goal = GOAL_WORLD_S
        else:
            work = copy_home(demo_home(args.home.resolve()), Path(tmp))
            db = work / "fangkong.db"
            if args.scale > 1:
                rows = scale_evidence(db, args.scale)
                print(f"--scale {args.scale}: {rows:,} exposures stored (the demo's x{args.scale})")
            settings = {"FANGKONG_HOME": str(work)}
            goal = GOAL_DEMO_S
        user = bench_user(settings)
        if args.profile:
            for path in args.profile:
                profile_page(settings, user, path, args.top)
            return
        deeper = deeper_pages(db)
        old = old_source(rev, Path(tmp)) if rev else None
        before = None
        if old is not None:
            before = time_pages(f"before ({rev})", old, settings, user, args.requests, deeper)
        after = time_pages("after (this tree)", ROOT / "src", settings, user, args.requests,
                           deeper)  # fmt: skip
    if not after:
        sys.exit(1)
    report(after, before, goal)


if __name__ == "__main__":
    main()
