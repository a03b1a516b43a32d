"""Raising tasks from what needs doing (任务自动生成): the job after each daily run.

Each source is read with a few set-based queries and turned into candidate tasks; a
task is inserted only when its ``(kind, source_type, source_id)`` is not there yet, so a
second run raises nothing new and a crashed run is simply run again::

    source (read)                                  task (kind, source_id)        closes when
    alerts raised / verified / investigated   ─▶  alert, <alert id>              closed, dismissed
    travellers past due_at, not released      ─▶  closed_loop_overdue,           the stage moved on
                                                   <traveller id>/<stage>
    hand-offs past due_at, not acknowledged   ─▶  closed_loop_overdue,           acknowledged
                                                   <traveller id>/handoff
    risk_area_needs open / in_progress        ─▶  area_need, <need id>           done, cancelled
    care_needs open / planned / in_transfer   ─▶  care_need, <need id>           done, cancelled
    persons due for placement (demand.py),    ─▶  awaiting_placement,            nobody due there
      per county                                   <county>/<first day>
    tubes without a result past result_hours, ─▶  late_tubes, <county>/<day>     no late tube there
      per sampling county
    areas whose lifting time has come and     ─▶  lifting_due, <area>/<since>    lifted (or clock
      still at their level                                                        restarted)
    forecast run-out within its horizon       ─▶  capacity_shortage,             no run-out there
      (readiness level)                            <region>/<first day>

A ``region_day`` task stands for a condition, not a row: it stays open while the count
lasts (its ``params`` follow the count) and this job closes it (``done``, "cleared")
when the count falls to zero; a later episode is a new task keyed by its own first day.
It is closed at the time the stored events show the count fell, not at the job's: the
last placement (or home order) of a person living in the county, the last result of a
late tube sampled there, since the task's last change (at the job's time when no such
event is stored, and for a shortage, which only the forecast run sees).
Tasks whose source was resolved are closed here too (a sweep behind the call sites in
the alerts, needs and arrivals services, which close them in their own transaction).

Params hold counts, codes and names of places only — never a person's data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import Connection, func, select, update

from fangkong.alerts.tables import alerts
from fangkong.arrivals.tables import handoffs, travellers
from fangkong.command.model import OPEN_STATUSES
from fangkong.command.rules import CommandRules
from fangkong.command.tables import command_task_changes, command_tasks
from fangkong.command.tasks import close_for_source, refresh_params
from fangkong.healthcode.context import CodeContext
from fangkong.quarantine.demand import due_for_placement
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_placements
from fangkong.riskareas.lifting import AreaState, due_at
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.riskareas.service import area_key, infections_by_area
from fangkong.riskareas.tables import risk_area_needs, risk_areas
from fangkong.store.schema import persons, regions
from fangkong.testing.rules import TestingRules
from fangkong.testing.tables import results, tubes

RAISED_BY = "job:raise"
_CHUNK = 500
ALERT_OPEN = ("raised", "verified", "investigated")
NEED_OPEN = ("open", "in_progress")
# the team answering for a closed-loop stage (arrivals.loop.responsible_team), as a role
STAGE_ROLE = {
    "registered": "port_officer",
    "sampled": "port_officer",
    "boarded": "transfer_team",
    "handed_over": "quarantine_manager",
    "managed": "quarantine_manager",
}
HANDOFF_ROLE = "quarantine_manager"  # the receiving side acknowledges (接收确认)


@dataclass(frozen=True)
class RaisingRules:
    """The sections the raising job reads: ``[command]`` and the sources' own."""

    command: CommandRules
    quarantine: QuarantineRules
    testing: TestingRules
    risk_areas: RiskAreaRules
    ctx: CodeContext  # the pack and the zone (a risk area's infections count by local day)

    @classmethod
    def from_context(cls, ctx: CodeContext) -> RaisingRules:
        pack = ctx.pack
        return cls(CommandRules.from_pack(pack), QuarantineRules.from_pack(pack),
                   TestingRules.from_pack(pack), RiskAreaRules.from_pack(pack), ctx)  # fmt: skip

    @property
    def tz(self) -> ZoneInfo:
        return self.ctx.tz


@dataclass(frozen=True)
class Candidate:
    """A task a source asks for (raised only when its key is new)."""

    source_id: str
    region_code: str
    role: str | None
    params: dict[str, Any]
    deadline_at: datetime


