"""Road status for 500 checkpoints (issue 20: "the road-status aggregates for 500
checkpoints refreshed in ≤ 1 s").

    PYTHONPATH=src .venv/bin/python benchmarks/road_status.py [--checkpoints 500]
        [--per-hour 60] [--reports-per-hour 4] [--postgres URL] [--repeat 5]

Builds a migrated database (a temporary SQLite file, or the PostgreSQL database given)
with ``--checkpoints`` checkpoints, a day of crossings (``--per-hour`` each, with measured
waits) and of the checkpoints' own reports (``--reports-per-hour`` each, a few over the
queue limit, a few closed with and without authority), written straight into the tables
(their owners' services are measured elsewhere: ``benchmarks/checkpoint_load.py``). Then
times, in the same run:

- ``roads.status.refresh`` — three set-based queries over the window, the pure state per
  checkpoint, the snapshot replaced, alerts and their tasks followed (the first run raises
  them; the timed runs find them open), each in one transaction;
- a naive baseline — per checkpoint, its latest report, its crossings' count and its
  waits: three queries each (the same states, checked equal).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fangkong.logistics.tables import checkpoints, crossings
from fangkong.policy import load_pack
from fangkong.roads.rules import RoadRules
from fangkong.roads.state import Report, RoadState, road_state
from fangkong.roads.status import compute, refresh
from fangkong.roads.tables import road_reports
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from fangkong.store.schema import regions

AT = datetime(2022, 4, 12, 10, 0, tzinfo=UTC)
COUNTIES = 20


def build(engine: Engine, n: int, per_hour: int, reports_per_hour: int, seed: int) -> int:
    rnd = random.Random(seed)
    rows = 0
    with engine.begin() as conn:
        conn.execute(insert(regions), [
            {"code": "14", "parent_code": None, "level": "province", "name": "省"},
            *({"code": f"14{k:04d}", "parent_code": "14", "level": "county",
               "name": f"县{k}"} for k in range(COUNTIES)),
        ])  # fmt: skip
        conn.execute(insert(checkpoints), [
            {"code": f"CP{i:04d}", "name": f"卡口{i}", "kind": "toll_station",
             "region_code": f"14{i % COUNTIES:04d}", "road": "G5 京昆高速",
             "latitude": 35 + rnd.random() * 5, "longitude": 110 + rnd.random() * 4,
             "venue_code": None, "lanes": 6}
            for i in range(n)
        ])  # fmt: skip
        for i in range(n):
            code = f"CP{i:04d}"
            slow = i % 50 == 0
            batch = [
                {"checkpoint_code": code, "ref": f"{code}-{j}",
                 "at": AT - timedelta(seconds=rnd.random() * 86_400), "direction": "in",
                 "plate": "晋A12345", "vehicle_kind": "lorry", "cargo_class": "ordinary",
                 "origin_region": "140100", "destination_region": "140200", "history": [],
                 "pass_serial": None, "pass_verdict": "none", "outcome": "passed",
                 "waited_minutes": rnd.randint(60, 120) if slow else rnd.randint(0, 20),
                 "recorded_at": AT, "recorded_by": "bench", "via": "api"}
                for j in range(per_hour * 24)
            ]  # fmt: skip
            conn.execute(insert(crossings), batch)
            reports = []
            for j in range(reports_per_hour * 24):
                at = AT - timedelta(minutes=j * 60 / reports_per_hour)
                closed = i % 97 == 0
                reports.append({
                    "checkpoint_code": code, "ref": f"{code}-r{j}", "at": at,
                    "vehicles_waiting": 400 if i % 40 == 0 else rnd.randint(0, 80),
                    "wait_minutes": rnd.randint(0, 30), "lanes_open": 0 if closed else 6,
                    "status": "closed" if closed else "open",
                    "authority_level": "province" if closed and i % 2 else None,
                    "authority": "省指挥部〔2022〕12号" if closed and i % 2 else None,
                    "reason": None, "reported_by": "bench", "via": "api", "recorded_at": at,
                })  # fmt: skip
            conn.execute(insert(road_reports), reports)
            rows += len(batch) + len(reports)
    return rows


def naive(engine: Engine, rules: RoadRules) -> list[RoadState]:
    """Per checkpoint: latest report, count and waits in the window — three queries each."""
    r, c = road_reports.c, crossings.c
    since = AT - timedelta(minutes=rules.throughput_window_minutes)
    out = []
    with engine.connect() as conn:
        for code in conn.execute(select(checkpoints.c.code).order_by(checkpoints.c.code)).scalars():
            last = conn.execute(select(r.at, r.vehicles_waiting, r.wait_minutes, r.lanes_open,
                                       r.status, r.authority_level, r.authority)
                                .where(r.checkpoint_code == code, r.at <= AT)
                                .order_by(r.at.desc(), r.id.desc()).limit(1)).first()  # fmt: skip
            n = conn.execute(select(func.count()).where(
                c.checkpoint_code == code, c.at > since, c.at <= AT)).scalar() or 0  # fmt: skip
            waits = [int(x) for x in conn.execute(select(c.waited_minutes).where(
                c.checkpoint_code == code, c.at > since, c.at <= AT,
                c.waited_minutes.is_not(None))).scalars()]  # fmt: skip
            report = None if last is None else Report(*last)
            out.append(road_state(code, report, waits, int(n), at=AT, rules=rules))
    return out


def timed(fn: object, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoints", type=int, default=500)
    ap.add_argument("--per-hour", type=int, default=60)
    ap.add_argument("--reports-per-hour", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--postgres", help="a PostgreSQL URL (an empty database) instead of SQLite")
    args = ap.parse_args()
    rules = RoadRules.from_pack(load_pack("protocol-9"))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'roads.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        t0 = time.perf_counter()
        rows = build(engine, args.checkpoints, args.per_hour, args.reports_per_hour, args.seed)
        print(
            f"{engine.dialect.name}: {args.checkpoints} checkpoints, {rows:,} rows "
            f"(a day of crossings and reports) built in {time.perf_counter() - t0:.1f} s"
        )

        def run() -> list[RoadState]:
            with engine.begin() as conn:
                return refresh(conn, at=AT, rules=rules)

        first = timed(run, 1)[0]
        states = run()
        fast = timed(run, args.repeat)
        slow = timed(lambda: naive(engine, rules), max(1, args.repeat // 2))
        with engine.connect() as conn:
            assert compute(conn, at=AT, rules=rules) == naive(engine, rules) == states
        by_state: dict[str, int] = {}
        for s in states:
            by_state[s.state] = by_state.get(s.state, 0) + 1
        print(f"states: {dict(sorted(by_state.items()))}")
        print(f"refresh (first, raising alerts and tasks): {first * 1000:8.1f} ms")
        fast_ms = statistics.median(fast) * 1000
        print(f"refresh (set-based, median of {len(fast)}):    {fast_ms:8.1f} ms")
        print(
            f"naive per-checkpoint (3 queries each):     {statistics.median(slow) * 1000:8.1f} ms"
            f"   ({statistics.median(slow) / statistics.median(fast):.1f}× the refresh)"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
