"""The search box (issue 19, point 2): a person by name, ID number, phone, tube barcode or
the number of a case, placement or traveller — and from each person found, their case,
the cases they are a contact of, their placement, tubes and traveller record.

The query is classified first (:func:`classify`, pure): a valid resident ID number, then a
valid phone number (``identity.phone``, E.164), then a bare number (a case, placement or
traveller number, or a tube barcode of digits), then a tube barcode (letters and digits),
else a name. ID and phone numbers are found through their sealed lookup hashes only
(``doc_hash``, ``phone_hash``: the same keys the registry import writes); a name by exact
match of the full name (``ix_persons_name``, migration 0023).

Every search is one audit row (``person.search``) naming the kind of query and the number
of persons shown, never the query itself. Persons outside the caller's jurisdiction are
left out, as if absent; the audit row counts them (``outside``). Names are masked unless
the caller holds ``person.read_full``; the links offered follow the caller's rights.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from sqlalchemy import Connection, select

from fangkong import bounds
from fangkong.arrivals.tables import travellers
from fangkong.auth.guard import Call, within
from fangkong.auth.rights import (
    ARRIVAL_READ,
    CODE_READ,
    FACT_RECORD,
    PERSON_READ,
    PERSON_READ_FULL,
    QUARANTINE_READ,
    TESTING_READ,
)
from fangkong.errors import BadInput, Problem
from fangkong.identity.masking import mask_name
from fangkong.identity.phone import check_phone
from fangkong.identity.resident_id import check_resident_id
from fangkong.identity.sealing import Sealer
from fangkong.quarantine.tables import quarantine_placements
from fangkong.store.schema import persons, regions
from fangkong.testing.tables import tube_members, tubes
from fangkong.tracing.tables import tracing_cases, tracing_contacts, tracing_exposures

MAX_QUERY: Final = 100  # characters of a query
MAX_PERSONS: Final = 50  # persons shown for one query
MAX_TUBES: Final = 5  # latest tubes shown per person
MAX_CASES: Final = 5  # cases a contact is linked to, per person

KINDS: Final = ("id_number", "phone", "number", "barcode", "name")

_NUMBER = re.compile(r"^(?:#|№|no\.?\s*)?(\d{1,9})$", re.IGNORECASE)
_BARCODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")  # as testing.samples checks a tube's barcode
_ID_SHAPE = re.compile(r"^\d{17}[\dXx]$")  # an 18-character resident ID's shape
_PHONE_CHARS = re.compile(r"^\+?[\d\s().-]{7,24}$")


@dataclass(frozen=True)
class Query:
    """A classified query: its kind and the normalised value searched (never audited)."""

    kind: str
    value: str


@dataclass(frozen=True)
class Hit:
    """One person found, as the caller may see them, and where to go from them."""

    person_id: int
    name: str  # masked unless person.read_full
    masked: bool
    region_code: str | None
    region_name: str | None
    matched: tuple[str, ...]  # how the query found them: name, id_number, case, tube, …
    case_id: int | None = None  # the person is a case
    contact_status: str | None = None  # the person is a contact: their status
    contact_case_ids: tuple[int, ...] = ()  # … of these cases
    placement_id: int | None = None  # the current placement, else the latest
    placement_status: str | None = None
    tubes: tuple[str, ...] = ()  # barcodes, latest first
    traveller_id: int | None = None  # the latest traveller record


@dataclass(frozen=True)
class Links:
    """Which kinds of link the caller may follow (each page checks its rights again)."""

    code: bool
    tracing: bool
    quarantine: bool
    testing: bool
    arrivals: bool


@dataclass(frozen=True)
class Found:
    query: Query
    hits: list[Hit]
    more: bool  # more persons matched than are shown
    links: Links = field(default_factory=lambda: Links(False, False, False, False, False))


def _problem(zh: str, en: str) -> BadInput:
    return BadInput(Problem("search.query", zh, en))


def classify(text: str, *, today: date, phone_region: str = "CN") -> Query:
    """The kind of ``text`` and its normalised value; ``BadInput`` (zh+en) when it is too
    long, empty or holds a control character."""
    if len(text) > MAX_QUERY:
        raise _problem(
            f"搜索内容过长（{len(text)} 个字符，最多 {MAX_QUERY} 个）",
            f"the search is too long ({len(text)} characters, at most {MAX_QUERY})",
        )
    bounds.refuse(bounds.text_problem(text, "q"))
    q = " ".join(unicodedata.normalize("NFKC", text).split())
    if not q:
        raise _problem(
            "请输入姓名、身份证号、电话、管码或编号",
            "type a name, ID number, phone, tube or number",
        )
    if len(q) in (15, 18):
        check = check_resident_id(q, today=today)
        if check.valid and check.normalized is not None:
            return Query("id_number", check.normalized)
        if _ID_SHAPE.match(q):  # typed as an ID number: say what is wrong with it
            raise BadInput(check.problems[0])
    if _PHONE_CHARS.match(q):
        digits = re.sub(r"[\s().-]", "", q)
        phone = check_phone(digits, region=phone_region)
        if phone.valid and phone.e164 is not None:
            return Query("phone", phone.e164)
    number = _NUMBER.match(q)
    if number:
        return Query("number", number.group(1))
    if _BARCODE.match(q) and any(c.isdigit() for c in q):
        return Query("barcode", q)
    return Query("name", q[:100])


def search(call: Call, sealer: Sealer, text: str, *, phone_region: str = "CN") -> Found:
    """Persons matching ``text`` inside the caller's jurisdiction, with their records;
    one audit row (kind and counts, never the query)."""
    call.require(PERSON_READ)
    query = classify(text, phone_region=phone_region, today=call.today())
    actor = call.actor
    links = Links(
        code=actor.can(CODE_READ),
        tracing=actor.can(PERSON_READ) and actor.can(FACT_RECORD),
        quarantine=actor.can(QUARANTINE_READ),
        testing=actor.can(TESTING_READ),
        arrivals=actor.can(ARRIVAL_READ),
    )

    def body(conn: Connection) -> tuple[Found, str | None, str | None]:
        matched = _candidates(conn, sealer, query)
        ids = sorted(matched)
        inside = (
            {
                int(i)
                for (i,) in conn.execute(
                    select(persons.c.id).where(
                        persons.c.id.in_(ids), within(actor, persons.c.residence_code)
                    )
                )
            }
            if ids
            else set()
        )
        shown = sorted(inside)[:MAX_PERSONS]
        hits = _hits(conn, actor.can(PERSON_READ_FULL), shown, matched)
        found = Found(query, hits, len(inside) > len(shown), links)
        target = str(shown[0]) if len(shown) == 1 else None
        detail = f"kind={query.kind} results={len(shown)} outside={len(ids) - len(inside)}"
        return found, target, detail

    return call.audited("person.search", "person", None, body)


_CANDIDATES: Final = 500  # persons matched before the jurisdiction filter


def _candidates(conn: Connection, sealer: Sealer, query: Query) -> dict[int, set[str]]:
    """Person id → how the query matched them (before jurisdiction), set-based."""
    out: dict[int, set[str]] = defaultdict(set)

    def add(how: str, rows: object) -> None:
        for (pid,) in rows:  # type: ignore[attr-defined]
            out[int(pid)].add(how)

    limit = _CANDIDATES
    if query.kind == "id_number":
        # the key the registry import hashes (registry.validate: type|country|number)
        doc_hash = sealer.lookup_hash("document", f"resident_id|CHN|{query.value}")
        add("id_number", conn.execute(select(persons.c.id).where(persons.c.doc_hash == doc_hash)))
    elif query.kind == "phone":
        phone_hash = sealer.lookup_hash("phone", query.value)
        add(
            "phone",
            conn.execute(
                select(persons.c.id).where(persons.c.phone_hash == phone_hash).limit(limit)
            ),
        )
    elif query.kind == "name":
        add(
            "name",
            conn.execute(select(persons.c.id).where(persons.c.name == query.value).limit(limit)),
        )
    if query.kind == "number":
        n = int(query.value)
        if n <= 2**31 - 1:
            pid = tracing_cases.c.person_id
            add("case", conn.execute(select(pid).where(tracing_cases.c.id == n)))
            pid = quarantine_placements.c.person_id
            add("placement", conn.execute(select(pid).where(quarantine_placements.c.id == n)))
            add(
                "traveller",
                conn.execute(select(travellers.c.person_id).where(travellers.c.id == n)),
            )
    if query.kind in ("number", "barcode"):
        add(
            "tube",
            conn.execute(
                select(tube_members.c.person_id)
                .join(tubes, tubes.c.id == tube_members.c.tube_id)
                .where(tubes.c.barcode == query.value)
                .limit(limit)
            ),
        )
    return out


def _hits(conn: Connection, full: bool, ids: list[int], matched: dict[int, set[str]]) -> list[Hit]:
    """The persons ``ids`` with their records, each table read once for all of them."""
    if not ids:
        return []
    rows = conn.execute(
        select(persons.c.id, persons.c.name, persons.c.residence_code, regions.c.name)
        .outerjoin(regions, regions.c.code == persons.c.residence_code)
        .where(persons.c.id.in_(ids))
    ).all()
    cases = dict(
        conn.execute(
            select(tracing_cases.c.person_id, tracing_cases.c.id).where(
                tracing_cases.c.person_id.in_(ids)
            )
        ).all()
    )
    contacts = dict(
        conn.execute(
            select(tracing_contacts.c.person_id, tracing_contacts.c.status).where(
                tracing_contacts.c.person_id.in_(ids)
            )
        ).all()
    )
    contact_cases: dict[int, list[int]] = defaultdict(list)
    for pid, case_id in conn.execute(
        select(tracing_contacts.c.person_id, tracing_exposures.c.case_id)
        .join(tracing_exposures, tracing_exposures.c.contact_id == tracing_contacts.c.id)
        .where(tracing_contacts.c.person_id.in_(ids))
        .distinct()
        .order_by(tracing_contacts.c.person_id, tracing_exposures.c.case_id)
    ):
        if len(contact_cases[pid]) < MAX_CASES:
            contact_cases[pid].append(int(case_id))
    placements: dict[int, tuple[int, str]] = {}
    q = quarantine_placements.c
    for pid, plid, status, _active in conn.execute(
        select(q.person_id, q.id, q.status, q.active)
        .where(q.person_id.in_(ids))
        .order_by(q.person_id, q.active.is_(None), q.id.desc())
    ):
        placements.setdefault(pid, (int(plid), status))
    tube_codes: dict[int, list[str]] = defaultdict(list)
    for pid, barcode in conn.execute(
        select(tube_members.c.person_id, tubes.c.barcode)
        .join(tubes, tubes.c.id == tube_members.c.tube_id)
        .where(tube_members.c.person_id.in_(ids))
        .order_by(tube_members.c.person_id, tubes.c.id.desc())
    ):
        if len(tube_codes[pid]) < MAX_TUBES:
            tube_codes[pid].append(barcode)
    trav: dict[int, int] = {}
    for pid, tid in conn.execute(
        select(travellers.c.person_id, travellers.c.id)
        .where(travellers.c.person_id.in_(ids))
        .order_by(travellers.c.person_id, travellers.c.id.desc())
    ):
        trav.setdefault(pid, int(tid))
    hits = []
    for pid, name, region_code, region_name in sorted(rows, key=lambda r: r[0]):
        placement = placements.get(pid)
        hits.append(
            Hit(
                person_id=pid,
                name=name if full else mask_name(name),
                masked=not full,
                region_code=region_code,
                region_name=region_name,
                matched=tuple(sorted(matched.get(pid, ()))),
                case_id=cases.get(pid),
                contact_status=contacts.get(pid),
                contact_case_ids=tuple(contact_cases.get(pid, ())),
                placement_id=placement[0] if placement else None,
                placement_status=placement[1] if placement else None,
                tubes=tuple(tube_codes.get(pid, ())),
                traveller_id=trav.get(pid),
            )
        )
    return hits


__all__ = ["KINDS", "Found", "Hit", "Links", "Query", "classify", "search"]