@dataclass
class RaiseOutcome:
    raised: Counter[str] = field(default_factory=Counter)  # kind → tasks raised
    closed: Counter[str] = field(default_factory=Counter)  # kind → tasks closed
    updated: int = 0  # condition tasks whose count changed

    @property
    def total_raised(self) -> int:
        return sum(self.raised.values())

    @property
    def total_closed(self) -> int:
        return sum(self.closed.values())


# ---- the region tree (small: one row per region, read once per run) -------------------------


@dataclass(frozen=True)
class _Tree:
    parent: dict[str, str | None]
    level: dict[str, str]
    name: dict[str, str]

    @classmethod
    def load(cls, conn: Connection) -> _Tree:
        r = regions.c
        rows = conn.execute(select(r.code, r.parent_code, r.level, r.name)).all()
        return cls({x.code: x.parent_code for x in rows}, {x.code: x.level for x in rows},
                   {x.code: x.name for x in rows})  # fmt: skip

    def at_level(self, code: str | None, level: str) -> str | None:
        """The region at ``level`` that ``code`` lies in (itself when at that level)."""
        for _ in range(12):
            if code is None or code not in self.level:
                return None
            if self.level[code] == level:
                return code
            code = self.parent[code]
        return None


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _hours(rules: RaisingRules, kind: str) -> timedelta:
    hours = rules.command.tasks[kind].deadline_hours
    return timedelta(hours=hours or 24)


# ---- writing -------------------------------------------------------------------------------


def _existing(conn: Connection, kind: str, source_ids: Sequence[str]) -> set[str]:
    t = command_tasks.c
    found: set[str] = set()
    for part in _chunks(source_ids):
        found.update(
            str(s)
            for s in conn.execute(
                select(t.source_id).where(t.kind == kind, t.source_id.in_(list(part)))
            ).scalars()
        )
    return found


def raise_many(
    conn: Connection, kind: str, source_type: str, candidates: Iterable[Candidate], *,
    at: datetime, by: str,
) -> int:  # fmt: skip
    """Insert the candidates whose key is new (with a "raised" history row each); returns
    how many were raised. Keys already there — open or closed — are left alone."""
    wanted = {c.source_id: c for c in candidates}
    new = [c for k, c in wanted.items() if k not in _existing(conn, kind, list(wanted))]
    if not new:
        return 0
    conn.execute(command_tasks.insert(), [
        {"kind": kind, "source_type": source_type, "source_id": c.source_id,
         "region_code": c.region_code, "origin_region_code": c.region_code, "role": c.role,
         "params": c.params, "status": "open", "raised_at": at, "raised_by": by[:80],
         "deadline_at": c.deadline_at, "escalation_level": 0}
        for c in new
    ])  # fmt: skip
    t = command_tasks.c
    ids: list[int] = []
    for part in _chunks([c.source_id for c in new]):
        ids += [int(i) for i in conn.execute(
            select(t.id).where(t.kind == kind, t.source_id.in_(list(part)))
        ).scalars()]  # fmt: skip
    conn.execute(command_task_changes.insert(), [
        {"task_id": i, "at": at, "changed_by": by[:80], "from_status": None,
         "to_status": "open", "note": "raised"}
        for i in ids
    ])  # fmt: skip
    return len(new)


def _open_tasks(conn: Connection, kind: str) -> list[Any]:
    t = command_tasks.c
    return list(conn.execute(
        select(t.id, t.source_type, t.source_id, t.params, t.deadline_at)
        .where(t.kind == kind, t.status.in_(OPEN_STATUSES))
    ).all())  # fmt: skip


def _close(
    conn: Connection, kind: str, source_type: str, source_ids: Iterable[str], *,
    at: datetime, by: str, note: str, status: str = "done",
    when: Mapping[str, datetime] | None = None,
) -> int:  # fmt: skip
    """Close the tasks of ``source_ids``; ``when``: a source's own closing time (else ``at``)."""
    n = 0
    for source_id in source_ids:
        closed = close_for_source(conn, kind, source_type, source_id, by=by, note=note,
                                  at=(when or {}).get(source_id, at), status=status)  # fmt: skip
        n += closed is not None
    return n


# the events that end a condition, per unit: (conn, tree, since, at) → unit → the time of
# the last one in (since, at]
Cleared = Callable[[Connection, "_Tree", datetime, datetime], dict[str, datetime]]


def _last_changes(conn: Connection, task_ids: Sequence[int]) -> dict[int, datetime]:
    ch = command_task_changes.c
    return {
        int(i): at
        for i, at in conn.execute(
            select(ch.task_id, func.max(ch.at)).where(ch.task_id.in_(task_ids))
            .group_by(ch.task_id)
        )
    }  # fmt: skip


