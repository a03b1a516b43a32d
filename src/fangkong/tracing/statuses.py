"""Contact statuses (状态) with their history: who moved a contact, when and why.

identified (已判定) → notified (已告知) → quarantined (隔离中) or monitoring (健康监测中)
→ released (已解除); any open status → became_case (转为病例) or lost (失访). A released
or lost contact exposed again is identified again (``_REOPEN``, applied by the trace
job). Every change is kept in ``tracing_contact_changes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from fangkong.errors import BadInput, Conflict, NotFound, Problem
from fangkong.store.tx import write_transaction
from fangkong.tracing._common import Bind, _chunks, _now
from fangkong.tracing.tables import (
    STATUSES,
    tracing_contact_changes,
    tracing_contacts,
)

TRANSITIONS: Mapping[str, frozenset[str]] = {
    "identified": frozenset({"notified", "quarantined", "monitoring", "became_case", "lost"}),
    "notified": frozenset({"quarantined", "monitoring", "became_case", "lost"}),
    "quarantined": frozenset({"monitoring", "released", "became_case", "lost"}),
    "monitoring": frozenset({"quarantined", "released", "became_case", "lost"}),
    "released": frozenset({"became_case"}),
    "lost": frozenset({"notified", "quarantined", "monitoring", "became_case"}),
    "became_case": frozenset(),
}
_REOPEN = ("released", "lost")  # a new exposure puts them back under management


class ContactUnknown(NotFound):
    """tracing.contact_unknown: no contact with this id."""


class StatusInvalid(BadInput):
    """tracing.status_invalid (not a status) / tracing.reason_missing (no reason given)."""


class TransitionRefused(Conflict):
    """tracing.transition_refused: the contact's status cannot move there from where it is."""


def _change(
    conn: Connection, contact_id: int, old: str | None, new: str, by: str, reason: str,
    at: datetime,
) -> None:  # fmt: skip
    conn.execute(
        update(tracing_contacts).where(tracing_contacts.c.id == contact_id)
        .values(status=new, status_at=at, status_by=by[:80])
    )  # fmt: skip
    conn.execute(
        tracing_contact_changes.insert().values(
            contact_id=contact_id, at=at, from_status=old, to_status=new, changed_by=by[:80],
            reason=reason,
        )
    )  # fmt: skip


def set_contact_status(
    bind: Bind, contact_id: int, status: str, *, by: str, reason: str,
    at: datetime | None = None,
) -> str:  # fmt: skip
    """Move a contact to ``status`` (kept with who, when and why); returns the old status."""
    at = _now(at)
    if status not in STATUSES:
        raise StatusInvalid(Problem(
            "tracing.status_invalid", f"无效的状态 {status!r}（可选：{'、'.join(STATUSES)}）",
            f"not a status: {status!r} (one of: {', '.join(STATUSES)})",
        ))  # fmt: skip
    if not reason.strip():
        raise StatusInvalid(Problem("tracing.reason_missing", "须说明理由",
                                    "give a reason for the change"))  # fmt: skip
    with write_transaction(bind) as conn:
        row = conn.execute(
            select(tracing_contacts.c.status).where(tracing_contacts.c.id == contact_id)
        ).first()
        if row is None:
            raise ContactUnknown(Problem("tracing.contact_unknown", f"无此接触者（{contact_id}）",
                                         f"no contact {contact_id}"))  # fmt: skip
        if status not in TRANSITIONS[row.status]:
            allowed = sorted(TRANSITIONS[row.status]) or ["—"]
            raise TransitionRefused(Problem(
                "tracing.transition_refused",
                f"接触者 {contact_id} 的状态不能从 {row.status} 变为 {status}"
                f"（可变为：{'、'.join(allowed)}）",
                f"contact {contact_id} cannot go from {row.status} to {status} "
                f"(allowed: {', '.join(allowed)})",
            ))  # fmt: skip
        _change(conn, contact_id, row.status, status, by, reason.strip(), at)
        return str(row.status)


def set_contact_statuses(
    bind: Bind, person_ids: Sequence[int], status: str, *, by: str, reason: str,
    at: datetime | None = None,
) -> int:  # fmt: skip
    """``set_contact_status`` for many (by person id): each contact whose status may move
    to ``status`` moves (kept with who, when and why); the others, and persons who are
    no contact, are left as they are. Returns how many moved."""
    at = _now(at)
    if status not in STATUSES or not reason.strip():
        raise StatusInvalid(Problem("tracing.status_invalid", f"无效的状态 {status!r} 或缺少理由",
                                    f"not a status ({status!r}) or no reason"))  # fmt: skip
    c = tracing_contacts.c
    with write_transaction(bind) as conn:
        moving: list[tuple[int, str]] = []
        for chunk in _chunks(sorted(set(person_ids))):
            for cid, old in conn.execute(select(c.id, c.status).where(c.person_id.in_(chunk))):
                if status in TRANSITIONS[old]:
                    moving.append((int(cid), str(old)))
        for chunk in _chunks(moving):
            conn.execute(
                update(tracing_contacts).where(c.id.in_([cid for cid, _ in chunk]))
                .values(status=status, status_at=at, status_by=by[:80])
            )  # fmt: skip
            conn.execute(tracing_contact_changes.insert(), [
                {"contact_id": cid, "at": at, "from_status": old, "to_status": status,
                 "changed_by": by[:80], "reason": reason.strip()}
                for cid, old in chunk
            ])  # fmt: skip
    return len(moving)


@dataclass(frozen=True)
class StatusChange:
    at: datetime
    from_status: str | None
    to_status: str
    by: str
    reason: str


def status_history(bind: Bind, contact_id: int) -> list[StatusChange]:
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(tracing_contact_changes)
            .where(tracing_contact_changes.c.contact_id == contact_id)
            .order_by(tracing_contact_changes.c.id)
        ).all()
    return [StatusChange(r.at, r.from_status, r.to_status, r.changed_by, r.reason) for r in rows]


__all__ = [
    "TRANSITIONS",
    "ContactUnknown",
    "StatusChange",
    "StatusInvalid",
    "TransitionRefused",
    "set_contact_status",
    "set_contact_statuses",
    "status_history",
]
