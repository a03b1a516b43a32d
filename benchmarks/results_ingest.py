"""Ingest lab results in batches on SQLite: fangkong's post_results against a plain bulk insert.

    .venv/bin/python benchmarks/results_ingest.py [--rows 10000000] [--batch 250000]

Setup (not timed): a migrated SQLite file with ``--rows`` tubes. Timed: every batch
through ``post_results`` — Arrow validation (barcodes, runs, Ct values, times), the
stage table, unknown-tube and conflict checks, the idempotent INSERT … SELECT into
``testing_results`` and the batch row, one transaction per batch. Baseline: the same
result rows (tube ids already known, outcome precomputed) bulk-inserted into the same
table of a fresh file with one ``executemany`` per batch and no checks. Then one batch
is resent to show it changes nothing. Prints the time, rows/s and the ratio.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fangkong import clock
from fangkong.policy import load_pack
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from fangkong.testing.results import post_results
from fangkong.testing.rules import TestingRules

T0 = int(datetime(2022, 3, 18, tzinfo=UTC).timestamp())


def _database(path: Path, tubes: int) -> None:
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO regions (code, level, name, created_at, updated_at) VALUES "
        "('140000', 'province', 'P', '2022-03-18 00:00:00.000000', "
        "'2022-03-18 00:00:00.000000')"
    )
    con.execute("INSERT INTO testing_labs VALUES ('LAB1', 'lab', '140000', 10000000)")
    step = 1_000_000
    for lo in range(0, tubes, step):
        hi = min(tubes, lo + step)
        con.executemany(
            "INSERT INTO testing_tubes (id, barcode, pool_size, purpose, point, region_code, "
            "collector, collected_at) VALUES (?, ?, 10, 'campaign', 'pt', '140000', 's', "
            "'2022-03-18 01:00:00.000000')",
            ((i + 1, f"T{i:09d}") for i in range(lo, hi)),
        )
    con.execute("COMMIT")
    con.close()


def _batch(lo: int, hi: int, rng: np.random.Generator) -> pa.Table:
    n = hi - lo
    ids = np.arange(lo, hi)
    positive = rng.random(n) < 0.01
    ct = np.where(positive, rng.uniform(18, 34, n), np.nan)
    tested = pa.array(T0 + 7200 + rng.integers(0, 86_400, n)).cast(pa.timestamp("s", tz="UTC"))
    return pa.table(
        {
            "barcode": pc.binary_join_element_wise(
                "T", pc.utf8_lpad(pc.cast(pa.array(ids), pa.string()), 9, "0"), ""
            ),
            "run": pa.array(np.full(n, "run-1")),
            "ct_orf1ab": pa.array(ct),
            "ct_n": pa.array(ct + 0.5),
            "tested_at": tested,
        }
    )


def _baseline(path: Path, batches: list[pa.Table], rules: TestingRules) -> float:
    from fangkong.testing.results import validate

    prepared = []
    for lo, b in zip(range(0, 10**12, len(batches[0])), batches, strict=False):
        clean = validate(b, rules)
        times = pc.strftime(clean.tested_at, format="%Y-%m-%d %H:%M:%S").to_pylist()
        o = clean.ct["ct_orf1ab"]
        n = clean.ct["ct_n"]
        prepared.append(
            list(
                zip(
                    range(lo + 1, lo + 1 + len(clean)),
                    ["run-1"] * len(clean),
                    [None if np.isnan(v) else float(v) for v in o],
                    [None if np.isnan(v) else float(v) for v in n],
                    clean.outcome.tolist(),
                    times,
                    strict=True,
                )
            )
        )
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO testing_batches (id, posted_at, posted_by, rows, inserted) VALUES "
        "(1, '2022-03-18 00:00:00.000000', 'b', 0, 0)"
    )
    con.execute("COMMIT")
    start = time.perf_counter()
    for rows in prepared:
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO testing_results (tube_id, run, batch_id, ct_orf1ab, ct_n, lab_valid, "
            "outcome, tested_at) VALUES (?, ?, 1, ?, ?, 1, ?, ?)",
            rows,
        )
        con.execute("COMMIT")
    took = time.perf_counter() - start
    con.close()
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--batch", type=int, default=250_000)
    args = ap.parse_args()
    # the results are of March 2022: replay at the data's own time, so the input bounds
    # (results within FANGKONG_INPUT_PAST_DAYS of now) read the data's clock, not today's
    with clock.frozen(datetime.fromtimestamp(T0 + 30 * 86_400, UTC)):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    rules = TestingRules.from_pack(load_pack("protocol-9"))
    rng = np.random.default_rng(8)
    with tempfile.TemporaryDirectory() as tmp:
        ours, base = Path(tmp, "ours.db"), Path(tmp, "base.db")
        t = time.perf_counter()
        _database(ours, args.rows)
        _database(base, args.rows)
        print(f"setup: 2 × {args.rows:,} tubes in {time.perf_counter() - t:.1f} s")
        batches = [
            _batch(lo, min(args.rows, lo + args.batch), rng)
            for lo in range(0, args.rows, args.batch)
        ]
        engine = make_engine(f"sqlite:///{ours}")
        start = time.perf_counter()
        inserted = 0
        for b in batches:
            inserted += post_results(engine, rules, b, lab_code="LAB1", posted_by="bench").inserted
        took = time.perf_counter() - start
        again = time.perf_counter()
        resent = post_results(engine, rules, batches[0], lab_code="LAB1", posted_by="bench")
        again = time.perf_counter() - again
        engine.dispose()
        baseline = _baseline(base, batches, rules)
    print(
        f"fangkong post_results: {inserted:,} results in {len(batches)} batches of "
        f"{args.batch:,}: {took:.1f} s ({inserted / took:,.0f} rows/s); goal ≤ 60 s"
    )
    print(f"resending one batch: {resent.inserted} new of {resent.rows:,} in {again:.2f} s")
    print(f"baseline plain executemany: {baseline:.1f} s ({args.rows / baseline:,.0f} rows/s)")
    print(f"ratio fangkong / baseline: {took / baseline:.2f}x")
    return 0 if inserted == args.rows and resent.inserted == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
