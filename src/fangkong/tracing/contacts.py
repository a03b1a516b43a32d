"""Contact management (密接管理): cases, contacts with a status, exposures, hand-off to codes.

The use cases the CLI (and later the pages and API) call. Each writes in one
transaction (SQLite: ``BEGIN IMMEDIATE``); given a ``Connection`` it works inside the
caller's. The flow of one trace::

    register_case ─▶ tracing_cases (window from the pack: N days before onset/sampling
                     until isolation)
    trace_case(s) ─▶ co-presence engine over the check-ins (CheckinSource: lake or index)
                  ─▶ household / class / workplace (and vehicle) close contacts
                  ─▶ contacts of close contacts (household, workplace), if the pack traces them
                  ─▶ one tracing_contacts row per person (deduplicated across cases),
                     one tracing_exposures row per piece of evidence (keyed: idempotent)
    hand_off      ─▶ person_facts close_contact / contact_of_contact, exposed_at = the end
                     of the latest exposure of that kind (client event id from person and
                     time) ─▶ recompute_all: codes turn red/yellow as the pack says

The hand-off reads what is stored, not what the trace just found, and its facts are
idempotent by client event id: if the process dies between the trace's commit and the
hand-off, the next hand-off sends what was missed.

Statuses (状态): identified (已判定) → notified (已告知) → quarantined (隔离中) or
monitoring (健康监测中) → released (已解除); any open status → became_case (转为病例)
or lost (失访). A released or lost contact exposed again is identified again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as _pc
from sqlalchemy import Connection, Engine, bindparam, func, select, update

from fangkong import bounds, clock
from fangkong.errors import BadInput, Conflict, FieldProblem, InvalidFields, NotFound, Problem
from fangkong.healthcode.feed import record_facts
from fangkong.healthcode.service import CodeContext, FactInput, recompute_all
from fangkong.healthcode.writer import record_case
from fangkong.settings import default_tz
from fangkong.store.schema import persons, venues
from fangkong.store.tx import write_transaction
from fangkong.store.upsert import stored_keys, upsert
from fangkong.tracing.copresence import I64, Cases, CheckinIndex, CoPresence, Ints, Pairs, Stays
from fangkong.tracing.copresence import resolve_time_out as _resolve
from fangkong.tracing.graph import clusters as _clusters
from fangkong.tracing.graph import transmission_chains
from fangkong.tracing.groups import (
    Manifest,
    contacts_of_contacts,
    household_and_group_contacts,
    registry_groups,
    unit_place,
    vehicle_contacts,
)
from fangkong.tracing.lake import CheckinLake
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import (
    STATUSES,
    tracing_cases,
    tracing_contact_changes,
    tracing_contacts,
    tracing_exposures,
)
from fangkong.tracing.zones import zone_codes

Bind = Engine | Connection
pc: Any = _pc  # the pyarrow-stubs overloads reject valid calls on mixed arrays

SEVERITY = {"close": 2, "contact_of_contact": 1, "general": 0}
FACT_KIND = {"close": "close_contact", "contact_of_contact": "contact_of_contact"}
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "identified": frozenset({"notified", "quarantined", "monitoring", "became_case", "lost"}),
    "notified": frozenset({"quarantined", "monitoring", "became_case", "lost"}),
    "quarantined": frozenset({"monitoring", "released", "became_case", "lost"}),
    "monitoring": frozenset({"quarantined", "released", "became_case", "lost"}),
    "released": frozenset({"became_case"}),
    "lost": frozenset({"notified", "quarantined", "monitoring", "became_case"}),
    "became_case": frozenset(),
}
_REOPEN = ("released", "lost")  # a new exposure puts them back under management
_CHUNK = 5_000


# ---- errors ---------------------------------------------------------------------------------


class CaseUnknown(NotFound):
    """tracing.case_unknown: no traced case with this id."""


class ContactUnknown(NotFound):
    """tracing.contact_unknown: no contact with this id."""


class PersonUnknown(NotFound):
    """tracing.person_unknown: no person with this id in the registry."""


class StatusInvalid(BadInput):
    """tracing.status_invalid (not a status) / tracing.reason_missing (no reason given)."""


class TransitionRefused(Conflict):
    """tracing.transition_refused: the contact's status cannot move there from where it is."""


