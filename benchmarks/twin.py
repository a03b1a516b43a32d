"""Benchmark: the twin's outbreak simulation against covasim, per agent-day.

    .venv/bin/python benchmarks/twin.py                     # 1,000,000 people × 60 days
    .venv/bin/python benchmarks/twin.py --people 200000 --days 60 --skip-covasim

Each side runs in its own child process; the parent reads the child's peak resident
memory (ru_maxrss via os.wait4). The twin writes every check-in, observable and truth
row to Parquet (partitioned by day); covasim (hybrid population, same size and days)
writes nothing and has no venues. Goal (issue 3): twin ≤ 60 s and ≤ 8 GB for 1M × 60,
faster per agent-day than covasim.

Two covasim runs: its defaults (beta 0.016, 20 seed infections: about 2 % infected in
60 days) and a like-for-like one with the twin's seed count and ``--matched-beta``
(0.03: about 90 % ever infected in 60 days, as in the twin's default scenario).
covasim's step costs more as more people are infected, so the default-vs-default ratio
flatters the twin, which runs a full epidemic.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MATCHED_BETA = 0.03  # covasim beta giving about the twin's 60-day attack rate (calibrated)


def _seeds(people: int) -> int:
    return max(5, people // 20_000)


def _twin(people: int, days: int, out: Path) -> dict[str, float]:
    from fangkong.twin.registry import generate_registry
    from fangkong.twin.scenario import default_scenario, with_overrides
    from fangkong.twin.sim import Twin, write_run

    t0 = time.perf_counter()
    registry = generate_registry(people, seed=1)
    t1 = time.perf_counter()
    scenario = with_overrides(default_scenario(), {"seeds.infections": _seeds(people)})
    twin = Twin.from_registry(registry, scenario)
    rows = write_run(twin, days, out)
    t2 = time.perf_counter()
    infected = int(twin.state.infected.sum())
    return {"registry_s": t1 - t0, "simulate_write_s": t2 - t1, "infected": infected, **rows}


def _covasim(people: int, days: int, beta: float | None) -> dict[str, float]:
    """covasim's defaults, or (``beta`` given) the twin's seed count and that beta."""
    import covasim as cv
    import numpy as np

    matched = {} if beta is None else {"beta": beta, "pop_infected": _seeds(people)}
    t0 = time.perf_counter()
    sim = cv.Sim(pop_size=people, pop_type="hybrid", n_days=days, verbose=0, **matched)
    sim.initialize()
    t1 = time.perf_counter()
    sim.run()
    t2 = time.perf_counter()
    return {
        "init_s": t1 - t0,
        "run_s": t2 - t1,
        "infected": float(sim.results["cum_infections"][-1]),  # reinfections counted
        "ever_infected": float(np.sum(~np.isnan(sim.people.date_exposed))),
    }


def _child(
    kind: str, people: int, days: int, timeout: float, extra: tuple[str, ...] = ()
) -> tuple[dict[str, float], float, float]:
    """Run one side in a subprocess; its result, wall seconds and peak memory (GB)."""
    with tempfile.TemporaryDirectory(prefix="twin-bench-") as tmp:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--people",
            str(people),
            "--days",
            str(days),
            "--out",
            tmp,
            *extra,
        ]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        assert proc.stdout is not None
        out_bytes = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # reap it ourselves to get its rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        timer.cancel()
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{kind} child failed with exit code {proc.returncode}")
        peak_gb = usage.ru_maxrss / 1024**2  # KiB on Linux
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*.parquet"))
        result = json.loads(out_bytes.decode().strip().splitlines()[-1])
        result["parquet_bytes"] = size
        return result, wall, peak_gb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--skip-covasim", action="store_true")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--child", choices=["twin", "covasim"])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--beta", type=float, help="(child) covasim beta; default: covasim's")
    ap.add_argument("--matched-beta", type=float, default=MATCHED_BETA)
    args = ap.parse_args()
    if args.child == "twin":
        print(json.dumps(_twin(args.people, args.days, args.out)))
        return
    if args.child == "covasim":
        print(json.dumps(_covasim(args.people, args.days, args.beta)))
        return

    agent_days = args.people * args.days
    twin, wall, peak = _child("twin", args.people, args.days, args.timeout)
    sim_s = twin["simulate_write_s"]
    events = sum(
        int(v)
        for k, v in twin.items()
        if k not in ("registry_s", "simulate_write_s", "infected", "parquet_bytes", "truth")
    )
    print(
        f"twin      {args.people:,} people × {args.days} days: "
        f"registry {twin['registry_s']:.1f} s, "
        f"simulate+write {sim_s:.1f} s (process {wall:.1f} s), peak {peak:.2f} GB"
    )
    print(
        f"          {events:,} observable rows ({events / sim_s:,.0f} rows/s), "
        f"{twin['checkins']:,} check-ins, {int(twin['truth']):,} infections, "
        f"{twin['parquet_bytes'] / 1e6:,.0f} MB Parquet"
    )
    twin_rate = agent_days / sim_s
    print(f"          {twin_rate:,.0f} agent-days/s (simulate+write)")
    if args.skip_covasim:
        return
    runs = (
        ("default", "covasim defaults (beta 0.016, 20 seeds)", ()),
        (
            "matched",
            f"covasim beta {args.matched_beta}, {_seeds(args.people)} seeds (like for like)",
            ("--beta", str(args.matched_beta)),
        ),
    )
    for name, label, extra in runs:
        cova, wall_c, peak_c = _child("covasim", args.people, args.days, args.timeout, extra)
        total_c = cova["init_s"] + cova["run_s"]
        cova_rate = agent_days / total_c
        print(
            f"covasim   {label}: init {cova['init_s']:.1f} s, run {cova['run_s']:.1f} s "
            f"(process {wall_c:.1f} s), peak {peak_c:.2f} GB, "
            f"{int(cova['ever_infected']):,} ever infected "
            f"({int(cova['infected']):,} infections with reinfections)"
        )
        print(
            f"          {cova_rate:,.0f} agent-days/s (init+run); "
            f"run only {agent_days / cova['run_s']:,.0f}"
        )
        print(
            f"ratio     twin / covasim {name} = {twin_rate / cova_rate:.2f}× per agent-day "
            f"(vs covasim run only: {twin_rate / (agent_days / cova['run_s']):.2f}×)"
        )


if __name__ == "__main__":
    main()
