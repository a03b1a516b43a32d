"""Reads of personal records through jurisdiction, rights, masking and the audit log.

One function per use case (``read_person``, ``lookup_person``, ``read_venue``,
``read_summary``), each taking the :class:`~fangkong.auth.guard.Call` first; pages and
API routes call these and nothing else. A record
outside the actor's jurisdiction raises exactly the ``NotFound`` of a missing record —
the same code, message and status — so guessing ids reveals nothing; only the audit
row tells them apart (``out_of_jurisdiction`` vs ``not_found``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.auth.guard import Call, within
from fangkong.auth.jurisdiction import branch_of
from fangkong.auth.model import forbidden
from fangkong.auth.rights import DASHBOARD_VIEW, PERSON_READ, PERSON_READ_FULL, VENUE_READ
from fangkong.errors import (
    FangkongError,
    FieldProblem,
    InvalidFields,
    NotFound,
    Problem,
)
from fangkong.identity.masking import mask_id, mask_name, mask_phone
from fangkong.identity.resident_id import check_resident_id
from fangkong.identity.sealing import Sealer
from fangkong.store.schema import households, persons, regions, venues

PERSON_NOT_FOUND = Problem("person.not_found", "未找到此人员", "no such person")
VENUE_NOT_FOUND = Problem("venue.not_found", "未找到此场所", "no such venue")


@dataclass(frozen=True)
class PersonView:
    """A person as shown to one actor: masked unless they hold ``person.read_full``."""

    id: int
    masked: bool
    name: str
    sex: str
    birth: str  # the full date, or only the year when masked
    id_type: str
    id_number: str
    id_country: str
    phone: str | None
    residence_code: str | None
    residence_name: str | None
    household_code: str | None
    venue_code: str | None
    occupation: str


@dataclass(frozen=True)
class VenueView:
    code: str
    name: str
    type: str
    region_code: str
    capacity: int | None


@dataclass(frozen=True)
class AreaCount:
    code: str
    name: str
    persons: int


@dataclass(frozen=True)
class Summary:
    """The key numbers of the actor's jurisdiction (the home page)."""

    region_code: str | None
    region_name: str | None
    persons: int
    households: int
    venues: int
    by_area: list[AreaCount]


def _view(conn: Connection, row: object, sealer: Sealer, full: bool) -> PersonView:
    m = row._mapping  # type: ignore[attr-defined]
    doc_type, country, number = sealer.unseal("document", m["doc_sealed"]).split("|", 2)
    phone = sealer.unseal("phone", m["phone_sealed"]) if m["phone_sealed"] else None
    name, birth = m["name"], m["birth_date"].isoformat()
    if not full:
        name, birth = mask_name(name), str(m["birth_date"].year)
        number = mask_id(number) if doc_type == "resident_id" else number[:2] + "****"
        phone = mask_phone(phone) if phone else None
    place = None
    if m["residence_code"]:
        place = conn.execute(
            select(regions.c.name).where(regions.c.code == m["residence_code"])
        ).scalar_one_or_none()
    return PersonView(
        id=m["id"],
        masked=not full,
        name=name,
        sex=m["sex"],
        birth=birth,
        id_type=doc_type,
        id_number=number,
        id_country=country,
        phone=phone,
        residence_code=m["residence_code"],
        residence_name=place,
        household_code=m["household_code"],
        venue_code=m["venue_code"],
        occupation=m["occupation"],
    )


