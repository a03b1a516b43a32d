"""Daily health checks of placed persons (``quarantine.place``): one from the pages, a
batch from a facility's tablet (all rows or none, a bad row named). Audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from fangkong.auth.guard import Call
from fangkong.auth.rights import QUARANTINE_PLACE
from fangkong.errors import BadInput, FieldProblem, InvalidFields, Problem
from fangkong.quarantine import checks as stored_checks
from fangkong.quarantine.access import MAX_BATCH
from fangkong.quarantine.access._reach import reachable, refuse_rows, row_problem
from fangkong.quarantine.placed import PlacementClosed, PlacementUnknown
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import CHECK_STATUSES


def record_check(
    call: Call, placement_id: int, rules: QuarantineRules, *, day: date, status: str = "done",
    temperature: float | None = None, symptoms: str = "",
) -> str:  # fmt: skip
    """A day's health check (quarantine.place); the status stored. Audited."""

    def body(conn: Connection) -> tuple[str, str]:
        call.require(QUARANTINE_PLACE)
        reachable(conn, call.actor, placement_id)
        stored = stored_checks.record_check(conn, placement_id, day, rules, by=call.actor.name,
                                       status=status, temperature=temperature,
                                       symptoms=symptoms, at=call.at)  # fmt: skip
        return stored, f"{day}: {stored}"

    return call.audited("quarantine.check", "placement", str(placement_id), body)


@dataclass(frozen=True)
class CheckRow:
    """A daily health check as a field device sends it."""

    placement_id: int
    day: date
    status: str = "done"
    temperature: float | None = None
    symptoms: str = ""


def record_checks(call: Call, rows: Sequence[CheckRow], rules: QuarantineRules) -> list[str]:
    """Health checks in a batch (a facility's tablet, quarantine.place): all or none; a
    bad row is named (``rows.<i>.<field>``). The statuses stored, in order. One audit row."""
    actor = call.actor

    def body(conn: Connection) -> tuple[list[str], str]:
        call.require(QUARANTINE_PLACE)
        if len(rows) > MAX_BATCH:
            raise BadInput(Problem("quarantine.too_many", f"一次最多 {MAX_BATCH} 条",
                                   f"at most {MAX_BATCH} rows at once"))  # fmt: skip
        problems: list[FieldProblem] = []
        stored: list[str] = []
        for i, row in enumerate(rows):
            try:
                reachable(conn, actor, row.placement_id)
                with conn.begin_nested():
                    stored.append(stored_checks.record_check(
                        conn, row.placement_id, row.day, rules, by=actor.name,
                        status=row.status, temperature=row.temperature,
                        symptoms=row.symptoms, at=call.at))  # fmt: skip
            except (PlacementUnknown, PlacementClosed) as exc:
                problems.append(row_problem(i, "placement_id", exc.problem))
            except InvalidFields as exc:
                problems += [row_problem(i, f.field, f.problem) for f in exc.fields]
            except BadInput as exc:
                field = "status" if exc.problem.code == "quarantine.check_invalid" and (
                    row.status not in CHECK_STATUSES) else "temperature"  # fmt: skip
                problems.append(row_problem(i, field, exc.problem))
        if problems:
            raise refuse_rows(problems)
        abnormal = sum(s != "done" for s in stored)
        return stored, f"{len(stored)} checks, {abnormal} abnormal or missed"

    return call.audited("quarantine.checks", None, None, body)
