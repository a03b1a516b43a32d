"""Alerts as people and devices reach them: rights, jurisdiction, audit (预警处置).

::

    actor ─▶ right? ── no ─▶ Forbidden (403)
             alert's region inside the actor's subtree? ── no ─▶ NotFound (as absent)
                 ▼ list / detail / lifecycle step / board ─▶ one audit row each

Reading never escalates: an overdue alert's command task does (``fangkong command
escalate``, the province loop); the pages show that task — who owes it now, its
escalation level and deadline — read through ``command.tasks``.

Rights: ``alert.read`` to see alerts and the board, ``alert.handle`` to verify,
investigate, close or dismiss; devices and systems send signals with ``signal.submit``
(a device token of scope ``signals``: counts for its venue's region and below).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from fangkong.alerts.board import Timeliness, timeliness
from fangkong.alerts.model import KINDS, SEVERITIES, STATUSES, TRANSITIONS
from fangkong.alerts.series import RegionTree
from fangkong.alerts.service import AlertUnknown, get_alert, history, transition
from fangkong.alerts.signals import IngestResult, invalid_fields, record_signals
from fangkong.alerts.tables import alerts
from fangkong.auth.guard import Call, hidden, inside
from fangkong.auth.jurisdiction import subtree
from fangkong.auth.model import Actor
from fangkong.auth.rights import ALERT_HANDLE, ALERT_READ, SIGNAL_SUBMIT
from fangkong.command.tasks import TaskView, escalated_sources, tasks_for_sources
from fangkong.errors import (
    BadInput,
    FieldProblem,
    Problem,
)
from fangkong.store import listing
from fangkong.store.listing import Bounded

PAGE_SIZE = 200


def _missing(alert_id: int) -> Problem:
    return Problem("alerts.unknown", f"无此预警（{alert_id}）", f"no alert {alert_id}")


def _reach(conn: Connection, actor: Actor) -> list[str] | None:
    """Region codes of the actor's jurisdiction (None: everywhere)."""
    if actor.region_code is None:
        return None
    return [str(c) for c in conn.execute(subtree(actor.region_code)).scalars()]


def _in_reach(conn: Connection, actor: Actor, alert_id: int) -> Any:
    try:
        row = get_alert(conn, alert_id)
    except AlertUnknown:
        raise AlertUnknown(_missing(alert_id)) from None
    if not inside(conn, actor, row.region_code):
        raise hidden(AlertUnknown(_missing(alert_id)))
    return row