def _read(call: Call, sealer: Sealer, action: str, where: object, target: str | None) -> PersonView:
    """Find one person by ``where``, check rights and jurisdiction, mask, audit once (the
    row names the person found, also when outside the jurisdiction)."""
    actor = call.actor
    error: FangkongError | None = None
    view: PersonView | None = None
    with transaction(call.engine) as conn:
        if not actor.can(PERSON_READ):
            outcome, error = "forbidden", forbidden(PERSON_READ)
        else:
            row = conn.execute(select(persons).where(where)).first()  # type: ignore[arg-type]
            if row is not None:
                target = str(row.id)
            if row is None:
                outcome, error = "not_found", NotFound(PERSON_NOT_FOUND)
            elif not conn.execute(
                select(func.count())
                .where(within(actor, persons.c.residence_code))
                .select_from(persons)
                .where(persons.c.id == row.id)
            ).scalar_one():
                outcome, error = "out_of_jurisdiction", NotFound(PERSON_NOT_FOUND)
            else:
                view = _view(conn, row, sealer, actor.can(PERSON_READ_FULL))
                outcome = "ok"
        detail = None if view is None else ("masked" if view.masked else "full")
        event = AuditEvent(actor.name, action, outcome, call.address, "person", target, detail)
        record(conn, call.key, event)
    if error is not None:
        raise error
    assert view is not None  # noqa: S101 - no error means a view
    return view


def read_person(call: Call, sealer: Sealer, person_id: int) -> PersonView:
    """A person by row id, if inside the actor's jurisdiction (else: no such person)."""
    return _read(call, sealer, "person.read", persons.c.id == person_id, str(person_id))


def lookup_person(call: Call, sealer: Sealer, id_number: str) -> PersonView:
    """A person by resident ID number, found through the sealed lookup hash only."""
    check = check_resident_id(id_number, today=call.today())
    if not check.valid or check.normalized is None:
        first = check.problems[0]
        raise InvalidFields(
            Problem("request.invalid", "身份证号码有误", "the ID number is invalid"),
            [FieldProblem("id_number", first)],
        )
    # the same key the registry import hashes (registry.validate: type|country|number)
    doc_hash = sealer.lookup_hash("document", f"resident_id|CHN|{check.normalized}")
    return _read(call, sealer, "person.lookup", persons.c.doc_hash == doc_hash, None)


def read_venue(call: Call, code: str) -> VenueView:
    """A venue in the actor's jurisdiction; a device sees only the venue it is bound to."""
    actor = call.actor
    if actor.kind == "device":
        if actor.venue_code != code:
            raise NotFound(VENUE_NOT_FOUND)
    else:
        call.require(VENUE_READ)
    with call.engine.connect() as conn:
        row = conn.execute(
            select(venues).where(venues.c.code == code, within(actor, venues.c.region_code))
        ).first()
    if row is None:
        raise NotFound(VENUE_NOT_FOUND)
    return VenueView(row.code, row.name, row.type, row.region_code, row.capacity)


def read_summary(call: Call) -> Summary:
    """Persons, households and venues in the actor's jurisdiction, persons per sub-area."""
    actor = call.actor
    call.require(DASHBOARD_VIEW)
    with call.engine.connect() as conn:

        def count(table: object, column: object) -> int:
            return int(
                conn.execute(
                    select(func.count()).select_from(table).where(within(actor, column))  # type: ignore[arg-type]
                ).scalar_one()
            )

        # persons once per residence code (the index alone), folded into the branches
        living = conn.execute(
            select(persons.c.residence_code, func.count())
            .where(within(actor, persons.c.residence_code))
            .group_by(persons.c.residence_code)
        ).all()
        n_persons = sum(int(n) for _, n in living)
        n_households = count(households, households.c.residence_code)
        n_venues = count(venues, venues.c.region_code)
        name = None
        by_area: list[AreaCount] = []
        if actor.region_code is not None:
            name = conn.execute(
                select(regions.c.name).where(regions.c.code == actor.region_code)
            ).scalar_one_or_none()
            branch = branch_of(conn, actor.region_code)
            per: dict[tuple[str, str], int] = {}
            for code, n in living:
                if code in branch:
                    per[branch[code]] = per.get(branch[code], 0) + int(n)
            by_area = [AreaCount(code, area, n) for (code, area), n
                       in sorted(per.items(), key=lambda kv: (-kv[1], kv[0][0]))]  # fmt: skip
    return Summary(actor.region_code, name, n_persons, n_households, n_venues, by_area)