# ---- check-ins the engine reads -------------------------------------------------------------


@dataclass(frozen=True)
class CheckinSource:
    """Check-ins indexed for the co-presence engine, with their dictionaries back.

    ``person_ids[code]`` is the database person id of person code ``code``;
    ``venue_codes[v]`` the place code of venue index ``v``; ``event_ids[row]`` the
    event id of stay ``row`` (evidence). ``manifest`` (optional) holds transport
    passengers with ``person`` as database person ids. ``min_overlap_by_venue`` is the
    close-contact overlap of the venue's type (never where it is ``close_by_unit``).
    ``zone[row]`` is the zone code of stay ``row`` (−1: none; ``None``: no stay has one)
    and ``zone_by_venue[v]`` whether venue ``v``'s type makes close contacts by zone.
    """

    index: CheckinIndex
    person_ids: I64
    venue_codes: Sequence[str]
    min_overlap_by_venue: I64
    event_ids: Any
    manifest: Manifest | None = None
    code_of: Mapping[int, int] = field(default_factory=dict)
    zone: I64 | None = None
    zone_by_venue: Any = None

    @classmethod
    def build(
        cls,
        *,
        person_ids: Ints,
        venue: Ints,
        venue_codes: Sequence[str],
        venue_types: Sequence[str],
        time_in: I64,
        time_out: I64,
        missing_out: Any,
        rules: ContactRules,
        event_ids: Any,
        manifest: Manifest | None = None,
        zone: Ints | None = None,
    ) -> CheckinSource:
        """From parallel arrays: per stay the database person id, the venue index, epoch
        seconds in and out (``missing_out``: no time out, the venue type's dwell applies)
        and optionally its zone code (``zone_codes``; −1: none); per venue index its place
        code and type."""
        uniq, code = np.unique(np.asarray(person_ids, np.int64), return_inverse=True)
        dwell = np.array([rules.venue(t).default_dwell_seconds for t in venue_types], np.int64)
        minimum = np.array([rules.venue(t).close_overlap_seconds for t in venue_types], np.int64)
        venue = np.asarray(venue, np.int64)
        t_in = np.asarray(time_in, np.int64)
        t_out = _resolve(
            t_in,
            np.asarray(time_out, np.int64),
            np.asarray(missing_out, bool),
            dwell[venue] if len(venue) else np.zeros(0, np.int64),
        )
        stays = Stays(person=code.astype(np.int64), venue=venue, time_in=t_in, time_out=t_out)
        index = CheckinIndex.build(stays, n_persons=len(uniq), n_venues=len(venue_codes))
        return cls(
            index=index, person_ids=uniq.astype(np.int64), venue_codes=list(venue_codes),
            min_overlap_by_venue=minimum, event_ids=event_ids, manifest=manifest,
            code_of={int(p): i for i, p in enumerate(uniq.tolist())},
            zone=None if zone is None else np.asarray(zone, np.int64),
            zone_by_venue=np.array([rules.venue(t).close_by_zone for t in venue_types], bool),
        )  # fmt: skip

    @classmethod
    def from_table(cls, table: pa.Table, rules: ContactRules) -> CheckinSource:
        """From check-ins in the lake's columns (docs/formats.md; ``zone`` optional);
        ``person_id`` holds the database person id (as scans land it); rows of other ids
        are left out."""
        ok = pc.fill_null(pc.utf8_is_digit(table.column("person_id")), False)
        table = table.filter(ok)
        pid = pc.cast(table.column("person_id"), pa.int64())
        venue = pc.dictionary_encode(table.column("venue_id")).combine_chunks()
        codes = venue.dictionary.to_pylist()
        vindex = np.asarray(venue.indices.to_numpy(zero_copy_only=False), np.int64)
        types = [""] * len(codes)
        for v, t in zip(vindex.tolist(), table.column("venue_type").to_pylist(), strict=True):
            types[v] = str(t)
        t_out = table.column("time_out")
        return cls.build(
            person_ids=np.asarray(pid.to_numpy(zero_copy_only=False), np.int64),
            venue=vindex, venue_codes=codes, venue_types=types,
            time_in=_seconds(table.column("time_in")),
            time_out=_seconds(pc.fill_null(pc.cast(t_out, pa.int64()), 0)),
            missing_out=np.asarray(pc.is_null(t_out).to_numpy(zero_copy_only=False), bool),
            rules=rules,
            event_ids=np.asarray(table.column("event_id").to_numpy(zero_copy_only=False)),
            zone=zone_codes(table.column("zone")) if "zone" in table.column_names else None,
        )  # fmt: skip

    @classmethod
    def from_lake(cls, lake: CheckinLake, rules: ContactRules) -> CheckinSource:
        return cls.from_table(lake.read(), rules)

    def codes(self, person_ids: Sequence[int]) -> I64:
        """Person codes of database ids (−1: no check-in)."""
        return np.array([self.code_of.get(int(p), -1) for p in person_ids], np.int64)

    def event(self, row: int) -> str:
        return str(self.event_ids[row])

    def query(self, cases: Cases) -> CoPresence:
        """Close and general contacts of ``cases`` (person codes), by zone where the
        venue's type says so."""
        return self.index.query(cases, self.min_overlap_by_venue, zone=self.zone,
                                zone_by_venue=self.zone_by_venue)  # fmt: skip