def _choice(value: str | None, allowed: Sequence[str], name: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise BadInput(Problem(f"alerts.{name}_invalid", f"无效的筛选条件 {value!r}",
                               f"not a {name}: {value!r}"))  # fmt: skip
    return value


@dataclass(frozen=True)
class Filters:
    status: str | None = None  # a status, or "open"
    severity: str | None = None
    kind: str | None = None
    rule: str | None = None
    region: str | None = None  # a region code: alerts in its subtree
    escalated: bool = False  # only alerts whose task escalated above the alert's region

    def checked(self) -> Filters:
        return Filters(_choice(self.status, (*STATUSES, "open"), "status"),
                       _choice(self.severity, SEVERITIES, "severity"),
                       _choice(self.kind, KINDS, "kind"), self.rule or None,
                       self.region or None, self.escalated)  # fmt: skip


@dataclass(frozen=True)
class AlertList:
    rows: tuple[Any, ...]
    names: Mapping[str, str]  # region code → name
    filters: Filters
    rules: tuple[str, ...]  # rule ids present, for the filter
    total: int  # how many alerts match the filters (``rows``: one page of them)
    tasks: Mapping[int, TaskView]  # alert id → its command task (absent: not raised yet)


def alert_tasks(conn: Connection, ids: Sequence[int], now: datetime) -> dict[int, TaskView]:
    """The command task of each alert (who owes it now, escalation level, deadline)."""
    found = tasks_for_sources(conn, "alert", "alert", [str(i) for i in ids], at=now)
    return {int(k): v for k, v in found.items()}


def escalated_alerts() -> Any:
    """Subquery: ids of the alerts whose task escalated above the alert's region."""
    return escalated_sources("alert", "alert")


# what the alert list may be sorted by (its whitelist)
ALERT_SORTS: listing.Columns = {
    "id": alerts.c.id, "status": alerts.c.status, "severity": alerts.c.severity,
    "rule": alerts.c.rule, "region": alerts.c.region_code, "period": alerts.c.last_period,
    "observed": alerts.c.observed, "threshold": alerts.c.threshold, "raised": alerts.c.raised_at,
}  # fmt: skip


def list_alerts(call: Call, filters: Filters, bounded: Bounded = listing.FIRST_PAGE) -> AlertList:
    """One page of the alerts in the actor's jurisdiction, filtered, with their tasks:
    newest first unless ``bounded`` sorts by a key of :data:`ALERT_SORTS`."""
    actor, now = call.actor, call.now()

    def body(conn: Connection) -> tuple[AlertList, str]:
        call.require(ALERT_READ)
        f = filters.checked()
        tree = RegionTree.load(conn)
        reach = _reach(conn, actor)
        a = alerts.c
        q = select(alerts)
        if reach is not None:
            q = q.where(a.region_code.in_(reach))
        if f.region:
            q = q.where(a.region_code.in_(subtree(f.region)))
        if f.status == "open":
            q = q.where(a.status.in_(("raised", "verified", "investigated")))
        elif f.status:
            q = q.where(a.status == f.status)
        for column, value in ((a.severity, f.severity), (a.kind, f.kind), (a.rule, f.rule)):
            if value:
                q = q.where(column == value)
        if f.escalated:
            q = q.where(a.id.in_(escalated_alerts()))
        shown, total = listing.fetch(conn, q, bounded, ALERT_SORTS,
                                     (a.raised_at.desc(), a.id.desc()))  # fmt: skip
        rules_q = select(a.rule).distinct().order_by(a.rule)
        if reach is not None:
            rules_q = rules_q.where(a.region_code.in_(reach))
        tasks = alert_tasks(conn, [r.id for r in shown], now)
        view = AlertList(tuple(shown), tree.name, f, tuple(conn.execute(rules_q).scalars()),
                         total, tasks)  # fmt: skip
        return view, f"{len(view.rows)} alerts"

    return call.audited("alerts.list", None, None, body)


@dataclass(frozen=True)
class AlertDetail:
    alert: Any
    evidence: Mapping[str, Any]
    history: tuple[Any, ...]
    region_name: str
    task: TaskView | None  # the alert's command task (None: not raised yet)
    owner_name: str | None  # the region that owes the task now
    next_statuses: tuple[str, ...]  # the moves the actor may make now


def read_alert(call: Call, alert_id: int) -> AlertDetail:
    """One alert with its evidence, history and the moves the actor may make now."""
    actor, now = call.actor, call.now()

    def body(conn: Connection) -> tuple[AlertDetail, str]:
        call.require(ALERT_READ)
        row = _in_reach(conn, actor, alert_id)
        tree = RegionTree.load(conn)
        moves = (tuple(s for s in STATUSES if s in TRANSITIONS[row.status])
                 if actor.can(ALERT_HANDLE) else ())  # fmt: skip
        task = alert_tasks(conn, [alert_id], now).get(alert_id)
        detail = AlertDetail(row, json.loads(row.evidence), tuple(history(conn, alert_id)),
                             tree.name.get(row.region_code, row.region_code), task,
                             tree.name.get(task.region_code) if task else None,
                             moves)  # fmt: skip
        return detail, row.status

    return call.audited("alerts.show", "alert", str(alert_id), body)


def change_alert(call: Call, alert_id: int, status: str, note: str) -> str:
    """One lifecycle step (核实 / 调查 / 结案 / 排除) with a note; returns the status left."""
    actor, now = call.actor, call.now()

    def body(conn: Connection) -> tuple[str, str]:
        call.require(ALERT_READ, ALERT_HANDLE)
        _in_reach(conn, actor, alert_id)
        before = transition(conn, alert_id, status, by=actor.name, note=note, now=now)
        return before, f"{before} → {status}"

    return call.audited("alerts.transition", "alert", str(alert_id), body)


@dataclass(frozen=True)
class Board:
    root: str | None
    root_name: str
    rows: tuple[Timeliness, ...]
    total: Timeliness


def read_board(call: Call) -> Board:
    """The four-earlies board for the actor's jurisdiction, one row per sub-area."""
    actor, now, tz = call.actor, call.now(), call.tz

    def body(conn: Connection) -> tuple[Board, str]:
        call.require(ALERT_READ)
        tree = RegionTree.load(conn)
        reach = _reach(conn, actor)
        escalated = {int(i) for i in conn.execute(escalated_alerts()).scalars()}
        q = select(alerts)
        if reach is not None:
            q = q.where(alerts.c.region_code.in_(reach))
        rows = conn.execute(q).all()
        root = actor.region_code
        children = sorted(c for c, p in tree.parent.items() if p == root)
        groups: dict[str, list[Any]] = {c: [] for c in children}
        own: list[Any] = []
        for r in rows:
            branch = _branch(tree, r.region_code, root)
            groups.setdefault(branch, []).append(r) if branch else own.append(r)
        out = [timeliness(c, tree.name.get(c, c), g, now, tz, escalated)
               for c, g in groups.items()]  # fmt: skip
        if own and root is not None:
            out.append(timeliness(root, tree.name.get(root, root), own, now, tz, escalated))
        name = tree.name.get(root, root) if root else "全部 / all"
        total = timeliness(root or "", name, rows, now, tz, escalated)
        return Board(root, name, tuple(out), total), f"{len(rows)} alerts"

    return call.audited("alerts.board", None, None, body)


def _branch(tree: RegionTree, code: str, root: str | None) -> str | None:
    """The child of ``root`` that ``code`` lies under (None: ``code`` is ``root``)."""
    c: str | None = code
    while c is not None:
        parent = tree.parent.get(c)
        if parent == root:
            return c
        c = parent
    return None


def submit_signals(call: Call, rows: Sequence[Mapping[str, Any]],
                   *, source: str | None = None) -> IngestResult:  # fmt: skip
    """Counts from a device or system. A device's rows default to its venue's region and
    must lie inside it; the reporting point is the device's venue. Not audited."""
    actor, engine = call.actor, call.engine
    call.require(SIGNAL_SUBMIT)
    point = actor.venue_code or source or actor.name
    filled = [dict(r) for r in rows]
    for r in filled:
        if not r.get("region_code") and actor.region_code is not None:
            r["region_code"] = actor.region_code
    if actor.region_code is not None:
        with engine.connect() as conn:
            reach = {str(c) for c in conn.execute(subtree(actor.region_code)).scalars()}
        outside = [FieldProblem(f"signals[{i}].region_code", Problem(
            "signals.region_outside", f"区划 {str(r.get('region_code'))[:20]} 不在本设备辖区内",
            f"region {str(r.get('region_code'))[:20]} is outside this device's area"))
            for i, r in enumerate(filled)
            if r.get("region_code") and str(r["region_code"]) not in reach]  # fmt: skip
        if outside:
            raise invalid_fields(outside)
    return record_signals(engine, filled, source=point[:64])


def period_label(day: date, frequency: str) -> str:
    if frequency == "week":
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return day.isoformat()
