"""Benchmark: every page in the navigation on the demo's database, time to first byte
through a real server, the code before issue 19 and ours in the same run (issue 19).

    .venv/bin/python benchmarks/pages.py [--home fangkong-data] [--requests 5]
                                         [--before 3862cda] [--no-before] [--scale 1]

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
3. Printed: a table per version (first request, p50 and p95 of the first byte, the
   body size) and the before/after ratio of the p50 first byte for every page, the
   three slow ones of the issue first.

The old code can only open a database at its own schema head; when a later migration
has moved the schema, the "before" run says so and only ours is timed. SQLite only.
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
SLOW = ("/tracing/chains", "/risk-areas", "/risk-areas/manage")
BEFORE = "3862cda"
START_S = 60


@dataclass(frozen=True)
class Timing:
    path: str
    status: int
    first_byte: list[float]
    total: list[float]
    size: int


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


def bench_user(home: Path) -> tuple[str, str]:
    """An epidemiologist of the province in the copy (this tree's code adds it)."""
    sys.path.insert(0, str(ROOT / "src"))
    from fangkong.auth.users import demo_admin
    from fangkong.demo.summary import province_code
    from fangkong.keys import load_server_keys
    from fangkong.settings import load_settings
    from fangkong.store.engine import engine_for

    cfg = load_settings({**os.environ, "FANGKONG_HOME": str(home)})
    engine = engine_for(cfg)
    try:
        province = province_code(engine)
        assert province is not None, "the demo's database holds no province"
        return demo_admin(engine, load_server_keys(cfg).audit, province,
                          username="bench-epi", role="epidemiologist")  # fmt: skip
    finally:
        engine.dispose()


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


def start_server(src: Path, home: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    port = free_port()
    code = ("import uvicorn; uvicorn.run('fangkong.server.cli:app_factory', factory=True, "
            f"host='127.0.0.1', port={port}, log_level='warning')")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(src), "FANGKONG_HOME": str(home)}
    env.pop("FANGKONG_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            print(f"  the server stopped: {err.strip().splitlines()[-1:] or '?'}")
            return None
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    return None


class Client:
    """One keep-alive connection with the session cookie of one login."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.cookies: dict[str, str] = {}

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


def time_pages(label: str, src: Path, home: Path, user: tuple[str, str],
               requests: int) -> dict[str, Timing] | None:  # fmt: skip
    print(f"\n{label}: {src}")
    started = start_server(src, home)
    if started is None:
        print(f"  {label}: not measured (the server did not start)")
        return None
    proc, port = started
    try:
        client = Client(port)
        if not client.login(*user):
            print(f"  {label}: login refused; not measured")
            return None
        out = {}
        for path in nav_pages(client):
            firsts, totals, status, size = [], [], 0, 0
            for _ in range(requests):
                status, body, first, total = client.request("GET", path)
                firsts.append(first)
                totals.append(total)
                size = len(body)
            out[path] = Timing(path, status, firsts, totals, size)
            print(f"  {path:28} {status}  first {ms(firsts[0]):>9}  p50 "
                  f"{ms(statistics.median(firsts)):>9}  p95 {ms(p95(firsts)):>9}  "
                  f"{size / 1024:,.0f} KiB")  # fmt: skip
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=ROOT / "fangkong-data")
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--before", default=BEFORE, help="git revision of the old code")
    parser.add_argument("--no-before", action="store_true", help="time only this tree")
    parser.add_argument("--scale", type=int, default=1, help="the evidence K times (copy)")
    args = parser.parse_args()
    home = demo_home(args.home.resolve())
    with tempfile.TemporaryDirectory(prefix="fk-pages-") as tmp:
        work = copy_home(home, Path(tmp))
        if args.scale > 1:
            rows = scale_evidence(work / "fangkong.db", args.scale)
            print(f"--scale {args.scale}: {rows:,} exposures stored (the demo's x{args.scale})")
        user = bench_user(work)
        old = None if args.no_before else old_source(args.before, Path(tmp))
        before = None
        if old is not None:
            before = time_pages(f"before ({args.before})", old, work, user, args.requests)
        after = time_pages("after (this tree)", ROOT / "src", work, user, args.requests)
    if not after:
        sys.exit(1)
    print("\n| page | before p50 | after p50 | after p95 | before/after |")
    print("|---|---:|---:|---:|---:|")
    order = [p for p in SLOW if p in after] + [p for p in after if p not in SLOW]
    for path in order:
        t = after[path]
        a50 = statistics.median(t.first_byte)
        b = before.get(path) if before else None
        b50 = statistics.median(b.first_byte) if b else None
        ratio = f"{b50 / a50:,.1f}×" if b50 else "—"
        print(f"| `{path}` | {ms(b50) if b50 else '—'} | {ms(a50)} | {ms(p95(t.first_byte))} "
              f"| {ratio} |")  # fmt: skip


if __name__ == "__main__":
    main()
