"""Lead time of early warning on the twin: do fever clinics and pharmacies raise alerts
before the first case is confirmed?

For each seed: a synthetic province of N persons, four quiet weeks of signals (no
outbreak), then the outbreak with the reference response, the detection job run at the
end of every simulated day with the rules of the pack. Prints per seed the day of the
first confirmed case (first positive result), the first alert of each rule on or after
the outbreak's start, the lead time in days, and the false alerts of the quiet weeks.
Ground truth is read only to say whether an alert's region held an infected person by
then. Run: ``.venv/bin/python scripts/alerts_lead_time.py --seeds 1-10``.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select

from fangkong.alerts.rules import AlertRules
from fangkong.alerts.tables import alerts
from fangkong.demo.warning import AlertFeed
from fangkong.policy import load_pack
from fangkong.registry.service import ImportOptions, import_file
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from fangkong.twin.registry import generate_registry, write_registry
from fangkong.twin.response import ReferenceResponse
from fangkong.twin.scenario import default_scenario
from fangkong.twin.sim import Twin

STAT_RULES = ("fever_clinic_daily", "fever_drugs_daily", "fever_cluster")


def scenario_today() -> date:
    return default_scenario().run.start_date


def _seeds(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def one_seed(seed: int, people: int, days: int, pack: str, folder: Path) -> dict[str, object]:
    engine = make_engine(f"sqlite:///{folder / f's{seed}.db'}")
    migrate.upgrade(engine)
    registry = generate_registry(people, seed=seed)
    files = write_registry(registry, folder / f"reg{seed}", "csv")
    import_file(engine, "regions", files["regions"], ImportOptions(today=scenario_today()))
    scenario = default_scenario()
    rules = AlertRules.from_pack(load_pack(pack))
    feed = AlertFeed.build(engine, rules, registry, scenario)
    false_alerts = feed.history(registry, scenario, seed)
    twin = Twin.from_registry(registry, scenario, seed=seed)
    response = ReferenceResponse(twin)
    codes = np.asarray(registry.persons.column("residence_code").to_pylist(), dtype=object)
    infected = np.zeros(len(codes), bool)
    # (rule's signal family, day) → compounds where an infected person visited / bought
    case_signals: dict[tuple[str, int], set[str]] = {}
    confirmed_at = None

    def orders(day: int, last: object) -> object:
        return response(day, last)  # type: ignore[arg-type]

    for events in twin.run(days, orders):  # type: ignore[arg-type]
        decided = response.decisions()
        managed = np.zeros(len(codes), bool)
        early = decided.filter(pc.less(decided["day"], events.day))
        managed[np.asarray(early["person"].to_numpy(), np.int64)] = True
        feed.day(events, managed)
        infected[events.truth["infectee"].to_numpy()] = True
        visits = events.fever_clinic_visits["person"].to_numpy()
        sales = events.pharmacy_sales
        fever = pc.is_in(
            pc.cast(sales["drug_class"], pa.string()), pa.array(["antipyretic", "cough", "cold"])
        )
        bought = sales.filter(fever)["person"].to_numpy()
        for fam, who in (("fever_clinic", visits), ("fever_drugs", bought)):
            case_signals[(fam, events.day)] = set(codes[who[infected[who]]].tolist())
        pos = events.test_results.filter(pc.field("positive"))
        if confirmed_at is None and pos.num_rows:
            confirmed_at = pc.min(pos["result_time"]).as_py()
    start = scenario.run.start_date
    with engine.connect() as conn:
        rows = conn.execute(select(alerts.c.rule, alerts.c.region_code, alerts.c.first_period,
                                   alerts.c.raised_at)
                            .where(alerts.c.first_period >= start)
                            .order_by(alerts.c.first_period)).all()  # fmt: skip
    first_true: dict[str, object] = {}
    for rule, region, period, raised in rows:
        fam = "fever_clinic" if rule in ("fever_clinic_daily", "fever_cluster") else "fever_drugs"
        day = (period - start).days
        if any(c.startswith(region) for c in case_signals.get((fam, day), set())):
            first_true.setdefault(rule, raised)
    out: dict[str, object] = {"seed": seed, "confirmed": confirmed_at,
                              "quiet_false": false_alerts}  # fmt: skip
    for rule in STAT_RULES:
        t = first_true.get(rule)
        out[rule] = (
            None if t is None or confirmed_at is None else (confirmed_at - t).total_seconds() / 3600
        )  # type: ignore[operator]
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1-5")
    ap.add_argument("--people", type=int, default=50_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--pack", default="protocol-9")
    a = ap.parse_args()
    print(
        "lead = first confirmed result − the first alert whose count includes a visit or "
        "purchase by an infected person (hours; positive: the alert came first)"
    )
    print(
        f"{'seed':>4} {'confirmed (UTC)':>17} {'false alerts, 4 quiet weeks':>28} "
        + " ".join(f"{r:>20}" for r in STAT_RULES)
    )
    leads: dict[str, list[float]] = {r: [] for r in STAT_RULES}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in _seeds(a.seeds):
            r = one_seed(seed, a.people, a.days, a.pack, Path(tmp))
            cells = []
            for rule in STAT_RULES:
                lead = r[rule]
                if isinstance(lead, float):
                    leads[rule].append(lead)
                cells.append(f"{'—' if lead is None else f'{lead:+.0f} h':>20}")
            conf = r["confirmed"]
            when = "—" if conf is None else conf.strftime("%m-%d %H:%M")  # type: ignore[attr-defined]
            print(f"{seed:>4} {when:>17} {r['quiet_false']!s:>28} " + " ".join(cells), flush=True)
    for rule, xs in leads.items():
        if xs:
            ahead = sum(x > 0 for x in xs)
            print(
                f"{rule}: before confirmation on {ahead} of {len(xs)} seeds with a true alert; "
                f"median lead {float(np.median(xs)):+.0f} h, range {min(xs):+.0f}..{max(xs):+.0f} h"
            )
        else:
            print(f"{rule}: no alert counting an infected person")


if __name__ == "__main__":
    main()
