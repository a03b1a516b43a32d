"""The "four earlies" board (四早看板): how quickly each jurisdiction handled its alerts.

Per jurisdiction (the sub-areas of the viewer's region), over the alerts raised there:
raised, open, overdue now, escalated (the alert's command task moved above the alert's
region: ``command.tasks.escalate_overdue``), dismissed as false alarms; the share verified on
time (within the pack's verify deadline) and its median delay; the same for
investigation; and the median delay from the end of the counted period to the alert
(早发现, early detection). An alert counts in a share once its deadline has passed or its
step is done, so an alert raised a minute ago does not lower anyone's share.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fangkong.alerts.model import OPEN
from fangkong.alerts.service import overdue_steps


@dataclass(frozen=True)
class Timeliness:
    code: str
    name: str
    raised: int
    open: int
    overdue: int
    escalated: int
    dismissed: int
    verified_due: int  # alerts whose verification was due or done
    verified_on_time: int
    investigated_due: int
    investigated_on_time: int
    median_verify_hours: float | None
    median_investigate_hours: float | None
    median_detect_hours: float | None

    @property
    def verify_share(self) -> float | None:
        return self.verified_on_time / self.verified_due if self.verified_due else None

    @property
    def investigate_share(self) -> float | None:
        return self.investigated_on_time / self.investigated_due if self.investigated_due else None


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def _median(xs: Sequence[float]) -> float | None:
    return float(statistics.median(xs)) if xs else None


def _step(rows: Iterable[Any], now: datetime, done: str, due: str) -> tuple[int, int, list[float]]:
    """(counted, on time, delays in hours) of one step (verify or investigate)."""
    counted = on_time = 0
    delays: list[float] = []
    for r in rows:
        at, deadline = getattr(r, done), getattr(r, due)
        if at is None and (r.status not in OPEN or deadline > now):
            continue  # not due yet, or the alert was dismissed before the step
        counted += 1
        if at is not None:
            delays.append(_hours(r.raised_at, at))
            on_time += at <= deadline
    return counted, on_time, delays


def timeliness(
    code: str, name: str, rows: Sequence[Any], now: datetime, tz: ZoneInfo,
    escalated: Collection[int] = frozenset(),
) -> Timeliness:  # fmt: skip
    """The board's row for one jurisdiction from its alert rows (``alerts`` columns);
    ``escalated``: the ids of alerts whose task escalated (``access.escalated_alerts``)."""
    verified = _step(rows, now, "verified_at", "verify_due")
    investigated = _step(rows, now, "investigated_at", "investigate_due")
    detect = []
    for r in rows:
        step = timedelta(days=7 if r.frequency == "week" else 1)
        end = datetime.combine(r.first_period + step, time(0), tz)
        detect.append(max(0.0, _hours(end, r.raised_at)))
    return Timeliness(
        code=code, name=name, raised=len(rows),
        open=sum(r.status in OPEN for r in rows),
        overdue=sum(overdue_steps(r, now) > 0 for r in rows),
        escalated=sum(r.id in escalated for r in rows),
        dismissed=sum(r.status == "dismissed" for r in rows),
        verified_due=verified[0], verified_on_time=verified[1],
        investigated_due=investigated[0], investigated_on_time=investigated[1],
        median_verify_hours=_median(verified[2]),
        median_investigate_hours=_median(investigated[2]),
        median_detect_hours=_median(detect),
    )  # fmt: skip
