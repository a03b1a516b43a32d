"""Reading the audit log (审计日志) from the pages and the API: right ``audit.read``, and
only the rows of the reader's jurisdiction (``fangkong.audit.log.search``). The command
line (``fangkong audit search``) reads the whole log as the operator."""

from __future__ import annotations

from fangkong.audit.log import AuditRow, search, search_page
from fangkong.auth.guard import Call
from fangkong.auth.rights import AUDIT_READ
from fangkong.store.listing import Bounded


def audit_rows(
    call: Call, *, person: int | None = None, user: str | None = None, limit: int = 200
) -> list[AuditRow]:
    """Newest first: rows about one person (row id) and/or by one actor, in the caller's
    jurisdiction; ``Forbidden`` without ``audit.read``."""
    call.require(AUDIT_READ)
    return search(call.engine, person=person, user=user, limit=limit, viewer=call.actor)


def audit_page(
    call: Call, bounded: Bounded, *, person: int | None = None, user: str | None = None
) -> tuple[list[AuditRow], bool]:
    """One page of :func:`audit_rows` and whether more rows follow."""
    call.require(AUDIT_READ)
    return search_page(call.engine, bounded, person=person, user=user, viewer=call.actor)
