"""One audit row per service call, written also when the call is refused.

The capability modules (tracing, health codes, arrivals, quarantine, testing, alerts)
wrap each audited operation in :func:`audited`; arrivals, whose operations open their
own transactions, use :func:`audited_after`. Both record the same row: the actor's name,
the action, ``ok`` or the refusal's outcome (see :func:`refusal_outcome`), the caller's
address, the target, and on success a short detail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, overload

from sqlalchemy import Connection, Engine

from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.errors import FangkongError, Forbidden, NotFound

T = TypeVar("T")

OUTCOME_CHARS = 20  # audit_log.outcome is a String(20)
DETAIL_CHARS = 200  # a detail is a short note, cut to this length


class Named(Protocol):
    """Whoever acts (``fangkong.auth.model.Actor``): the audit row keeps only the name."""

    @property
    def name(self) -> str: ...


def refusal_outcome(exc: FangkongError) -> str:
    """The outcome a refused call is audited with: the error's own ``outcome`` when its
    class names one (e.g. ``out_of_jurisdiction`` for a record answered as absent), else
    ``forbidden``, ``not_found`` or the problem's code; cut to the column's 20 chars."""
    outcome = getattr(exc, "outcome", None) or (
        "forbidden"
        if isinstance(exc, Forbidden)
        else "not_found"
        if isinstance(exc, NotFound)
        else exc.code
    )
    return str(outcome)[:OUTCOME_CHARS]


# The two shapes of ``body``: (result, detail), or (result, target found, detail).
@overload
def audited(engine: Engine, key: bytes, actor: Named, address: str, action: str,
            target_type: str | None, target_id: str | None,
            body: Callable[[Connection], tuple[T, str | None]]) -> T: ...  # fmt: skip
@overload
def audited(engine: Engine, key: bytes, actor: Named, address: str, action: str,
            target_type: str | None, target_id: str | None,
            body: Callable[[Connection], tuple[T, str | None, str | None]]) -> T: ...  # fmt: skip


def audited(engine: Engine, key: bytes, actor: Named, address: str, action: str,
            target_type: str | None, target_id: str | None,
            body: Callable[[Connection], tuple[T, str | None]]
            | Callable[[Connection], tuple[T, str | None, str | None]]) -> T:  # fmt: skip
    """Run ``body(conn)`` in one writing transaction and write one audit row in it.

    ``body`` returns ``(result, detail)``, or ``(result, found, detail)`` when it finds
    its target itself (a lookup by document number): the row then names ``found``
    instead of ``target_id`` (unless ``found`` is None). On success the row's outcome
    is ``ok`` and its detail the body's, cut to 200 chars; ``result`` is returned.

    When the body raises a :class:`FangkongError`, its writes are rolled back (it runs
    in a savepoint) while the audit row is kept, with the :func:`refusal_outcome` and
    no detail, and the error is raised again. Any other exception rolls back the
    whole transaction, audit row included (nothing is recorded for a crash).
    """
    failure: FangkongError | None = None
    with transaction(engine) as conn:
        try:
            with conn.begin_nested():
                done = body(conn)
        except FangkongError as exc:
            failure = exc
            event = AuditEvent(
                actor.name, action, refusal_outcome(exc), address, target_type, target_id
            )
        else:
            if len(done) == 3:
                target_id = done[1] or target_id
            detail = done[-1]
            event = AuditEvent(
                actor.name,
                action,
                "ok",
                address,
                target_type,
                target_id,
                detail and detail[:DETAIL_CHARS],
            )
        record(conn, key, event)
    if failure is not None:
        raise failure
    return done[0]


def audited_after(engine: Engine, key: bytes, actor: Named, address: str, action: str,
                  target_type: str | None, target_id: str | None,
                  body: Callable[[], T]) -> T:  # fmt: skip
    """Run ``body()`` outside any transaction of ours, then write one audit row (no
    detail) in a transaction of its own.

    For operations that open and commit their own transactions (arrivals' manifest
    import and stage moves): what they committed stays committed, and a refusal is
    recorded after the fact with the :func:`refusal_outcome` before it is raised again.
    """
    try:
        result = body()
    except FangkongError as exc:
        with transaction(engine) as conn:
            outcome = refusal_outcome(exc)
            event = AuditEvent(actor.name, action, outcome, address, target_type, target_id)
            record(conn, key, event)
        raise
    with transaction(engine) as conn:
        record(conn, key, AuditEvent(actor.name, action, "ok", address, target_type, target_id))
    return result
