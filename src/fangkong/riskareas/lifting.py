"""Automatic lifting (自动解封), a pure function of the rules, an area and its infections.

The clock of a level starts when the level starts and restarts at every infection linked
to the area; the level is lifted when the clock has run the pack's days::

    due = start + days(level, origin)
    for each infection t (in time order) with start < t <= due:   # the clock restarts
        due = t + days(level, origin)
    due <= now ─▶ lifted at ``due`` to ``lift_to`` (origin "downgraded", start = due),
                  and the walk goes on with the next level (a late job catches up)

An infection counts from the end of its local day (sample or onset date), so "7 days
without a new infection" is seven whole days after the day of the last case. The day
counts are the pack's (``RiskAreaRules.lifting``); low is never lifted further.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from fangkong.riskareas.rules import RiskAreaRules


@dataclass(frozen=True)
class AreaState:
    level: str
    origin: str  # designated | downgraded
    since: datetime  # when this level started


@dataclass(frozen=True)
class Lift:
    """One automatic step: at ``at`` the area went ``from_level`` → ``to_level`` after
    ``days`` clean days counted from ``anchor`` (the level's start or the last infection)."""

    at: datetime
    from_level: str
    to_level: str
    days: int
    anchor: datetime


def infection_time(day: date, tz: tzinfo) -> datetime:
    """When an infection dated ``day`` (local) starts to count: the end of that day."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def due_at(
    rules: RiskAreaRules, state: AreaState, infections: Sequence[datetime]
) -> tuple[datetime, datetime] | None:
    """(lift time, clock anchor) of the state's level if no new infection comes; None for
    a level no rule lifts (low)."""
    rule = rules.lifting.get(state.level)
    if rule is None:
        return None
    days = timedelta(days=rule.days_for(state.origin))
    anchor = state.since
    for t in sorted(infections):
        if t <= anchor:
            continue
        if t > anchor + days:
            break
        anchor = t
    return anchor + days, anchor


def walk(
    rules: RiskAreaRules, state: AreaState, infections: Sequence[datetime], now: datetime
) -> list[Lift]:
    """Every lift due by ``now``, in order (empty when none is due)."""
    lifts: list[Lift] = []
    known = [t for t in infections if t <= now]  # a dated case not yet recorded cannot count
    while True:
        due = due_at(rules, state, known)
        if due is None or due[0] > now:
            return lifts
        at, anchor = due
        rule = rules.lifting[state.level]
        lifts.append(Lift(at, state.level, rule.to, rule.days_for(state.origin), anchor))
        state = AreaState(rule.to, "downgraded", at)