def _by_unit(rows: Iterable[Any], tree: _Tree, level: str) -> dict[str, datetime]:
    """(region code, time) rows → the latest time per unit at ``level``."""
    out: dict[str, datetime] = {}
    for code, t in rows:
        unit = tree.at_level(code, level)
        if unit is not None and t is not None and (unit not in out or t > out[unit]):
            out[unit] = t
    return out


def _placed(conn: Connection, tree: _Tree, since: datetime, at: datetime) -> dict[str, datetime]:
    """Per county, the start of the last placement or home order of a person living there."""
    q = quarantine_placements.c
    return _by_unit(conn.execute(
        select(persons.c.residence_code, func.max(q.starts_at))
        .join(persons, persons.c.id == q.person_id)
        .where(q.starts_at > since, q.starts_at <= at)
        .group_by(persons.c.residence_code)
    ), tree, "county")  # fmt: skip


def _late_results(
    result_hours: float,
) -> Cleared:
    def cleared(
        conn: Connection, tree: _Tree, since: datetime, at: datetime
    ) -> dict[str, datetime]:
        """Per sampling county, the last result of a tube that was late when it came
        (the lateness compared here: interval arithmetic differs between the backends)."""
        tb, rs = tubes.c, results.c
        late = timedelta(hours=result_hours)
        rows = conn.execute(
            select(tb.region_code, tb.collected_at, rs.tested_at)
            .join(tubes, tb.id == rs.tube_id)
            .where(rs.tested_at > since, rs.tested_at <= at, tb.collected_at < at - late)
        ).all()
        return _by_unit(((r, t) for r, c, t in rows if t > c + late), tree, "county")

    return cleared


# ---- the job -------------------------------------------------------------------------------


def raise_tasks(
    conn: Connection, rules: RaisingRules, *, at: datetime, by: str = "system",
    run_out: Mapping[str, date] | None = None,
) -> RaiseOutcome:  # fmt: skip
    """Raise the tasks every automatic source asks for at ``at`` and close those whose
    source was resolved or whose condition cleared. ``run_out``: the forecast's first
    day without rooms per region (``forecast_run_out``); None leaves shortages as they are."""
    by = RAISED_BY if by == "system" else by
    tree = _Tree.load(conn)
    out = RaiseOutcome()
    auto = {k for k, r in rules.command.tasks.items() if r.automatic}
    steps: list[tuple[str, Any]] = [
        ("alert", lambda: _alerts(conn, rules, tree, at, by, out)),
        ("closed_loop_overdue", lambda: _closed_loop(conn, rules, tree, at, by, out)),
        ("area_need", lambda: _needs(conn, tree, at, by, out)),
        ("awaiting_placement", lambda: _awaiting(conn, rules, tree, at, by, out)),
        ("late_tubes", lambda: _late_tubes(conn, rules, tree, at, by, out)),
        ("lifting_due", lambda: _lifting(conn, rules, tree, at, by, out)),
    ]
    steps.append(("care_need", lambda: _care(conn, at, by, out)))
    if run_out is not None:
        steps.append(("capacity_shortage", lambda: _shortage(conn, rules, tree, run_out, at,
                                                             by, out)))  # fmt: skip
    for kind, step in steps:
        if kind in auto:
            step()
    return out


def _alerts(conn: Connection, rules: RaisingRules, tree: _Tree, at: datetime, by: str,
            out: RaiseOutcome) -> None:  # fmt: skip
    """One task per open alert, owed by the alert's region; the deadline is the alert's:
    ``verify_due`` while raised, ``investigate_due`` once verified."""
    a = alerts.c
    rows = conn.execute(
        select(a.id, a.rule, a.region_code, a.severity, a.status, a.verify_due,
               a.investigate_due).where(a.status.in_(ALERT_OPEN))
    ).all()  # fmt: skip
    due = {str(r.id): (r.verify_due if r.status == "raised" else r.investigate_due) for r in rows}
    out.raised["alert"] += raise_many(conn, "alert", "alert", (
        Candidate(str(r.id), r.region_code, "epidemiologist",
                  {"alert": int(r.id), "rule": r.rule, "severity": r.severity,
                   "region": tree.name.get(r.region_code, r.region_code)},
                  due[str(r.id)])
        for r in rows
    ), at=at, by=by)  # fmt: skip
    resolved = []
    t = command_tasks.c
    for task in _open_tasks(conn, "alert"):
        deadline = due.get(str(task.source_id))
        if deadline is None:
            resolved.append(str(task.source_id))
        elif deadline != task.deadline_at:  # verified: the investigation's deadline now
            conn.execute(update(command_tasks).where(t.id == task.id).values(deadline_at=deadline))
    out.closed["alert"] += _close(conn, "alert", "alert", resolved, at=at, by=by,
                                  note="预警已结束 / the alert was closed")  # fmt: skip


