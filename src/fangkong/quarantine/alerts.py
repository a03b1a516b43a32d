"""Follow-up alerts (预警): rows of ``quarantine_alerts``, open until resolved.

Raised by the follow-up use cases (``abnormal_check``, ``missed_check``,
``positive_test``, ``absconded``) and by the intake job (``not_placed``: no placement, a
deadline ``due_at``); others read them with ``open_alerts`` and close them with
``resolve_alert``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from fangkong.errors import NotFound
from fangkong.quarantine.placed import PlacementView, _now, _p
from fangkong.quarantine.tables import (
    quarantine_alerts,
)
from fangkong.store.tx import Bind, write_transaction


def _alert(conn: Connection, view: PlacementView, kind: str, at: datetime, detail: str) -> int:
    t = quarantine_alerts
    return int(
        conn.execute(
            t.insert()
            .values(
                placement_id=view.id,
                person_id=view.person_id,
                kind=kind,
                at=at,
                detail=detail,
                resolved_at=None,
                resolved_by=None,
            )
            .returning(t.c.id)
        ).scalar_one()
    )


@dataclass(frozen=True)
class AlertView:
    id: int
    placement_id: int | None  # None: not placed (the intake job's not_placed alert)
    person_id: int
    kind: str
    at: datetime
    detail: str
    due_at: datetime | None = None


def open_alerts(bind: Bind, kinds: Sequence[str] | None = None) -> list[AlertView]:
    """Unresolved alerts, oldest first (the events other capabilities read)."""
    t = quarantine_alerts.c
    with write_transaction(bind) as conn:
        q = select(quarantine_alerts).where(t.resolved_at.is_(None)).order_by(t.id)
        if kinds is not None:
            q = q.where(t.kind.in_(list(kinds)))
        rows = conn.execute(q).all()
    return [
        AlertView(r.id, r.placement_id, r.person_id, r.kind, r.at, r.detail, r.due_at) for r in rows
    ]


def resolve_alert(bind: Bind, alert_id: int, *, by: str, at: datetime | None = None) -> None:
    t = quarantine_alerts
    with write_transaction(bind) as conn:
        done = conn.execute(
            update(t)
            .where(t.c.id == alert_id, t.c.resolved_at.is_(None))
            .values(resolved_at=_now(at), resolved_by=by[:80])
        ).rowcount
    if not done:
        raise NotFound(
            _p(
                "quarantine.alert_unknown",
                f"无此未处理预警（{alert_id}）",
                f"no open alert {alert_id}",
            )
        )


__all__ = [
    "AlertView",
    "open_alerts",
    "resolve_alert",
]
