"""Resolve pooled tubes on SQLite: find the positive pools, order the members' retests,
record their code facts — fangkong's set-based ``resolve`` against a row-by-row loop.

    .venv/bin/python benchmarks/pool_resolve.py [--tubes 1000000] [--pool 10] [--prevalence 0.001]

Setup (not timed): ``--tubes`` pooled tubes of ``--pool`` persons, one unresolved batch
holding a result per tube, positives drawn at the prevalence. Timed: ``resolve`` (one
transaction: retest orders by INSERT … SELECT, result facts, batch marked). Baseline, on
a copy of the same file: a Python loop that reads each positive tube's members and
inserts one order per member. Both must order the same retests.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from fangkong.policy import load_pack
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from fangkong.testing.resolve import resolve
from fangkong.testing.rules import TestingRules

STAMP = "2022-03-18 01:00:00.000000"


def _setup(path: Path, tubes: int, pool: int, prevalence: float) -> int:
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    rng = np.random.default_rng(3)
    pool_pos = 1 - (1 - prevalence) ** pool
    positive = rng.random(tubes) < pool_pos
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO regions (code, level, name, created_at, updated_at) VALUES "
        "('140000', 'province', 'P', ?, ?)",
        (STAMP, STAMP),
    )
    people = tubes * pool
    con.executemany(
        "INSERT INTO persons (id, doc_type, doc_country, doc_hash, doc_sealed, name, sex, "
        "birth_date, occupation, created_at, updated_at) VALUES (?, 'passport', 'FRA', ?, x'00', "
        "'n', 'F', '1990-01-01', 'other', ?, ?)",
        ((i + 1, i.to_bytes(32, "big"), STAMP, STAMP) for i in range(people)),
    )
    con.executemany(
        "INSERT INTO testing_tubes (id, barcode, pool_size, purpose, point, region_code, "
        "collector, collected_at) VALUES (?, ?, ?, 'campaign', 'pt', '140000', 's', ?)",
        ((i + 1, f"T{i:09d}", pool, STAMP) for i in range(tubes)),
    )
    con.executemany(
        "INSERT INTO testing_tube_members VALUES (?, ?)",
        ((i // pool + 1, i + 1) for i in range(people)),
    )
    con.execute(
        "INSERT INTO testing_batches (id, posted_at, posted_by, rows, inserted) VALUES "
        "(1, ?, 'b', ?, ?)",
        (STAMP, tubes, tubes),
    )
    con.executemany(
        "INSERT INTO testing_results (tube_id, run, batch_id, ct_orf1ab, ct_n, lab_valid, "
        "outcome, tested_at) VALUES (?, 'r', 1, ?, ?, 1, ?, '2022-03-18 08:00:00.000000')",
        (
            (i + 1, 30.0 if p else None, 31.0 if p else None, "positive" if p else "negative")
            for i, p in enumerate(positive.tolist())
        ),
    )
    con.execute("COMMIT")
    con.close()
    return int(positive.sum())


def _loop(path: Path, due: str) -> tuple[float, int]:
    con = sqlite3.connect(path, isolation_level=None)
    start = time.perf_counter()
    con.execute("BEGIN")
    made = 0
    for (tube,) in con.execute(
        "SELECT tube_id FROM testing_results WHERE batch_id = 1 AND outcome = 'positive'"
    ).fetchall():
        for (person,) in con.execute(
            "SELECT person_id FROM testing_tube_members WHERE tube_id = ?", (tube,)
        ).fetchall():
            con.execute(
                "INSERT INTO testing_orders (person_id, reason, due_from, due_by, status, "
                "source_key, single_tube, created_at) VALUES (?, 'retest', ?, ?, 'open', ?, 1, ?)",
                (person, due, due, f"retest:{tube}:{person}", due),
            )
            made += 1
    con.execute("COMMIT")
    took = time.perf_counter() - start
    con.close()
    return took, made


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tubes", type=int, default=1_000_000)
    ap.add_argument("--pool", type=int, default=10)
    ap.add_argument("--prevalence", type=float, default=0.001)
    args = ap.parse_args()
    rules = TestingRules.from_pack(load_pack("protocol-9"))
    with tempfile.TemporaryDirectory() as tmp:
        ours, base = Path(tmp, "ours.db"), Path(tmp, "base.db")
        t = time.perf_counter()
        positives = _setup(ours, args.tubes, args.pool, args.prevalence)
        shutil.copy(ours, base)
        print(
            f"setup: {args.tubes:,} tubes of {args.pool}, {positives:,} positive pools, "
            f"{time.perf_counter() - t:.1f} s"
        )
        engine = make_engine(f"sqlite:///{ours}")
        at = datetime(2022, 3, 18, 9, tzinfo=UTC)
        start = time.perf_counter()
        out = resolve(engine, rules, at=at)
        took = time.perf_counter() - start
        engine.dispose()
        loop, made = _loop(base, "2022-03-18 09:00:00.000000")
    print(
        f"fangkong resolve: {out.results:,} results, {out.retests_ordered:,} retests ordered, "
        f"{out.facts:,} facts in {took:.2f} s; goal ≤ 10 s for 1,000,000 tubes"
    )
    print(f"baseline row-by-row loop (orders only): {made:,} orders in {loop:.2f} s")
    print(f"ratio fangkong / baseline: {took / loop:.2f}x")
    return 0 if out.retests_ordered == made == positives * args.pool else 1


if __name__ == "__main__":
    sys.exit(main())