def _seconds(column: Any) -> I64:
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), np.int64)


# ---- helpers --------------------------------------------------------------------------------


def _now(at: datetime | None) -> datetime:
    if at is not None and at.tzinfo is None:
        raise ValueError("naive datetime: pass an aware time")
    return (at or clock.now()).astimezone(UTC)


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


# ---- cases ----------------------------------------------------------------------------------


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
                    r.infectious_from, r.infectious_until, r.traced_at)  # fmt: skip


def get_case(bind: Bind, case_id: int) -> CaseView:
    with write_transaction(bind) as conn:
        return _case(conn, case_id=case_id)


# ---- statuses -------------------------------------------------------------------------------


def _change(
    conn: Connection, contact_id: int, old: str | None, new: str, by: str, reason: str,
    at: datetime,
) -> None:  # fmt: skip
    conn.execute(
        update(tracing_contacts).where(tracing_contacts.c.id == contact_id)
        .values(status=new, status_at=at, status_by=by[:80])
    )  # fmt: skip
    conn.execute(
        tracing_contact_changes.insert().values(
            contact_id=contact_id, at=at, from_status=old, to_status=new, changed_by=by[:80],
            reason=reason,
        )
    )  # fmt: skip


def set_contact_status(
    bind: Bind, contact_id: int, status: str, *, by: str, reason: str,
    at: datetime | None = None,
) -> str:  # fmt: skip
    """Move a contact to ``status`` (kept with who, when and why); returns the old status."""
    at = _now(at)
    if status not in STATUSES:
        raise StatusInvalid(Problem(
            "tracing.status_invalid", f"无效的状态 {status!r}（可选：{'、'.join(STATUSES)}）",
            f"not a status: {status!r} (one of: {', '.join(STATUSES)})",
        ))  # fmt: skip
    if not reason.strip():
        raise StatusInvalid(Problem("tracing.reason_missing", "须说明理由",
                                    "give a reason for the change"))  # fmt: skip
    with write_transaction(bind) as conn:
        row = conn.execute(
            select(tracing_contacts.c.status).where(tracing_contacts.c.id == contact_id)
        ).first()
        if row is None:
            raise ContactUnknown(Problem("tracing.contact_unknown", f"无此接触者（{contact_id}）",
                                         f"no contact {contact_id}"))  # fmt: skip
        if status not in TRANSITIONS[row.status]:
            allowed = sorted(TRANSITIONS[row.status]) or ["—"]
            raise TransitionRefused(Problem(
                "tracing.transition_refused",
                f"接触者 {contact_id} 的状态不能从 {row.status} 变为 {status}"
                f"（可变为：{'、'.join(allowed)}）",
                f"contact {contact_id} cannot go from {row.status} to {status} "
                f"(allowed: {', '.join(allowed)})",
            ))  # fmt: skip
        _change(conn, contact_id, row.status, status, by, reason.strip(), at)
        return str(row.status)


