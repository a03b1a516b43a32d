"""Cases (病例): register a case, read it back, refuse a repeated registration that differs.

``register_case`` stores the case with its infectious window from the pack (N days
before onset or sampling until isolation), turns a contact who is the same person into
``became_case`` (the link between chains) and records the health-code ``case`` fact in
the same transaction. Each use case writes in one transaction (SQLite: ``BEGIN
IMMEDIATE``); given a ``Connection`` it works inside the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, update

from fangkong import bounds
from fangkong.errors import BadInput, Conflict, FieldProblem, InvalidFields, NotFound, Problem
from fangkong.healthcode.writer import record_case
from fangkong.settings import default_tz
from fangkong.store.schema import persons
from fangkong.store.tx import write_transaction
from fangkong.tracing._common import Bind, _now
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.statuses import _change
from fangkong.tracing.tables import (
    tracing_cases,
    tracing_contacts,
)


class CaseUnknown(NotFound):
    """tracing.case_unknown: no traced case with this id."""


class PersonUnknown(NotFound):
    """tracing.person_unknown: no person with this id in the registry."""


@dataclass(frozen=True)
class CaseView:
    id: int
    person_id: int
    onset_date: date | None
    sample_date: date | None
    isolated_at: datetime | None
    infectious_from: datetime
    infectious_until: datetime | None
    traced_at: datetime | None
    # the steps of the investigation (``steps.STEPS``): when and by whom, None: not done
    verified_at: datetime | None = None
    verified_by: str | None = None
    on_site_at: datetime | None = None
    on_site_by: str | None = None
    core_facts_at: datetime | None = None
    core_facts_by: str | None = None
    report_at: datetime | None = None
    report_by: str | None = None


def register_case(
    bind: Bind,
    person_id: int,
    rules: ContactRules,
    *,
    onset: date | None = None,
    sampled: date | None = None,
    isolated_at: datetime | None = None,
    tz: ZoneInfo | None = None,
    by: str = "tracer",
    at: datetime | None = None,
) -> CaseView:
    """Register (or update) the case of a person (登记病例); the window comes from the pack.

    A person who is a contact becomes ``became_case`` — the link between chains. The
    health-code ``case`` fact (confirmed, from ``at``) is recorded in the same transaction,
    once per diagnosis (sampling, else onset, date). Registering the same facts again
    changes nothing.
    """
    at = _now(at)
    if onset is None and sampled is None:
        raise BadInput(Problem("tracing.case_undated", "病例须有发病日期或采样日期",
                               "a case needs an onset or a sampling date"))  # fmt: skip
    _check_case_dates(onset, sampled)
    start, until = rules.infectious_window(
        onset=onset, sampled=sampled, isolated_at=isolated_at, tz=tz or default_tz()
    )
    values = {
        "onset_date": onset, "sample_date": sampled, "isolated_at": isolated_at,
        "infectious_from": start, "infectious_until": until, "rules_source": rules.source[:120],
    }  # fmt: skip
    with write_transaction(bind) as conn:
        born = conn.execute(select(persons.c.birth_date).where(persons.c.id == person_id)).first()
        if born is None:
            raise PersonUnknown(Problem("tracing.person_unknown", f"无此人员（{person_id}）",
                                        f"no person {person_id}"))  # fmt: skip
        _check_after_birth(born.birth_date, onset, sampled)
        old = conn.execute(
            select(tracing_cases).where(tracing_cases.c.person_id == person_id)
        ).first()
        if old is None:
            conn.execute(
                tracing_cases.insert().values(
                    person_id=person_id, registered_at=at, registered_by=by[:80], **values
                )
            )
        elif any(getattr(old, k) != v for k, v in values.items()):
            conn.execute(update(tracing_cases).where(tracing_cases.c.id == old.id).values(**values))
        contact = conn.execute(
            select(tracing_contacts.c.id, tracing_contacts.c.status).where(
                tracing_contacts.c.person_id == person_id
            )
        ).first()
        if contact is not None and contact.status != "became_case":
            _change(conn, contact.id, contact.status, "became_case", by, "登记为病例 / case", at)
        diagnosis = sampled or onset
        assert diagnosis is not None  # noqa: S101 - refused above without both
        record_case(conn, person_id, diagnosed_at=at, diagnosis=diagnosis, by=by, now=at)
        return _case(conn, person_id=person_id)


_CASE_DATES_INVALID = Problem("tracing.case_dates_invalid", "病例的日期无效",
                              "the dates of the case are invalid")  # fmt: skip


def _check_case_dates(onset: date | None, sampled: date | None) -> None:
    """Onset and sampling dates are dates one can compute with (a date of year 1 or 9999
    is a typing error, and would break every window computed from it); the API bounds
    them to the event window before they get here."""
    found = [
        FieldProblem(name, problem)
        for name, value in (("onset_date", onset), ("sample_date", sampled))
        if value is not None and (problem := bounds.sane_date_problem(value, name)) is not None
    ]
    if found:
        raise InvalidFields(_CASE_DATES_INVALID, found)


def _check_after_birth(born: date | None, onset: date | None, sampled: date | None) -> None:
    """Nobody falls ill or is sampled before they were born."""
    if born is None:
        return
    found = [
        FieldProblem(name, Problem(
            "value.date_too_early", f"{name}：不能早于出生日期（{born}）",
            f"{name}: cannot be before the date of birth ({born})"))
        for name, value in (("onset_date", onset), ("sample_date", sampled))
        if value is not None and value < born
    ]  # fmt: skip
    if found:
        raise InvalidFields(_CASE_DATES_INVALID, found)


def stored_case(conn: Connection, person_id: int) -> CaseView | None:
    """The case registered for a person, if any."""
    found = conn.execute(
        select(tracing_cases.c.id).where(tracing_cases.c.person_id == person_id)
    ).first()
    return None if found is None else _case(conn, case_id=int(found.id))


def case_exists_problem(
    stored: CaseView, onset: date | None, sampled: date | None, isolated_at: datetime | None
) -> Conflict | None:
    """A case posted again for a person who has one (``stored``): a date it names that
    differs from a stored one is refused (``tracing.case_exists``, 409, with the stored
    values) — a stored case's dates are changed only by an explicit correction, never by
    a repeated registration. Dates the stored case lacks may be added (an isolation time
    learnt later, the onset of an infection registered by its sample); the same values
    again change nothing."""
    differs = [
        (name, old)
        for name, old, new in (
            ("onset_date", stored.onset_date, onset),
            ("sample_date", stored.sample_date, sampled),
            ("isolated_at", stored.isolated_at, isolated_at),
        )
        if old is not None and new is not None and old != new
    ]
    if not differs:
        return None
    kept = ", ".join(f"{n}={'-' if v is None else v.isoformat()}" for n, v in (
        ("onset_date", stored.onset_date), ("sample_date", stored.sample_date),
        ("isolated_at", stored.isolated_at)))  # fmt: skip
    names = ", ".join(n for n, _ in differs)
    return Conflict(Problem(
        "tracing.case_exists",
        f"该人员已登记为病例 {stored.id}（{kept}）；{names} 与登记不同，不予覆盖",
        f"the person is already case {stored.id} ({kept}); {names} differ and are not "
        "overwritten"))  # fmt: skip


def _case(
    conn: Connection, *, case_id: int | None = None, person_id: int | None = None
) -> CaseView:
    where = (
        tracing_cases.c.id == case_id if case_id is not None
        else tracing_cases.c.person_id == person_id
    )  # fmt: skip
    r = conn.execute(select(tracing_cases).where(where)).first()
    if r is None:
        raise CaseUnknown(Problem("tracing.case_unknown", f"无此病例（{case_id}）",
                                  f"no traced case {case_id}"))  # fmt: skip
    return CaseView(r.id, r.person_id, r.onset_date, r.sample_date, r.isolated_at,
                    r.infectious_from, r.infectious_until, r.traced_at,
                    r.verified_at, r.verified_by, r.on_site_at, r.on_site_by,
                    r.core_facts_at, r.core_facts_by, r.report_at, r.report_by)  # fmt: skip


def get_case(bind: Bind, case_id: int) -> CaseView:
    with write_transaction(bind) as conn:
        return _case(conn, case_id=case_id)


__all__ = [
    "CaseUnknown",
    "CaseView",
    "PersonUnknown",
    "get_case",
    "register_case",
]
