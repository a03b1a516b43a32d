"""Benchmark: a key-freight pass verified at a checkpoint (``passes.verify.check_pass``),
the step the crossings take for every vehicle that shows a pass (issue 20).

    .venv/bin/python benchmarks/pass_verify.py [--passes 10000] [--checks 20000]

1. The world: a migrated SQLite file in a temporary folder with ``--passes`` passes (two
   drivers each, every pass on the route through the checkpoint's city).
2. Ours: ``--checks`` verifications on one connection, by QR token (signature checked
   with the key loaded once) and by serial typed from the paper; checks per second,
   p50 / p99 per check.
3. The baseline, same run, same checks: what the hot path avoids — the key pair read from
   its PEM file on each check and the pass and its drivers read in two queries.

Every check must answer ``valid`` (the benchmark fails otherwise). The machine may be
shared: compare the two lines of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select

from fangkong.passes.rules import PassRules
from fangkong.passes.tables import freight_pass_drivers, freight_passes
from fangkong.passes.token import issue_token, key_path, load_keys, read_token
from fangkong.passes.verdict import PassCheck, StoredPass, judge
from fangkong.passes.verify import check_pass
from fangkong.policy import load_pack
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from fangkong.store.schema import persons, regions

T0 = datetime(2022, 4, 12, 1, tzinfo=UTC)
AT = T0 + timedelta(days=1)


def build(folder: Path, n: int) -> Engine:
    engine = make_engine(f"sqlite:///{folder / 'passes.db'}")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(regions.insert().values(code="140000", parent_code=None,
                                             level="province", name="省"))  # fmt: skip
        conn.execute(insert(persons), [
            {"id": pid, "doc_type": "resident_id", "doc_country": "CHN",
             "doc_hash": hashlib.sha256(str(pid).encode()).digest(), "doc_sealed": b"x",
             "name": "司机", "sex": "M", "birth_date": date(1980, 1, 1),
             "residence_code": "140000", "occupation": "other"}
            for pid in range(1, 2 * n + 1)
        ])  # fmt: skip
        conn.execute(insert(freight_passes), [
            {"serial": f"S-{i:06d}", "revision": 1, "plate": f"晋A{i:05d}",
             "vehicle_kind": "lorry", "cargo_class": "medical", "origin_region": "320100",
             "destination_region": "140105", "via": ["130100"], "closed_loop": False,
             "valid_from": T0, "valid_until": T0 + timedelta(days=7), "region_code": "140000",
             "issued_at": T0, "issued_by": "bench", "pack_ref": "bench"}
            for i in range(n)
        ])  # fmt: skip
        conn.execute(insert(freight_pass_drivers), [
            {"pass_id": i + 1, "person_id": 2 * i + 1 + k, "tested_at": T0,
             "code_colour": "green", "from_risk_area": False}
            for i in range(n) for k in range(2)
        ])  # fmt: skip
    return engine


def baseline(conn: Connection, home: Path, token: str, plate: str, driver: int,
             rules: PassRules) -> PassCheck:  # fmt: skip
    keys = load_keys(home)  # the key read from its file on every check
    claims = read_token(keys, token)
    p, d = freight_passes.c, freight_pass_drivers.c
    row = conn.execute(select(freight_passes).where(p.serial == claims.serial)).one()
    drivers = conn.execute(select(d.person_id).where(d.pass_id == row.id)).scalars().all()
    stored = StoredPass(row.serial, row.revision, row.plate, row.origin_region,
                        row.destination_region, tuple(row.via), row.valid_from, row.valid_until,
                        row.revoked_at, row.closed_loop, frozenset(drivers))  # fmt: skip
    return judge(stored, claims.revision, plate=plate, driver_ids=[driver],
                 checkpoint_region="140105001", at=AT, route_prefix=rules.route_prefix,
                 grace=timedelta(minutes=rules.clock_skew_minutes), tz=UTC)  # fmt: skip


def timed(name: str, checks: int, n: int, one: Callable[[int], PassCheck]) -> float:
    lat = []
    start = time.perf_counter()
    for k in range(checks):
        t = time.perf_counter()
        got = one(k % n)
        lat.append(time.perf_counter() - t)
        if got.verdict != "valid":
            sys.exit(f"{name}: {got}")
    rate = checks / (time.perf_counter() - start)
    q = statistics.quantiles(lat, n=100)
    print(f"{name:<28} {rate:>8,.0f} checks/s   p50 {q[49] * 1e6:>6,.0f} µs   "
          f"p99 {q[98] * 1e6:>6,.0f} µs")  # fmt: skip
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passes", type=int, default=10_000)
    ap.add_argument("--checks", type=int, default=20_000)
    args = ap.parse_args()
    n = args.passes
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        engine = build(folder, n)
        keys = load_keys(folder)
        assert key_path(folder).exists()
        rules = PassRules.from_pack(load_pack("protocol-9"))
        tokens = [issue_token(keys, f"S-{i:06d}", 1) for i in range(n)]
        print(f"{n:,} passes, {args.checks:,} checks on one SQLite connection")
        with engine.connect() as conn:

            def by_token(i: int) -> PassCheck:
                return check_pass(conn, tokens[i], plate=f"晋A{i:05d}", driver_ids=[2 * i + 1],
                                  checkpoint_region="140105001", at=AT, keys=keys,
                                  rules=rules)  # fmt: skip

            def by_serial(i: int) -> PassCheck:
                return check_pass(conn, f"S-{i:06d}", plate=f"晋A{i:05d}",
                                  driver_ids=[2 * i + 1], checkpoint_region="140105001",
                                  at=AT, keys=keys, rules=rules)  # fmt: skip

            ours = timed("check_pass (QR token)", args.checks, n, by_token)
            timed("check_pass (serial typed)", args.checks, n, by_serial)
            base = timed("baseline (key per check)", args.checks, n,
                         lambda i: baseline(conn, folder, tokens[i], f"晋A{i:05d}",
                                            2 * i + 1, rules))  # fmt: skip
        engine.dispose()
    print(f"ours / baseline: {ours / base:.1f}×")


if __name__ == "__main__":
    main()
