"""The release job (解除作业): the schedule's tests recorded from real results, and
placements whose period is over released when the pack's rule is met.

``run_releases(engine, ctx, rules, *, at, by)``, one transaction::

    active placements (not a case's isolation: that is ``discharge``)
      ├─ single-tube results of the person sampled from day 1 of the period
      │  (``fangkong.testing.individual``), reported by ``at``, not recorded before
      │  (``quarantine_tests.source_ref``) → a test of day N (the local day of the
      │  sample): negatives in one insert (testing's own result facts carry them to the
      │  code); a positive through ``record_test_in``, converting the person to a case as
      │  a positive test does (the placement ends, tracing registers the case);
      │  inconclusive and invalid tubes are left to the retest orders of testing
      └─ planned end ≤ at: released when ``release_refusal`` finds nothing missing (pack:
         ``release_needs_negative_test``: a negative sampled on or after the last test
         day) — the next phase (7+3: home monitoring) starts; otherwise it stays, counted
         as waiting for its test (nothing is faked)

A discharged case's home monitoring counts a result as negative when it meets the
discharge Ct threshold (``[quarantine.discharge] min_ct``); a lower Ct is left to the
epidemiologist (复阳), never a new case here. Tracing follows: a contact released to
home monitoring is ``monitoring``, released at the end ``released``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.recompute import recompute_all
from fangkong.quarantine.demand import CASE
from fangkong.quarantine.discharge import qualifies
from fangkong.quarantine.ending import final_negative, finish_in
from fangkong.quarantine.placed import Facts, get_placement, send_codes
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.scheduled_tests import record_test_in
from fangkong.quarantine.tables import quarantine_placements, quarantine_tests
from fangkong.store.tx import write_transaction
from fangkong.testing.individual import IndividualResult, individual_results

RESULT_REF = "testing-result-"


@dataclass(frozen=True)
class ReleaseOutcome:
    recorded: int = 0  # results recorded as scheduled tests
    converted: int = 0  # a positive: the placement ended, the person is a case
    released: int = 0
    next_phases: int = 0  # home monitoring (or the group's next phase) started
    waiting_test: int = 0  # past the planned end without the test the pack needs
    contacts_moved: int = 0  # tracing statuses moved (monitoring, released)


def day_start(day: datetime, tz: ZoneInfo) -> datetime:
    """Midnight (local) of the day ``day`` falls on, in UTC."""
    local = day.astimezone(tz).date()
    return datetime.combine(local, time(0), tz).astimezone(UTC)


def _result_of(r: IndividualResult, group: str, rules: QuarantineRules) -> str | None:
    if group == CASE:  # after discharge: Ct at the discharge threshold counts as negative
        return "negative" if qualifies(r, rules.discharge.min_ct) else None
    return r.outcome if r.outcome in ("negative", "positive") else None


def _record(
    conn: Connection, rules: QuarantineRules, ctx: CodeContext, at: datetime, by: str
) -> tuple[int, int, Facts]:
    from fangkong.tracing.rules import ContactRules

    tz = ctx.tz
    q = quarantine_placements.c
    rows = conn.execute(
        select(q.id, q.person_id, q.risk_group, q.kind, q.starts_at, q.period_from)
        .where(q.active.is_(True))
        .order_by(q.id)
    ).all()
    rows = [r for r in rows if not (r.risk_group == CASE and r.kind == "centralised")]
    if not rows:
        return 0, 0, []
    first = {int(r.id): day_start(r.period_from or r.starts_at, tz) for r in rows}
    found = individual_results(
        conn, [int(r.person_id) for r in rows], since=min(first.values()), until=at
    )
    refs = [f"{RESULT_REF}{x.result_id}" for x in found]
    t = quarantine_tests.c
    seen: set[str] = set()
    for i in range(0, len(refs), 5_000):
        seen.update(
            conn.execute(select(t.source_ref).where(t.source_ref.in_(refs[i : i + 5_000])))
            .scalars()
            .all()
        )
    by_person: dict[int, list[IndividualResult]] = {}
    for x in found:
        if f"{RESULT_REF}{x.result_id}" not in seen:
            by_person.setdefault(x.person_id, []).append(x)
    contact_rules = ContactRules.from_pack(ctx.pack)
    negatives: list[dict[str, object]] = []
    positives: list[tuple[int, int, IndividualResult]] = []
    for r in rows:
        day_one = first[int(r.id)]
        for x in by_person.get(int(r.person_id), []):
            result = _result_of(x, r.risk_group, rules)
            if x.sampled_at < day_one or result is None:
                continue
            day = (x.sampled_at.astimezone(tz).date() - day_one.astimezone(tz).date()).days + 1
            if result == "positive":
                positives.append((int(r.id), day, x))
                break  # the placement ends there: later samples are the case's
            negatives.append(
                {"placement_id": int(r.id), "day_number": day, "sampled_at": x.sampled_at,
                 "result": "negative", "reported_at": x.reported_at, "recorded_by": by[:80],
                 "source_ref": f"{RESULT_REF}{x.result_id}"}
            )  # fmt: skip
    if negatives:  # the lab's result is already the person's test fact (testing writes it)
        conn.execute(quarantine_tests.insert(), negatives)
    facts: Facts = []
    for placement_id, day, x in positives:  # converts, as a positive scheduled test does
        _, more = record_test_in(
            conn,
            placement_id,
            day_number=day,
            sampled_at=x.sampled_at,
            result="positive",
            by=by,
            reported_at=x.reported_at,
            contact_rules=contact_rules,
            tz=tz,
            ref=f"{RESULT_REF}{x.result_id}",
        )
        facts += more
    return len(negatives) + len(positives), len(positives), facts


def run_releases(
    engine: Engine,
    ctx: CodeContext,
    rules: QuarantineRules,
    *,
    at: datetime,
    by: str,
    recompute: bool = False,
) -> ReleaseOutcome:
    """Record the tests, release the placements due (module docstring)."""
    with write_transaction(engine) as conn:
        recorded, converted, facts = _record(conn, rules, ctx, at, by)
        due, waiting = _releasable(conn, rules, at, ctx.tz)
        released: list[tuple[int, str | None]] = []  # person, next kind
        for pid in due:
            view = get_placement(conn, pid)
            done, more = finish_in(
                conn, view, rules, reason="期满解除 / released", by=by, at=at, pack_ref=ctx.pack.ref
            )
            facts += more
            released.append((view.person_id, done.next_kind))
        moved = _follow_tracing(conn, released, at, by)
    send_codes(engine, facts, by, at, None)
    if recompute:
        recompute_all(engine, ctx, at, trigger="quarantine")
    return ReleaseOutcome(
        recorded=recorded,
        converted=converted,
        released=len(released),
        next_phases=sum(1 for _, k in released if k is not None),
        waiting_test=waiting,
        contacts_moved=moved,
    )


def _releasable(
    conn: Connection, rules: QuarantineRules, at: datetime, tz: ZoneInfo
) -> tuple[list[int], int]:
    """(active placements whose period is over and whose final negative is there, how
    many more are over but wait for it) — ``release_refusal``'s rule, read in bulk."""
    q, t = quarantine_placements.c, quarantine_tests.c
    rows = conn.execute(
        select(q.id, q.starts_at, q.period_from, q.test_days)
        .where(q.active.is_(True), q.planned_end.is_not(None), q.planned_end <= at)
        .order_by(q.id)
    ).all()
    negatives: dict[int, list[datetime]] = {}
    if rules.follow_up.release_needs_negative_test:
        ids = [int(r.id) for r in rows]
        for i in range(0, len(ids), 5_000):
            for pid, sampled in conn.execute(
                select(t.placement_id, t.sampled_at).where(
                    t.placement_id.in_(ids[i : i + 5_000]), t.result == "negative"
                )
            ):
                negatives.setdefault(int(pid), []).append(sampled)
    ready, waiting = [], 0
    for r in rows:
        days = json.loads(r.test_days)
        if not rules.follow_up.release_needs_negative_test or final_negative(
            r.period_from or r.starts_at, days, negatives.get(int(r.id), []), tz
        ):
            ready.append(int(r.id))
        else:
            waiting += 1
    return ready, waiting


def _follow_tracing(
    conn: Connection, released: Sequence[tuple[int, str | None]], at: datetime, by: str
) -> int:
    from fangkong.tracing.statuses import set_contact_statuses

    moved = 0
    for status, pick in (
        ("monitoring", lambda k: k == "home_monitoring"),
        ("released", lambda k: k is None),
    ):
        ids = [p for p, k in released if pick(k)]
        if ids:
            moved += set_contact_statuses(
                conn, ids, status, by=by, at=at, reason="期满解除 / released by the release job"
            )
    return moved
