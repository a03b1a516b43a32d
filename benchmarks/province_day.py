"""Benchmark: the province loop alone — seconds per simulated day, by capability.

    .venv/bin/python benchmarks/province_day.py [--people 20000] [--days 21] [--seed 1]
                                                [--baseline-commit ddd2f39]

1. Not timed: a synthetic province of ``--people`` persons is generated and imported into
   a fresh SQLite database (the demo's own steps), the loop's desks are set up.
2. Ours, timed: ``ProvinceLoop.run(days)`` — each day the adapter's orders, the twin's
   day, arrivals, labs (sampling, results, retests), tracing, risk areas and campaigns,
   quarantine, early warning and the codes' recompute. Printed: seconds per day by
   capability, the day's confirmed cases and infections, the total and the goal.
3. The baseline, in the same run: the loop of the commit before the province loop
   (``--baseline-commit``; its demo fed the twin's raw positives to tracing and ran a stand-in
   response), taken from git into a temporary folder and run as ``fangkong demo`` twice in a
   subprocess — with ``--days N`` and with ``--days 0`` — on the same people and seed; the
   difference is its loop (its two twin arms and scoring included, as in its demo). Ours is
   measured the same way too (``fangkong demo`` with and without the days), so the ratio
   compares like with like; the per-capability table is the loop alone.

Goal (issue 14): ≤ 45 s for 20,000 persons × 21 days on 2 cores; the whole ``make demo``
≤ 5 minutes from a clean clone. The machine may be shared: CPU seconds are printed beside
wall seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 45.0
ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def loop_alone(people: int, days: int, seed: int) -> dict[str, float]:
    from fangkong.demo.loop import CAPABILITIES, ProvinceLoop
    from fangkong.healthcode.context import CodeContext
    from fangkong.healthcode.qr import QrKeys
    from fangkong.identity.sealing import Sealer
    from fangkong.policy import load_pack
    from fangkong.registry.service import ImportOptions, import_file
    from fangkong.store import migrate
    from fangkong.store.engine import make_engine
    from fangkong.twin.registry import AS_OF, generate_registry, write_registry
    from fangkong.twin.scenario import default_scenario

    folder = Path(tempfile.mkdtemp(prefix="fk-province-day-"))
    try:
        engine = make_engine(f"sqlite:///{folder / 'fangkong.db'}")
        migrate.upgrade(engine)
        registry = generate_registry(people, seed=seed)
        files = write_registry(registry, folder / "province", "csv")
        sealer = Sealer(os.urandom(32))
        for kind in ("regions", "venues", "persons"):
            import_file(engine, kind, files[kind], ImportOptions(today=AS_OF), sealer=sealer)
        ctx = CodeContext(pack=load_pack("protocol-9"), sealer=sealer, qr=QrKeys.generate())
        tic = time.perf_counter()
        loop = ProvinceLoop(engine, ctx, registry, default_scenario(), seed, folder / "run")
        setup = time.perf_counter() - tic
        print(f"set-up (facilities, teams, labs, 28 quiet days of signals): {setup:.1f} s")
        head = "day  cases infected " + " ".join(f"{c[:10]:>10}" for c in CAPABILITIES) + "  total"
        print(head)
        cpu0, tic = _cpu(), time.perf_counter()
        for _ in range(days):
            d = loop.step()
            f = d.figures
            total = sum(f.seconds.values())
            cells = " ".join(f"{f.seconds[c]:>10.2f}" for c in CAPABILITIES)
            print(f"{f.day:>3} {f.confirmed:>6} {f.infections:>8} {cells} {total:>6.2f}")
        loop.close()
        wall, cpu = time.perf_counter() - tic, _cpu() - cpu0
        cells = " ".join(f"{loop.seconds[c]:>10.1f}" for c in CAPABILITIES)
        confirmed = sum(x.figures.confirmed for x in loop.days)
        infected = sum(x.figures.infections for x in loop.days)
        print(f"all {confirmed:>6} {infected:>8} {cells} {wall:>6.1f}")
        print(f"loop alone: {wall:.1f} s wall, {cpu:.1f} s CPU for {days} days "
              f"({wall / max(days, 1):.2f} s a day); goal ≤ {GOAL_SECONDS:.0f} s for 21 days of "
              f"20,000: {'met' if wall <= GOAL_SECONDS else 'not met'}")  # fmt: skip
        engine.dispose()
        return {"wall": wall, "cpu": cpu}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def demo_seconds(src: Path, people: int, days: int, seed: int) -> float:
    """``fangkong demo`` with ``days`` minus with 0 days, from the sources in ``src``."""
    spent = []
    for n in (days, 0):
        home = Path(tempfile.mkdtemp(prefix="fk-demo-"))
        env = {**os.environ, "PYTHONPATH": str(src), "FANGKONG_HOME": str(home),
               "COLUMNS": "250"}  # fmt: skip
        tic = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fangkong", "demo", "--people", str(people), "--days", str(n),
             "--seed", str(seed)],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        spent.append(time.perf_counter() - tic)
        shutil.rmtree(home, ignore_errors=True)
    return spent[0] - spent[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baseline-commit", default="ddd2f39",
                    help="the commit whose demo loop is the baseline ('' to skip)")  # fmt: skip
    args = ap.parse_args()
    print(f"province loop: {args.people:,} persons × {args.days} days, seed {args.seed}")
    loop_alone(args.people, args.days, args.seed)
    if not args.baseline_commit:
        return
    tree = Path(tempfile.mkdtemp(prefix="fk-baseline-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline_commit, "src"],
                                 check=True, capture_output=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        base = demo_seconds(tree / "src", args.people, args.days, args.seed)
        ours = demo_seconds(ROOT / "src", args.people, args.days, args.seed)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    print(
        f"fangkong demo, its days alone (with {args.days} days − with 0): baseline "
        f"{args.baseline_commit} {base:.1f} s, ours {ours:.1f} s, ratio {base / ours:.2f}×"
    )


if __name__ == "__main__":
    main()
