"""What the province loop reports (报告): per-day figures, the score against the twin's
truth, and the files a script reads — ``report.json`` and ``cases.csv`` (docs/formats.md).

Counts of cases, codes and placements are the platform's own records; infections and the
score are the twin's truth. The checks compare the two: a registered case the twin never
infected is counted (it must be zero), as is a case registered twice.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine, func, select

from fangkong.command.tables import command_tasks
from fangkong.files import private_dir, private_opener
from fangkong.healthcode.tables import health_codes
from fangkong.store.schema import persons
from fangkong.testing.tables import tube_members, tubes
from fangkong.tracing.control import CaseOrigin
from fangkong.tracing.tables import tracing_cases
from fangkong.twin.score import Score

REPORT_VERSION = 1


@dataclass
class DayFigures:
    """One simulated day as the loop saw it (platform records; ``infections`` is truth)."""

    day: int
    date: date
    infections: int  # new infections in the twin's truth
    checkins: int
    refused_scans: int  # check-ins refused at venue gates (codes)
    confirmed: int = 0  # cases the platform registered this day
    under_control: int = 0  # … of them found under control
    community: int = 0  # … found in the community
    isolated: int = 0  # persons in centralised quarantine or isolation (the day's orders)
    home: int = 0  # under a home order
    sealed_residents: int = 0  # living in a sealed compound
    codes: dict[str, int] = field(default_factory=dict)  # colour → persons, at the day's end
    seconds: dict[str, float] = field(default_factory=dict)  # capability → seconds
    # command tasks: raised, closed and escalated this day, and open at its end
    tasks: dict[str, int] = field(default_factory=dict)


TASK_OUTCOMES = ("done_on_time", "done_late", "open", "open_overdue", "cancelled")


def task_outcomes(engine: Engine, at: datetime) -> dict[str, dict[str, int]]:
    """Every command task by its final status, from the table (whoever closed it: the
    raising job, the service of its source, a person): done on time (closed ≤ deadline),
    done late, still open (and of those past the deadline at ``at``), cancelled — in all
    and per kind. ``escalated``: tasks moved up at least once."""
    t = command_tasks.c
    out: dict[str, dict[str, int]] = {"all": dict.fromkeys((*TASK_OUTCOMES, "escalated"), 0)}
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.kind, t.status, t.deadline_at, t.closed_at, t.escalation_level)
        ).all()
    for kind, status, deadline, closed, level in rows:
        if status == "done":
            outcome = "done_on_time" if closed is not None and closed <= deadline else "done_late"
        elif status == "cancelled":
            outcome = "cancelled"
        else:
            outcome = "open_overdue" if deadline < at else "open"
        for key in ("all", str(kind)):
            counts = out.setdefault(key, dict.fromkeys((*TASK_OUTCOMES, "escalated"), 0))
            counts[outcome] += 1
            counts["escalated"] += 1 if level else 0
    return out


def codes_by_colour(engine: Engine) -> dict[str, int]:
    """Stored codes by colour, and persons without one (``none``)."""
    with engine.connect() as conn:
        counts: dict[str, int] = {
            str(c): int(n)
            for c, n in conn.execute(
                select(health_codes.c.colour, func.count()).group_by(health_codes.c.colour)
            )
        }
        people = conn.execute(select(func.count()).select_from(persons)).scalar_one()
    out = {c: counts.get(c, 0) for c in ("green", "yellow", "red")}
    out["none"] = int(people) - sum(counts.values())
    return out


def cost_figures(engine: Engine, days: list[DayFigures]) -> dict[str, int]:
    """The cost side of a run (docs/evaluation.md): person-days with a red or yellow code
    (codes at each day's end), in centralised quarantine, under a home order, living in a
    sealed compound (the orders at each day's start), venue-closure days (the adapter
    closes no venue: 0), and the samples the platform collected (persons sampled, tubes)."""
    with engine.connect() as conn:
        samples = conn.execute(select(func.count()).select_from(tube_members)).scalar_one()
        n_tubes = conn.execute(select(func.count()).select_from(tubes)).scalar_one()
    centralised = sum(d.isolated for d in days)
    home = sum(d.home for d in days)
    sealed = sum(d.sealed_residents for d in days)
    return {
        "red_person_days": sum(d.codes.get("red", 0) for d in days),
        "yellow_person_days": sum(d.codes.get("yellow", 0) for d in days),
        "centralised_person_days": centralised,
        "home_person_days": home,
        "sealed_person_days": sealed,
        "restricted_person_days": centralised + home + sealed,
        "venue_closure_days": 0,
        "samples": int(samples),
        "tubes": int(n_tubes),
    }


def confirmed_day(origin: CaseOrigin, start: date, tz: Any) -> int:
    """The simulated day (0 = the run's start date) on which the case was registered: day
    d runs from its local midnight, exclusive, to the next, inclusive — the platform's
    jobs of day d run at its end (24:00)."""
    instant = origin.registered_at - timedelta(microseconds=1)
    return (instant.astimezone(tz).date() - start).days


@dataclass(frozen=True)
class TruthChecks:
    """The platform's cases against the twin's truth."""

    never_infected: int  # registered cases the twin never infected (must be 0)
    registered_twice: int  # persons registered as a case more than once (must be 0)
    infected_found: int  # infected persons the platform registered as cases


def truth_checks(engine: Engine, rows_of_cases: np.ndarray, truth: pa.Table) -> TruthChecks:
    """``rows_of_cases``: twin rows of the registered cases; ``truth``: all infections."""
    infected = set(truth["infectee"].to_pylist())
    with engine.connect() as conn:
        per_person = conn.execute(
            select(tracing_cases.c.person_id, func.count()).group_by(tracing_cases.c.person_id)
        ).all()
    twice = sum(1 for _, n in per_person if n > 1)
    rows = [int(r) for r in rows_of_cases.tolist()]
    never = sum(1 for r in rows if r not in infected)
    return TruthChecks(never, twice, len(rows) - never)


def write_cases_csv(path: Path, rows: list[tuple[int, int, bool]]) -> Path:
    """``person_row,confirmed_day,found_under_control`` — one line per registered case."""
    private_dir(path.parent)
    with open(path, "w", newline="", encoding="utf-8", opener=private_opener) as fh:
        w = csv.writer(fh)
        w.writerow(["person_row", "confirmed_day", "found_under_control"])
        for row, day, controlled in sorted(rows, key=lambda x: (x[1], x[0])):
            w.writerow([row, day, "true" if controlled else "false"])
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    return value


def write_report(
    path: Path,
    *,
    run: dict[str, Any],
    days: list[DayFigures],
    score: Score,
    reference: Score | None,
    checks: TruthChecks,
    origins: Counter[str],
    codes: dict[str, int],
    placements: dict[str, int],
    extra: dict[str, Any],
) -> Path:
    """``report.json``: the run, the score, cases by day and by origin, codes, placements,
    the checks against the truth, and per-day figures (docs/formats.md)."""
    confirmed = sum(d.confirmed for d in days)
    under = sum(d.under_control for d in days)
    body = {
        "version": REPORT_VERSION,
        "run": run,
        "score": {
            "infections": score.infections,
            "infections_without_control": score.baseline_infections,
            "averted_share": score.averted_share,
            "infections_reference_response": None if reference is None else reference.infections,
            "averted_share_reference_response": None
            if reference is None
            else reference.averted_share,
            "infections_by_controlled_infectors_share": score.in_control_share,
            "contact_recall": score.contact_recall,
            "contact_precision": score.contact_precision,
            "restricted_person_days": {
                "centralised": sum(d.isolated for d in days),
                "home": sum(d.home for d in days),
                "sealed": sum(d.sealed_residents for d in days),
            },
            "refused_scans": sum(d.refused_scans for d in days),
        },
        "cases": {
            "confirmed": confirmed,
            "found_under_control": under,
            "found_in_community": confirmed - under,
            "by_control": dict(sorted(origins.items())),
            "never_infected": checks.never_infected,
            "registered_twice": checks.registered_twice,
        },
        "codes": codes,
        "placements": placements,
        "days": [asdict(d) for d in days],
        **extra,
    }
    private_dir(path.parent)
    with open(path, "w", encoding="utf-8", opener=private_opener) as fh:
        fh.write(json.dumps(_jsonable(body), ensure_ascii=False, indent=2) + "\n")
    return path
