"""Benchmark: aberration detection over many series against R ``surveillance`` 1.20.3.

    .venv/bin/python benchmarks/detect.py [--series 10000] [--r-series 100] [--seed 1]
                                          [--ears-series 10000] [--no-r]

- ``farringtonFlexible`` with Noufaily et al.'s options (b = 4, w = 3, noPeriods = 10,
  weightsThreshold = 2.58, pastWeeksNotIncluded = 26, pThresholdTrend = 1,
  thresholdMethod = "nbPlugin", alpha = 0.05) on ``--series`` weekly series of 6 years
  (312 weeks: seasonal negative binomial counts, each series its own level, planted
  outbreaks), evaluating the last 52 weeks, all series in one vectorised call.
- When ``Rscript`` is on PATH (and not ``--no-r``): R's ``farringtonFlexible`` with the
  same control on the first ``--r-series`` series, timed inside R (package loading
  excluded); prints the per-series time ratio and whether the alarms are identical (and the
  largest relative difference of the upper bounds).
- EARS C1 (``fangkong.surveillance.ears``) on ``--ears-series`` daily series of 2 years.

Goals (issue 9): farringtonFlexible at least 50x faster per series than R with identical
alarms; EARS C1 on 10,000 daily series in under 1 s. Prints a Markdown row for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fangkong.surveillance.farrington import farrington_flexible_many

WEEKS = 6 * 52
EVALUATED = 52
NOUFAILY = {
    "b": 4,
    "w": 3,
    "no_periods": 10,
    "weights_threshold": 2.58,
    "past_weeks_not_included": 26,
    "p_threshold_trend": 1.0,
    "trend": True,
    "threshold_method": "nbPlugin",
    "alpha": 0.05,
}
R_SCRIPT = r"""
suppressPackageStartupMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
y <- as.matrix(read.csv(args[1], header = FALSE))
n <- ncol(y)
ctrl <- list(range = (n - 51):n, noPeriods = 10, b = 4, w = 3, weightsThreshold = 2.58,
             pastWeeksNotIncluded = 26, pThresholdTrend = 1, trend = TRUE,
             thresholdMethod = "nbPlugin", alpha = 0.05, glmWarnings = FALSE)
