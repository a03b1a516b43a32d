"""Benchmark: verified, durably stored scans per second against ``fangkong serve`` on
SQLite, on PostgreSQL, or on both in one run (issue 21).

    .venv/bin/python benchmarks/scan_load.py [--people 5000] [--requests 90000]
        [--duration 15] [--concurrency 24] [--workers 2] [--by token|id_number|mix]
        [--backend sqlite|postgres|both] [--postgres-url URL] [--load wrk|httpx]

1. A work directory (FANGKONG_HOME) gets a twin province of N people imported, a device
   token for each of a few venues (schools, markets, clinics, checkpoints…) and, for
   every person, a stored code; QR tokens are signed in advance (each token scans once,
   so each request carries a different one; the server's validity is raised to 15 min
   so tokens signed before the run stay current during it). The database is SQLite in
   the work directory, or PostgreSQL: ``--postgres-url`` (an empty database), or else a
   throwaway cluster started here with PostgreSQL's durable defaults (fsync and
   synchronous_commit on: an acknowledged scan is on disk, as with SQLite's writer).
2. ``fangkong serve --workers N`` runs as a subprocess on a free 127.0.0.1 port (default:
   one process per core, at most 2 — the load generator needs some CPU too).
3. The load generator — wrk (Debian package ``wrk``; the figures in docs/benchmarks.md),
   or with ``--load httpx`` asyncio + httpx processes, slower, figures not comparable;
   a missing wrk stops the run, never a silent fall back — calls ``GET /health`` first,
   then ``POST /api/v1/scan`` with distinct event ids (``--concurrency`` connections,
   at most ``--requests`` requests or ``--duration`` seconds per phase).
4. The server is stopped; every acknowledged (HTTP 200) scan is looked up in the
   database: "durably stored" counts only those found there.

Printed per backend: requests/s, p50/p99 latency of both phases, their ratio, and the
check; with ``--backend both`` also PostgreSQL's scans/s ÷ SQLite's. Goals: ≥ 3,000
scans/s with p99 ≤ 20 ms (issue 5); PostgreSQL ≥ 0.7× SQLite with p99 ≤ 20 ms, in the
same run on the same cores (issue 21). Loopback only; exit 1 if an acknowledged scan is
missing or any request failed unexpectedly.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

SEAL_KEY = bytes(range(32))
SERVER_KEY = bytes(range(32, 64))
VENUE_TYPES = ("school", "market", "supermarket", "fever_clinic", "checkpoint", "restaurant")


def sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'fangkong.db'}"


def server_env(home: Path, url: str | None = None) -> dict[str, str]:
    """The server's environment: ``home``, the keys, and the database at ``url`` (default:
    the SQLite file in ``home``)."""
    return {
        **os.environ,
        "FANGKONG_HOME": str(home),
        "FANGKONG_DATABASE_URL": url or sqlite_url(home),
        "FANGKONG_SEAL_KEY": base64.b64encode(SEAL_KEY).decode(),
        "FANGKONG_SERVER_KEY": base64.b64encode(SERVER_KEY).decode(),
        "FANGKONG_QR_VALIDITY_SECONDS": "900",
    }


def prepare(home: Path, people: int, seed: int, want: int, by: str,
            url: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Build the database (``url``, default: SQLite in ``home``); the request bodies and
    their device tokens."""
    from sqlalchemy import select

    from fangkong.auth.devices import issue_device_token
    from fangkong.auth.model import cli_actor
    from fangkong.clock import now as utcnow
    from fangkong.healthcode.codes import evaluate_person
    from fangkong.healthcode.context import CodeContext
    from fangkong.healthcode.qr import issue_token, load_or_create_keys
    from fangkong.healthcode.tables import health_codes
    from fangkong.identity.sealing import Sealer
    from fangkong.keys import ServerKeys
    from fangkong.policy import load_pack
    from fangkong.registry.service import ImportOptions, import_file
    from fangkong.store import migrate
    from fangkong.store.engine import make_engine
    from fangkong.store.schema import persons, venues
    from fangkong.twin.registry import generate_registry, write_registry

    files = write_registry(generate_registry(people, seed=seed), home / "registry", "csv")
    engine = make_engine(url or sqlite_url(home))
    migrate.upgrade(engine)
    sealer = Sealer(SEAL_KEY)
    for kind in ("regions", "venues", "persons"):
        import_file(engine, kind, files[kind], ImportOptions(today=utcnow().date()), sealer=sealer)
    ctx = CodeContext(load_pack(), sealer, load_or_create_keys(home / "keys" / "qr_ed25519.pem"))
    audit_key = ServerKeys.from_master(SERVER_KEY).audit
    with engine.connect() as conn:
        places = conn.execute(select(venues.c.code, venues.c.type)).all()
        people_rows = conn.execute(select(persons.c.id, persons.c.doc_sealed)).all()
    devices: list[tuple[str, str]] = []
    for kind in VENUE_TYPES:
        for code, _ in [p for p in places if p.type == kind][:2]:
            token, _ = issue_device_token(engine, audit_key, cli_actor(), "scan", code, 2, "bench")
            devices.append((code, token))
    with engine.connect() as conn:
        coded = set(conn.execute(select(health_codes.c.person_id)).scalars())
    for pid, _ in people_rows:
        if pid not in coded:  # the token carries the code's reference: evaluate once
            evaluate_person(engine, ctx, pid)
    with engine.connect() as conn:
        refs = [bytes(r) for r in conn.execute(select(health_codes.c.qr_ref)).scalars()]
    documents = [sealer.unseal("document", s).split("|", 2) for _, s in people_rows]
    # scans by ID number are by resident ID card (a passport holder shows the QR code)
    numbers = [number for kind, _, number in documents if kind == "resident_id"]
    engine.dispose()
    now = utcnow()
    bodies: list[dict[str, Any]] = []
    for i in range(want):
        venue, device = devices[i % len(devices)]
        use_token = by == "token" or (by == "mix" and i % 4 != 0)
        person = i % len(refs)
        body: dict[str, Any] = {
            "venue_code": venue,
            "device_time": now.isoformat(),
            "event_id": f"bench-{i}",
        }
        if use_token:  # a distinct second per round through the people: a distinct token
            issued = now - timedelta(seconds=i // len(refs))
            body["token"] = issue_token(ctx.qr, refs[person], issued)
        else:
            body["id_number"] = numbers[person % len(numbers)]
        bodies.append({"auth": device, "body": body})
    return bodies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path, port: int, workers: int = 1,
                 url: str | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    cmd = [sys.executable, "-m", "fangkong", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers)]  # fmt: skip
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=server_env(home, url), stdout=log, stderr=subprocess.STDOUT)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"the server did not start; see {home / 'server.log'}")


