"""Discharge of cases (出院/解除隔离) from real results, and the tests that lead to it.

The criterion, every number from the pack's ``[quarantine.discharge]`` (v9: two
consecutive tests with N and ORF1ab Ct ≥ 35, or negative, sampled ≥ 24 h apart)::

    results of the person's single tubes sampled from isolation day ``first_test_day``
    (day 1: the local day the case's placement started), in sampling order
      qualifying      every gene's Ct ≥ min_ct, or not detected
      not qualifying  a gene's Ct below min_ct: the run starts again
      skipped         invalid tubes (no result)
    met when ``consecutive`` qualifying results follow one another, each sampled at least
    ``gap_hours`` after the one before it counted (one in between that is too close is
    passed over, not counted)

``run_discharges(engine, ctx, rules, *, at, by)``: every case in isolation meeting it is
discharged — the placement ends (released, the room freed), the health-code
``discharge`` fact is recorded (the pack's ``discharged_case`` rule follows: 7 days of
home health monitoring, yellow), and the ``case`` group's next phase (home monitoring)
starts as a placement when the pack has one; open discharge test orders are cancelled.
Then ``order_case_tests``: one single-tube order a day (reason ``discharge``) for each
case in isolation from day ``first_test_day``, and the home-monitoring test days after
discharge (reason ``discharged_case``), ``horizon_hours`` ahead (pack: testing
schedules), so the province loop has them taken.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.writer import FactInput
from fangkong.quarantine.ending import finish_in
from fangkong.quarantine.placed import Facts, get_placement, send_codes
from fangkong.quarantine.rules import DischargeRules, QuarantineRules
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.tx import Bind, write_transaction
from fangkong.testing.individual import IndividualResult, individual_results
from fangkong.testing.schedules import PlannedOrder, cancel_open_orders, insert_orders

CASE = "case"
ORDER_REASON = "discharge"
MONITORING_REASON = "discharged_case"


@dataclass(frozen=True)
class DischargeOutcome:
    discharged: int = 0
    monitoring: int = 0  # home-monitoring placements started after discharge
    in_isolation: int = 0  # cases still isolated after this run
    orders: int = 0  # test orders made


def qualifies(r: IndividualResult, min_ct: float) -> bool | None:
    """True: every gene's Ct ≥ ``min_ct`` or not detected; False: a gene below it; None:
    no usable result (an invalid tube)."""
    if not r.lab_valid or r.outcome == "invalid":
        return None
    return all(ct is None or ct >= min_ct for ct in (r.ct_orf1ab, r.ct_n))


def discharge_met(
    results: Sequence[IndividualResult], rule: DischargeRules, *, first_day: date, tz: ZoneInfo
) -> IndividualResult | None:
    """The result that completes the criterion (module docstring), or None."""
    gap = timedelta(hours=rule.gap_hours)
    chain: list[datetime] = []
    for r in sorted(results, key=lambda x: (x.sampled_at, x.result_id)):
        if r.sampled_at.astimezone(tz).date() < first_day:
            continue
        ok = qualifies(r, rule.min_ct)
        if ok is None:
            continue
        if not ok:
            chain = []
            continue
        if not chain or r.sampled_at - chain[-1] >= gap:
            chain.append(r.sampled_at)
        if len(chain) >= rule.consecutive:
            return r
    return None


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def _isolated(conn: Connection) -> list[tuple[int, int, datetime]]:
    q = quarantine_placements.c
    rows = conn.execute(
        select(q.id, q.person_id, q.starts_at)
        .where(q.active.is_(True), q.risk_group == CASE, q.kind == "centralised")
        .order_by(q.id)
    ).all()
    return [(int(r.id), int(r.person_id), r.starts_at) for r in rows]


def run_discharges(
    engine: Engine,
    ctx: CodeContext,
    rules: QuarantineRules,
    *,
    at: datetime,
    by: str,
    recompute: bool = False,
) -> DischargeOutcome:
    """Discharge the cases meeting the criterion; order the next tests (module docstring)."""
    from fangkong.testing.rules import TestingRules

    tz, rule = ctx.tz, rules.discharge
    facts: Facts = []
    discharged: list[int] = []
    monitoring = 0
    with write_transaction(engine) as conn:
        cases = _isolated(conn)
        firsts = {
            pid: start.astimezone(tz).date() + timedelta(days=rule.first_test_day - 1)
            for pid, _, start in cases
        }
        since = _midnight(min(firsts.values()), tz) if firsts else at
        found: dict[int, list[IndividualResult]] = {}
        for x in individual_results(conn, [p for _, p, _ in cases], since=since, until=at):
            found.setdefault(x.person_id, []).append(x)
        for pid, person, _ in cases:
            met = discharge_met(found.get(person, []), rule, first_day=firsts[pid], tz=tz)
            if met is None:
                continue
            view = get_placement(conn, pid)
            done, more = finish_in(
                conn,
                view,
                rules,
                by=by,
                at=at,
                pack_ref=ctx.pack.ref,
                reason=f"出院 / discharged: {rule.consecutive} tests Ct ≥ {rule.min_ct:g}, "
                f"last sampled {met.sampled_at.astimezone(tz):%F %H:%M}",
            )
            facts += more
            facts.append((person, FactInput("discharge", at, None, {}, f"discharge-{pid}")))
            discharged.append(person)
            monitoring += done.next_placement_id is not None
        if discharged:
            cancel_open_orders(conn, discharged, reason=ORDER_REASON, at=at)
        horizon = TestingRules.from_pack(ctx.pack).horizon_hours
        made = order_case_tests(conn, rules, at=at, tz=tz, horizon_hours=horizon)
        left = len(cases) - len(discharged)
    send_codes(engine, facts, by, at, None)
    if recompute:
        recompute_all(engine, ctx, at, trigger="quarantine")
    return DischargeOutcome(len(discharged), monitoring, left, made)


def _days(
    first: date, numbers: Sequence[int], at: datetime, horizon: datetime, tz: ZoneInfo
) -> list[tuple[int, datetime, datetime]]:
    """(day number, window start, end) of the local days not yet over by ``at`` and
    starting by ``horizon``."""
    out = []
    for n in numbers:
        day = first + timedelta(days=n - 1)
        start, end = _midnight(day, tz), _midnight(day + timedelta(days=1), tz)
        if end > at and start <= horizon:
            out.append((n, start, end))
    return out


def order_case_tests(
    bind: Bind, rules: QuarantineRules, *, at: datetime, tz: ZoneInfo, horizon_hours: int
) -> int:
    """Single-tube test orders for cases: daily from isolation day ``first_test_day`` while
    isolated, and the home-monitoring test days after discharge. Keyed by placement and
    day: making them again changes nothing. Returns how many were new."""
    q = quarantine_placements.c
    horizon = at + timedelta(hours=horizon_hours)
    first_n = rules.discharge.first_test_day
    planned: list[PlannedOrder] = []
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(q.id, q.person_id, q.kind, q.starts_at, q.period_from, q.test_days).where(
                q.active.is_(True), q.risk_group == CASE
            )
        ).all()
        for r in rows:
            first = (r.period_from or r.starts_at).astimezone(tz).date()
            if r.kind == "centralised":
                last = (horizon.astimezone(tz).date() - first).days + 1
                numbers: Sequence[int] = range(first_n, max(first_n, last) + 1)
                reason = ORDER_REASON
            else:
                numbers = json.loads(r.test_days)
                reason = MONITORING_REASON
            for n, start, end in _days(first, numbers, at, horizon, tz):
                planned.append(
                    PlannedOrder(
                        int(r.person_id),
                        reason,
                        start,
                        end,
                        f"{reason}:{r.id}:day{n}",
                        single_tube=True,
                    )
                )
        return insert_orders(conn, planned, at=at) if planned else 0
