"""Benchmark: a refactor changes no speed — the benchmarks of the touched code, before and
after, back to back on the same machine.

    .venv/bin/python benchmarks/refactor.py --base REV [--rounds 2] [--only a,b]

``REV`` (a commit before the refactor) is checked out into a temporary git worktree. Each
benchmark below runs with small sizes, alternately in that tree and in this one (base,
ours; then ours, base; …) so a machine growing busier or quieter hurts neither side, each
from its own tree's sources (``PYTHONPATH=<tree>/src``) and its own copy of the benchmark
script (paths of moved modules differ). Per side the best figure of the rounds is kept
(the least time, the most per second); the ratio is ours ÷ base as a time (> 1: slower).
Printed: a Markdown table with each figure, the ratio and whether it is within ±5 %.

The benchmarks and their figures (what the refactor of issue 17 touched): quarantine
placement, pool resolution and results ingest (testing), bulk and stored code recompute
(healthcode), Farrington (surveillance), persons import (registry), the twin, tracing's
index and single case, scans per second over HTTP, and the province loop's wall time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.05


@dataclass(frozen=True)
class Figure:
    name: str
    pattern: str  # one group: the number
    higher_is_better: bool = False


@dataclass(frozen=True)
class Bench:
    key: str
    args: tuple[str, ...]
    figures: tuple[Figure, ...]


BENCHES = (
    Bench(
        "placement",
        ("placement.py", "--people", "20000", "--facilities", "60", "--baseline", "200"),
        (
            Figure(
                "place() batch, 20k persons (s)",
                r"\| place\(\) batch, SQLite \| [\d,]+ \| ([\d.]+)",
            ),
        ),
    ),
    Bench(
        "pool_resolve",
        ("pool_resolve.py", "--tubes", "100000"),
        (Figure("resolve 100k pooled results (s)", r"fangkong resolve: .* in ([\d.]+) s"),),
    ),
    Bench(
        "results_ingest",
        ("results_ingest.py", "--rows", "1000000", "--batch", "250000"),
        (Figure("post 1M results (s)", r"post_results: [^:]*: ([\d.]+) s"),),
    ),
    Bench(
        "recompute",
        ("recompute.py", "--persons", "500000", "--sample", "5000", "--db", "100000"),
        (
            Figure("bulk codes, 500k persons (s)", r"bulk:\s+[\d,]+ persons in ([\d.]+) s"),
            Figure("single evaluator, 5k persons (s)", r"single:\s+[\d,]+ persons in ([\d.]+) s"),
            Figure("recompute_all first pass, 100k (s)", r"recompute_all first pass: ([\d.]+) s"),
            Figure("recompute_all next day, 100k (s)", r"recompute_all next day: ([\d.]+) s"),
        ),
    ),
    Bench(
        "detect",
        ("detect.py", "--series", "3000", "--ears-series", "2000", "--no-r"),
        (Figure("farringtonFlexible, 3,000 series (s)", r"fangkong: ([\d.]+) s,"),),
    ),
    Bench(
        "import_persons",
        ("import_persons.py", "--people", "50000"),
        (Figure("import 50k persons (s)", r"import persons: ([\d.]+) s"),),
    ),
    Bench(
        "twin",
        ("twin.py", "--people", "100000", "--days", "20", "--skip-covasim"),
        (Figure("twin 100k × 20 days, simulate+write (s)", r"simulate\+write ([\d.]+) s"),),
    ),
    Bench(
        "trace",
        ("trace.py", "--sizes", "20M", "--no-duckdb"),
        (
            Figure("trace index build, 20M check-ins (s)", r"\| 20M \| ([\d.]+) s"),
            Figure("trace single case p50 (ms)", r"\| 20M \| [^|]+\|[^|]+\|[^|]+\| ([\d.]+) /"),
        ),
    ),
    Bench(
        "scan_load",
        ("scan_load.py", "--people", "2000", "--duration", "8", "--requests", "30000"),
        (Figure("POST /scan (per s)", r"\| POST /scan \| \d+ \| \d+ \| (\d+)", True),),
    ),
    Bench(
        "province_day",
        ("province_day.py", "--people", "20000", "--days", "7", "--baseline-commit", ""),
        (Figure("province loop 20k × 7 days (s wall)", r"loop alone: ([\d.]+) s wall"),),
    ),
)


def run(tree: Path, bench: Bench) -> tuple[dict[str, float], str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    cmd = [sys.executable, str(tree / "benchmarks" / bench.args[0]), *bench.args[1:]]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=1800)
    out = done.stdout + done.stderr
    found: dict[str, float] = {}
    for f in bench.figures:
        m = re.search(f.pattern, out)
        if m:
            found[f.name] = float(m.group(1))
    return found, out


def best(values: list[float], higher: bool) -> float | None:
    return (max(values) if higher else min(values)) if values else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--base", required=True, help="the commit before the refactor")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated benchmark keys")
    args = ap.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.key in args.only.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="fk-refactor-"))
    base = tmp / "base"
    subprocess.run(["git", "worktree", "add", "-q", "--detach", str(base), args.base], cwd=ROOT,
                   check=True)  # fmt: skip
    rows: list[tuple[str, float | None, float | None, bool]] = []
    failed = False
    try:
        for bench in chosen:
            seen: dict[str, dict[str, list[float]]] = {"base": {}, "ours": {}}
            for r in range(args.rounds):
                order = [("base", base), ("ours", ROOT)]
                for side, tree in order if r % 2 == 0 else order[::-1]:
                    t = time.perf_counter()
                    found, out = run(tree, bench)
                    print(f"{bench.key:>15} {side:<4} round {r + 1}: {found} "
                          f"({time.perf_counter() - t:.0f} s)", file=sys.stderr)  # fmt: skip
                    if len(found) < len(bench.figures):
                        print(out[-3000:], file=sys.stderr)
                        failed = True
                    for name, value in found.items():
                        seen[side].setdefault(name, []).append(value)
            for f in bench.figures:
                b = best(seen["base"].get(f.name, []), f.higher_is_better)
                o = best(seen["ours"].get(f.name, []), f.higher_is_better)
                rows.append((f.name, b, o, f.higher_is_better))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print(f"base {args.base}, ours {ROOT} (working tree), best of {args.rounds} rounds each")
    print("| figure | base | ours | ours ÷ base (time) | within 5 % |")
    print("|---|---:|---:|---:|---|")
    worst = 0.0
    for name, b, o, higher in rows:
        if b is None or o is None or b == 0 or o == 0:
            print(f"| {name} | {b} | {o} | — | — |")
            continue
        ratio = b / o if higher else o / b  # as a time: > 1 means ours is slower
        worst = max(worst, ratio)
        within = "yes" if ratio <= 1 + TOLERANCE else "NO"
        print(f"| {name} | {b:g} | {o:g} | {ratio:.3f} | {within} |")
    print(f"worst ratio: {worst:.3f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
