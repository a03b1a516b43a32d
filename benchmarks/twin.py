"""Benchmark: the twin's outbreak simulation against covasim, per agent-day.

    .venv/bin/python benchmarks/twin.py                     # 1,000,000 people × 60 days
    .venv/bin/python benchmarks/twin.py --people 200000 --days 60 --skip-covasim

Each side runs in its own child process; the parent reads the child's peak resident
memory (ru_maxrss via os.wait4). The twin writes every check-in, observable and truth
row to Parquet (partitioned by day); covasim (hybrid population, same size and days)
writes nothing and has no venues. Goal (issue 3): twin ≤ 60 s and ≤ 8 GB for 1M × 60,
faster per agent-day than covasim.
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


def _twin(people: int, days: int, out: Path) -> dict[str, float]:
    from fangkong.twin.registry import generate_registry
    from fangkong.twin.scenario import default_scenario, with_overrides
    from fangkong.twin.sim import Twin, write_run

    t0 = time.perf_counter()
    registry = generate_registry(people, seed=1)
    t1 = time.perf_counter()
    seeds = max(5, people // 20_000)
    scenario = with_overrides(default_scenario(), {"seeds.infections": seeds})
    twin = Twin.from_registry(registry, scenario)
    rows = write_run(twin, days, out)
    t2 = time.perf_counter()
    infected = int(twin.state.infected.sum())
    return {"registry_s": t1 - t0, "simulate_write_s": t2 - t1, "infected": infected, **rows}


def _covasim(people: int, days: int) -> dict[str, float]:
    import covasim as cv

    t0 = time.perf_counter()
    sim = cv.Sim(pop_size=people, pop_type="hybrid", n_days=days, verbose=0)
    sim.initialize()
    t1 = time.perf_counter()
    sim.run()
    t2 = time.perf_counter()
    return {
        "init_s": t1 - t0,
        "run_s": t2 - t1,
        "infected": float(sim.results["cum_infections"][-1]),
    }


def _child(
    kind: str, people: int, days: int, timeout: float
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
    args = ap.parse_args()
    if args.child == "twin":
        print(json.dumps(_twin(args.people, args.days, args.out)))
        return
    if args.child == "covasim":
        print(json.dumps(_covasim(args.people, args.days)))
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
    cova, wall_c, peak_c = _child("covasim", args.people, args.days, args.timeout)
    total_c = cova["init_s"] + cova["run_s"]
    cova_rate = agent_days / total_c
    print(
        f"covasim   init {cova['init_s']:.1f} s, run {cova['run_s']:.1f} s "
        f"(process {wall_c:.1f} s), peak {peak_c:.2f} GB, {int(cova['infected']):,} infections"
    )
    print(
        f"          {cova_rate:,.0f} agent-days/s (init+run); "
        f"run only {agent_days / cova['run_s']:,.0f}"
    )
    print(
        f"ratio     twin / covasim = {twin_rate / cova_rate:.2f}× per agent-day "
        f"(vs covasim run only: {twin_rate / (agent_days / cova['run_s']):.2f}×)"
    )


if __name__ == "__main__":
    main()
