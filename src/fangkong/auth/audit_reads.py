"""Reading the audit log (审计日志) from the pages and the API: right ``audit.read``, and
only the rows of the reader's jurisdiction (``fangkong.audit.log.search``). The command
line (``fangkong audit search``) reads the whole log as the operator."""

from __future__ import annotations

from fangkong.audit.log import AuditRow, search
from fangkong.auth.guard import Call
from fangkong.auth.rights import AUDIT_READ


def audit_rows(
    call: Call, *, person: int | None = None, user: str | None = None, limit: int = 200
) -> list[AuditRow]:
    """Newest first: rows about one person (row id) and/or by one actor, in the caller's
    jurisdiction; ``Forbidden`` without ``audit.read``."""
    call.require(AUDIT_READ)
    return search(call.engine, person=person, user=user, limit=limit, viewer=call.actor)
