"""A checkpoint's road state from its latest report and its crossings (pure core).

::

    latest report (at ≤ now)          crossings in (now − window, now]
      status, authority ─────────┐       count ──▶ throughput per hour (× 60 / window)
      waiting, wait (if fresh) ──┤       waited_minutes ──▶ median, pack percentile
                                 ▼
    closed ── authority of a level the pack names? ── yes ─▶ closed_authorised
       │                                              └ no ─▶ closed_unauthorised (alert)
    waiting > queue limit, or wait > wait limit ─▶ congested (alert per condition)
    a fresh report or a crossing in the window ─▶ normal
    neither ─▶ no_data

The wait is measured before it is reported: the crossings' percentile when one in the
window carries ``waited_minutes``, else the fresh report's ``wait_minutes``. A report
older than ``report_stale_minutes`` gives no queue nor wait, but its status stands until
the next report (a closure lasts until a report reopens the checkpoint). Percentiles are
nearest-rank: the smallest value with at least p % of the values at or below it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fangkong.roads.rules import RoadRules

STATES = ("normal", "congested", "closed_authorised", "closed_unauthorised", "no_data")
REPORT_STATUSES = ("open", "restricted", "closed")


@dataclass(frozen=True)
class Report:
    """A checkpoint's own report (the latest one at or before the moment looked at)."""

    at: datetime
    vehicles_waiting: int
    wait_minutes: int | None
    lanes_open: int
    status: str  # open | restricted | closed
    authority_level: str | None
    authority: str | None  # the order's number or name (e.g. 省指挥部〔2022〕12号)


@dataclass(frozen=True)
class RoadState:
    """What a checkpoint looks like at ``as_of`` and which conditions it breaches."""

    checkpoint_code: str
    as_of: datetime
    state: str
    status: str | None  # the report's status (None: never reported)
    waiting: int | None
    wait_minutes: int | None  # the pack's percentile, or the fresh report's
    wait_median: int | None
    throughput_hour: float
    crossings: int  # in the window
    authority: str | None
    authority_level: str | None
    report_at: datetime | None
    conditions: tuple[str, ...]  # of rules.CONDITIONS, the ones breached now


def percentile(values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile of ``values`` (None when empty); ``p`` from 0 (exclusive)
    to 100."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered) / 100 - 1e-9))  # 1e-9: 0.1 × 30 is 3.0000000000000004
    return ordered[min(rank, len(ordered)) - 1]


def authorised(report: Report, rules: RoadRules) -> bool:
    """A closure names its authority, of a level the pack lets order one."""
    return bool(report.authority and report.authority.strip()) and (
        report.authority_level in rules.closure_authority_levels
    )


def road_state(
    code: str, report: Report | None, waited: Sequence[int], crossings: int, *,
    at: datetime, rules: RoadRules,
) -> RoadState:  # fmt: skip
    """The state of checkpoint ``code`` at ``at``: ``report`` its latest at or before
    ``at``; ``crossings`` how many crossed in the window and ``waited`` the measured
    ``waited_minutes`` of those that carry one."""
    fresh = report is not None and at - report.at <= timedelta(minutes=rules.report_stale_minutes)
    waiting = report.vehicles_waiting if fresh and report is not None else None
    measured = percentile(waited, rules.wait_percentile)
    wait = measured if measured is not None else (
        report.wait_minutes if fresh and report is not None else None)  # fmt: skip
    conditions: list[str] = []
    closed = report is not None and report.status == "closed"
    if report is not None and closed:
        state = "closed_authorised" if authorised(report, rules) else "closed_unauthorised"
        if state == "closed_unauthorised":
            conditions.append("closure_unauthorised")
    else:
        if waiting is not None and waiting > rules.queue_limit_vehicles:
            conditions.append("queue")
        if wait is not None and wait > rules.wait_limit_minutes:
            conditions.append("wait")
        if conditions:
            state = "congested"
        elif fresh or crossings:
            state = "normal"
        else:
            state = "no_data"
    return RoadState(
        checkpoint_code=code, as_of=at, state=state,
        status=None if report is None else report.status, waiting=waiting, wait_minutes=wait,
        wait_median=percentile(waited, 50),
        throughput_hour=crossings * 60 / rules.throughput_window_minutes, crossings=crossings,
        authority=None if report is None else report.authority,
        authority_level=None if report is None else report.authority_level,
        report_at=None if report is None else report.at, conditions=tuple(conditions),
    )  # fmt: skip