def set_contact_statuses(
    bind: Bind, person_ids: Sequence[int], status: str, *, by: str, reason: str,
    at: datetime | None = None,
) -> int:  # fmt: skip
    """``set_contact_status`` for many (by person id): each contact whose status may move
    to ``status`` moves (kept with who, when and why); the others, and persons who are
    no contact, are left as they are. Returns how many moved."""
    at = _now(at)
    if status not in STATUSES or not reason.strip():
        raise StatusInvalid(Problem("tracing.status_invalid", f"无效的状态 {status!r} 或缺少理由",
                                    f"not a status ({status!r}) or no reason"))  # fmt: skip
    c = tracing_contacts.c
    with write_transaction(bind) as conn:
        moving: list[tuple[int, str]] = []
        for chunk in _chunks(sorted(set(person_ids))):
            for cid, old in conn.execute(select(c.id, c.status).where(c.person_id.in_(chunk))):
                if status in TRANSITIONS[old]:
                    moving.append((int(cid), str(old)))
        for chunk in _chunks(moving):
            conn.execute(
                update(tracing_contacts).where(c.id.in_([cid for cid, _ in chunk]))
                .values(status=status, status_at=at, status_by=by[:80])
            )  # fmt: skip
            conn.execute(tracing_contact_changes.insert(), [
                {"contact_id": cid, "at": at, "from_status": old, "to_status": status,
                 "changed_by": by[:80], "reason": reason.strip()}
                for cid, old in chunk
            ])  # fmt: skip
    return len(moving)


@dataclass(frozen=True)
class StatusChange:
    at: datetime
    from_status: str | None
    to_status: str
    by: str
    reason: str


def status_history(bind: Bind, contact_id: int) -> list[StatusChange]:
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(tracing_contact_changes)
            .where(tracing_contact_changes.c.contact_id == contact_id)
            .order_by(tracing_contact_changes.c.id)
        ).all()
    return [StatusChange(r.at, r.from_status, r.to_status, r.changed_by, r.reason) for r in rows]


# ---- tracing --------------------------------------------------------------------------------


@dataclass
class _Found:
    """Exposures found by one trace, as parallel lists (person ids, epoch seconds)."""

    case_id: list[int] = field(default_factory=list)
    person: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    setting: list[str] = field(default_factory=list)
    place: list[str | None] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    case_event: list[str | None] = field(default_factory=list)
    contact_event: list[str | None] = field(default_factory=list)
    source: list[int | None] = field(default_factory=list)  # source contact's person

    def add(self, case_id: int, person: int, kind: str, setting: str, place: str | None,
            start: int, end: int, case_event: str | None = None,
            contact_event: str | None = None, source: int | None = None) -> None:  # fmt: skip
        self.case_id.append(case_id)
        self.person.append(person)
        self.kind.append(kind)
        self.setting.append(setting)
        self.place.append(place)
        self.start.append(start)
        self.end.append(end)
        self.case_event.append(case_event)
        self.contact_event.append(contact_event)
        self.source.append(source)

    def __len__(self) -> int:
        return len(self.case_id)


@dataclass(frozen=True)
class TraceOutcome:
    cases: int
    found: Mapping[str, int]  # distinct persons found, by kind (close / general / coc)
    new_contacts: Mapping[str, int]  # contact records created, by kind
    exposures_new: int
    exposures_updated: int
    facts_new: int = 0
    codes_changed: int = 0


