"""The trace of registered cases (流调) and the hand-off of its contacts to health codes.

The flow of one trace::

    trace_case(s) ─▶ co-presence engine over the check-ins (CheckinSource: lake or index)
                  ─▶ household / class / workplace (and vehicle) close contacts
                  ─▶ contacts of close contacts (household, workplace), if the pack traces them
                     (the finders are in ``exposures``)
                  ─▶ one tracing_contacts row per person (deduplicated across cases),
                     one tracing_exposures row per piece of evidence (keyed: idempotent)
    hand_off      ─▶ person_facts close_contact / contact_of_contact, exposed_at = the end
                     of the latest exposure of that kind (client event id from person and
                     time) ─▶ recompute_all: codes turn red/yellow as the pack says

The hand-off reads what is stored, not what the trace just found, and its facts are
idempotent by client event id: if the process dies between the trace's commit and the
hand-off, the next hand-off sends what was missed. Cases are registered in ``cases``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from fangkong.errors import Problem
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.feed import record_facts
from fangkong.healthcode.recompute import recompute_all
from fangkong.healthcode.writer import FactInput
from fangkong.store.tx import write_transaction
from fangkong.store.upsert import stored_keys, upsert
from fangkong.tracing._common import SEVERITY, Bind, _chunks, _epoch, _now, _time
from fangkong.tracing.cases import CaseUnknown
from fangkong.tracing.checkins import CheckinSource
from fangkong.tracing.exposures import (
    _CaseRow,
    _contacts_of_contacts,
    _Found,
    _group_exposures,
    _vehicle_exposures,
    _venue_exposures,
)
from fangkong.tracing.lake import CheckinLake
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.statuses import _REOPEN, _change
from fangkong.tracing.tables import (
    tracing_cases,
    tracing_contact_changes,
    tracing_contacts,
    tracing_exposures,
)

FACT_KIND = {"close": "close_contact", "contact_of_contact": "contact_of_contact"}


@dataclass(frozen=True)
class TraceOutcome:
    cases: int
    found: Mapping[str, int]  # distinct persons found, by kind (close / general / coc)
    new_contacts: Mapping[str, int]  # contact records created, by kind
    exposures_new: int
    exposures_updated: int
    facts_new: int = 0
    codes_changed: int = 0


def trace_case(
    engine: Bind, case_id: int, checkins_source: CheckinSource | CheckinLake,
    rules: ContactRules, *, codes: CodeContext | None = None, at: datetime | None = None,
    by: str = "tracer",
) -> TraceOutcome:  # fmt: skip
    """Trace one case (流调): see ``trace_cases``."""
    return trace_cases(engine, [case_id], checkins_source, rules, codes=codes, at=at, by=by)


def trace_cases(
    engine: Bind, case_ids: Sequence[int], checkins_source: CheckinSource | CheckinLake,
    rules: ContactRules, *, codes: CodeContext | None = None, at: datetime | None = None,
    by: str = "tracer",
) -> TraceOutcome:  # fmt: skip
    """Find and store the contacts of cases; with ``codes``, hand them to health codes.

    Venue co-presence over the check-ins (close: overlap ≥ the venue type's minimum;
    general: below it), the groups the pack names (household, class, workplace), fellow
    passengers when the source has a manifest, then contacts of close contacts when the
    pack traces them. Stored idempotently: a re-trace of the same data changes nothing.
    An open window (not isolated yet) is cut at ``at``.
    """
    at = _now(at)
    source = (
        CheckinSource.from_lake(checkins_source, rules)
        if isinstance(checkins_source, CheckinLake) else checkins_source
    )  # fmt: skip
    with write_transaction(engine) as conn:
        cases = _load_cases(conn, case_ids, at)
        found = _Found()
        _venue_exposures(cases, source, rules, found)
        _group_exposures(conn, cases, rules, found)
        _vehicle_exposures(cases, source, rules, found)
        new_contacts, counts = _store(conn, found, at, by)
        if rules.trace_contacts_of_contacts:
            coc = _contacts_of_contacts(conn, cases, rules, at)
            more, coc_counts = _store(conn, coc, at, by)
            new_contacts.update(more)
            counts = (counts[0] + coc_counts[0], counts[1] + coc_counts[1])
            found.kind.extend(coc.kind)
            found.person.extend(coc.person)
        conn.execute(
            update(tracing_cases)
            .where(tracing_cases.c.id.in_([c.id for c in cases]))
            .values(traced_at=at)
        )
    by_kind: dict[str, set[int]] = {k: set() for k in SEVERITY}
    for k, p in zip(found.kind, found.person, strict=True):
        by_kind[k].add(p)
    facts = changed = 0
    if codes is not None and isinstance(engine, Engine):
        facts, changed = hand_off(engine, codes, at=at, by=by)
    return TraceOutcome(
        cases=len(cases), found={k: len(v) for k, v in by_kind.items()},
        new_contacts={k: sum(1 for v in new_contacts.values() if v == k) for k in SEVERITY},
        exposures_new=counts[0], exposures_updated=counts[1], facts_new=facts,
        codes_changed=changed,
    )  # fmt: skip


def _load_cases(conn: Connection, case_ids: Sequence[int], at: datetime) -> list[_CaseRow]:
    ids = sorted(set(case_ids))
    rows: list[Any] = []
    for chunk in _chunks(ids):
        rows.extend(conn.execute(select(tracing_cases).where(tracing_cases.c.id.in_(chunk))).all())
    missing = set(ids) - {r.id for r in rows}
    if missing:
        first = min(missing)
        raise CaseUnknown(Problem("tracing.case_unknown", f"无此病例（{first}）",
                                  f"no traced case {first}"))  # fmt: skip
    now = _epoch(at)
    return [
        _CaseRow(
            r.id,
            r.person_id,
            _epoch(r.infectious_from),
            min(_epoch(r.infectious_until), now) if r.infectious_until else now,
        )
        for r in sorted(rows, key=lambda r: r.id)
    ]


def _exposure_key(case_id: int, contact_id: int, kind: str, setting: str, place: str | None,
                  case_event: str | None, contact_event: str | None,
                  source_id: int | None) -> str:  # fmt: skip
    text = "|".join(str(v) for v in (case_id, contact_id, kind, setting, place, case_event,
                                     contact_event, source_id))  # fmt: skip
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def _store(
    conn: Connection, found: _Found, at: datetime, by: str
) -> tuple[dict[int, str], tuple[int, int]]:
    """Upsert contacts and exposures; returns (new contact id → kind, (new, updated))."""
    if not len(found):
        return {}, (0, 0)
    case_person = {
        int(i): int(p)
        for i, p in conn.execute(select(tracing_cases.c.id, tracing_cases.c.person_id)).all()
    }
    # the case's own person is never its own contact (groups include the case's household)
    keep = [i for i in range(len(found)) if found.person[i] != case_person[found.case_id[i]]]
    contact_of, new_ids = _ensure_contacts(conn, found, keep, set(case_person.values()), at, by)
    rows: list[dict[str, Any]] = []
    for i in keep:
        cid = contact_of[found.person[i]]
        src = found.source[i]
        sid = contact_of.get(src) if src is not None else None
        rows.append({
            "key": _exposure_key(found.case_id[i], cid, found.kind[i], found.setting[i],
                                 found.place[i], found.case_event[i], found.contact_event[i],
                                 sid),
            "case_id": found.case_id[i], "contact_id": cid, "source_contact_id": sid,
            "kind": found.kind[i], "setting": found.setting[i],
            "place_code": (found.place[i] or None) and str(found.place[i])[:64],
            "overlap_start": _time(found.start[i]), "overlap_end": _time(found.end[i]),
            "overlap_seconds": found.end[i] - found.start[i],
            "case_event_id": found.case_event[i], "contact_event_id": found.contact_event[i],
            "found_at": at,
        })  # fmt: skip
    unique = list({r["key"]: r for r in rows}.values())
    before = stored_keys(conn, tracing_exposures, "key", [r["key"] for r in unique])
    count = upsert(conn, tracing_exposures, unique, key="key",
                   compare=["overlap_start", "overlap_end", "overlap_seconds"])  # fmt: skip
    touched = {int(r["contact_id"]) for r in unique}
    exposed_again = {int(r["contact_id"]) for r in unique if r["key"] not in before}
    _refresh_contacts(conn, sorted(touched), exposed_again, at, by)
    return new_ids, (count.inserted, count.updated)


def _ensure_contacts(
    conn: Connection, found: _Found, keep: Sequence[int], case_persons: set[int],
    at: datetime, by: str,
) -> tuple[dict[int, int], dict[int, str]]:  # fmt: skip
    """(person → contact id for every person found, new contact id → kind)."""
    people = sorted({found.person[i] for i in keep})
    known: dict[int, int] = {}
    for chunk in _chunks(people):
        q = select(tracing_contacts.c.person_id, tracing_contacts.c.id).where(
            tracing_contacts.c.person_id.in_(chunk)
        )
        known.update((int(p), int(c)) for p, c in conn.execute(q).all())
    first: dict[int, tuple[str, int, int]] = {}  # person → (kind, first start, last end)
    for i in keep:
        p = found.person[i]
        if p in known:
            continue
        kind, a, b = first.get(p, (found.kind[i], found.start[i], found.end[i]))
        if SEVERITY[found.kind[i]] > SEVERITY[kind]:
            kind = found.kind[i]
        first[p] = (kind, min(a, found.start[i]), max(b, found.end[i]))
    new: dict[int, str] = {}
    if not first:
        return known, new
    status = {p: "became_case" if p in case_persons else "identified" for p in first}
    # one executemany; the ids are read back by person (unique)
    conn.execute(tracing_contacts.insert(), [
        {"person_id": p, "kind": kind, "status": status[p], "first_exposure_at": _time(a),
         "last_exposure_at": _time(b), "identified_at": at, "status_at": at,
         "status_by": by[:80]}
        for p, (kind, a, b) in sorted(first.items())
    ])  # fmt: skip
    for chunk in _chunks(sorted(first)):
        q = select(tracing_contacts.c.person_id, tracing_contacts.c.id).where(
            tracing_contacts.c.person_id.in_(chunk)
        )
        for p, cid in conn.execute(q).all():
            known[int(p)] = int(cid)
            new[int(cid)] = first[int(p)][0]
    conn.execute(tracing_contact_changes.insert(), [
        {"contact_id": known[p], "at": at, "from_status": None, "to_status": status[p],
         "changed_by": by[:80], "reason": "流调判定 / found by tracing"}
        for p in sorted(first)
    ])  # fmt: skip
    return known, new


_REFRESH = (
    update(tracing_contacts)
    .where(tracing_contacts.c.id == bindparam("b_id"))
    .values(
        kind=bindparam("b_kind"),
        first_exposure_at=bindparam("b_first"),
        last_exposure_at=bindparam("b_last"),
    )
)


def _refresh_contacts(
    conn: Connection, contact_ids: Sequence[int], exposed_again: set[int], at: datetime, by: str
) -> None:
    """Kind (most severe exposure), first exposure and last exposure of the driving kind;
    a released or lost contact with a new exposure is identified again."""
    e = tracing_exposures.c
    for chunk in _chunks(list(contact_ids)):
        agg = conn.execute(
            select(e.contact_id, e.kind, func.min(e.overlap_start), func.max(e.overlap_end))
            .where(e.contact_id.in_(chunk)).group_by(e.contact_id, e.kind)
        ).all()  # fmt: skip
        best: dict[int, tuple[str, datetime, datetime]] = {}
        for cid, kind, a, b in agg:
            if cid not in best:
                best[cid] = (kind, a, b)
                continue
            k0, a0, b0 = best[cid]
            if SEVERITY[kind] > SEVERITY[k0]:
                best[cid] = (kind, min(a0, a), b)
            else:
                best[cid] = (k0, min(a0, a), b0)
        stored = conn.execute(select(tracing_contacts).where(tracing_contacts.c.id.in_(chunk)))
        moved: list[dict[str, Any]] = []
        for r in stored.all():
            kind, a, b = best[r.id]
            if (r.kind, r.first_exposure_at, r.last_exposure_at) != (kind, a, b):
                moved.append({"b_id": r.id, "b_kind": kind, "b_first": a, "b_last": b})
            if r.status in _REOPEN and r.id in exposed_again:
                _change(conn, r.id, r.status, "identified", by, "再次暴露 / exposed again", at)
        if moved:  # one executemany for the chunk
            conn.execute(_REFRESH, moved)


def exposure_facts(bind: Bind) -> list[tuple[int, FactInput]]:
    """One exposure fact per (contact, kind): close_contact / contact_of_contact at the end
    of the latest exposure of that kind; contacts who became cases are left out."""
    e, c = tracing_exposures.c, tracing_contacts.c
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(c.person_id, e.kind, func.max(e.overlap_end))
            .join(tracing_contacts, c.id == e.contact_id)
            .where(e.kind.in_(list(FACT_KIND)), c.status != "became_case")
            .group_by(c.person_id, e.kind)
            .order_by(c.person_id, e.kind)
        ).all()  # fmt: skip
    facts = []
    for person, kind, last in rows:
        fact = FACT_KIND[kind]
        event = f"trace-{fact}-{person}-{_epoch(last)}"
        facts.append((int(person), FactInput(fact, last, None, {}, event)))
    return facts


def hand_off(
    engine: Engine, codes: CodeContext, *, at: datetime | None = None, by: str = "tracing"
) -> tuple[int, int]:
    """Record every contact's exposure facts (new ones only) and recompute the codes;
    returns (facts recorded, codes changed)."""
    at = _now(at)
    new = record_facts(engine, exposure_facts(engine), recorded_by=by[:80], now=at)
    result = recompute_all(engine, codes, at, trigger="tracing")
    return new, result.changed


__all__ = [
    "TraceOutcome",
    "exposure_facts",
    "hand_off",
    "trace_case",
    "trace_cases",
]
