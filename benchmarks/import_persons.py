"""Benchmark: import a synthetic province's persons into SQLite, against DuckDB's CSV load.

    .venv/bin/python benchmarks/import_persons.py [--people 1000000] [--out DIR] [--seed 1]

1. The twin writes regions.csv, venues.csv and persons.csv for N people.
2. ``fangkong db upgrade`` and ``fangkong import regions|venues|persons`` run end to end
   on a fresh SQLite database (FANGKONG_HOME in the work directory), as a user runs them.
3. The baseline: DuckDB loads the same persons.csv into a table in a file database
   (``CREATE TABLE persons AS SELECT * FROM read_csv(..., all_varchar = true)``).

Every step runs in its own process, so its wall time includes start-up, and its peak
memory is that process's own peak resident set (from ``os.wait4``). The goal for the
persons import: ≤ 60 s and ≤ 2 GB for 1,000,000 persons. The table printed at the end is
Markdown, ready for docs/benchmarks.md. Exit status 1 when a step failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

GOAL_SECONDS = 60.0
GOAL_BYTES = 2 * 1024**3

GENERATE = """
import json, sys, time
from pathlib import Path
from fangkong.twin.registry import generate_registry, write_registry
people, seed, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
t0 = time.perf_counter()
registry = generate_registry(people, seed=seed)
t1 = time.perf_counter()
write_registry(registry, out, "csv")
t2 = time.perf_counter()
rows = {kind: table.num_rows for kind, table in registry.tables().items()}
print(json.dumps({"generate_s": t1 - t0, "write_s": t2 - t1, "rows": rows}))
"""

DUCKDB_LOAD = """
import json, sys, time
import duckdb
csv_path, db_path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
con = duckdb.connect(db_path)
con.execute(
    "CREATE TABLE persons AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
    [csv_path],
)
rows = con.execute("SELECT count(*) FROM persons").fetchone()[0]
con.close()
print(json.dumps({"load_s": time.perf_counter() - t0, "rows": rows}))
"""


@dataclass
class Step:
    name: str
    seconds: float
    peak_bytes: int
    ok: bool
    stdout: str
    stderr: str
    rows: int | None = None


def run_step(name: str, argv: list[str], env: dict[str, str], logs: Path) -> Step:
    """Run one process; wall time and its own peak RSS (wait4 reports that child alone)."""
    slug = "".join(c if c.isalnum() else "-" for c in name)
    out_path, err_path = logs / f"{slug}.out", logs / f"{slug}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux, in bytes on macOS
    peak = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    step = Step(
        name,
        seconds,
        peak,
        proc.returncode == 0,
        out_path.read_text(encoding="utf-8", errors="replace"),
        err_path.read_text(encoding="utf-8", errors="replace"),
    )
    state = "ok" if step.ok else f"FAILED (exit {proc.returncode})"
    print(f"  {name}: {seconds:.2f} s, peak {peak / 1024**2:,.0f} MiB, {state}", flush=True)
    if not step.ok:
        tail = (step.stderr or step.stdout).strip().splitlines()[-15:]
        print("    " + "\n    ".join(tail), flush=True)
    return step


def fangkong_command() -> list[str]:
    script = Path(sys.executable).parent / "fangkong"
    return [str(script)] if script.exists() else [sys.executable, "-m", "fangkong"]


def fangkong_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    # a fresh SQLite database and a fresh sealing key under home, whatever the shell says
    for name in ("FANGKONG_DATABASE_URL", "FANGKONG_SEAL_KEY"):
        env.pop(name, None)
    env["FANGKONG_HOME"] = str(home)
    return env


def _rate(rows: int | None, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if rows and seconds > 0 else "—"


def _mib(n: int) -> str:
    return f"{n / 1024**2:,.0f}"


def report(people: int, steps: dict[str, Step]) -> bool:
    print()
    print(f"## Import of {people:,} synthetic persons (SQLite) vs DuckDB CSV load")
    print()
    print("| step | rows | seconds | rows/s | peak RSS (MiB) | status |")
    print("|---|---:|---:|---:|---:|---|")
    for step in steps.values():
        rows = f"{step.rows:,}" if step.rows is not None else ""
        status = "ok" if step.ok else "FAILED"
        rate = _rate(step.rows, step.seconds) if step.ok else "—"
        print(
            f"| {step.name} | {rows} | {step.seconds:.2f} | {rate} "
            f"| {_mib(step.peak_bytes)} | {status} |"
        )
    persons, duck = steps.get("import persons"), steps.get("duckdb load persons")
    print()
    ok = all(s.ok for s in steps.values())
    if persons and duck and persons.ok and duck.ok:
        ratio = persons.seconds / duck.seconds
        time_ok = persons.seconds <= GOAL_SECONDS
        memory_ok = persons.peak_bytes <= GOAL_BYTES
        print("| measure | value | goal | met |")
        print("|---|---:|---:|---|")
        print(f"| fangkong / DuckDB time | {ratio:.1f}× | | |")
        print(
            f"| persons import time | {persons.seconds:.1f} s | ≤ {GOAL_SECONDS:.0f} s "
            f"| {'yes' if time_ok else 'NO'} |"
        )
        print(
            f"| persons import peak memory | {_mib(persons.peak_bytes)} MiB "
            f"| ≤ {_mib(GOAL_BYTES)} MiB | {'yes' if memory_ok else 'NO'} |"
        )
        if people != 1_000_000:
            print(f"\n(the goal is stated for 1,000,000 persons; this run had {people:,})")
    else:
        print("No ratio or goal check: a step failed (see its messages above).")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000, help="persons to generate")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic province")
    parser.add_argument(
        "--out", type=Path, default=None, help="work directory to keep (default: a temp dir)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fangkong-bench-") as tmp:
        work = args.out if args.out is not None else Path(tmp)
        return run(args.people, args.seed, work.resolve())


def run(people: int, seed: int, work: Path) -> int:
    data, home, logs = work / "registry", work / "home", work / "logs"
    for d in (data, home, logs):
        d.mkdir(parents=True, exist_ok=True)
    for stale in (home / "fangkong.db", work / "baseline.duckdb"):
        stale.unlink(missing_ok=True)
    print(f"work directory: {work}")
    steps: dict[str, Step] = {}

    step = run_step(
        "generate + write CSV",
        [sys.executable, "-c", GENERATE, str(people), str(seed), str(data)],
        dict(os.environ),
        logs,
    )
    steps[step.name] = step
    if not step.ok:
        report(people, steps)
        return 1
    info = json.loads(step.stdout.strip().splitlines()[-1])
    step.rows = info["rows"]["persons"]
    print(
        f"  (generate {info['generate_s']:.2f} s, write {info['write_s']:.2f} s; rows: "
        + ", ".join(f"{k} {v:,}" for k, v in info["rows"].items())
        + ")"
    )

    fangkong, env = fangkong_command(), fangkong_env(home)
    steps["db upgrade"] = run_step("db upgrade", [*fangkong, "db", "upgrade"], env, logs)
    for kind in ("regions", "venues", "persons"):
        if not all(s.ok for s in steps.values()):
            print(f"  import {kind}: skipped, an earlier step failed")
            continue
        name = f"import {kind}"
        steps[name] = run_step(
            name, [*fangkong, "import", kind, str(data / f"{kind}.csv")], env, logs
        )
        steps[name].rows = info["rows"][kind]

    duck = run_step(
        "duckdb load persons",
        [
            sys.executable,
            "-c",
            DUCKDB_LOAD,
            str(data / "persons.csv"),
            str(work / "baseline.duckdb"),
        ],
        dict(os.environ),
        logs,
    )
    if duck.ok:
        loaded = json.loads(duck.stdout.strip().splitlines()[-1])
        duck.rows = loaded["rows"]
        if loaded["rows"] != info["rows"]["persons"]:
            duck.ok = False
            print(f"  DuckDB loaded {loaded['rows']:,} rows, expected {info['rows']['persons']:,}")
    steps["duckdb load persons"] = duck
    return 0 if report(people, steps) else 1


if __name__ == "__main__":
    sys.exit(main())