def _closed_loop(conn: Connection, rules: RaisingRules, tree: _Tree, at: datetime, by: str,
                 out: RaiseOutcome) -> None:  # fmt: skip
    """One task per traveller and stage past its deadline, owed by the responsible
    region's team for that stage; closed when the traveller has moved on."""
    tv = travellers.c
    rows = conn.execute(
        select(tv.id, tv.stage, tv.responsible_region, tv.due_at, tv.point_code).where(
            tv.due_at < at, tv.stage != "released"
        )
    ).all()
    deadline = at + _hours(rules, "closed_loop_overdue")
    out.raised["closed_loop_overdue"] += raise_many(conn, "closed_loop_overdue", "arrival", (
        Candidate(f"{r.id}/{r.stage}", r.responsible_region, STAGE_ROLE.get(r.stage),
                  {"stage": r.stage, "point": r.point_code, "due_at": r.due_at.isoformat(),
                   "region": tree.name.get(r.responsible_region, r.responsible_region)},
                  deadline)
        for r in rows
    ), at=at, by=by)  # fmt: skip
    tasks = _open_tasks(conn, "closed_loop_overdue")
    held = {str(t.source_id): t.source_id.split("/") for t in tasks if "/" in str(t.source_id)}
    ids = sorted({int(tid) for tid, _ in held.values() if tid.isdigit()})
    stage: dict[int, str] = {}
    for part in _chunks(ids):
        stage.update({int(i): str(s) for i, s in conn.execute(
            select(tv.id, tv.stage).where(tv.id.in_(list(part))))})  # fmt: skip
    moved = [k for k, (tid, st) in held.items()
             if st != "handoff" and stage.get(int(tid) if tid.isdigit() else -1) != st]  # fmt: skip
    out.closed["closed_loop_overdue"] += _close(
        conn, "closed_loop_overdue", "arrival", moved, at=at, by=by,
        note="已确认下一环节 / the next stage was confirmed")  # fmt: skip
    _handoffs(conn, rules, tree, at, by, out, held)


def _handoffs(conn: Connection, rules: RaisingRules, tree: _Tree, at: datetime, by: str,
              out: RaiseOutcome, held: Mapping[str, list[str]]) -> None:  # fmt: skip
    """One task per hand-off not acknowledged by its deadline, owed by the receiving
    jurisdiction; closed once it acknowledges (``arrivals.loop.acknowledge`` closes it
    at once; this sweep catches the rest)."""
    h = handoffs.c
    late = conn.execute(
        select(h.traveller_id, h.to_region, h.due_at)
        .where(h.acknowledged_at.is_(None), h.due_at < at)
    ).all()  # fmt: skip
    deadline = at + _hours(rules, "closed_loop_overdue")
    out.raised["closed_loop_overdue"] += raise_many(conn, "closed_loop_overdue", "arrival", (
        Candidate(f"{r.traveller_id}/handoff", r.to_region, HANDOFF_ROLE,
                  {"stage": "handoff", "due_at": r.due_at.isoformat(),
                   "region": tree.name.get(r.to_region, r.to_region)}, deadline)
        for r in late
    ), at=at, by=by)  # fmt: skip
    waiting = [int(tid) for tid, st in held.values() if st == "handoff" and tid.isdigit()]
    pending: set[int] = set()
    for part in _chunks(waiting):
        pending.update(int(i) for i in conn.execute(
            select(h.traveller_id).where(h.traveller_id.in_(list(part)),
                                         h.acknowledged_at.is_(None))).scalars())  # fmt: skip
    done = [f"{tid}/handoff" for tid in waiting if tid not in pending]
    out.closed["closed_loop_overdue"] += _close(
        conn, "closed_loop_overdue", "arrival", done, at=at, by=by,
        note="接收地已确认 / the hand-off was acknowledged")  # fmt: skip


