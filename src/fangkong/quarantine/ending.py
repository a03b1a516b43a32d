"""How a placement ends: released (and the next phase starts), closed, absconded.

``release`` (``release_in`` inside the caller's transaction): at or after the planned
end, with a negative test sampled on or after the last test day of the phase (pack:
``follow_up.release_needs_negative_test``; ``release_refusal`` names what is missing);
the group's next phase (7+3: home monitoring) starts as a new placement, its day 1 where
the period before ended (a case's: at discharge) — ``finish_in``, which the discharge
job calls too. ``close_in``: converted (now a case) or cancelled (replaced). ``abscond``
(脱管): the placement ends, the room is freed, alert ``absconded``. The batch of
releases due is ``releases.run_releases``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from fangkong import bounds
from fangkong.errors import Conflict, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.alerts import _alert
from fangkong.quarantine.placed import (
    Facts,
    PlacementView,
    _end,
    _ended_fact,
    _now,
    _open,
    _p,
    send_codes,
)
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import (
    quarantine_placements,
    quarantine_tests,
)
from fangkong.quarantine.terms import SHANGHAI, period_end, period_fact, test_dates
from fangkong.store.tx import Bind, write_transaction


class ReleaseRefused(Conflict):
    """quarantine.release_refused: the period is not over, or the final test is missing."""


def final_negative(
    day_one: datetime, test_days: Sequence[int], negatives: Iterable[datetime], tz: ZoneInfo
) -> bool:
    """Whether one of the ``negatives`` (sampling times) lies on or after the last test
    day of a period from ``day_one`` (True when no test is scheduled)."""
    if not test_days:
        return True
    last = test_dates(day_one, [max(test_days)], tz)[0]
    return any(s.astimezone(tz).date() >= last for s in negatives)


def final_test_ok(conn: Connection, view: PlacementView, tz: ZoneInfo) -> bool:
    """A negative test sampled on or after the last test day (True when none is scheduled)."""
    if not view.test_days:
        return True
    t = quarantine_tests.c
    sampled = conn.execute(
        select(t.sampled_at).where(t.placement_id == view.id, t.result == "negative")
    ).scalars()
    return final_negative(view.day_one, view.test_days, sampled, tz)


@dataclass(frozen=True)
class Release:
    placement_id: int
    next_placement_id: int | None
    next_kind: str | None
    next_end: datetime | None


def release_in(
    conn: Connection,
    placement_id: int,
    rules: QuarantineRules,
    *,
    by: str,
    at: datetime,
    tz: ZoneInfo = SHANGHAI,
    pack_ref: str = "",
) -> tuple[Release, Facts]:
    """``release`` inside the caller's transaction: the release and the facts to record."""
    view = _open(conn, placement_id)
    refused = release_refusal(conn, view, rules, at, tz)
    if refused is not None:
        raise ReleaseRefused(refused)
    return finish_in(conn, view, rules, reason="期满解除 / released", by=by, at=at,
                     pack_ref=pack_ref)  # fmt: skip


