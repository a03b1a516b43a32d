"""Benchmark: the co-presence index against the DuckDB self-join an analyst would write.

    .venv/bin/python benchmarks/trace.py [--sizes 10M,50M,100M] [--seed 1] [--no-duckdb]

For each size N a synthetic province is generated with NumPy (N check-ins, N/10 persons,
100,000 venues with lognormal popularity — the busiest venue holds under 0.5 % of stays —
over 14 days; a fifth of the stays have no time out and get their venue type's dwell).
A first child process generates the arrays and saves them (``.npy``); then, each in its
own child process that loads them (peak memory from ``os.wait4``, input arrays included):

- ``memory``: build ``CheckinIndex`` (timed), 300 single-case queries (p50, p95), a
  batch of 1,000 cases (best of 3);
- ``duckdb``: the same arrays as an Arrow table in DuckDB (2 threads) and the plain
  self-join (join on venue, overlapping times) for 10 single cases and the same batch.

The batch results of both are compared (contact rows and their total overlap seconds
must be equal). Goals at 50M: single case p50 ≤ 5 ms, batch ≥ 5× faster than DuckDB,
index build ≤ 10 s, peak memory ≤ 4 GB. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

VENUES = 100_000
DAYS = 14
WINDOW_DAYS = 6  # a case's infectious window in the queries (4 days before onset + 2)
DWELL = np.array([30, 40, 60, 10, 90, 480], np.int64) * 60  # by venue type


def generate(n: int, seed: int) -> dict[str, Any]:
    """Stays as arrays: person, venue, time_in, time_out (resolved), all NumPy."""
    rng = np.random.default_rng(seed)
    persons = max(n // 10, 1)
    popularity = rng.lognormal(0.0, 1.5, VENUES)
    cum = np.cumsum(popularity / popularity.sum())
    venue = np.searchsorted(cum, rng.random(n)).astype(np.int32)
    np.minimum(venue, VENUES - 1, out=venue)
    person = rng.integers(0, persons, n, dtype=np.int32)
    day = rng.integers(0, DAYS, n, dtype=np.int64)
    t_in = day * 86400 + 7 * 3600 + rng.integers(0, 15 * 3600, n, dtype=np.int64)
    stay = 300 + rng.exponential(2400, n).astype(np.int64)
    np.minimum(stay, 8 * 3600, out=stay)
    missing = rng.random(n) < 0.2
    vtype = venue % len(DWELL)
    t_out = np.where(missing, t_in + DWELL[vtype], t_in + stay)
    busiest = float(np.bincount(venue, minlength=VENUES).max()) / n
    return {"person": person, "venue": venue, "time_in": t_in + 1_647_561_600,
            "time_out": t_out + 1_647_561_600, "persons": persons, "busiest": busiest}  # fmt: skip


ARRAYS = ("person", "venue", "time_in", "time_out")


def save(n: int, seed: int, folder: Path) -> dict[str, Any]:
    data = generate(n, seed)
    for name in ARRAYS:
        np.save(folder / f"{name}.npy", data[name])
    return {"persons": data["persons"], "busiest": data["busiest"]}


def load(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = {name: np.load(folder / f"{name}.npy") for name in ARRAYS}
    data["persons"] = int(data["person"].max()) + 1
    return data


def cases_for(data: dict[str, Any], k: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed + 100)
    person = rng.choice(data["person"], k).astype(np.int64)  # people who checked in
    start = 1_647_561_600 + rng.integers(0, (DAYS - WINDOW_DAYS) * 86400, k)
    return person, start, start + WINDOW_DAYS * 86400


def run_memory(folder: Path, seed: int) -> dict[str, Any]:
    from fangkong.tracing.copresence import Cases, CheckinIndex, Stays

    data = load(folder)
    stays = Stays(data["person"], data["venue"], data["time_in"], data["time_out"])
    t0 = time.perf_counter()
    index = CheckinIndex.build(stays, n_persons=data["persons"], n_venues=VENUES)
    build = time.perf_counter() - t0
    del stays, data["time_out"], data["venue"]
    minimum = np.full(VENUES, 15 * 60, np.int64)
    person, start, end = cases_for(data, 1000, seed)
    single = []
    for i in range(300):
        q = Cases(person[i : i + 1], start[i : i + 1], end[i : i + 1])
        t = time.perf_counter()
        index.query(q, minimum)
        single.append(time.perf_counter() - t)
    batch_times, rows, seconds = [], 0, 0
    for _ in range(3):
        t = time.perf_counter()
        found = index.query(Cases(person, start, end), minimum)
        batch_times.append(time.perf_counter() - t)
        rows = len(found.close) + len(found.general)
        seconds = int(found.close.seconds.sum() + found.general.seconds.sum())
    return {
        "build_s": build,
        "index_gb": index.nbytes / 1e9,
        "single_p50_ms": 1000 * float(np.percentile(single, 50)),
        "single_p95_ms": 1000 * float(np.percentile(single, 95)),
        "batch_s": min(batch_times),
        "rows": rows,
        "overlap_seconds": seconds,
    }


SINGLE_SQL = """
WITH c AS (
  SELECT venue, greatest(time_in, $start) AS s, least(time_out, $end) AS e
  FROM stays WHERE person = $person)