@dataclass(frozen=True)
class _CaseRow:
    id: int
    person: int
    start: int
    end: int


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


def _venue_exposures(
    cases: list[_CaseRow], source: CheckinSource, rules: ContactRules, found: _Found
) -> None:
    query = Cases(
        person=source.codes([c.person for c in cases]),
        start=np.array([c.start for c in cases], np.int64),
        end=np.array([c.end for c in cases], np.int64),
    )
    result = source.query(query)
    for kind, pairs in (("close", result.close), ("general", result.general)):
        _add_pairs(cases, source, pairs, kind, found)


def _add_pairs(
    cases: list[_CaseRow], source: CheckinSource, pairs: Pairs, kind: str, found: _Found
) -> None:
    for case, contact, venue, cs, ks, start, end in pairs.rows():
        found.add(
            cases[case].id, int(source.person_ids[contact]), kind, "venue",
            source.venue_codes[venue], start, end, source.event(cs), source.event(ks),
        )  # fmt: skip


_Places = dict[int, tuple[str | None, str | None, str | None]]  # id → household, venue, unit


def _group_tables(
    conn: Connection, person_ids: Sequence[int]
) -> tuple[I64, dict[str, I64], _Places]:
    """(database id of each compact code, group arrays over the codes, each one's
    household, venue and unit) for the persons and every member of their households,
    schools and workplaces."""
    cols = (persons.c.id, persons.c.household_code, persons.c.venue_code, persons.c.unit_code)
    rows: _Places = {}
    for chunk in _chunks(list(person_ids)):
        for r in conn.execute(select(*cols).where(persons.c.id.in_(chunk))):
            rows[r.id] = (r.household_code, r.venue_code, r.unit_code)
    homes = sorted({h for h, _, _ in rows.values() if h})
    places = sorted({v for _, v, _ in rows.values() if v})
    for chunk in _chunks(homes):
        for r in conn.execute(select(*cols).where(persons.c.household_code.in_(chunk))):
            rows[r.id] = (r.household_code, r.venue_code, r.unit_code)
    for chunk in _chunks(places):
        for r in conn.execute(select(*cols).where(persons.c.venue_code.in_(chunk))):
            rows[r.id] = (r.household_code, r.venue_code, r.unit_code)
    types: dict[str, str] = {}
    for chunk in _chunks(places):
        types.update(
            conn.execute(select(venues.c.code, venues.c.type).where(venues.c.code.in_(chunk))).all()
        )  # fmt: skip
    ids = np.array(sorted(rows), np.int64)
    table = pa.table({
        "household_code": pa.array([rows[i][0] or None for i in ids.tolist()], pa.string()),
        "venue_code": pa.array([rows[i][1] or None for i in ids.tolist()], pa.string()),
        "unit_code": pa.array([rows[i][2] or "" for i in ids.tolist()], pa.string()),
    })  # fmt: skip
    venue_table = pa.table({"code": pa.array(list(types), pa.string()),
                            "type": pa.array(list(types.values()), pa.string())})  # fmt: skip
    return ids, registry_groups(table, venue_table), rows


def _place_names(places: _Places, ids: I64, relation: str, member: int) -> str | None:
    """The household code, or the class/team as ``venue#unit`` (the venue without one)."""
    household, venue, unit = places[int(ids[member])]
    if relation == "household":
        return household or None
    return unit_place(venue, unit)


def _group_exposures(
    conn: Connection, cases: list[_CaseRow], rules: ContactRules, found: _Found
) -> None:
    if not cases or not rules.close_contact_groups:
        return
    ids, groups, homes = _group_tables(conn, [c.person for c in cases])
    where = {int(p): i for i, p in enumerate(ids.tolist())}
    codes = np.array([where.get(c.person, -1) for c in cases], np.int64)
    start = np.array([c.start for c in cases], np.int64)
    end = np.array([c.end for c in cases], np.int64)
    got = household_and_group_contacts(codes, start, end, groups, rules)
    places: dict[tuple[str, int], str | None] = {}
    for row, contact, relation, a, b in got.rows():
        if b <= a:
            continue
        key = (relation, row)
        if key not in places:
            places[key] = _place_names(homes, ids, relation, int(codes[row]))
        found.add(cases[row].id, int(ids[contact]), "close", relation, places[key], a, b)


