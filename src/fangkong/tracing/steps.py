"""The steps of a case's investigation, stamped as they are done (流调处置节点).

The protocol times a case's investigation from its report ("2+4+24": the CDC verifies
the case, the team is on site, the core facts are established, the report is filed).
Each step is one button a tracer presses (or one API call, one CLI command) when it is
done; the time is the system clock's at that moment (``fangkong.clock``, through
``Call.now``), never a time typed in, and who pressed it is kept beside it::

    case registered (registered_at)
      ├─ verified      审核          verified_at,   verified_by
      ├─ on_site       到达现场       on_site_at,    on_site_by
      ├─ core_facts    核心信息       core_facts_at, core_facts_by
      └─ report        流调报告       report_at,     report_by   (only after core_facts)

A step recorded again keeps its first stamp (the second call changes nothing and says
so). ``record_step`` is the guarded use case (rights and jurisdiction as for the other
tracing actions, one audit row per call); the command centre's timeliness measures read
the stamps (docs/command.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from fangkong.auth.guard import Call
from fangkong.command.model import Term
from fangkong.errors import BadInput, Conflict, Problem
from fangkong.store.tx import write_transaction
from fangkong.tracing._common import Bind, _now
from fangkong.tracing.access import CHANGE_RIGHTS, _case_in_reach
from fangkong.tracing.tables import tracing_cases

# the steps in order, each a key with its Chinese and English names
STEPS: tuple[Term, ...] = (
    Term("verified", "病例审核", "case verified"),
    Term("on_site", "流调队伍到达现场", "investigation team on site"),
    Term("core_facts", "核心信息查清", "core facts established"),
    Term("report", "流调报告提交", "investigation report filed"),
)
STEP = {s.key: s for s in STEPS}
# a step that needs another one stamped first
NEEDS = {"report": "core_facts"}


class StepInvalid(BadInput):
    """tracing.step_invalid: not a step of the investigation."""


class StepOutOfOrder(Conflict):
    """tracing.step_out_of_order: the step needs an earlier one first."""


@dataclass(frozen=True)
class Stamp:
    """A step of a case as stored: when and by whom (None: not done), and whether this
    call stamped it (False: it was stamped before and kept)."""

    case_id: int
    step: str
    at: datetime | None
    by: str | None
    new: bool = False


def check_step(step: str) -> Term:
    found = STEP.get(step)
    if found is None:
        names = ", ".join(s.key for s in STEPS)
        raise StepInvalid(Problem(
            "tracing.step_invalid", f"无效的流调节点 {step!r}（{names}）",
            f"not a step of the investigation: {step!r} ({names})"))  # fmt: skip
    return found


def case_steps(conn: Connection, case_id: int) -> list[Stamp]:
    """Every step of a case in order, stamped or not."""
    c = tracing_cases.c
    row = conn.execute(select(tracing_cases).where(c.id == case_id)).first()
    if row is None:
        return []
    return [Stamp(case_id, s.key, getattr(row, f"{s.key}_at"), getattr(row, f"{s.key}_by"))
            for s in STEPS]  # fmt: skip


def stamp_step(
    bind: Bind, case_id: int, step: str, *, by: str, at: datetime | None = None
) -> Stamp:
    """Stamp ``step`` of a case now (the system clock; ``at``: the caller's business time,
    as ``Call.at``) unless it is stamped: the first stamp is kept. The case must exist
    (the caller checked it). Writes in one transaction, or in the caller's."""
    check_step(step)
    with write_transaction(bind) as conn:
        stamps = {s.step: s for s in case_steps(conn, case_id)}
        if stamps[step].at is not None:
            return stamps[step]
        needed = NEEDS.get(step)
        if needed is not None and stamps[needed].at is None:
            first, this = STEP[needed], STEP[step]
            raise StepOutOfOrder(Problem(
                "tracing.step_out_of_order", f"请先记录“{first.zh}”，再记录“{this.zh}”",
                f"record “{first.en}” before “{this.en}”"))  # fmt: skip
        at_col, by_col = f"{step}_at", f"{step}_by"
        # the guard on NULL keeps the first stamp when two tracers press at once
        done = conn.execute(
            update(tracing_cases)
            .where(tracing_cases.c.id == case_id, tracing_cases.c[at_col].is_(None))
            .values({at_col: _now(at), by_col: by[:80]})
        ).rowcount
        kept = {s.step: s for s in case_steps(conn, case_id)}[step]
    return Stamp(case_id, step, kept.at, kept.by, new=bool(done))


def record_step(call: Call, case_id: int, step: str) -> Stamp:
    """Record that ``step`` of a case is done, now (the system clock; ``Call.at`` when the
    call is pinned, as the province loop's are). Needs the rights that change a case
    (``person.read``, ``fact.record``, ``person.write``); a case outside the jurisdiction
    answers as absent. Recording it again keeps the first stamp. One audit row."""

    def body(conn: Connection) -> tuple[Stamp, str]:
        call.require(*CHANGE_RIGHTS)
        check_step(step)
        _case_in_reach(conn, call.actor, case_id)
        stamp = stamp_step(conn, case_id, step, by=call.actor.name, at=call.now())
        return stamp, f"{step}: {'stamped' if stamp.new else 'already stamped'}"

    return call.audited("tracing.step", "case", str(case_id), body)


__all__ = [
    "NEEDS", "STEP", "STEPS", "Stamp", "StepInvalid", "StepOutOfOrder", "case_steps",
    "check_step", "record_step", "stamp_step",
]  # fmt: skip
