"""Audit log (审计日志): who did what to which record, when, from where, with what outcome.

Append-only with a keyed hash chain (see ``fangkong.audit.log``); never personal data.
``fangkong audit verify`` proves the chain intact; ``fangkong audit search`` reads it.
"""

from fangkong.audit.log import (
    AuditEvent,
    AuditRow,
    ChainBreak,
    record,
    search,
    transaction,
    verify,
)

__all__ = ["AuditEvent", "AuditRow", "ChainBreak", "record", "search", "transaction", "verify"]