async def _drive(
    url: str, items: list[dict[str, Any]], concurrency: int, duration: float
) -> list[tuple[int, float, str]]:
    """Send ``items`` (None body: GET /health) with ``concurrency`` workers; return
    (status, seconds, event id) per request sent."""
    import httpx

    results: list[tuple[int, float, str]] = []
    queue = iter(items)
    stop_at = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for item in queue:
                if time.perf_counter() > stop_at:
                    return
                t0 = time.perf_counter()
                try:
                    if item["body"] is None:
                        r = await client.get("/health")
                    else:  # a scan, or another device's request (checkpoint_load.py)
                        r = await client.post(
                            item.get("path", "/api/v1/scan"),
                            json=item["body"],
                            headers={"Authorization": f"Bearer {item['auth']}"},
                        )
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                body = item["body"] or {}
                event = str(body.get("event_id") or body.get("ref") or "")
                results.append((status, time.perf_counter() - t0, event))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def _generator(args: tuple[str, list[dict[str, Any]], int, float, Any]) -> None:
    url, items, concurrency, duration, out = args
    out.put(asyncio.run(_drive(url, items, concurrency, duration)))


def run_phase(
    url: str, items: list[dict[str, Any]], concurrency: int, procs: int, duration: float
) -> tuple[float, list[tuple[int, float, str]]]:
    """Split the items over ``procs`` generator processes; wall time and all results."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    share = max(1, concurrency // procs)
    jobs = [
        ctx.Process(target=_generator, args=((url, items[i::procs], share, duration, out),))
        for i in range(procs)
    ]
    t0 = time.perf_counter()
    for job in jobs:
        job.start()
    results: list[tuple[int, float, str]] = []
    for _ in jobs:
        results += out.get()
    wall = time.perf_counter() - t0
    for job in jobs:
        job.join()
    return wall, results


WRK_SCRIPT = r"""
-- each wrk thread sends its own slice of the prepared scans (tokens are single-use)
local threads, counter = {}, 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local nthreads, i = tonumber(args[2]), 0
  bodies, auths, sent = {}, {}, 0
  for line in io.lines(args[1]) do
    if i % nthreads == id then
      local tab = line:find("\t")
      table.insert(auths, line:sub(1, tab - 1))
      table.insert(bodies, line:sub(tab + 1))
    end
    i = i + 1
  end
  path = args[3]
  acked = io.open(args[4] .. "." .. id, "w")  -- event ids answered 200, one per line
  acked:setvbuf("line")
  refused = io.open(args[4] .. ".refused." .. id, "w")  -- status and problem code
  refused:setvbuf("line")