up <- al <- matrix(NA, nrow(y), 52)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(nrow(y))) {
  s <- sts(observed = matrix(y[i, ], ncol = 1), freq = 52, start = c(2000, 1))
  r <- farringtonFlexible(s, control = ctrl)
  up[i, ] <- upperbound(r)
  al[i, ] <- alarms(r)
}
elapsed <- proc.time()[["elapsed"]] - t0
write.table(up, args[2], sep = ",", row.names = FALSE, col.names = FALSE)
write.table(al * 1, args[3], sep = ",", row.names = FALSE, col.names = FALSE)
cat(elapsed, "\n")
"""


def weekly_series(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(WEEKS)
    level = rng.lognormal(1.0, 1.0, size=(n, 1))
    season = np.exp(0.5 * np.sin(2 * np.pi * (t + rng.integers(0, 52, (n, 1))) / 52))
    mu = level * season * np.exp(rng.normal(0, 0.001, (n, 1)) * t)
    size = rng.uniform(1.5, 10, (n, 1))
    y = rng.negative_binomial(size, size / (size + mu)).astype(float)
    for i in range(n):  # an outbreak in the evaluated year for a third of the series
        if rng.random() < 1 / 3:
            start = rng.integers(WEEKS - EVALUATED, WEEKS - 3)
            y[i, start : start + 3] += rng.poisson(3 * mu[i, start] + 3, 3)
    return y


def run_python(y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    start = time.perf_counter()
    dets = farrington_flexible_many(y, range=(WEEKS - EVALUATED, WEEKS), **NOUFAILY)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    return (
        elapsed,
        np.array([d.threshold for d in dets]),
        np.array([d.alarm for d in dets]),
    )


def run_r(y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("Rscript not on PATH: R comparison skipped")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        np.savetxt(d / "y.csv", y, fmt="%d", delimiter=",")
        (d / "run.R").write_text(R_SCRIPT)
        out = subprocess.run(
            [rscript, str(d / "run.R"), str(d / "y.csv"), str(d / "up.csv"), str(d / "al.csv")],
            capture_output=True,
            text=True,
            check=True,
        )
        elapsed = float(out.stdout.split()[-1])
        up = np.genfromtxt(d / "up.csv", delimiter=",", missing_values="NA", filling_values=np.nan)
        al = np.genfromtxt(d / "al.csv", delimiter=",").astype(bool)
    return elapsed, up.reshape(len(y), -1), al.reshape(len(y), -1)


def run_ears(n: int, seed: int) -> float | None:
    if importlib.util.find_spec("fangkong.surveillance.ears") is None:
        print("fangkong.surveillance.ears not there yet: EARS C1 part skipped")
        return None
    from fangkong.surveillance.ears import ears_batch

    rng = np.random.default_rng(seed + 1)
    days = 2 * 365
    x = rng.poisson(rng.lognormal(1.5, 1.0, (n, 1)), size=(n, days)).astype(float)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        res = ears_batch(x, method="C1")
        best = min(best, time.perf_counter() - start)
    print(
        f"EARS C1: {n:,} daily series x {days} days in {best:.3f} s (best of 3); "
        f"{int(res.alarm.sum()):,} alarms"
    )
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--r-series", type=int, default=100)
    ap.add_argument("--ears-series", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()

    y = weekly_series(args.series, args.seed)
    print(
        f"farringtonFlexible (Noufaily options): {args.series:,} weekly series x {WEEKS} "
        f"weeks, last {EVALUATED} evaluated; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    py_s, py_up, py_al = run_python(y)
    per_py = py_s / args.series
    print(
        f"  fangkong: {py_s:.1f} s, {per_py * 1e3:.2f} ms per series, {int(py_al.sum()):,} alarms"
    )
    ratio = same = worst = None
    if not args.no_r and args.r_series > 0:
        sub = min(args.r_series, args.series)
        r = run_r(y[:sub])
        if r is not None:
            r_s, r_up, r_al = r
            per_r = r_s / sub
            ratio = per_r / per_py
            same = bool(np.array_equal(r_al, py_al[:sub]))
            both = ~np.isnan(r_up) & (r_up != 0)
            worst = float(np.max(np.abs(py_up[:sub][both] - r_up[both]) / np.abs(r_up[both])))
            nan_same = bool(np.array_equal(np.isnan(r_up), np.isnan(py_up[:sub])))
            print(
                f"  R surveillance: {r_s:.1f} s for {sub} series, {per_r * 1e3:.0f} ms per "
                f"series -> ratio {ratio:.0f}x per series (goal >= 50x)"
            )
            print(
                f"  alarms identical on the {sub} series: {same} ({int(r_al.sum())} alarms); "
                f"NA positions identical: {nan_same}; largest relative difference of the "
                f"upper bounds: {worst:.1e}"
            )
    ears_s = run_ears(args.ears_series, args.seed) if args.ears_series > 0 else None

    cells = [
        f"{args.series:,}",
        f"{py_s:.1f} s ({per_py * 1e3:.2f} ms/series)",
        "—" if ratio is None else f"{ratio:.0f}×",
        "—" if same is None else ("identical" if same else "DIFFERENT"),
        "—" if ears_s is None else f"{ears_s:.3f} s",
        f"{os.getloadavg()[0]:.1f}",
    ]
    print(
        "\n| series | farringtonFlexible | vs R per series | alarms vs R | EARS C1 10k daily"
        " | load |"
    )
    print("|---:|---:|---:|---|---:|---:|")
    print("| " + " | ".join(cells) + " |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