def _vehicle_exposures(
    cases: list[_CaseRow], source: CheckinSource, rules: ContactRules, found: _Found
) -> None:
    m = source.manifest
    if m is None or not cases:
        return
    person = np.array([c.person for c in cases], np.int64)
    start = np.array([c.start for c in cases], np.int64)
    end = np.array([c.end for c in cases], np.int64)
    rows, contacts, trips = vehicle_contacts(m, person, start, end, rules)
    departure = {int(t): int(s) for t, s in zip(np.asarray(m.trip).tolist(), m.time.tolist(),
                                                 strict=True)}  # fmt: skip
    for row, contact, trip in zip(rows.tolist(), contacts.tolist(), trips.tolist(), strict=True):
        when = departure[int(trip)]
        found.add(cases[row].id, int(contact), "close", "vehicle", f"trip-{trip}", when, when)


def _contacts_of_contacts(
    conn: Connection, cases: list[_CaseRow], rules: ContactRules, at: datetime
) -> _Found:
    """Household/workplace of the close contacts of ``cases``, from each close contact's
    first exposure to their isolation (entering quarantine; not yet: ``at``)."""
    found = _Found()
    rows = conn.execute(
        select(
            tracing_exposures.c.case_id, tracing_contacts.c.id, tracing_contacts.c.person_id,
            tracing_contacts.c.status, tracing_exposures.c.overlap_start,
        )
        .join(tracing_contacts, tracing_contacts.c.id == tracing_exposures.c.contact_id)
        .where(tracing_exposures.c.case_id.in_([c.id for c in cases]),
               tracing_exposures.c.kind == "close",
               tracing_contacts.c.status != "became_case")
    ).all()  # fmt: skip
    first: dict[int, tuple[int, int, int]] = {}  # person → (first exposure, case, contact)
    for r in rows:
        t = _epoch(r.overlap_start)
        if r.person_id not in first or t < first[r.person_id][0]:
            first[r.person_id] = (t, r.case_id, r.id)
    if not first:
        return found
    isolated = _isolation_times(conn, [v[2] for v in first.values()])
    people = sorted(first)
    ids, groups, homes = _group_tables(conn, people)
    where = {int(p): i for i, p in enumerate(ids.tolist())}
    managed = _managed_persons(conn)
    exclude = np.array([where[p] for p in managed if p in where], np.int64)
    now = _epoch(at)
    got = contacts_of_contacts(
        np.array([where[p] for p in people], np.int64),
        np.array([first[p][0] for p in people], np.int64),
        np.array([isolated.get(first[p][2], now) for p in people], np.int64),
        groups, rules, exclude,
    )  # fmt: skip
    for row, contact, relation, a, b in got.rows():
        p = people[row]
        place = _place_names(homes, ids, relation, where[p])
        found.add(first[p][1], int(ids[contact]), "contact_of_contact", relation, place, a, b,
                  source=p)  # fmt: skip
    return found