def finish_in(
    conn: Connection,
    view: PlacementView,
    rules: QuarantineRules,
    *,
    reason: str,
    by: str,
    at: datetime,
    pack_ref: str = "",
) -> tuple[Release, Facts]:
    """End an active placement as released (no checks: the caller's) and start the
    group's next phase: day 1 where this period was planned to end (7+3 stays 10 days
    from the exposure however late the release), or now when it had no end (a case's
    discharge). A placement whose kind stood in for the group's first phase (a close
    contact at home for lack of a room) is followed by the group's second phase."""
    facts: Facts = [(view.person_id, _ended_fact(view, at))]
    _end(conn, view, "released", at, reason)
    phases = rules.phases(view.risk_group, view.kind) or rules.phases(view.risk_group)
    later = [p for p in phases[1:] if p.days]
    if not later:
        return Release(view.id, None, None, None), facts
    phase = later[0]
    anchor = view.planned_end or at
    nxt_end = period_end(anchor, phase)
    if nxt_end is not None and nxt_end <= at:  # released after the next phase's end too
        return Release(view.id, None, None, None), facts
    q = quarantine_placements
    nxt_id = int(
        conn.execute(
            q.insert()
            .values(
                person_id=view.person_id,
                kind=phase.kind,
                risk_group=view.risk_group,
                status="active",
                active=True,
                booking_id=None,
                room_id=None,
                facility_id=None,
                region_code=view.region_code,
                starts_at=at,
                period_from=anchor,
                planned_end=nxt_end,
                ended_at=None,
                test_days=json.dumps(list(phase.test_days)),
                follows_id=view.id,
                request_ref=None,
                pack_ref=pack_ref[:80],
                created_at=at,
                created_by=by[:80],
                end_reason=None,
            )
            .returning(q.c.id)
        ).scalar_one()
    )
    facts.append((view.person_id, period_fact(nxt_id, phase.kind, at, nxt_end, "居家 / home")))
    return Release(view.id, nxt_id, phase.kind, nxt_end), facts


def release_refusal(
    conn: Connection, view: PlacementView, rules: QuarantineRules, at: datetime, tz: ZoneInfo
) -> Problem | None:
    """Why ``view`` cannot be released at ``at`` (None: it can): the period is not over,
    or the final negative test is missing (pack: release_needs_negative_test)."""
    if view.planned_end is None or at < view.planned_end:
        until = (
            "—" if view.planned_end is None else f"{bounds.local(view.planned_end, tz):%F %H:%M}"
        )
        return _p(
            "quarantine.release_refused",
            f"隔离期未满（至 {until}）",
            f"the period is not over (until {until})",
        )
    if rules.follow_up.release_needs_negative_test and not final_test_ok(conn, view, tz):
        return _p(
            "quarantine.release_refused",
            f"缺少第 {max(view.test_days)} 天或之后采样的阴性检测结果",
            f"no negative test sampled on or after day {max(view.test_days)}",
        )
    return None


def release(
    engine: Engine,
    placement_id: int,
    rules: QuarantineRules,
    *,
    by: str,
    at: datetime | None = None,
    tz: ZoneInfo = SHANGHAI,
    codes: CodeContext | None = None,
    pack_ref: str = "",
) -> Release:
    """End a placement whose period is over and whose final test is negative; the next
    phase of the group (home monitoring after 7 days centralised) starts now."""
    at = _now(at)
    with write_transaction(engine) as conn:
        done, facts = release_in(conn, placement_id, rules, by=by, at=at, tz=tz, pack_ref=pack_ref)
    send_codes(engine, facts, by, at, codes)
    return done


def close_in(
    conn: Connection, placement_id: int, *, status: str, reason: str, at: datetime
) -> Facts:
    """End an active placement as ``status`` (converted: the person is now a case;
    cancelled: replaced by another placement), free its room; the code fact to record."""
    view = _open(conn, placement_id)
    _end(conn, view, status, at, reason)
    return [(view.person_id, _ended_fact(view, at))]


def abscond(
    engine: Bind,
    placement_id: int,
    *,
    by: str,
    note: str = "",
    at: datetime | None = None,
    codes: CodeContext | None = None,
) -> int:
    """The person left without release (脱管): the placement ends, the room is freed, an
    alert is raised (returns its id). Their code stays as the other facts say."""
    at = _now(at)
    with write_transaction(engine) as conn:
        view = _open(conn, placement_id)
        _end(conn, view, "absconded", at, note.strip() or "脱离管控 / absconded")
        alert = _alert(conn, view, "absconded", at, note.strip()[:500])
    return alert


__all__ = [
    "Release",
    "ReleaseRefused",
    "abscond",
    "close_in",
    "final_negative",
    "final_test_ok",
    "finish_in",
    "release",
    "release_in",
    "release_refusal",
]
