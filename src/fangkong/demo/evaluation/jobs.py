"""One job of ``fangkong evaluate``: a seed's no-control twin, or a seed × pack run of the
province loop on its own fresh SQLite store. Each runs in a worker process and returns
a small dict of metrics (docs/evaluation.md), never tables."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import datetime, time
from pathlib import Path
from time import perf_counter, process_time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from fangkong import clock
from fangkong.cli_support import database
from fangkong.demo.evaluation.alerts import SignalWitness, alert_leads
from fangkong.demo.loop import ProvinceLoop
from fangkong.demo.province import import_registry
from fangkong.demo.report import confirmed_day, cost_figures
from fangkong.healthcode.context import CodeContext
from fangkong.identity.sealing import Sealer, load_or_create_key
from fangkong.settings import Settings
from fangkong.store import migrate
from fangkong.tracing.control import case_origins
from fangkong.twin.registry import generate_registry
from fangkong.twin.scenario import default_scenario
from fangkong.twin.score import (
    contacts_infected_share,
    contacts_per_case,
    isolation_delays,
    score,
)
from fangkong.twin.sim import Twin

BY = "evaluate"


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None


def no_control(seed: int, people: int, days: int) -> dict[str, Any]:
    """The twin alone for ``days`` days: infections in its truth (nothing written)."""
    tic, cpu = perf_counter(), process_time()
    registry = generate_registry(people, seed=seed)
    twin = Twin.from_registry(registry, default_scenario(), seed=seed)
    infections = sum(events.truth.num_rows for events in twin.run(days))
    return {"seed": seed, "infections": infections, "seconds": perf_counter() - tic,
            "cpu_seconds": process_time() - cpu}  # fmt: skip


def platform_run(cfg: Settings, seed: int, pack: str, people: int, days: int) -> dict[str, Any]:
    """The province loop with ``pack`` for ``days`` days on a store of its own, scored."""
    tic, cpu = perf_counter(), process_time()
    with tempfile.TemporaryDirectory(prefix="fangkong-evaluate-") as tmp:
        home = Path(tmp)
        cfg = dataclasses.replace(cfg, home=home, policy_pack=pack, seal_key="",
                                  database_url=f"sqlite:///{home / 'fangkong.db'}",
                                  audit_anchor_copy="")  # throwaway: no anchor copy  # fmt: skip
        with database(cfg) as engine:
            result = _run(engine, cfg, seed, pack, people, days, tic)
    result["cpu_seconds"] = process_time() - cpu
    return result


def _run(engine: Any, cfg: Settings, seed: int, pack: str, people: int, days: int,
         tic: float) -> dict[str, Any]:  # fmt: skip
    migrate.upgrade(engine)
    scenario = default_scenario()
    tz = ZoneInfo(scenario.run.timezone)
    clock.set_replay(engine, datetime.combine(scenario.run.start_date, time(0), tz), by=BY)
    registry = generate_registry(people, seed=seed)
    import_registry(engine, registry, cfg.home / "registry", Sealer(load_or_create_key(cfg)),
                    today=clock.today(tz), phone_region=cfg.phone_region)  # fmt: skip
    ctx = CodeContext.from_settings(cfg)
    witness = SignalWitness.of(registry)
    set_up = perf_counter() - tic
    loop = ProvinceLoop(engine, ctx, registry, scenario, seed, cfg.home / "run",
                        write_events=False, on_events=witness.day)  # fmt: skip
    loop.run(days)

    truth = loop.truth()
    decisions = loop.adapter.decisions()
    found = loop.tracing.found_pairs()
    result = score(truth, decisions, found=found)
    origins = case_origins(engine, loop.seal_levels)
    confirmed = [(r, confirmed_day(o, loop.start, loop.tz)) for o in origins
                 if (r := loop.adapter.row(o.person_id)) is not None]  # fmt: skip
    rows = np.array([r for r, _ in confirmed], np.int64)
    leads = alert_leads(engine, witness, confirmed, loop.start)
    figures = [d.figures for d in loop.days]
    n_confirmed = sum(f.confirmed for f in figures)
    under = sum(f.under_control for f in figures)
    return {
        "seed": seed,
        "pack": pack,
        "ref": ctx.pack.ref,
        "infections": result.infections,
        "confirmed": n_confirmed,
        "found_under_control_share": under / n_confirmed if n_confirmed else None,
        "isolation_delay_days": _median(isolation_delays(truth, decisions, rows)),
        "close_contacts_per_case": _median(contacts_per_case(found, rows)),
        "tracing_precision": result.contact_precision,
        "tracing_recall": result.contact_recall,
        "contacts_infected_share": contacts_infected_share(truth, found),
        "alert_lead_days": _median(np.array(leads.leads, np.float64)),
        "alerts_kept": leads.kept,
        "alerts_dropped": leads.dropped,
        **cost_figures(engine, figures),
        "infections_per_day": [f.infections for f in figures],
        "seconds": perf_counter() - tic,
        "seconds_set_up": set_up,
        "seconds_by_capability": dict(loop.seconds),
    }
