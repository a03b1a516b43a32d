"""Benchmark: the quarantine demand forecast for many regions, against a per-region loop.

    .venv/bin/python benchmarks/forecast.py [--regions 3000] [--draws 500] [--days 28]
                                            [--baseline-regions 300] [--seed 1]

Synthetic inputs: per region a 28-day case series (Poisson around a random level and
growth), the Rt posterior of its last 7-day window (``posterior_last_window``), contacts
per case NB(6, 1.5), contacts of contacts NB(2, 3), the protocol-9 periods (7 days of
centralised quarantine for close contacts, contacts of contacts at home), capacity and
running occupancy. Timed:

- ours: ``posterior_last_window`` + ``project`` over all regions at once (vectorised over
  regions × draws, in blocks of 256 regions), 14 days ahead, 90 % intervals;
- baseline: the same two calls once per region in a Python loop (the way a per-region
  service would run them), timed on ``--baseline-regions`` and scaled to all regions.

Goal: 3,000 regions ≤ 5 s. Prints a Markdown row for docs/benchmarks.md. Exit 1 when the
goal is missed.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from fangkong.quarantine.forecast import ForecastInputs, Spread, posterior_last_window, project
from fangkong.surveillance.rt import discr_si

GOAL_SECONDS = 5.0


def synthetic(n: int, days: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    level = rng.lognormal(1.0, 1.0, size=(n, 1))
    growth = rng.normal(0.0, 0.05, size=(n, 1))
    mean = level * np.exp(growth * np.arange(days))
    incidence = rng.poisson(mean).astype(np.float64)
    capacity = np.round(level[:, 0] * 60 + rng.uniform(20, 200, n))
    occupied = np.outer(level[:, 0] * 30, np.maximum(0, 1 - np.arange(14) / 7))
    return incidence, capacity, occupied


def run(incidence: np.ndarray, capacity: np.ndarray, occupied: np.ndarray, draws: int,
        seed: int) -> np.ndarray:  # fmt: skip
    si = discr_si(np.arange(incidence.shape[1] + 1), 3.0, 2.0)
    shape, scale = posterior_last_window(incidence, si, window=7)
    inp = ForecastInputs(incidence, shape, scale, si, Spread(6.0, 1.5), Spread(2.0, 3.0), 7, 0,
                         capacity, occupied)  # fmt: skip
    return project(inp, draws=draws, seed=seed).run_out_day()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--regions", type=int, default=3000)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--baseline-regions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    inc, cap, occ = synthetic(args.regions, args.days, args.seed)

    t0, c0 = time.perf_counter(), time.process_time()
    days = run(inc, cap, occ, args.draws, args.seed)
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0

    m = min(args.baseline_regions, args.regions)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(m):
        run(inc[i : i + 1], cap[i : i + 1], occ[i : i + 1], args.draws, args.seed + i)
    loop = (time.perf_counter() - t0) * args.regions / m
    loop_cpu = (time.process_time() - c0) * args.regions / m

    short = int((days > 0).sum())
    print(f"regions {args.regions}, draws {args.draws}, history {args.days} days, horizon 14")
    print(f"vectorised: {ours:.2f} s wall, {ours_cpu:.2f} s CPU; per-region loop: {loop:.2f} s "
          f"wall, {loop_cpu:.2f} s CPU (timed on {m} regions, scaled); "
          f"ratio {loop / ours:.1f}x wall, {loop_cpu / ours_cpu:.1f}x CPU")  # fmt: skip
    print(f"regions running out of rooms within 14 days (median): {short}")
    print()
    print(
        "| regions × draws | vectorised (wall / CPU) | per-region loop (wall / CPU) | ratio "
        "| goal |"
    )
    print("|---|---|---|---|---|")
    verdict = "met" if ours <= GOAL_SECONDS else "not met"
    print(f"| {args.regions} × {args.draws} | {ours:.2f} s / {ours_cpu:.2f} s "
          f"| {loop:.1f} s / {loop_cpu:.1f} s | {loop / ours:.1f}x "
          f"| ≤ {GOAL_SECONDS:g} s wall: {verdict} |")  # fmt: skip
    return 0 if ours <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
