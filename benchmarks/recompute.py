"""Full health-code re-evaluation of a province: bulk (NumPy) vs the single evaluator.

    .venv/bin/python benchmarks/recompute.py [--persons 10000000] [--sample 20000]
                                             [--db 200000]

Generates mixed random histories as arrays (no database): about 2 tests per person
(pooled, pending, some positive), a third of persons with an event (case, contact,
arrival, residence, clinic visit, period, manual decision), most enrolled in normalised
testing. Times the bulk evaluator over all persons on ``--workers`` threads, then the
single-person evaluator looped over a sample, checks both agree on the sample, and
prints persons per second and the ratio. Goal (issue 5): 10,000,000 persons ≤ 10 s on
2 cores.

``--db N`` (issue 14) then times ``service.recompute_all`` on a SQLite file: N persons
in ``persons`` and the same kind of histories as ``person_facts`` rows (setup, not
timed), plus ``--db-bare M`` persons without any fact; the first pass at AT (every code
new), the next day, and the next day again (nothing due), with the codes stored and
written by each pass.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime

import numpy as np

from fangkong.healthcode import bulk
from fangkong.healthcode.bulk import EVENT_KINDS, KIND, NEVER, FactArrays, from_us, to_us
from fangkong.healthcode.evaluator import evaluate
from fangkong.healthcode.facts import (
    ArrivalFact,
    CaseFact,
    Enrolment,
    ExposureFact,
    ManualFact,
    PeriodFact,
    PersonFacts,
    ResidenceFact,
    TestFact,
)
from fangkong.policy import Colour, load_pack

AT = datetime.fromisoformat("2022-06-20T00:00:00+00:00")
HOUR = bulk.HOUR_US


def generate(n: int, seed: int) -> FactArrays:
    rng = np.random.default_rng(seed)
    at = to_us(AT)
    # tests: Poisson(2) per person over the last 14 days
    counts = rng.poisson(2.0, n)
    t_person = np.repeat(np.arange(n, dtype=np.int64), counts)
    m = len(t_person)
    t_sampled = at - rng.integers(0, 14 * 24, m) * HOUR - rng.integers(0, 60, m) * 60_000_000
    result = rng.choice(np.array([0, 1, 2], dtype=np.int8), m, p=[0.05, 0.94, 0.01])
    t_reported = np.where(result == 0, NEVER, t_sampled + rng.integers(4, 30, m) * HOUR)
    pooled = rng.random(m) < 0.3
    # events: a third of persons, one or two each
    who = np.flatnonzero(rng.random(n) < 0.33)
    who = np.sort(np.concatenate([who, who[rng.random(len(who)) < 0.2]]))
    k = len(who)
    weights = np.array([2, 6, 4, 3, 1, 2, 6, 1, 1, 2, 4, 1, 1, 1, 2], dtype=float)
    kind = rng.choice(np.arange(len(EVENT_KINDS), dtype=np.int8), k, p=weights / weights.sum())
    start = at - rng.integers(0, 20 * 24, k) * HOUR
    has_end = np.isin(kind, [KIND[x] for x in EVENT_KINDS if x.startswith(("case", "res", "per",
                                                                            "man"))])  # fmt: skip
    end = np.where(has_end & (rng.random(k) < 0.7), start + rng.integers(24, 14 * 24, k) * HOUR,
                   NEVER)  # fmt: skip
    colour = np.where(kind == KIND["manual"], rng.integers(0, 3, k), 0).astype(np.int8)
    group = rng.choice(np.array([-1, 0, 1, 2]), n, p=[0.3, 0.6, 0.05, 0.05]).astype(np.int64)
    since = at - rng.integers(10 * 24, 60 * 24, n) * HOUR
    return FactArrays(
        n, who.astype(np.int64), kind, start, end, colour, t_person, t_sampled, t_reported,
        result, pooled, group, since, ("general", "key_daily", "key_twice_weekly"),
    )  # fmt: skip


def _dt(us: int) -> datetime | None:
    return None if us == NEVER else from_us(us)


def person_facts(f: FactArrays, i: int) -> PersonFacts:
    """One person's facts back from the arrays (for the single evaluator)."""
    e0, e1 = np.searchsorted(f.ev_person, [i, i + 1])
    t0, t1 = np.searchsorted(f.t_person, [i, i + 1])
    parts: dict[str, list[object]] = {k: [] for k in ("c", "x", "a", "r", "v", "p", "m")}
    for j in range(e0, e1):
        name = EVENT_KINDS[f.ev_kind[j]]
        s, e = from_us(int(f.ev_start[j])), _dt(int(f.ev_end[j]))
        if name == "case":
            parts["c"].append(CaseFact("confirmed", s, e))
        elif name in ("close_contact", "contact_of_contact", "companion"):
            parts["x"].append(ExposureFact(name, s))  # type: ignore[arg-type]
        elif name.startswith("arrival_"):
            parts["a"].append(ArrivalFact(name[8:], s))  # type: ignore[arg-type]
        elif name.startswith("residence_"):
            parts["r"].append(ResidenceFact(name[10:], s, e))  # type: ignore[arg-type]
        elif name == "clinic":
            parts["v"].append(s)
        elif name.startswith("period_"):
            parts["p"].append(PeriodFact(name[7:], s, e))  # type: ignore[arg-type]
        else:
            parts["m"].append(ManualFact(Colour(int(f.ev_colour[j])), s, e))
    tests = tuple(
        TestFact(from_us(int(f.t_sampled[j])), ("pending", "negative", "positive")[f.t_result[j]],
                 _dt(int(f.t_reported[j])), bool(f.t_pooled[j]))  # type: ignore[arg-type]
        for j in range(t0, t1)
    )  # fmt: skip
    g = int(f.enrol_group[i])
    return PersonFacts(
        tuple(parts["c"]), tuple(parts["x"]), tuple(parts["a"]), tests,  # type: ignore[arg-type]
        Enrolment(f.groups[g], from_us(int(f.enrol_since[i]))) if g >= 0 else None,
        tuple(parts["r"]), tuple(parts["v"]), tuple(parts["p"]), tuple(parts["m"]),  # type: ignore[arg-type]
    )  # fmt: skip