end
function response(status, headers, body)
  if status == 200 then
    local event = body:match('"event_id":"([^"]+)"')
    if event then acked:write(event, "\n") end
  else
    refused:write(status, " ", body:match('"code":"([^"]+)"') or "?", "\n")
  end
end
function request()
  sent = sent + 1
  local k = sent
  if k > #bodies then k = #bodies end  -- out of scans: resend the last (a retry)
  if auths[k] == "-" then return wrk.format("GET", path) end  -- the trivial endpoint
  return wrk.format("POST", path, {["Authorization"] = "Bearer " .. auths[k],
    ["Content-Type"] = "application/json"}, bodies[k])
end
function done(summary, latency, requests)
  local per = {}
  for _, t in ipairs(threads) do
    per[t:get("id") + 1] = math.min(t:get("sent"), #t:get("bodies"))
  end
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "per_thread": [%s]}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(per, ",")))
end
"""


NO_WRK = (
    "wrk is not installed: install it (apt-get install wrk, or make bench) or pass --load "
    "httpx explicitly (a slower load generator; its figures are not comparable) / "
    "未安装 wrk：请安装（apt-get install wrk）或明确指定 --load httpx（结果不可比）"
)


def require_wrk(load: str) -> None:
    """Stop, saying how to go on, when the wrk load generator is asked for and missing
    (never a silent fall back to a slower one)."""
    if load == "wrk" and shutil.which("wrk") is None:
        raise SystemExit(NO_WRK)


def run_wrk(url: str, home: Path, items: list[dict[str, Any]], path: str, threads: int,
            connections: int, duration: float,
            ack: str = "event_id") -> dict[str, Any]:  # fmt: skip
    """One phase with wrk (a native load generator): per-thread slices of ``items``; an
    answer counts as acknowledged by its ``ack`` field (a scan's event id)."""
    require_wrk("wrk")
    script = home / "scan.lua"
    script.write_text(WRK_SCRIPT.replace('"event_id":', f'"{ack}":'))
    lines = home / "scans.tsv"
    with lines.open("w") as f:
        for item in items:
            f.write(f"{item['auth'] or '-'}\t{json.dumps(item['body'] or {})}\n")
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:.0f}s",
           "--timeout", "10s", "-s", str(script), url, "--", str(lines), str(threads),
           path, str(home / "acked")]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"wrk failed: {done.stderr or done.stdout}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK "))
    figures: dict[str, Any] = json.loads(line[4:])
    seconds = figures["duration_us"] / 1e6
    ok = figures["requests"] - figures["status_errors"]
    acked: set[str] = set()
    refusals: dict[str, int] = {}
    for t in range(threads):
        answered = home / f"acked.{t}"
        acked |= set(answered.read_text().split()) if answered.exists() else set()
        answered.unlink(missing_ok=True)
        refused = home / f"acked.refused.{t}"
        for line in refused.read_text().splitlines() if refused.exists() else []:
            refusals[line] = refusals.get(line, 0) + 1
        refused.unlink(missing_ok=True)
    return {"phase": f"{'POST' if items[0]['body'] else 'GET'} {path}",
            "sent": figures["requests"], "ok": ok, "per_s": ok / seconds,
            "p50_ms": figures["p50_us"] / 1000, "p99_ms": figures["p99_us"] / 1000,
            "statuses": {"non-2xx": figures["status_errors"],
                         "socket errors": figures["socket_errors"], **refusals},
            "acked": acked}  # fmt: skip


def summary(name: str, wall: float, results: list[tuple[int, float, str]]) -> dict[str, Any]:
    ok = [r for r in results if r[0] == 200]
    lat = sorted(r[1] for r in ok) or [0.0]
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    statuses: dict[int, int] = {}
    for status, _, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "phase": name,
        "sent": len(results),
        "ok": len(ok),
        "per_s": len(ok) / wall if wall else 0.0,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "statuses": statuses,
    }


