"""Alerts (预警): raise with evidence, fold repeats, move through the lifecycle.

::

    candidate (trigger or detector alarm, one region, one period)
        │ same rule + region with an open alert whose last period is within the pack's
        │ dedup window? ── yes ─▶ repeated: the open alert takes the new period, counts,
        │                          threshold and evidence (one alert_changes row)
        │ the period already lies inside an alert of that key? ── yes ─▶ unchanged
        ▼
    raised ─▶ verified ─▶ investigated ─▶ closed      (raised / verified ─▶ dismissed)
      │ verify_due = raised + [alerts] verify_within_hours
      │ investigate_due = raised + [alerts] investigate_within_hours
      └ the alert's command task (kind ``alert``, raised by ``command.raising``) carries
        the deadline — verify_due, then investigate_due once verified — and escalates
        when overdue (``command.tasks.escalate_overdue``, the platform's one escalation);
        closing or dismissing the alert closes its task

The owner of an alert is the region where it happened; everything is kept in
``alert_changes`` (who, when, from, to, note). The columns ``escalations`` /
``escalated_to`` / ``escalated_at`` hold what the alerts' own escalation wrote before the
task took it over (historic rows); nothing writes them now.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, select, update

from fangkong.alerts.model import OPEN, SEVERITIES, STATUSES, TRANSITIONS
from fangkong.alerts.rules import AlertRules
from fangkong.alerts.tables import alert_changes, alerts
from fangkong.command.tasks import close_for_source, follow_deadline
from fangkong.errors import BadInput, Conflict, NotFound, Problem


class AlertUnknown(NotFound):
    """alerts.unknown: no alert with this id (or outside the caller's jurisdiction)."""


class StatusInvalid(BadInput):
    """alerts.status_invalid: not a status."""


class TransitionRefused(Conflict):
    """alerts.transition_refused: the alert cannot move there from where it is."""


@dataclass(frozen=True)
class Candidate:
    """One alarm or trigger hit, for one region and one period (a day or an ISO week)."""

    kind: str  # trigger | detection
    rule: str
    signals: tuple[str, ...]
    method: str
    region_code: str
    level: str
    frequency: str
    severity: str
    period: date
    observed: float
    expected: float | None
    threshold: float | None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.rule}|{self.region_code}"


@dataclass(frozen=True)
class Outcome:
    alert_id: int
    action: str  # raised | repeated | unchanged


def _severity_max(a: str, b: str) -> str:
    return a if SEVERITIES.index(a) >= SEVERITIES.index(b) else b


def _change(conn: Connection, alert_id: int, at: datetime, action: str, before: str | None,
            after: str, by: str, note: str) -> None:  # fmt: skip
    conn.execute(alert_changes.insert().values(alert_id=alert_id, at=at, action=action,
                                               from_status=before, to_status=after,
                                               changed_by=by, note=note))  # fmt: skip


def _finite(x: float | None) -> float | None:
    return None if x is None or x != x else float(x)  # NaN → None


