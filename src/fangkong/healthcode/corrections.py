"""Corrections (纠错): a person or an officer objects to a code; another officer decides.
Upheld with a named fact, the fact is voided (kept, marked) and the code re-evaluated
(``codes._evaluate_in``). Each function is one transaction (an ``Engine``) or works in the
caller's (a ``Connection``); authorisation is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from fangkong.errors import Conflict, Forbidden, NotFound, Problem
from fangkong.healthcode.codes import _evaluate_in, _require_person
from fangkong.healthcode.context import CodeContext, _now
from fangkong.healthcode.evaluator import Decision
from fangkong.healthcode.store import invalid
from fangkong.healthcode.tables import code_corrections, person_facts
from fangkong.healthcode.writer import void_facts
from fangkong.store.tx import Bind, write_transaction


def file_correction(
    bind: Bind, person_id: int, reason: str, *, filed_by: str, filer_role: str,
    fact_id: int | None = None, now: datetime | None = None,
) -> int:  # fmt: skip
    """File an objection to a person's code (optionally naming the fact that is wrong)."""
    now = _now(now)
    if filer_role not in ("person", "officer"):
        raise invalid("filer_role 应为 person 或 officer", "filer_role must be person or officer")
    if not reason.strip():
        raise invalid("请说明纠错理由", "give a reason for the correction")
    with write_transaction(bind) as conn:
        _require_person(conn, person_id)
        if fact_id is not None:
            owner = conn.execute(
                select(person_facts.c.person_id).where(person_facts.c.id == fact_id)
            ).scalar_one_or_none()
            if owner != person_id:
                raise NotFound(
                    Problem(
                        "correction.fact_unknown",
                        f"该人员没有编号为 {fact_id} 的记录",
                        f"the person has no fact {fact_id}",
                    )
                )
        return int(
            conn.execute(
                code_corrections.insert()
                .values(
                    person_id=person_id, fact_id=fact_id, filed_at=now, filed_by=filed_by,
                    filer_role=filer_role, reason=reason, state="open",
                )
                .returning(code_corrections.c.id)
            ).scalar_one()
        )  # fmt: skip


def decide_correction(
    bind: Bind, ctx: CodeContext, correction_id: int, *, upheld: bool, reason: str,
    decided_by: str, now: datetime | None = None,
) -> Decision:  # fmt: skip
    """Decide an objection. Upheld with a named fact: the fact is voided (kept, marked)
    and the code re-evaluated. The decider must not be the filer; the caller checks
    that the decider holds the right to decide."""
    now = _now(now)
    if not reason.strip():
        raise invalid("请说明决定理由", "give a reason for the decision")
    with write_transaction(bind) as conn:
        c = conn.execute(
            select(code_corrections).where(code_corrections.c.id == correction_id)
        ).first()
        if c is None:
            raise NotFound(
                Problem("correction.unknown", f"无此纠错申请 {correction_id}",
                        f"no correction {correction_id}")
            )  # fmt: skip
        if c.state != "open":
            raise Conflict(
                Problem("correction.decided", "该纠错申请已有决定",
                        "this correction has already been decided")
            )  # fmt: skip
        if c.filed_by == decided_by:
            raise Forbidden(
                Problem("correction.own", "不能决定自己提交的纠错申请",
                        "you cannot decide a correction you filed")
            )  # fmt: skip
        conn.execute(
            update(code_corrections)
            .where(code_corrections.c.id == correction_id)
            .values(
                state="upheld" if upheld else "rejected", decided_at=now,
                decided_by=decided_by, decision_reason=reason,
            )
        )  # fmt: skip
        if upheld and c.fact_id is not None:
            void_facts(conn, [c.fact_id], reason=f"correction {correction_id}: {reason}", now=now)
        return _evaluate_in(conn, ctx, c.person_id, now, f"correction:{correction_id}")


@dataclass(frozen=True)
class Correction:
    id: int
    person_id: int
    fact_id: int | None
    filed_at: datetime
    filed_by: str
    filer_role: str
    reason: str
    state: str
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None


def list_corrections(bind: Bind, *, state: str | None = "open") -> list[Correction]:
    """The corrections queue (oldest first), by state (None: all)."""
    query = select(code_corrections).order_by(code_corrections.c.filed_at, code_corrections.c.id)
    if state is not None:
        query = query.where(code_corrections.c.state == state)
    with write_transaction(bind) as conn:
        return [Correction(*r) for r in conn.execute(query).all()]
