"""Reading a tube and a person's tests (names masked without ``person.read_full``); both
audited, the target being the tube or the person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from fangkong.auth.guard import Call, hidden, inside, names
from fangkong.auth.records import PERSON_NOT_FOUND
from fangkong.auth.rights import PERSON_READ, PERSON_READ_FULL, TESTING_READ
from fangkong.errors import NotFound
from fangkong.store.schema import persons
from fangkong.testing.access._reach import tube_missing
from fangkong.testing.samples import TubeUnknown, TubeView
from fangkong.testing.schedules import OrderView, orders_due
from fangkong.testing.tables import results, tube_members, tubes


@dataclass(frozen=True)
class ResultRow:
    run: str
    outcome: str
    ct_orf1ab: float | None
    ct_n: float | None
    tested_at: datetime
    batch_id: int


@dataclass(frozen=True)
class Member:
    person_id: int
    name: str  # masked without person.read_full, and for persons outside the jurisdiction


def custody_state(view: TubeView, tested: bool) -> str:
    """collected → in_transit → received → tested (a result exists)."""
    if tested:
        return "tested"
    if view.received_at is not None:
        return "received"
    if view.shipped_at is not None:
        return "in_transit"
    return "collected"


@dataclass(frozen=True)
class TubeDetail:
    tube: TubeView
    state: str
    members: tuple[Member, ...]
    results: tuple[ResultRow, ...]
    masked: bool


def results_of(conn: Connection, tube_ids: Sequence[int]) -> dict[int, list[ResultRow]]:
    """The results of tubes by tube id, oldest first."""
    r = results.c
    out: dict[int, list[ResultRow]] = {}
    for row in conn.execute(
        select(r.tube_id, r.run, r.outcome, r.ct_orf1ab, r.ct_n, r.tested_at, r.batch_id)
        .where(r.tube_id.in_(list(tube_ids)))
        .order_by(r.tested_at, r.id)
    ):
        out.setdefault(int(row.tube_id), []).append(
            ResultRow(
                row.run, row.outcome, row.ct_orf1ab, row.ct_n, row.tested_at, int(row.batch_id)
            )
        )
    return out


def read_tube(call: Call, barcode: str) -> TubeDetail:
    """A tube collected in the actor's jurisdiction: custody, results, its members (names
    masked by rights). Audited."""
    from fangkong.testing.samples import tube as tube_view

    actor = call.actor

    def body(conn: Connection) -> tuple[TubeDetail, str]:
        call.require(TESTING_READ)
        try:
            view = tube_view(conn, barcode)
        except TubeUnknown:
            raise TubeUnknown(tube_missing(barcode)) from None
        if not inside(conn, actor, view.region_code):
            raise hidden(NotFound(tube_missing(barcode)))
        named = names(conn, actor, view.person_ids)
        found = results_of(conn, [view.id]).get(view.id, [])
        members = tuple(Member(p, named.get(p, "")) for p in view.person_ids)
        masked = not actor.can(PERSON_READ_FULL)
        detail = TubeDetail(view, custody_state(view, bool(found)), members, tuple(found), masked)
        return detail, f"{len(members)} persons" + (" masked" if masked else "")

    return call.audited("testing.tube", "tube", barcode, body)


@dataclass(frozen=True)
class PersonTest:
    barcode: str
    pool_size: int
    purpose: str
    point: str
    collected_at: datetime
    state: str
    outcome: str | None  # the latest run's outcome; None: no result yet
    flag: str | None


@dataclass(frozen=True)
class PersonTests:
    person_id: int
    name: str
    masked: bool
    tests: tuple[PersonTest, ...]
    orders: tuple[OrderView, ...]


def person_tests(call: Call, person_id: int, *, limit: int = 100) -> PersonTests:
    """A person living in the actor's jurisdiction: their tubes (newest first) with
    outcomes, and their test orders. Audited (target: the person)."""
    actor = call.actor

    def body(conn: Connection) -> tuple[PersonTests, str]:
        call.require(TESTING_READ, PERSON_READ)
        row = conn.execute(
            select(persons.c.id, persons.c.residence_code).where(persons.c.id == person_id)
        ).first()
        if row is None:
            raise NotFound(PERSON_NOT_FOUND)
        if not inside(conn, actor, row.residence_code):
            raise hidden(NotFound(PERSON_NOT_FOUND))
        t = tubes.c
        rows = conn.execute(
            select(tubes)
            .join(tube_members, tube_members.c.tube_id == t.id)
            .where(tube_members.c.person_id == person_id)
            .order_by(t.collected_at.desc(), t.id.desc())
            .limit(limit)
        ).all()
        found = results_of(conn, [int(r.id) for r in rows])
        tests = []
        for r in rows:
            runs = found.get(int(r.id), [])
            view = TubeView.of_row(r)
            tests.append(
                PersonTest(
                    r.barcode,
                    r.pool_size,
                    r.purpose,
                    r.point,
                    r.collected_at,
                    custody_state(view, bool(runs)),
                    runs[-1].outcome if runs else None,
                    r.flag,
                )
            )
        orders = orders_due(conn, person_ids=[person_id], status=None, limit=limit)
        masked = not actor.can(PERSON_READ_FULL)
        view_out = PersonTests(
            person_id,
            names(conn, actor, [person_id])[person_id],
            masked,
            tuple(tests),
            tuple(orders),
        )
        return view_out, f"{len(tests)} tubes, {len(orders)} orders" + (" masked" if masked else "")

    return call.audited("testing.person", "person", str(person_id), body)