def file_candidate(
    conn: Connection, c: Candidate, rules: AlertRules, now: datetime, *, by: str
) -> Outcome:
    """Raise a new alert for ``c`` or fold it into the open one of the same rule and region."""
    a = alerts.c
    latest = conn.execute(
        select(a.id, a.status, a.first_period, a.last_period, a.severity, a.repeats)
        .where(a.key == c.key)
        .order_by(a.last_period.desc(), a.id.desc())
    ).all()
    for r in latest:
        if r.first_period <= c.period <= r.last_period:
            return Outcome(int(r.id), "unchanged")
    window = timedelta(days=rules.dedup_days)
    evidence = json.dumps(c.evidence, ensure_ascii=False, default=str)
    for r in latest:
        if r.status in OPEN and r.last_period < c.period <= r.last_period + window:
            conn.execute(
                update(alerts).where(a.id == r.id).values(
                    last_period=c.period, observed=c.observed,
                    expected=_finite(c.expected), threshold=_finite(c.threshold),
                    evidence=evidence, repeats=r.repeats + 1,
                    severity=_severity_max(r.severity, c.severity), updated_at=now,
                )
            )  # fmt: skip
            _change(conn, int(r.id), now, "repeated", r.status, r.status, by,
                    f"{c.period.isoformat()}: {c.observed:g}")  # fmt: skip
            return Outcome(int(r.id), "repeated")
    values = {
        "key": c.key, "kind": c.kind, "rule": c.rule, "signals": ",".join(c.signals),
        "method": c.method, "region_code": c.region_code, "level": c.level,
        "frequency": c.frequency, "severity": c.severity, "status": "raised",
        "first_period": c.period, "last_period": c.period, "observed": c.observed,
        "expected": _finite(c.expected), "threshold": _finite(c.threshold), "repeats": 0,
        "evidence": evidence, "rules_source": rules.source[:160], "raised_at": now,
        "verify_due": now + timedelta(hours=rules.verify_hours),
        "investigate_due": now + timedelta(hours=rules.investigate_hours),
        "escalations": 0, "updated_at": now,
    }  # fmt: skip
    inserted = conn.execute(alerts.insert().values(**values)).inserted_primary_key
    alert_id = int(inserted[0]) if inserted else 0
    _change(conn, alert_id, now, "raised", None, "raised", by,
            f"{c.period.isoformat()}: {c.observed:g}")  # fmt: skip
    return Outcome(alert_id, "raised")


def get_alert(conn: Connection, alert_id: int) -> Row[Any]:
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    if row is None:
        raise AlertUnknown(Problem("alerts.unknown", f"无此预警（{alert_id}）",
                                   f"no alert {alert_id}"))  # fmt: skip
    return row


def transition(
    conn: Connection, alert_id: int, to_status: str, *, by: str, note: str, now: datetime
) -> str:
    """Move an alert to ``to_status`` (its history keeps who, when and why); returns the
    status it left."""
    if to_status not in STATUSES:
        raise StatusInvalid(Problem("alerts.status_invalid", f"无效的状态 {to_status[:20]!r}",
                                    f"not a status: {to_status[:20]!r}"))  # fmt: skip
    if not note.strip():
        raise StatusInvalid(Problem("alerts.note_missing", "请填写处置说明",
                                    "give a note (what was found or done)"))  # fmt: skip
    row = get_alert(conn, alert_id)
    if to_status not in TRANSITIONS[row.status]:
        raise TransitionRefused(Problem(
            "alerts.transition_refused",
            f"预警 {alert_id} 当前为 {row.status}，不能改为 {to_status}",
            f"alert {alert_id} is {row.status}; it cannot become {to_status}"))  # fmt: skip
    stamp = {"verified": "verified_at", "investigated": "investigated_at",
             "closed": "closed_at", "dismissed": "closed_at"}[to_status]  # fmt: skip
    conn.execute(update(alerts).where(alerts.c.id == alert_id)
                 .values(status=to_status, updated_at=now, **{stamp: now}))  # fmt: skip
    _change(conn, alert_id, now, to_status, row.status, to_status, by, note.strip()[:2000])
    if to_status in ("closed", "dismissed"):  # its task (command) closes with it
        close_for_source(conn, "alert", "alert", str(alert_id), by=by, at=now,
                         status="done" if to_status == "closed" else "cancelled",
                         note=note.strip())  # fmt: skip
    elif to_status == "verified":  # its task is now due when the investigation is
        follow_deadline(conn, "alert", "alert", str(alert_id), row.investigate_due)
    return str(row.status)


def overdue_steps(row: Any, now: datetime) -> int:
    """How many of the alert's steps are due and still not done now."""
    missed = 0
    if row.status == "raised" and now > row.verify_due:
        missed += 1
    if row.status in ("raised", "verified") and now > row.investigate_due:
        missed += 1
    return missed


def history(conn: Connection, alert_id: int) -> list[Row[Any]]:
    c = alert_changes.c
    return list(conn.execute(select(alert_changes).where(c.alert_id == alert_id)
                             .order_by(c.at, c.id)).all())  # fmt: skip