def stored_events(home: Path, column: Any = None, url: str | None = None) -> set[str]:
    """The values of ``column`` (default: the scans' event ids) stored in the database
    (``url``, default: SQLite in ``home``)."""
    from sqlalchemy import select

    from fangkong.healthcode.tables import scans
    from fangkong.store.engine import make_engine

    engine = make_engine(url or sqlite_url(home))
    with engine.connect() as conn:
        found = set(conn.execute(select(scans.c.client_event_id if column is None else column))
                    .scalars())  # fmt: skip
    engine.dispose()
    return found


def load_arguments(parser: argparse.ArgumentParser, requests: int) -> None:
    """The options of a load benchmark against ``fangkong serve`` (this one's and
    checkpoint_load.py's): the province, the phases, the load generator, the server."""
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=requests, help="per phase, at most")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per phase, at most")
    parser.add_argument("--concurrency", type=int, default=24, help="open connections in all")
    parser.add_argument("--procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="server processes (default: cores, at most 2)")  # fmt: skip
    parser.add_argument("--load", choices=("wrk", "httpx"), default="wrk",
                        help="load generator: wrk (a Debian package; docs/benchmarks.md's "
                        "figures) or httpx (slower, figures not comparable)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--home", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free 127.0.0.1 port, its URL; stopped and
    deleted after. Unlike ``scripts/with-postgres`` (tests) it keeps PostgreSQL's
    durable defaults — fsync, synchronous_commit, full_page_writes on — so that an
    acknowledged scan is on disk, as with SQLite's synchronous=FULL scan writer."""
    installed = Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")
    found = [shutil.which("pg_ctl"), *sorted((str(p) for p in installed), reverse=True)]
    pg_ctl = next((p for p in found if p), None)
    if pg_ctl is None:
        raise SystemExit("PostgreSQL is not installed (pg_ctl, initdb): apt-get install "
                         "postgresql, or pass --postgres-url")  # fmt: skip
    bindir = Path(pg_ctl).resolve().parent
    work = Path(tempfile.mkdtemp(prefix="fk-bench-pg-"))
    owner: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if subprocess.run(["id", "postgres"], capture_output=True, check=False).returncode:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        shutil.chown(work, "postgres")
        owner = ["runuser", "-u", "postgres", "--"]
    port, data = free_port(), work / "data"
    subprocess.run([*owner, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                    "fangkong", "-E", "UTF8", "--locale=C"], check=True,
                   capture_output=True)  # fmt: skip
    options = f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run([*owner, str(bindir / "pg_ctl"), "-D", str(data), "-l",
                    str(work / "server.log"), "-w", "-o", options, "start"], check=True,
                   capture_output=True)  # fmt: skip
    try:
        subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                        "fangkong", "fangkong"], check=True)  # fmt: skip
        yield f"postgresql+psycopg://fangkong@127.0.0.1:{port}/fangkong"
    finally:
        subprocess.run([*owner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                        "stop"], capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)