def _needs(conn: Connection, tree: _Tree, at: datetime, by: str, out: RaiseOutcome) -> None:
    """One task per unfinished need of a sealed area's resident, owed by the area's
    region, due when the need is; closed when the need is done or cancelled."""
    n, ra = risk_area_needs.c, risk_areas.c
    rows = conn.execute(
        select(n.id, n.kind, n.due_at, ra.id.label("area_id"), ra.name, ra.region_code)
        .join(risk_areas, ra.id == n.area_id).where(n.status.in_(NEED_OPEN))
    ).all()  # fmt: skip
    out.raised["area_need"] += raise_many(conn, "area_need", "risk_area_need", (
        Candidate(str(r.id), r.region_code, None,
                  {"need": r.kind, "area": r.name, "area_id": int(r.area_id)}, r.due_at)
        for r in rows
    ), at=at, by=by)  # fmt: skip
    still = {str(r.id) for r in rows}
    finished = [str(t.source_id) for t in _open_tasks(conn, "area_need")
                if str(t.source_id) not in still]  # fmt: skip
    status: dict[str, str] = {}
    for part in _chunks([int(s) for s in finished if s.isdigit()]):
        status.update((str(i), str(st)) for i, st in conn.execute(
            select(n.id, n.status).where(n.id.in_(list(part)))))  # fmt: skip
    for source_id in finished:
        closing = "cancelled" if status.get(source_id) == "cancelled" else "done"
        out.closed["area_need"] += _close(conn, "area_need", "risk_area_need", [source_id],
                                          at=at, by=by, status=closing,
                                          note="需求已办结 / the need was met")  # fmt: skip


def _care(conn: Connection, at: datetime, by: str, out: RaiseOutcome) -> None:
    """The care register's urgent medical needs (issue 20): its own sweep raises the task
    of every unfinished need and closes those of finished ones (the register raises and
    closes them as it goes; this catches the rest)."""
    from fangkong.care.service import sync_tasks  # care raises through this module

    raised, closed = sync_tasks(conn, at=at, by=by)
    out.raised["care_need"] += raised
    out.closed["care_need"] += closed


# ---- conditions per region and day (region_day) --------------------------------------------


def _condition(
    conn: Connection, kind: str, counts: Mapping[str, Mapping[str, Any]], role: str,
    deadline: datetime, tree: _Tree, at: datetime, by: str, day: date, out: RaiseOutcome,
    cleared_by: Cleared | None = None,
) -> None:  # fmt: skip
    """Keep one open task per region while its condition lasts (``counts``: region →
    params, only regions where it holds); close those whose condition cleared, at the
    time ``cleared_by`` finds the last event that ended it (never before the task's last
    change; at ``at`` when it finds none)."""
    open_by_region: dict[str, Any] = {}
    for task in _open_tasks(conn, kind):
        open_by_region.setdefault(str(task.source_id).split("/")[0], task)
    for region, task in open_by_region.items():
        params = counts.get(region)
        now = None if params is None else {**params, "region": tree.name.get(region, region)}
        if now is not None and now != task.params:
            out.updated += refresh_params(conn, int(task.id), now)
    out.raised[kind] += raise_many(conn, kind, "region_day", (
        Candidate(f"{region}/{day.isoformat()}", region, role,
                  {**params, "region": tree.name.get(region, region)}, deadline)
        for region, params in sorted(counts.items()) if region not in open_by_region
    ), at=at, by=by)  # fmt: skip
    gone = {region: task for region, task in open_by_region.items() if region not in counts}
    when: dict[str, datetime] = {}
    if gone and cleared_by is not None:
        last = _last_changes(conn, [int(t.id) for t in gone.values()])
        since = min(last.values(), default=at)
        ended = cleared_by(conn, tree, since, at)
        for region, task in gone.items():
            floor = last.get(int(task.id), at)
            t = ended.get(region)
            if t is not None and t > floor:
                when[str(task.source_id)] = min(t, at)
            elif t is not None:
                when[str(task.source_id)] = floor
    out.closed[kind] += _close(conn, kind, "region_day", [str(t.source_id) for t in gone.values()],
                               at=at, by=by, note="已解除 / cleared", when=when)  # fmt: skip


def _awaiting(conn: Connection, rules: RaisingRules, tree: _Tree, at: datetime, by: str,
              out: RaiseOutcome) -> None:  # fmt: skip
    """Per county, the persons due for placement (``quarantine.demand``) with none yet:
    close contacts (and cases) awaiting a room or a home order."""
    awaiting: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    for d in due_for_placement(conn, rules.quarantine, at=at).due:
        county = tree.at_level(d.region_code, "county")
        if county is None:
            continue
        awaiting[county] += 1
        if d.deadline is not None and d.deadline < at:
            overdue[county] += 1
    counts = {c: {"persons": n, "overdue": overdue[c]} for c, n in awaiting.items()}
    _condition(conn, "awaiting_placement", counts, "quarantine_manager",
               at + _hours(rules, "awaiting_placement"), tree, at, by,
               at.astimezone(rules.tz).date(), out, _placed)  # fmt: skip