_STAMP = "%Y-%m-%d %H:%M:%S.%f"


def _ts(us: int) -> str | None:
    return None if us == NEVER else from_us(us).strftime(_STAMP)


def fact_rows(f: FactArrays) -> list[tuple[object, ...]]:
    """``person_facts`` rows (person id = index + 1) for the histories in ``f``."""
    import json

    rows: list[tuple[object, ...]] = []
    for j in range(len(f.ev_person)):
        name = EVENT_KINDS[f.ev_kind[j]]
        end = _ts(int(f.ev_end[j]))
        if name == "case":
            kind, detail = "case", {"status": "confirmed"}
        elif name in ("close_contact", "contact_of_contact", "companion"):
            kind, detail, end = name, {}, None
        elif name.startswith("arrival_"):
            kind, detail, end = "arrival", {"risk": name[8:], "origin": ""}, None
        elif name.startswith("residence_"):
            kind, detail = "residence", {"level": name[10:], "area": ""}
        elif name == "clinic":
            kind, detail, end = "clinic_visit", {}, None
        elif name.startswith("period_"):
            kind, detail = "period", {"period": name[7:], "place": ""}
        else:
            kind, detail = "manual", {"colour": Colour(int(f.ev_colour[j])).label}
        start = _ts(int(f.ev_start[j]))
        rows.append((int(f.ev_person[j]) + 1, kind, start, end, json.dumps(detail)))
    results = ("pending", "negative", "positive")
    for j in range(len(f.t_person)):
        test: dict[str, object] = {"result": results[f.t_result[j]], "pooled": bool(f.t_pooled[j]),
                                   "sample_id": f"s{j}"}  # fmt: skip
        if f.t_reported[j] != NEVER:
            test["reported_at"] = from_us(int(f.t_reported[j])).isoformat()
        rows.append((int(f.t_person[j]) + 1, "test", _ts(int(f.t_sampled[j])), None,
                     json.dumps(test)))  # fmt: skip
    for i in np.flatnonzero(f.enrol_group >= 0):
        rows.append((int(i) + 1, "enrolment", _ts(int(f.enrol_since[i])), None,
                     json.dumps({"group": f.groups[f.enrol_group[i]]})))  # fmt: skip
    return rows


