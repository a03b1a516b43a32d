"""Placements: a batch placed from the API (``quarantine.place``; each person inside the
jurisdiction), and one placement with its period, test schedule, health checks and
period changes (audited)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.guard import Call
from fangkong.auth.rights import (
    PERSON_READ_FULL,
    QUARANTINE_ADJUST,
    QUARANTINE_PLACE,
    QUARANTINE_READ,
)
from fangkong.errors import BadInput, FangkongError, FieldProblem, Forbidden, Problem
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine import placement as placing
from fangkong.quarantine.access import MAX_BATCH
from fangkong.quarantine.access._reach import (
    masked_note,
    names_of,
    reachable,
    refuse_rows,
    region_codes,
    row_problem,
)
from fangkong.quarantine.checks import CheckView, checks_of
from fangkong.quarantine.ending import release_refusal
from fangkong.quarantine.periods import PeriodChangeView, period_history
from fangkong.quarantine.placed import PlacementView
from fangkong.quarantine.rules import KINDS, QuarantineRules
from fangkong.quarantine.scheduled_tests import ScheduledTest, TestView, schedule, tests_of
from fangkong.quarantine.terms import Assignment, PlacementRequest
from fangkong.store.schema import persons


@dataclass(frozen=True)
class PlacementDetail:
    placement: PlacementView
    name: str
    masked: bool
    checks: tuple[CheckView, ...]
    tests: tuple[TestView, ...]
    schedule: tuple[ScheduledTest, ...]
    history: tuple[PeriodChangeView, ...]
    release_refused: Problem | None  # why it cannot be released now (None: it can)
    can_follow_up: bool  # quarantine.place: checks, tests, release, abscond
    can_adjust: bool  # quarantine.adjust: extend or shorten


def placement_view(call: Call, placement_id: int, rules: QuarantineRules) -> PlacementDetail:
    """A placement with its period, test schedule, health checks and period changes;
    whether it may be released now and, if not, why. Audited."""
    actor, tz, at = call.actor, call.tz, call.now()

    def body(conn: Connection) -> tuple[PlacementDetail, str]:
        call.require(QUARANTINE_READ)
        view = reachable(conn, actor, placement_id)
        tests = tests_of(conn, placement_id)
        refused = None
        if view.status == "active":
            refused = release_refusal(conn, view, rules, at, tz)
        detail = PlacementDetail(
            view, names_of(conn, actor, [view.person_id]).get(view.person_id, "?"),
            not actor.can(PERSON_READ_FULL), tuple(checks_of(conn, placement_id)),
            tuple(tests), tuple(schedule(view, tests, tz)),
            tuple(period_history(conn, placement_id)), refused,
            actor.can(QUARANTINE_PLACE) and view.status == "active",
            actor.can(QUARANTINE_ADJUST) and view.status == "active",
        )  # fmt: skip
        return detail, f"person {view.person_id}{masked_note(actor)}"

    return call.audited("quarantine.placement", "placement", str(placement_id), body)


def _check_requests(
    conn: Connection, call: Call, requests: Sequence[PlacementRequest], rules: QuarantineRules
) -> None:
    call.require(QUARANTINE_PLACE)
    if len(requests) > MAX_BATCH:
        raise BadInput(Problem("quarantine.too_many", f"一次最多 {MAX_BATCH} 条",
                               f"at most {MAX_BATCH} rows at once"))  # fmt: skip
    ids = [r.person_id for r in requests]
    p = persons.c
    home: dict[int, str | None] = {}
    for i in range(0, len(ids), MAX_BATCH):
        chunk = ids[i : i + MAX_BATCH]
        rows = conn.execute(select(p.id, p.residence_code).where(p.id.in_(chunk))).all()
        home.update((int(r.id), r.residence_code) for r in rows)
    listed = region_codes(conn, call.actor)
    inside = None if listed is None else set(listed)
    problems: list[FieldProblem] = []
    for i, r in enumerate(requests):
        where = r.region_code or home.get(r.person_id)
        if r.person_id not in home or (inside is not None and where not in inside):
            problems.append(row_problem(i, "person_id", Problem(
                "quarantine.person_unknown", f"无此人员（{r.person_id}）或不在辖区内",
                f"no person {r.person_id} in your jurisdiction")))  # fmt: skip
        if r.risk_group not in rules.groups:
            groups = ", ".join(rules.groups)
            problems.append(row_problem(i, "risk_group", Problem(
                "quarantine.group_unknown", f"无此风险人群 {r.risk_group!r}（可选：{groups}）",
                f"no risk group {r.risk_group!r} (one of: {groups})")))  # fmt: skip
        if r.kind is not None and r.kind not in KINDS:
            problems.append(row_problem(i, "kind", Problem(
                "quarantine.request_invalid", f"无效的安置方式 {r.kind!r}",
                f"not a placement kind: {r.kind!r} (one of: {', '.join(KINDS)})")))  # fmt: skip
    if problems:
        raise refuse_rows(problems)


def place(
    call: Call, requests: Sequence[PlacementRequest], rules: QuarantineRules,
    *, pack_ref: str = "", codes: CodeContext | None = None,
) -> list[Assignment]:  # fmt: skip
    """Place a batch (quarantine.place). Each person is where the request says (else at
    home, by the registry), which must lie inside the actor's jurisdiction; a person
    outside or unknown is named by row (``rows.<i>.person_id``) and nothing is placed.
    One audit row (counts of the outcomes)."""
    try:
        with call.engine.connect() as conn:
            _check_requests(conn, call, requests, rules)
        done = placing.place(call.engine, requests, rules, by=call.actor.name, at=call.at,
                             tz=call.tz, pack_ref=pack_ref, codes=codes)  # fmt: skip
    except FangkongError as exc:
        outcome = "forbidden" if isinstance(exc, Forbidden) else exc.code
        _note(call, "quarantine.place", outcome, None)
        raise
    counts: dict[str, int] = {}
    for a in done:
        counts[a.outcome] = counts.get(a.outcome, 0) + 1
    _note(call, "quarantine.place", "ok", ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    return done


def _note(call: Call, action: str, outcome: str, detail: str | None) -> None:
    """The batch's audit row (its outcome the error's code, not ``refusal_outcome``)."""
    with transaction(call.engine) as conn:
        record(conn, call.key, AuditEvent(call.actor.name, action, outcome[:20], call.address,
                                          None, None, detail and detail[:200]))  # fmt: skip