def _late_tubes(conn: Connection, rules: RaisingRules, tree: _Tree, at: datetime, by: str,
                out: RaiseOutcome) -> None:  # fmt: skip
    """Per sampling county, the tubes without a result ``result_hours`` after collection
    (``testing.flags``' rule, counted whether or not the flag job ran)."""
    tb = tubes.c
    no_result = ~sa.exists().where(results.c.tube_id == tb.id)
    per_region = conn.execute(
        select(tb.region_code, func.count())
        .where(tb.collected_at < at - timedelta(hours=rules.testing.result_hours), no_result)
        .group_by(tb.region_code)
    ).all()
    late: Counter[str] = Counter()
    for region, n in per_region:
        county = tree.at_level(region, "county")
        if county is not None:
            late[county] += int(n)
    counts = {c: {"tubes": n} for c, n in late.items() if n}
    _condition(conn, "late_tubes", counts, "lab", at + _hours(rules, "late_tubes"), tree, at,
               by, at.astimezone(rules.tz).date(), out,
               _late_results(rules.testing.result_hours))  # fmt: skip


def _shortage(conn: Connection, rules: RaisingRules, tree: _Tree, run_out: Mapping[str, date],
              at: datetime, by: str, out: RaiseOutcome) -> None:  # fmt: skip
    """Per readiness region, the forecast's first day without rooms (within its horizon)."""
    counts = {region: {"run_out": day.isoformat()} for region, day in run_out.items()}
    _condition(conn, "capacity_shortage", counts, "commander",
               at + _hours(rules, "capacity_shortage"), tree, at, by,
               at.astimezone(rules.tz).date(), out)  # fmt: skip


# ---- risk areas due for lifting --------------------------------------------------------------


def _lifting(conn: Connection, rules: RaisingRules, tree: _Tree, at: datetime, by: str,
             out: RaiseOutcome) -> None:  # fmt: skip
    """One task per area whose lifting time has come while it still stands at its level
    (the lifting job has not run, or cannot): owed by the area's county."""
    ra = risk_areas.c
    lifting = rules.risk_areas.lifting
    rows = conn.execute(select(risk_areas).where(ra.level.in_(list(lifting)))).all()
    due: dict[str, Candidate] = {}
    deadline = at + _hours(rules, "lifting_due")
    found = infections_by_area(conn, [area_key(r, rules.tz) for r in rows], rules.tz)
    for r in rows:
        since = r.since.astimezone(rules.tz).date()
        when = due_at(rules.risk_areas, AreaState(r.level, r.origin, r.since), found[int(r.id)])
        if when is None or when[0] > at:
            continue
        county = tree.at_level(r.region_code, "county") or r.region_code
        key = f"{r.id}/{since.isoformat()}"
        due[key] = Candidate(key, county, "epidemiologist",
                             {"area": r.name, "level": r.level, "to": lifting[r.level].to,
                              "due_at": when[0].isoformat()}, deadline)  # fmt: skip
    out.raised["lifting_due"] += raise_many(conn, "lifting_due", "risk_area", due.values(),
                                            at=at, by=by)  # fmt: skip
    gone = [str(t.source_id) for t in _open_tasks(conn, "lifting_due")
            if str(t.source_id) not in due]  # fmt: skip
    note = "已解封或重新计时 / lifted, or the clock restarted"
    out.closed["lifting_due"] += _close(conn, "lifting_due", "risk_area", gone, at=at, by=by,
                                        note=note)  # fmt: skip


# ---- the forecast's run-out days -------------------------------------------------------------


def forecast_run_out(conn: Connection, pack: Any, tz: ZoneInfo, *, at: datetime,
                     draws: int = 200) -> dict[str, date]:  # fmt: skip
    """Per region of the readiness level, the first day the forecast's median need of
    rooms exceeds the rooms (only regions that run out within the forecast's horizon)."""
    from fangkong.quarantine.forecast import ForecastOptions, forecast_from_store

    rf = forecast_from_store(conn, pack, tz, ForecastOptions(draws=draws), now=at)
    days = rf.days()
    first = rf.forecast.run_out_day()
    return {code: days[int(first[i]) - 1] for i, code in enumerate(rf.regions) if first[i]}