def _isolation_times(conn: Connection, contact_ids: Sequence[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for chunk in _chunks(list(contact_ids)):
        q = (
            select(tracing_contact_changes.c.contact_id, func.min(tracing_contact_changes.c.at))
            .where(tracing_contact_changes.c.contact_id.in_(chunk),
                   tracing_contact_changes.c.to_status == "quarantined")
            .group_by(tracing_contact_changes.c.contact_id)
        )  # fmt: skip
        out.update((int(c), _epoch(t)) for c, t in conn.execute(q).all())
    return out


def _managed_persons(conn: Connection) -> list[int]:
    """Cases and close contacts: never a contact of a close contact."""
    cases = conn.execute(select(tracing_cases.c.person_id)).scalars().all()
    close = conn.execute(
        select(tracing_contacts.c.person_id).where(tracing_contacts.c.kind == "close")
    ).scalars().all()  # fmt: skip
    return [int(p) for p in (*cases, *close)]


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


# ---- hand-off to health codes ---------------------------------------------------------------


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


# ---- reading: contacts of a case, chains, clusters ------------------------------------------


@dataclass(frozen=True)
class ExposureView:
    case_id: int
    kind: str
    setting: str
    place_code: str | None
    overlap_start: datetime
    overlap_end: datetime
    overlap_seconds: int
    source_contact_id: int | None


@dataclass(frozen=True)
class ContactView:
    id: int
    person_id: int
    kind: str
    status: str
    first_exposure_at: datetime
    last_exposure_at: datetime
    exposures: tuple[ExposureView, ...]  # those of the case asked about


def contacts_of_case(bind: Bind, case_id: int, *, kind: str | None = None) -> list[ContactView]:
    """A case's contacts with the evidence that links them to it (close first)."""
    e, c = tracing_exposures.c, tracing_contacts.c
    with write_transaction(bind) as conn:
        _case(conn, case_id=case_id)
        q = (
            select(tracing_exposures, c.person_id, c.kind.label("contact_kind"), c.status,
                   c.first_exposure_at, c.last_exposure_at)
            .join(tracing_contacts, c.id == e.contact_id)
            .where(e.case_id == case_id)
            .order_by(e.contact_id, e.overlap_start, e.id)
        )  # fmt: skip
        if kind is not None:
            q = q.where(c.kind == kind)
        rows = conn.execute(q).all()
    grouped: dict[int, list[Any]] = {}
    for r in rows:
        grouped.setdefault(r.contact_id, []).append(r)
    out = [
        ContactView(
            cid, rs[0].person_id, rs[0].contact_kind, rs[0].status, rs[0].first_exposure_at,
            rs[0].last_exposure_at,
            tuple(ExposureView(r.case_id, r.kind, r.setting, r.place_code, r.overlap_start,
                               r.overlap_end, r.overlap_seconds, r.source_contact_id)
                  for r in rs),
        )
        for cid, rs in grouped.items()
    ]  # fmt: skip
    return sorted(out, key=lambda v: (-SEVERITY[v.kind], v.id))


@dataclass(frozen=True)
class Chain:
    number: int
    cases: tuple[int, ...]  # case ids
    roots: tuple[int, ...]  # cases no other case named as a close contact
    links: tuple[tuple[int, int], ...]  # (case id, case id of a close contact who became one)


def close_pairs(conn: Connection) -> list[tuple[int, int]]:
    """(case's person, close contact's person) of every close exposure found, once each."""
    e, c = tracing_exposures.c, tracing_contacts.c
    rows = conn.execute(
        select(tracing_cases.c.person_id, c.person_id)
        .select_from(tracing_exposures)
        .join(tracing_cases, tracing_cases.c.id == e.case_id)
        .join(tracing_contacts, c.id == e.contact_id)
        .where(e.kind == "close")
        .distinct()
    ).all()
    return [(int(a), int(b)) for a, b in rows]


def case_chains(bind: Bind) -> list[Chain]:
    """Transmission chains (传播链): cases joined where one was the other's close contact."""
    with write_transaction(bind) as conn:
        case_rows = conn.execute(
            select(tracing_cases.c.id, tracing_cases.c.person_id, tracing_cases.c.infectious_from)
        ).all()
        pairs = close_pairs(conn)
    if not case_rows:
        return []
    case_of = {int(r.person_id): int(r.id) for r in case_rows}
    # co-presence is symmetric: of two cases named as each other's contact, the one
    # infectious first is taken as the source
    first = {int(r.person_id): (r.infectious_from, r.id) for r in case_rows}
    both = {(int(a), int(b)) for a, b in pairs}
    links = [
        (a, b) for a, b in sorted(both)
        if not ((b, a) in both and a in first and b in first and first[b] < first[a])
    ]  # fmt: skip
    chains = transmission_chains(
        np.array(list(case_of), np.int64),
        np.array([a for a, _ in links], np.int64),
        np.array([b for _, b in links], np.int64),
    )
    roots = set(chains.roots.tolist())
    out = []
    for number in range(int(chains.chain.max()) + 1 if len(chains.chain) else 0):
        members = chains.members(number).tolist()
        inside = tuple(sorted((case_of[a], case_of[b]) for a, b in chains.links if a in members))
        out.append(Chain(
            number, tuple(sorted(case_of[p] for p in members)),
            tuple(sorted(case_of[p] for p in members if p in roots)), inside,
        ))  # fmt: skip
    return sorted(out, key=lambda ch: (-len(ch.cases), ch.cases))


@dataclass(frozen=True)
class Cluster:
    cases: tuple[int, ...]  # case ids
    venues: Mapping[str, int]  # place code → cases linked there
    households: tuple[str, ...]


def clusters(bind: Bind, checkins_source: CheckinSource, rules: ContactRules) -> list[Cluster]:
    """Clusters (聚集性疫情): cases linked through a venue (stays inside their windows no
    more than the pack's cluster window apart) or a household; two cases or more."""
    with write_transaction(bind) as conn:
        rows = conn.execute(
            select(tracing_cases.c.id, tracing_cases.c.person_id, tracing_cases.c.infectious_from,
                   tracing_cases.c.infectious_until, persons.c.household_code)
            .join(persons, persons.c.id == tracing_cases.c.person_id)
            .order_by(tracing_cases.c.id)
        ).all()  # fmt: skip
    if not rows:
        return []
    homes = {
        h: i for i, h in enumerate(sorted({r.household_code for r in rows if r.household_code}))
    }
    household = np.array([homes.get(r.household_code, -1) for r in rows], np.int64)
    idx = source_index = checkins_source.index
    which, pos = idx.stays_of(checkins_source.codes([r.person_id for r in rows]))
    mask = np.int64((1 << idx.t_bits) - 1)
    venue = source_index.key[pos] >> idx.t_bits
    t_in = (idx.key[pos] & mask) + idx.t0
    t_out = idx.time_out[pos].astype(np.int64) + idx.t0
    lo = np.array([_epoch(r.infectious_from) for r in rows], np.int64)[which]
    hi = np.array([_epoch(r.infectious_until) if r.infectious_until else 2**62 for r in rows],
                  np.int64)[which]  # fmt: skip
    inside = (t_out > lo) & (t_in < hi)
    found = _clusters(household, which[inside], venue[inside], t_in[inside], t_out[inside],
                      rules.cluster_window_days * 86_400)  # fmt: skip
    names = {i: h for h, i in homes.items()}
    out = []
    for label in sorted(found.sizes, key=lambda k: -found.sizes[k]):
        members = tuple(int(rows[i].id) for i in np.flatnonzero(found.cluster == label).tolist())
        venues_at = {checkins_source.venue_codes[v]: n
                     for v, n in found.venues.get(label, {}).items()}  # fmt: skip
        homes_at = tuple(names[h] for h in found.households.get(label, []))
        out.append(Cluster(members, venues_at, homes_at))
    return out


__all__ = [
    "TRANSITIONS", "CaseUnknown", "CaseView", "Chain", "CheckinSource", "Cluster",
    "ContactUnknown", "ContactView", "ExposureView", "PersonUnknown", "StatusChange",
    "StatusInvalid", "TraceOutcome", "TransitionRefused", "case_chains", "clusters",
    "contacts_of_case", "exposure_facts", "get_case", "hand_off", "register_case",
    "set_contact_status", "set_contact_statuses", "status_history", "trace_case",
    "trace_cases",
]  # fmt: skip
