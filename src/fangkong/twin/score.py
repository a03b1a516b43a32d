"""Scoring a response against the twin's ground truth (评估): pure functions over tables.

``truth`` is the concatenated ``truth/infections`` table; ``decisions`` says who was put
under control when (columns ``person`` int32, ``day`` int32, ``action`` string: isolate,
home_quarantine or release); ``found`` lists the contacts the platform traced (columns
``case`` int32, ``contact`` int32).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

Ints = npt.NDArray[np.int64]
_DECISION_FIELDS: list[pa.Field[Any]] = [
    pa.field("person", pa.int32()),
    pa.field("day", pa.int32()),
    pa.field("action", pa.string()),
]
DECISIONS = pa.schema(_DECISION_FIELDS)
FOUND = pa.schema([pa.field("case", pa.int32()), pa.field("contact", pa.int32())])


def read_truth(run_dir: Path) -> pa.Table:
    """All days of a run's ground truth (``run_dir/truth/infections``)."""
    return pq.read_table(run_dir / "truth" / "infections", partitioning=None).select(
        ["infectee", "infector", "day", "setting", "venue_code", "onset_day", "asymptomatic"]
    )


def epidemic_curve(truth: pa.Table, days: int) -> Ints:
    """New infections per day 0..days-1 (imported infections dated by infection day)."""
    day = truth["day"].to_numpy()
    day = day[(day >= 0) & (day < days)]
    return np.bincount(day, minlength=days).astype(np.int64)


def rt_by_day(truth: pa.Table, days: int) -> npt.NDArray[np.float64]:
    """Mean secondary infections of those infected on each day (NaN where nobody was).

    The case reproduction number from truth; the last days are low because their
    cases have not finished infecting others.
    """
    infectee = truth["infectee"].to_numpy()
    day = truth["day"].to_numpy()
    infector = truth["infector"].to_numpy(zero_copy_only=False)
    infector = np.nan_to_num(infector.astype(np.float64), nan=-1).astype(np.int64)
    offspring = np.zeros(int(infectee.max(initial=0)) + 1, dtype=np.int64)
    np.add.at(offspring, infector[infector >= 0], 1)
    ok = (day >= 0) & (day < days)
    cases = np.bincount(day[ok], minlength=days)
    children = np.bincount(day[ok], weights=offspring[infectee[ok]], minlength=days)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cases > 0, children / np.maximum(cases, 1), np.nan)


def detection_delay(truth: pa.Table, first_alert_day: int | None) -> int | None:
    """Days from the first local infection to the first alert (None if never alerted)."""
    local = truth.filter(pc.not_equal(truth["setting"].cast(pa.string()), pa.scalar("imported")))
    if first_alert_day is None or local.num_rows == 0:
        return None
    return first_alert_day - int(pc.min(local["day"]).as_py())


def controlled_on(decisions: pa.Table, persons: Ints, days: Ints) -> npt.NDArray[np.bool_]:
    """Whether each person was under isolation or quarantine on the given day."""
    if decisions.num_rows == 0:
        return np.zeros(len(persons), dtype=np.bool_)
    order = np.lexsort((decisions["day"].to_numpy(), decisions["person"].to_numpy()))
    p = decisions["person"].to_numpy()[order].astype(np.int64)
    d = decisions["day"].to_numpy()[order].astype(np.int64)
    on = np.array([a != "release" for a in decisions["action"].to_pylist()])[order]
    key = p * 1_000_000 + d
    at = np.searchsorted(key, persons * 1_000_000 + days, side="right") - 1
    ok = (at >= 0) & (p[np.maximum(at, 0)] == persons)
    result: npt.NDArray[np.bool_] = ok & on[np.maximum(at, 0)]
    return result


@dataclass(frozen=True)
class Score:
    infections: int
    baseline_infections: int | None
    averted_share: float | None
    in_control_share: float  # infections whose infector was already isolated/quarantined
    detection_delay_days: int | None
    contact_recall: float | None
    contact_precision: float | None