def database_run(n: int, seed: int, pack_name: str, bare: int = 0) -> None:
    """recompute_all on a SQLite file of ``n`` persons (see the module's docstring)."""
    import sqlite3
    import tempfile
    from datetime import timedelta
    from pathlib import Path

    from sqlalchemy import func, select

    from fangkong.healthcode.context import CodeContext
    from fangkong.healthcode.qr import QrKeys
    from fangkong.healthcode.recompute import recompute_all
    from fangkong.healthcode.tables import health_codes
    from fangkong.identity.sealing import Sealer
    from fangkong.store import migrate
    from fangkong.store.engine import make_engine

    ctx = CodeContext(pack=load_pack(pack_name), sealer=Sealer(bytes(32)), qr=QrKeys.generate())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "codes.db")
        engine = make_engine(f"sqlite:///{path}")
        migrate.upgrade(engine)
        engine.dispose()
        t = time.perf_counter()
        rows = fact_rows(generate(n, seed))
        stamp = AT.strftime(_STAMP)
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO persons (id, doc_type, doc_country, doc_hash, doc_sealed, name, sex, "
            "birth_date, occupation, created_at, updated_at) VALUES (?, 'passport', 'FRA', ?, "
            "x'00', 'n', 'F', '1990-01-01', 'other', ?, ?)",
            ((i + 1, i.to_bytes(32, "big"), stamp, stamp) for i in range(n + bare)),
        )
        con.executemany(
            "INSERT INTO person_facts (person_id, kind, starts_at, ends_at, detail, recorded_at, "
            "recorded_by) VALUES (?, ?, ?, ?, ?, ?, 'bench')",
            ((*r, stamp) for r in rows),
        )
        con.execute("COMMIT")
        con.close()
        took = time.perf_counter() - t
        print(f"database: {n:,} persons with histories, {bare:,} without facts, "
              f"{len(rows):,} facts, setup {took:.1f} s")  # fmt: skip
        engine = make_engine(f"sqlite:///{path}")
        day = timedelta(days=1)
        for label, at in (("first pass", AT), ("next day", AT + day), ("again", AT + day)):
            t = time.perf_counter()
            result = recompute_all(engine, ctx, at)
            took = time.perf_counter() - t
            with engine.connect() as conn:
                codes = conn.execute(select(func.count()).select_from(health_codes)).scalar_one()
            print(f"recompute_all {label}: {took:.2f} s; {result}; codes stored {codes:,}")
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--persons", type=int, default=10_000_000)
    ap.add_argument("--sample", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=20_000)
    ap.add_argument("--pack", default="protocol-9")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", type=int, default=0, help="persons for recompute_all on SQLite")
    ap.add_argument("--db-bare", type=int, default=0, help="and persons without any fact")
    args = ap.parse_args()
    pack = load_pack(args.pack)
    t = time.perf_counter()
    f = generate(args.persons, args.seed)
    print(f"generated {args.persons:,} persons, {len(f.t_person):,} tests, "
          f"{len(f.ev_person):,} events in {time.perf_counter() - t:.1f} s "
          f"(cores available: {os.cpu_count()})")  # fmt: skip
    t = time.perf_counter()
    got = bulk.evaluate_bulk(f, AT, pack, chunk=args.chunk, workers=args.workers)
    bulk_s = time.perf_counter() - t
    counts = np.bincount(got.colour, minlength=3)
    print(f"bulk:   {args.persons:,} persons in {bulk_s:.2f} s "
          f"({args.persons / bulk_s:,.0f}/s, {args.workers} threads); "
          f"green {counts[0]:,} yellow {counts[1]:,} red {counts[2]:,}")  # fmt: skip
    rng = np.random.default_rng(args.seed + 1)
    sample = np.sort(rng.choice(args.persons, min(args.sample, args.persons), replace=False))
    people = [person_facts(f, int(i)) for i in sample]
    t = time.perf_counter()
    decisions = [evaluate(p, AT, pack) for p in people]
    single_s = time.perf_counter() - t
    per_single = single_s / len(sample)
    print(f"single: {len(sample):,} persons in {single_s:.2f} s ({len(sample) / single_s:,.0f}/s)")
    agree = all(
        int(d.colour) == int(got.colour[i])
        and (NEVER if d.next_change_at is None else to_us(d.next_change_at))
        == int(got.next_change[i])
        for d, i in zip(decisions, sample, strict=True)
    )
    print(f"sample agrees with bulk: {agree}")
    ratio = per_single * args.persons / bulk_s
    print(f"ratio: bulk is {ratio:,.0f}× the single evaluator per person "
          f"(single would take {per_single * args.persons / 60:,.1f} min for all)")  # fmt: skip
    assert agree
    if args.db:
        database_run(args.db, args.seed, args.pack, args.db_bare)


if __name__ == "__main__":
    main()