def run_backend(args: argparse.Namespace, home: Path, url: str) -> dict[str, Any]:
    """Prepare the database at ``url``, serve it, run the phases: the figures."""
    home.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    items = prepare(home, args.people, args.seed, args.requests, args.by, url)
    print(f"prepared {len(items)} scans over {args.people} people in "
          f"{time.perf_counter() - t0:.1f} s ({home}, {url.split(':')[0]})",
          file=sys.stderr)  # fmt: skip
    port = free_port()
    server = start_server(home, port, args.workers, url)
    base = f"http://127.0.0.1:{port}"
    health_items = [{"auth": None, "body": None}] * args.requests
    try:
        if args.load == "wrk":  # warm-up scans use their own event ids and tokens
            warm, items = items[: len(items) // 20], items[len(items) // 20 :]
            run_wrk(base, home, warm, "/api/v1/scan", args.threads, args.concurrency, 2)
            health = run_wrk(base, home, health_items[: args.threads], "/health", args.threads,
                             args.concurrency, args.duration)  # fmt: skip
            scan = run_wrk(base, home, items, "/api/v1/scan", args.threads, args.concurrency,
                           args.duration)  # fmt: skip
        else:
            run_phase(base, health_items[:500], args.concurrency, args.procs, 10)  # warm up
            wall_h, res_h = run_phase(base, health_items, args.concurrency, args.procs,
                                      args.duration)  # fmt: skip
            wall_s, res_s = run_phase(base, items, args.concurrency, args.procs, args.duration)
    finally:
        server.terminate()
        server.wait(timeout=30)
    stored = stored_events(home, url=url)
    if args.load == "wrk":  # the event ids wrk saw answered 200
        acked = scan.pop("acked")
        health.pop("acked")
    else:
        health = summary("GET /health", wall_h, res_h)
        scan = summary("POST /scan", wall_s, res_s)
        acked = {event for status, _, event in res_s if status == 200}
    missing = acked - stored
    ratio = scan["per_s"] / health["per_s"] if health["per_s"] else 0.0
    return {"backend": url.split("+")[0].split(":")[0], "health": health, "scan": scan,
            "ratio": ratio, "acked": len(acked), "missing": len(missing),
            "concurrency": args.concurrency, "procs": args.procs, "by": args.by,
            "workers": args.workers, "load": args.load, "cpus": os.cpu_count(),
            "load_average": os.getloadavg()}  # fmt: skip


def print_figures(figures: dict[str, Any]) -> None:
    print(f"\n{figures['backend']}:")
    print("| phase | sent | ok | per s | p50 ms | p99 ms | statuses |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for row in (figures["health"], figures["scan"]):
        print(f"| {row['phase']} | {row['sent']} | {row['ok']} | {row['per_s']:.0f} | "
              f"{row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['statuses']} |")  # fmt: skip
    print(f"\nscans/s ÷ /health req/s = {figures['ratio']:.2f}; goal ≥ 3,000 scans/s, p99 ≤ "
          f"20 ms; {figures['acked']} acknowledged, {figures['missing']} missing from the "
          f"database ({figures['cpus']} CPUs, {figures['workers']} server process(es), "
          f"{figures['concurrency']} connections, load {figures['load']}, by {figures['by']}; "
          f"load average before {figures['load_average'][0]:.2f})")  # fmt: skip


def compare(sqlite: dict[str, Any], pg: dict[str, Any]) -> dict[str, Any]:
    """Issue 21's goal: PostgreSQL ≥ 0.7× SQLite's scans/s, p99 ≤ 20 ms, nothing lost."""
    ratio = pg["scan"]["per_s"] / sqlite["scan"]["per_s"] if sqlite["scan"]["per_s"] else 0.0
    return {"pg_over_sqlite": ratio, "ratio_met": ratio >= 0.7,
            "p99_met": pg["scan"]["p99_ms"] <= 20.0,
            "all_stored": not (sqlite["missing"] or pg["missing"])}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    load_arguments(parser, 90000)
    parser.add_argument("--by", choices=("token", "id_number", "mix"), default="token")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite",
                        help="both: SQLite, then PostgreSQL, in one run")  # fmt: skip
    parser.add_argument("--postgres-url", help="an existing, empty PostgreSQL database "
                        "(default: a throwaway durable cluster started here)")  # fmt: skip
    args = parser.parse_args()
    require_wrk(args.load)

    home = args.home or Path(tempfile.mkdtemp(prefix="fk-scan-load-"))
    home.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    if args.backend in ("sqlite", "both"):
        where = home / "sqlite" if args.backend == "both" else home
        runs.append(run_backend(args, where, sqlite_url(where)))
    if args.backend in ("postgres", "both"):
        with contextlib.ExitStack() as stack:
            url = args.postgres_url or stack.enter_context(postgres_cluster())
            runs.append(run_backend(args, home / "postgres", url))
    verdict = compare(*runs) if len(runs) == 2 else None
    if args.json:
        print(json.dumps({"runs": runs, "comparison": verdict}, indent=2))
    else:
        for figures in runs:
            print_figures(figures)
        if verdict is not None:
            print(f"\nPostgreSQL ÷ SQLite scans/s = {verdict['pg_over_sqlite']:.2f} (goal ≥ "
                  f"0.7: {'met' if verdict['ratio_met'] else 'NOT met'}); PostgreSQL p99 "
                  f"{runs[1]['scan']['p99_ms']:.1f} ms (goal ≤ 20 ms: "
                  f"{'met' if verdict['p99_met'] else 'NOT met'})")  # fmt: skip
    failed = any(
        any(s != 200 and n for s, n in r["scan"]["statuses"].items()) or r["missing"] for r in runs
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