SELECT count(*) FROM c JOIN stays o
  ON o.venue = c.venue AND o.time_in < c.e AND o.time_out > c.s AND o.person <> $person
WHERE c.s < c.e
"""
BATCH_SQL = """
WITH c AS (
  SELECT k.person, st.venue, greatest(st.time_in, k.s) AS s, least(st.time_out, k.e) AS e
  FROM cases k JOIN stays st ON st.person = k.person)
SELECT count(*), sum(least(c.e, o.time_out) - greatest(c.s, o.time_in))
FROM c JOIN stays o
  ON o.venue = c.venue AND o.time_in < c.e AND o.time_out > c.s AND o.person <> c.person
WHERE c.s < c.e
"""


def run_duckdb(folder: Path, seed: int) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa

    data = load(folder)
    stays = pa.table({k: data[k] for k in ("person", "venue", "time_in", "time_out")})
    del data["venue"], data["time_out"]
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("stays", stays)
    person, start, end = cases_for(data, 1000, seed)
    single = []
    for i in range(10):
        t = time.perf_counter()
        con.execute(SINGLE_SQL, {"person": int(person[i]), "start": int(start[i]),
                                 "end": int(end[i])}).fetchall()  # fmt: skip
        single.append(time.perf_counter() - t)
    cases = pa.table({"person": person.astype(np.int32), "s": start, "e": end})
    con.register("cases", cases)
    t = time.perf_counter()
    rows, seconds = con.execute(BATCH_SQL).fetchone() or (0, 0)
    batch = time.perf_counter() - t
    return {
        "single_p50_ms": 1000 * float(np.percentile(single, 50)),
        "batch_s": batch,
        "rows": int(rows),
        "overlap_seconds": int(seconds or 0),
    }


def child(kind: str, n: int, seed: int, folder: Path) -> dict[str, Any]:
    """Run one part in a fresh process; add its peak resident memory."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_path = Path(handle.name)
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--n",
            str(n),
            "--seed",
            str(seed),
            "--result",
            str(result_path),
            "--data",
            str(folder),
        ]
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} at {n:,} failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(result_path.read_text())
    result_path.unlink()
    result["peak_gb"] = usage.ru_maxrss * 1024 / 1e9  # ru_maxrss is in KiB on Linux
    return result


def _size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50M", help="check-in counts, e.g. 10M,50M,100M")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB baseline")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder = Path(args.data)
        if args.child == "generate":
            result = save(args.n, args.seed, folder)
        else:
            result = (run_memory if args.child == "memory" else run_duckdb)(folder, args.seed)
        Path(args.result).write_text(json.dumps(result))
        return
    print("| check-ins | index build | index size | peak memory | single case p50 / p95 "
          "| batch of 1,000 | DuckDB single p50 | DuckDB batch | batch speed-up "
          "| DuckDB peak | same rows |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in (_size(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="fangkong-bench-") as tmp:
            made = child("generate", n, args.seed, Path(tmp))
            mem = child("memory", n, args.seed, Path(tmp))
            duck = None if args.no_duckdb else child("duckdb", n, args.seed, Path(tmp))
        same = "—"
        if duck is not None:
            same = "yes" if (duck["rows"], duck["overlap_seconds"]) == (
                mem["rows"], mem["overlap_seconds"]) else "NO"  # fmt: skip
        d_single = f"{duck['single_p50_ms']:.0f} ms" if duck else "—"
        d_batch = f"{duck['batch_s']:.2f} s" if duck else "—"
        speedup = f"{duck['batch_s'] / mem['batch_s']:.1f}×" if duck else "—"
        d_peak = f"{duck['peak_gb']:.2f} GB" if duck else "—"
        print(
            f"| {n / 1e6:.0f}M | {mem['build_s']:.1f} s | {mem['index_gb']:.2f} GB "
            f"| {mem['peak_gb']:.2f} GB | {mem['single_p50_ms']:.2f} / "
            f"{mem['single_p95_ms']:.2f} ms | {mem['batch_s']:.3f} s | {d_single} | {d_batch} "
            f"| {speedup} | {d_peak} | {same} |",
            flush=True,
        )
        print(f"<!-- busiest venue {100 * made['busiest']:.3f} % of stays; "
              f"{mem['rows']:,} contact rows in the batch -->", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