def score(
    truth: pa.Table,
    decisions: pa.Table,
    *,
    baseline: pa.Table | None = None,
    first_alert_day: int | None = None,
    found: pa.Table | None = None,
) -> Score:
    """The response's figures against the truth (and the uncontrolled run of the seed)."""
    infector = truth["infector"].to_numpy(zero_copy_only=False)
    infector = np.nan_to_num(infector.astype(np.float64), nan=-1).astype(np.int64)
    day = truth["day"].to_numpy().astype(np.int64)
    has = infector >= 0
    in_control = controlled_on(decisions, infector[has], day[has])
    recall = precision = None
    if found is not None:
        true_pairs = set(
            zip(infector[has].tolist(), truth["infectee"].to_numpy()[has].tolist(), strict=True)
        )
        found_pairs = set(zip(found["case"].to_pylist(), found["contact"].to_pylist(), strict=True))
        hits = len(true_pairs & found_pairs)
        recall = hits / len(true_pairs) if true_pairs else None
        precision = hits / len(found_pairs) if found_pairs else None
    base = baseline.num_rows if baseline is not None else None
    return Score(
        infections=truth.num_rows,
        baseline_infections=base,
        averted_share=(1 - truth.num_rows / base) if base else None,
        in_control_share=float(in_control.mean()) if len(in_control) else 0.0,
        detection_delay_days=detection_delay(truth, first_alert_day),
        contact_recall=recall,
        contact_precision=precision,
    )


def plot_curves(curves: dict[str, Ints], path: Path, title: str = "Epidemic curve") -> Path:
    """A PNG of new infections per day, one line per run (e.g. with and without control)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for label, curve in curves.items():
        ax.plot(np.arange(len(curve)), curve, label=label, linewidth=2)
    ax.set_xlabel("day")
    ax.set_ylabel("new infections (truth)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def isolation_delays(truth: pa.Table, decisions: pa.Table, cases: Ints) -> Ints:
    """Days from infection to the first isolation or home order, for each of ``cases``
    (person rows) the truth infected: 0 when already under an order on the day of infection,
    else the first later day an order took effect minus the infection day. Cases the truth
    never infected, or never put under an order, are left out."""
    infected = dict(zip(truth["infectee"].to_pylist(), truth["day"].to_pylist(), strict=True))
    rows = [int(c) for c in cases.tolist() if int(c) in infected]
    if not rows:
        return np.zeros(0, np.int64)
    days = np.array([infected[r] for r in rows], np.int64)
    already = controlled_on(decisions, np.array(rows, np.int64), days)
    ordered: dict[int, list[int]] = {}
    if decisions.num_rows:
        on = pc.not_equal(decisions["action"], pa.scalar("release"))
        orders = decisions.filter(on)
        people = orders["person"].to_numpy().astype(np.int64).tolist()
        for p, d in zip(people, orders["day"].to_numpy().astype(np.int64).tolist(), strict=True):
            ordered.setdefault(p, []).append(d)
    out: list[int] = []
    for r, day, now in zip(rows, days.tolist(), already.tolist(), strict=True):
        if now:
            out.append(0)
            continue
        later = [d for d in ordered.get(r, []) if d > day]
        if later:
            out.append(min(later) - day)
    return np.array(out, np.int64)


def contacts_per_case(found: pa.Table, cases: Ints) -> Ints:
    """Close contacts the platform named for each of ``cases`` (person rows; 0 if none)."""
    n = np.zeros(0, np.int64)
    if found.num_rows:
        case = found["case"].to_numpy().astype(np.int64)
        contact = found["contact"].to_numpy().astype(np.int64)
        pairs = np.unique(np.stack([case, contact]), axis=1)
        n = np.bincount(pairs[0], minlength=int(cases.max(initial=0)) + 1)
    return np.array([int(n[c]) if c < len(n) else 0 for c in cases.tolist()], np.int64)


def contacts_infected_share(truth: pa.Table, found: pa.Table) -> float | None:
    """Share of the distinct close contacts named that the truth infected later than a case
    that named them (None if none was named): a contact infected before the case — its
    infector, a co-exposed person — is named but does not count as infected later."""
    case = found["case"].to_numpy().astype(np.int64)
    contact = found["contact"].to_numpy().astype(np.int64)
    contacts = np.unique(contact)
    if not len(contacts):
        return None
    infectee = truth["infectee"].to_numpy().astype(np.int64)
    size = int(max(infectee.max(initial=0), case.max(initial=0), contact.max(initial=0))) + 1
    day = np.full(size, np.iinfo(np.int64).max, np.int64)  # never infected: no day
    day[infectee] = truth["day"].to_numpy().astype(np.int64)
    later = (day[contact] < np.iinfo(np.int64).max) & (day[contact] > day[case])
    return float(len(np.unique(contact[later])) / len(contacts))
