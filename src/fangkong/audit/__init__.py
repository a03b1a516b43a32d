"""Audit log (审计日志): who did what to which record, when, from where, with what outcome.

Append-only with a keyed hash chain (see ``fangkong.audit.log``); never personal data.
``audited`` (``fangkong.audit.calls``) writes the one row per service call.
``fangkong audit verify`` proves the chain intact; ``fangkong audit search`` reads it.
"""

from fangkong.audit.calls import audited, audited_after, refusal_outcome
from fangkong.audit.log import (
    AuditEvent,
    AuditRow,
    ChainBreak,
    record,
    search,
    transaction,
    verify,
)

__all__ = [
    "AuditEvent",
    "AuditRow",
    "ChainBreak",
    "audited",
    "audited_after",
    "record",
    "refusal_outcome",
    "search",
    "transaction",
    "verify",
]
