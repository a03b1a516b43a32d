"""Benchmark: ``fangkong evaluate`` — seconds per run, extrapolated to the issue's size.

    .venv/bin/python benchmarks/evaluate.py [--people 20000] [--days 21] [--seeds 2]
                                            [--workers 2] [--target-seeds 20]

Runs ``fangkong evaluate --pack protocol-9 --pack twenty-measures`` in-process (worker
processes as the command starts them) into a temporary folder, then prints the wall time,
each run's seconds (set-up: registry and import; loop by capability) and the no-control
arms', and extrapolates to ``--target-seeds`` seeds: (platform runs × median seconds per
run + no-control arms × their seconds) ÷ workers. Goal (issue 15): 20 seeds × 2 packs at
20,000 persons × 21 days in ≤ 40 minutes on 2 cores. The machine may be shared: CPU load
is printed beside the times, and each run's CPU seconds give a second extrapolation.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from statistics import median
from time import perf_counter

from typer.testing import CliRunner

from fangkong.cli import app

PACKS = ("protocol-9", "twenty-measures")
GOAL_MINUTES = 40


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--target-seeds", type=int, default=20)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        args = ["evaluate", "--people", str(a.people), "--days", str(a.days),
                "--seeds", str(a.seeds), "--workers", str(a.workers)]  # fmt: skip
        for pack in PACKS:
            args += ["--pack", pack]
        tic = perf_counter()
        result = CliRunner().invoke(app, args, env={"FANGKONG_HOME": tmp, "COLUMNS": "200"})
        wall = perf_counter() - tic
        if result.exit_code != 0:
            raise SystemExit(result.output)
        body = json.loads((Path(tmp) / "evaluation" / "evaluation.json").read_text("utf-8"))
    runs, alone = body["runs"], body["no_control"]
    load = os.getloadavg()[0]
    print(f"{a.seeds} seeds × {len(PACKS)} packs, {a.people:,} persons × {a.days} days, "
          f"{a.workers} workers: {wall:.0f} s wall; load average {load:.1f}")  # fmt: skip
    for r in runs:
        loop = ", ".join(f"{k} {v:.0f}" for k, v in r["seconds_by_capability"].items())
        print(f"  seed {r['seed']} {r['pack']:<16} {r['seconds']:6.0f} s, "
              f"CPU {r['cpu_seconds']:4.0f} s "
              f"(set-up {r['seconds_set_up']:.0f} s; loop: {loop})")  # fmt: skip
    for b in alone:
        print(f"  seed {b['seed']} no control       {b['seconds']:6.1f} s, "
              f"CPU {b['cpu_seconds']:4.1f} s")  # fmt: skip
    per_run = median(r["seconds"] for r in runs)
    per_alone = median(b["seconds"] for b in alone)
    n = a.target_seeds
    minutes = (n * len(PACKS) * per_run + n * per_alone) / a.workers / 60
    print(f"median {per_run:.0f} s per platform run, {per_alone:.1f} s per no-control arm → "
          f"{n} seeds × {len(PACKS)} packs on {a.workers} workers ≈ {minutes:.0f} min "
          f"(goal ≤ {GOAL_MINUTES} min)")  # fmt: skip
    cpu = median(r["cpu_seconds"] for r in runs)
    cpu_alone = median(b["cpu_seconds"] for b in alone)
    cpu_minutes = (n * len(PACKS) * cpu + n * cpu_alone) / a.workers / 60
    print(f"by CPU seconds (a machine not shared): {cpu:.0f} s per run → ≈ {cpu_minutes:.0f} min")


if __name__ == "__main__":
    main()
