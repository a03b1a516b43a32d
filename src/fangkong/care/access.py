"""The care register as staff reach it: rights, jurisdiction, masking, one audit row.

``care.read`` lists and shows the needs of areas inside the actor's jurisdiction (names
masked without ``person.read_full``) and the wards; ``care.manage`` registers needs,
plans, starts, completes and cancels transfers and keeps the wards. A need of another
jurisdiction answers as one that does not exist (audited ``out_of_jurisdiction``); a
person is registered only when they live inside it. Every call writes one audit row
(ids and counts, never a name or a detail).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Connection, select

from fangkong.auth.guard import Call, hidden, inside
from fangkong.auth.rights import CARE_MANAGE, CARE_READ, PERSON_READ_FULL
from fangkong.care import service
from fangkong.care.errors import NeedInvalid, WardInvalid, problem
from fangkong.care.rules import CareRules
from fangkong.care.tables import care_needs
from fangkong.care.views import NeedChange, NeedView, get_need, need_history, page_needs
from fangkong.care.wards import WardIn, WardView, list_wards, save_ward
from fangkong.identity.masking import mask_name
from fangkong.riskareas.tables import risk_areas
from fangkong.store import listing
from fangkong.store.listing import Bounded
from fangkong.store.schema import persons


def _masked(call: Call, rows: list[NeedView]) -> list[NeedView]:
    if call.actor.can(PERSON_READ_FULL):
        return rows
    return [replace(r, person_name=mask_name(r.person_name)) for r in rows]


def _reach(conn: Connection, call: Call, need_id: int) -> None:
    """The need exists and its area lies in the actor's jurisdiction (else: absent)."""
    region = conn.execute(
        select(risk_areas.c.region_code)
        .join(care_needs, care_needs.c.area_id == risk_areas.c.id)
        .where(care_needs.c.id == need_id)
    ).scalar_one_or_none()  # fmt: skip
    if region is None:
        raise service.unknown(need_id)
    if not inside(conn, call.actor, region):
        raise hidden(service.unknown(need_id))


def read_needs(
    call: Call, *, open_only: bool = True, status: str | None = None, kind: str | None = None,
    bounded: Bounded | None = listing.FIRST_PAGE,
) -> tuple[list[NeedView], int]:  # fmt: skip
    """One page of the needs of the actor's jurisdiction, the most urgent first unless
    sorted by a key of ``NEED_SORTS``; and how many there are."""

    def body(conn: Connection) -> tuple[tuple[list[NeedView], int], str]:
        call.require(CARE_READ)
        rows, total = page_needs(conn, bounded, at=call.now(), status=status,
                                 open_only=open_only, kind=kind,
                                 within=call.actor.region_code)  # fmt: skip
        return (_masked(call, rows), total), f"{len(rows)} of {total} needs"

    return call.audited("care.needs.view", "care_need", None, body)


@dataclass(frozen=True)
class NeedDetail:
    need: NeedView
    history: list[NeedChange]
    can_manage: bool


def read_need(call: Call, need_id: int) -> NeedDetail:
    """One need with its history (masked name), if inside the actor's jurisdiction."""

    def body(conn: Connection) -> tuple[NeedDetail, str]:
        call.require(CARE_READ)
        _reach(conn, call, need_id)
        need = get_need(conn, need_id, at=call.now())
        assert need is not None  # noqa: S101 - _reach found it in this transaction
        detail = NeedDetail(_masked(call, [need])[0], need_history(conn, need_id),
                            call.actor.can(CARE_MANAGE))  # fmt: skip
        return detail, need.status

    return call.audited("care.need.view", "care_need", str(need_id), body)


def register(
    call: Call, rules: CareRules, *, person_id: int, kind: str, detail: str = "",
    area_id: int | None = None,
) -> int:  # fmt: skip
    """Register a resident's urgent medical need (the person must live inside the
    actor's jurisdiction); returns its id."""

    def body(conn: Connection) -> tuple[int, str]:
        call.require(CARE_READ, CARE_MANAGE)
        home = conn.execute(select(persons.c.residence_code)
                            .where(persons.c.id == person_id)).first()  # fmt: skip
        if home is None or not inside(conn, call.actor, home.residence_code):
            missing = NeedInvalid(problem("person_unknown", f"无此人员（{person_id}）",
                                          f"no person {person_id}"))  # fmt: skip
            raise missing if home is None else hidden(missing)
        need = service.register_need(conn, rules, person_id=person_id, kind=kind,
                                     detail=detail, area_id=area_id, by=call.actor.name,
                                     at=call.now())  # fmt: skip
        return need, kind

    return call.audited("care.need.register", "person", str(person_id), body)


def plan(
    call: Call, rules: CareRules, need_id: int, *, allow_late: bool = False
) -> service.TransferPlan:
    """Plan the need's green-channel transfer (``service.plan_transfer``)."""

    def body(conn: Connection) -> tuple[service.TransferPlan, str]:
        call.require(CARE_READ, CARE_MANAGE)
        _reach(conn, call, need_id)
        got = service.plan_transfer(conn, rules, need_id, by=call.actor.name, at=call.now(),
                                    allow_late=allow_late)  # fmt: skip
        return got, f"{got.vehicle} {got.ward}" + (" late" if got.late else "")

    return call.audited("care.need.plan", "care_need", str(need_id), body)


def move(call: Call, rules: CareRules, need_id: int, to: str, *, outcome: str = "",
         note: str = "") -> str:  # fmt: skip
    """Start (``in_transfer``), complete (``done``, with an outcome) or cancel
    (``cancelled``, with a note) a need; returns the status it has now."""

    def body(conn: Connection) -> tuple[str, str]:
        call.require(CARE_READ, CARE_MANAGE)
        _reach(conn, call, need_id)
        by, at = call.actor.name, call.now()
        if to == "in_transfer":
            service.start_transfer(conn, need_id, by=by, at=at)
        elif to == "done":
            service.complete_transfer(conn, rules, need_id, outcome=outcome, note=note, by=by,
                                      at=at)  # fmt: skip
        elif to == "cancelled":
            service.cancel_need(conn, need_id, note=note, by=by, at=at)
        else:
            raise NeedInvalid(problem("status_unknown", f"无此操作 {to!r}", f"no move {to!r}"))
        return to, to

    return call.audited("care.need.change", "care_need", str(need_id), body)


def read_wards(call: Call) -> list[WardView]:
    """Every designated ward, most free beds first (hospitals' beds: no personal data)."""

    def body(conn: Connection) -> tuple[list[WardView], str]:
        call.require(CARE_READ)
        wards = list_wards(conn)
        return wards, f"{len(wards)} wards"

    return call.audited("care.wards.view", "care_ward", None, body)


def keep_ward(call: Call, ward: WardIn) -> bool:
    """Create or change a ward in the actor's jurisdiction; True when new."""

    def body(conn: Connection) -> tuple[bool, str]:
        call.require(CARE_READ, CARE_MANAGE)
        if not inside(conn, call.actor, ward.region_code):
            unknown = problem("region_unknown", f"无此行政区划（{ward.region_code}）",
                              f"no region {ward.region_code}")  # fmt: skip
            raise hidden(WardInvalid(unknown))
        new = save_ward(conn, ward, by=call.actor.name, at=call.now())
        return new, f"{ward.beds_free}/{ward.beds}"

    return call.audited("care.ward.save", "care_ward", ward.code[:80], body)
